#include "pg/pg_server.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "cloud/moto_server.h"  // FreeLoopbackPort

namespace snapdelta::testing {
namespace {

// The single-quoted shell word for `text`.
std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

bool IsServerBin(const fs::path& dir) {
  return fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl") && fs::exists(dir / "postgres");
}

// The folder holding initdb, pg_ctl and postgres; empty when there is none.
std::string FindServerBin() {
  CommandResult which = RunShell("command -v initdb");
  if (which.ok() && !which.out.empty()) {
    std::string path = which.out.substr(0, which.out.find('\n'));
    fs::path dir = fs::canonical(path).parent_path();
    if (IsServerBin(dir)) return dir.string();
  }
  std::vector<fs::path> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", error)) {
    if (IsServerBin(entry.path() / "bin")) found.push_back(entry.path() / "bin");
  }
  if (found.empty()) return "";
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename()) < std::stoi(b.parent_path().filename());
  });
  return found.back().string();
}

// "runuser -u nobody -- " when root (PostgreSQL refuses to run as root), else "".
std::string AsServerUser() { return geteuid() == 0 ? "runuser -u nobody -- " : ""; }

std::string ServerOwnerChown(const fs::path& path) {
  return geteuid() == 0 ? "chown -R nobody " + Quote(path.string()) : "true";
}

std::string Tail(const std::string& text) {
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

std::unique_ptr<PgServer> PgServer::Start(std::string* error) {
  const std::string bin = FindServerBin();
  if (bin.empty()) {
    *error =
        "PostgreSQL's initdb, pg_ctl and postgres are neither on PATH nor in "
        "/usr/lib/postgresql/*/bin; install Debian's `postgresql` (scripts/install-deps.sh does)";
    return nullptr;
  }
  if (!RunShell("command -v psql").ok()) {
    *error =
        "psql, the client that checks what snapdelta wrote, is not on PATH; install "
        "Debian's `postgresql-client`";
    return nullptr;
  }
  CommandResult version = RunCommand({bin + "/postgres", "--version"});
  std::string tag;
  for (char c : version.out) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.') tag += c;
  }
  // The template cluster, made once per user and version.
  const fs::path temp = fs::temp_directory_path();
  const fs::path templ =
      temp / ("snapdelta-pg-template-" + std::to_string(geteuid()) + "-" + tag.substr(0, 40));
  const std::string make_template =
      "flock " + Quote(templ.string() + ".lock") + " sh -c " +
      Quote("test -f " + Quote((templ / "data" / "PG_VERSION").string()) + " && exit 0; rm -rf " +
            Quote(templ.string()) + " && mkdir -p " + Quote(templ.string()) + " && chmod 755 " +
            Quote(templ.string()) + " && " + ServerOwnerChown(templ) + " && " + AsServerUser() +
            Quote(bin + "/initdb") + " -D " + Quote((templ / "data.new").string()) +
            " -U snapdelta --auth=trust -E UTF8 --locale=C --no-sync >" +
            Quote((templ / "initdb.log").string()) + " 2>&1 && mv " +
            Quote((templ / "data.new").string()) + " " + Quote((templ / "data").string()));
  CommandResult made = RunShell(make_template);
  if (!made.ok()) {
    *error = "initdb failed: " + made.Describe() + "\n" + ReadFile(templ / "initdb.log");
    return nullptr;
  }
  auto dir = std::make_unique<TempDir>("snapdelta-pg");
  const fs::path root = dir->path();
  CommandResult copied =
      RunShell("chmod 755 " + Quote(root.string()) + " && cp -a " +
               Quote((templ / "data").string()) + " " + Quote((root / "data").string()) +
               " && mkdir " + Quote((root / "sock").string()) + " && " + ServerOwnerChown(root));
  if (!copied.ok()) {
    *error = "cannot copy the template cluster: " + copied.Describe();
    return nullptr;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<PgServer> server(new PgServer(std::move(dir), bin, FreeLoopbackPort()));
    CommandResult started = server->PgCtl("start");
    if (started.ok()) {
      server->running_ = true;
      return server;
    }
    *error = "the PostgreSQL server did not start: " + started.Describe() + "\n" +
             Tail(ReadFile(server->dir_->path() / "server.log"));
    dir = std::move(server->dir_);  // another port: the free one may have been taken meanwhile
  }
  return nullptr;
}

PgServer::~PgServer() {
  if (running_) PgCtl("stop", "immediate");
}

CommandResult PgServer::PgCtl(const std::string& action, const std::string& mode) const {
  const fs::path root = dir_->path();
  std::string command = AsServerUser() + Quote(bin_ + "/pg_ctl") + " " + action + " -w -t 60 -D " +
                        Quote((root / "data").string());
  if (action == "start") {
    command += " -l " + Quote((root / "server.log").string()) + " -o " +
               Quote("-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                     (root / "sock").string() +
                     " -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                     "-c max_connections=200");
  } else {
    command += " -m " + (mode.empty() ? std::string("fast") : mode);
  }
  return RunShell(command + " </dev/null");
}

std::string PgServer::Url(const std::string& database) const {
  return "postgresql://snapdelta:" + std::string(kPassword) +
         "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgServer::NewDatabase(const std::string& hint) {
  std::string name;
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string source =
      (test != nullptr ? std::string(test->name()) : std::string("db")) + "_" + hint;
  for (char c : source) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  name = "t" + std::to_string(++databases_) + "_" + name.substr(0, 50);
  CommandResult created = Psql(Url(), "CREATE DATABASE \"" + name + "\"");
  EXPECT_TRUE(created.ok()) << created.Describe();
  return Url(name);
}

void PgServer::Stop() {
  CommandResult stopped = PgCtl("stop");
  EXPECT_TRUE(stopped.ok()) << stopped.Describe();
  running_ = false;
}

void PgServer::Resume() {
  CommandResult started = PgCtl("start");
  EXPECT_TRUE(started.ok()) << started.Describe() << "\n"
                            << Tail(ReadFile(dir_->path() / "server.log"));
  running_ = started.ok();
}

CommandResult PgServer::Psql(const std::string& url, const std::string& sql) {
  return RunCommand({"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, url});
}

std::unique_ptr<PgServer> PgTest::server_;
std::string PgTest::skip_reason_;

void PgTest::SetUpTestSuite() {
  skip_reason_.clear();
  server_ = PgServer::Start(&skip_reason_);
}

void PgTest::TearDownTestSuite() { server_.reset(); }

void PgTest::SetUp() {
  if (server_ == nullptr) GTEST_SKIP() << skip_reason_;
}

}  // namespace snapdelta::testing
