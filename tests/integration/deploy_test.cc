// The deploy files: the systemd unit passes `systemd-analyze verify` and its command line runs a
// worker on the sample exports; the container image's runtime stage installs a package for every
// library the binary links; compose.yaml's worker points at its own PostgreSQL and S3 services;
// and, where a Docker daemon answers, the image builds, runs as a non-root user and prints the
// version.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace snapdelta::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(Deploy, TheSystemdUnitVerifiesAndItsCommandRunsAWorker) {
  if (RunShell("command -v systemd-analyze").exit_code != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed: the unit file is not verified here";
  }
  TempDir tmp{"snapdelta-unit"};
  std::string unit = ReadFile(SourceDir() / "deploy" / "snapdelta-worker.service");
  // verify checks that ExecStart's program exists: point it at the binary under test.
  const std::string installed = "/usr/local/bin/snapdelta";
  ASSERT_NE(unit.find("ExecStart=" + installed + " "), std::string::npos) << unit;
  WriteFile(tmp / "snapdelta-worker.service", Replace(unit, installed, SnapdeltaBin().string()));
  CommandResult verify =
      RunCommand({"systemd-analyze", "verify", (tmp / "snapdelta-worker.service").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_EQ(verify.out + verify.err, "") << "every warning counts: " << verify.Describe();
  for (const char* setting : {"DynamicUser=yes", "KillSignal=SIGTERM", "Restart=on-failure"}) {
    EXPECT_NE(unit.find(std::string("\n") + setting + "\n"), std::string::npos) << setting;
  }

  // The unit's command line, with its paths moved into a temporary folder, on the sample exports.
  std::smatch exec;
  ASSERT_TRUE(std::regex_search(unit, exec, std::regex("\nExecStart=([^\n]+)\n")));
  std::string command =
      Replace(exec[1], "/etc/snapdelta/snapdelta.toml", (tmp / "snapdelta.toml").string());
  command = Replace(command, "/var/lib/snapdelta", (tmp / "home").string());
  command = Replace(command, "127.0.0.1:8700", "127.0.0.1:0");
  std::vector<std::string> args = Words(command);
  ASSERT_EQ(args.front(), installed);
  args.erase(args.begin());
  fs::copy(ExamplesLanding(), tmp / "landing", fs::copy_options::recursive);
  WriteFile(tmp / "snapdelta.toml",
            "landing = \"" + (tmp / "landing").string() + "\"\nsettle_seconds = 0\n");
  Background worker(args, tmp / "worker.log");
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string log = worker.log();
        size_t committed = 0;
        for (size_t at = 0; (at = log.find(" committed ", at)) != std::string::npos; ++at) {
          ++committed;
        }
        return committed == 3 && log.find("serving http://127.0.0.1:") != std::string::npos;
      },
      60s))
      << worker.log();
  EXPECT_EQ(worker.Stop(SIGTERM), 0) << worker.log();
}

// The packages named by the `apt-get install` of the Dockerfile's last stage.
std::set<std::string> RuntimePackages(const std::string& dockerfile) {
  size_t last_stage = dockerfile.rfind("\nFROM ");
  std::string stage = dockerfile.substr(last_stage);
  std::smatch install;
  EXPECT_TRUE(std::regex_search(
      stage, install,
      std::regex(R"(apt-get install -y --no-install-recommends((?:[^&]|\\\n)+)&&)")))
      << stage;
  std::set<std::string> packages;
  for (const std::string& word : Words(Replace(install[1], "\\", " "))) packages.insert(word);
  return packages;
}

TEST(Deploy, TheImageInstallsAPackageForEveryLibraryTheBinaryLinks) {
  const std::string dockerfile = ReadFile(SourceDir() / "Dockerfile");
  std::set<std::string> packages = RuntimePackages(dockerfile);
  ASSERT_FALSE(packages.empty());
  // debian:bookworm-slim has these.
  for (const char* base : {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}) packages.insert(base);
  CommandResult needed =
      RunShell("objdump -p '" + SnapdeltaBin().string() + "' | awk '/NEEDED/{print $2}'");
  ASSERT_TRUE(needed.ok()) << needed.Describe();
  CommandResult resolved = RunCommand({"ldd", SnapdeltaBin().string()});
  ASSERT_TRUE(resolved.ok()) << resolved.Describe();
  size_t checked = 0;
  for (const std::string& library : Words(needed.out)) {
    // A sanitizer build's runtimes (make test-asan) are not in a release image.
    if (std::regex_search(library, std::regex("^lib(a|ub|l|t)san\\."))) continue;
    std::smatch path;
    ASSERT_TRUE(std::regex_search(
        resolved.out, path,
        std::regex(std::regex_replace(library, std::regex(R"([.+])"), R"(\$&)") + R"( => (\S+))")))
        << library << " in " << resolved.out;
    CommandResult owner = RunCommand({"dpkg-query", "-S", path[1].str()});
    if (owner.exit_code != 0) {
      // usrmerge: /lib/x86_64-linux-gnu is /usr/lib/x86_64-linux-gnu
      owner = RunCommand({"dpkg-query", "-S", Replace(path[1].str(), "/lib/", "/usr/lib/")});
    }
    if (owner.exit_code != 0) owner = RunCommand({"dpkg-query", "-S", "*/" + library});
    ASSERT_EQ(owner.exit_code, 0) << owner.Describe();
    std::string package = owner.out.substr(0, owner.out.find(':'));
    EXPECT_TRUE(packages.count(package))
        << library << " comes from " << package << ", which the Dockerfile's runtime stage lacks";
    ++checked;
  }
  EXPECT_GE(checked, 10u);
  EXPECT_NE(dockerfile.find("\nUSER snapdelta\n"), std::string::npos) << "runs as non-root";
}

// The packages named by the `apt-get install` of the Dockerfile's first (build) stage.
std::set<std::string> BuildPackages(const std::string& dockerfile) {
  return RuntimePackages(dockerfile.substr(0, dockerfile.rfind("\nFROM ")));
}

TEST(Deploy, TheImagesBuildStageInstallsEveryHeaderAndModuleTheSourcesUse) {
  const std::string dockerfile = ReadFile(SourceDir() / "Dockerfile");
  std::set<std::string> packages = BuildPackages(dockerfile);
  ASSERT_TRUE(packages.count("cmake")) << "the build stage's packages";
  // build-essential brings these.
  for (const char* base : {"libc6-dev", "linux-libc-dev", "libstdc++-12-dev", "libgcc-12-dev"}) {
    packages.insert(base);
  }
  // Every <header> the sources include that a Debian package puts under /usr/include.
  CommandResult includes = RunShell("cd '" + SourceDir().string() +
                                    "' && cat src/*/*.h src/*/*.cc include/snapdelta/*.h | "
                                    "sed -n 's/^#include <\\([^>]*\\)>.*/\\1/p' | sort -u");
  ASSERT_TRUE(includes.ok()) << includes.Describe();
  std::set<std::string> needed;
  for (const std::string& header : Words(includes.out)) {
    for (const char* root : {"/usr/include/", "/usr/include/x86_64-linux-gnu/"}) {
      if (!fs::exists(root + header)) continue;
      CommandResult owner = RunCommand({"dpkg-query", "-S", root + header});
      if (owner.exit_code == 0) needed.insert(owner.out.substr(0, owner.out.find(':')));
      break;
    }
  }
  // And the pkg-config modules CMakeLists.txt asks for.
  std::string cmake = ReadFile(SourceDir() / "CMakeLists.txt");
  std::regex module(R"(pkg_check_modules\(\w+ (?:REQUIRED )?IMPORTED_TARGET (\S+)\))");
  for (auto it = std::sregex_iterator(cmake.begin(), cmake.end(), module);
       it != std::sregex_iterator(); ++it) {
    CommandResult pc = RunShell("dpkg-query -S '/usr/*/" + (*it)[1].str() + ".pc' | head -1");
    ASSERT_TRUE(pc.ok() && !pc.out.empty()) << (*it)[1] << ": " << pc.Describe();
    needed.insert(pc.out.substr(0, pc.out.find(':')));
  }
  EXPECT_GE(needed.size(), 10u);
  for (const std::string& package : needed) {
    EXPECT_TRUE(packages.count(package)) << package
                                         << " is needed to build, and the Dockerfile's build "
                                            "stage does not install it";
  }
}

TEST(Deploy, ComposeRunsTheWorkerAgainstItsOwnPostgresAndS3Services) {
  CommandResult parsed =
      RunCommand({"/usr/bin/python3", "-c",
                  "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                  (SourceDir() / "deploy" / "compose.yaml").string()});
  ASSERT_TRUE(parsed.ok()) << parsed.Describe();
  const nlohmann::json compose = ParseJson(parsed.out, "compose.yaml");
  const nlohmann::json& services = compose["services"];
  const nlohmann::json& worker = services["worker"];
  std::vector<std::string> command = worker["command"];
  ASSERT_EQ(command.front(), "worker");
  auto flag = [&](const std::string& name) {
    auto it = std::find(command.begin(), command.end(), name);
    EXPECT_NE(it, command.end()) << name;
    return it == command.end() || it + 1 == command.end() ? std::string() : *(it + 1);
  };
  std::smatch url;
  const std::string registry = flag("--registry");
  ASSERT_TRUE(
      std::regex_match(registry, url, std::regex("postgresql://([^@]+)@([^:/]+):([0-9]+)/(.+)")))
      << registry;
  const nlohmann::json& postgres = services[url[2].str()];
  ASSERT_FALSE(postgres.is_null()) << "no service " << url[2];
  EXPECT_EQ(postgres["environment"]["POSTGRES_USER"], url[1].str());
  EXPECT_EQ(postgres["environment"]["POSTGRES_DB"], url[4].str());
  EXPECT_EQ(worker["environment"]["PGPASSWORD"], postgres["environment"]["POSTGRES_PASSWORD"]);
  EXPECT_TRUE(worker["depends_on"].contains(url[2].str()));

  std::smatch endpoint;
  const std::string s3 = worker["environment"]["AWS_ENDPOINT_URL"];
  ASSERT_TRUE(std::regex_match(s3, endpoint, std::regex("http://([^:/]+):([0-9]+)"))) << s3;
  const nlohmann::json& store = services[endpoint[1].str()];
  ASSERT_FALSE(store.is_null()) << "no service " << endpoint[1];
  EXPECT_EQ(worker["environment"]["AWS_ACCESS_KEY_ID"], store["environment"]["MINIO_ROOT_USER"]);
  EXPECT_EQ(worker["environment"]["AWS_SECRET_ACCESS_KEY"],
            store["environment"]["MINIO_ROOT_PASSWORD"]);
  EXPECT_EQ(flag("--landing").rfind("s3://exports/", 0), 0u);
  EXPECT_EQ(flag("--state").rfind("s3://exports/", 0), 0u);
  EXPECT_NE(services["buckets"]["command"].dump().find("mb --ignore-existing local/exports"),
            std::string::npos);
  EXPECT_EQ(worker["build"]["dockerfile"], "Dockerfile");
  EXPECT_TRUE(fs::exists(SourceDir() / "deploy" / worker["build"]["context"].get<std::string>() /
                         "Dockerfile"));
}

TEST(Deploy, TheImageBuildsAndRunsAsANonRootUser) {
  if (RunShell("docker version --format '{{.Server.Version}}' >/dev/null 2>&1").exit_code != 0) {
    GTEST_SKIP() << "no Docker daemon answers here (`docker version` names no server): the "
                    "container image is not built by this test; the Dockerfile's runtime "
                    "packages are checked by TheImageInstallsAPackageForEveryLibraryTheBinaryLinks";
  }
  const std::string tag = "snapdelta-test:" + std::to_string(::getpid());
  RunOptions slow;
  slow.timeout = std::chrono::seconds(1800);
  CommandResult built = RunCommand(
      {"docker", "build", "--build-arg", "COMMIT=test", "-t", tag, SourceDir().string()}, slow);
  ASSERT_EQ(built.exit_code, 0) << built.Describe();
  CommandResult version = RunCommand({"docker", "run", "--rm", tag, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.Describe();
  EXPECT_NE(version.out.find("snapdelta 0."), std::string::npos) << version.Describe();
  EXPECT_NE(version.out.find("(commit test)"), std::string::npos) << version.Describe();
  CommandResult user = RunCommand({"docker", "run", "--rm", "--entrypoint", "id", tag, "-u"});
  EXPECT_EQ(user.out, "10001\n") << user.Describe();
  (void)RunCommand({"docker", "rmi", "-f", tag});
}

}  // namespace
}  // namespace snapdelta::testing
