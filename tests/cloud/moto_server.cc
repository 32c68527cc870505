#include "cloud/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace snapdelta::testing {
namespace {

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

// The environment the fixture sets for the suite; nullopt unsets.
const std::vector<std::pair<std::string, std::optional<std::string>>>& FixtureEnv(
    const std::string& endpoint) {
  static std::vector<std::pair<std::string, std::optional<std::string>>> env;
  env = {{"AWS_ENDPOINT_URL", endpoint},
         {"AWS_ACCESS_KEY_ID", "testing"},
         {"AWS_SECRET_ACCESS_KEY", "testing"},
         {"AWS_REGION", "us-east-1"},
         {"AWS_DEFAULT_REGION", "us-east-1"},
         {"AWS_CONFIG_FILE", "/nonexistent/snapdelta-test/aws-config"},
         {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/snapdelta-test/aws-credentials"},
         {"AWS_EC2_METADATA_DISABLED", "true"},
         {"AWS_SESSION_TOKEN", std::nullopt},
         {"AWS_PROFILE", std::nullopt},
         {"AWS_ENDPOINT_URL_S3", std::nullopt},
         {"AWS_ENDPOINT_URL_SQS", std::nullopt}};
  return env;
}

}  // namespace

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

StatusOr<std::string> ReadAll(ByteSource& source, size_t chunk) {
  std::string out, buf(chunk, '\0');
  for (;;) {
    StatusOr<size_t> n = source.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

std::unique_ptr<MotoServer> MotoServer::Start(const std::vector<std::string>& env,
                                              std::string* error) {
  const CommandResult which = RunShell("command -v moto_server");
  if (!which.ok() || which.out.empty()) {
    *error =
        "moto_server is not on PATH; install it with `pip install 'moto[server]==5.2.*'` "
        "(scripts/install-deps.sh tries when pip is available)";
    return nullptr;
  }
  if (!RunShell("command -v aws").ok()) {
    *error =
        "the AWS CLI (aws), which checks what the client wrote, is not on PATH; install it "
        "with `pip install awscli` (scripts/install-deps.sh tries when pip is available)";
    return nullptr;
  }
  static std::atomic<int> counter{0};
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = FreeLoopbackPort();
    const std::string log =
        (std::filesystem::temp_directory_path() /
         ("snapdelta-moto-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".log"))
            .string();
    std::vector<std::string> args = {"moto_server", "-H", "127.0.0.1", "-p", std::to_string(port)};
    // Everything the child needs is prepared before fork: only async-signal-safe calls after.
    std::vector<std::string> child_env(env);
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const std::string_view name = text.substr(0, text.find('=') + 1);
      bool replaced = false;
      for (const std::string& extra : env) replaced = replaced || extra.starts_with(name);
      if (!replaced) child_env.emplace_back(text);
    }
    std::vector<char*> c_args, c_env;
    for (std::string& arg : args) c_args.push_back(arg.data());
    for (std::string& entry : child_env) c_env.push_back(entry.data());
    c_args.push_back(nullptr);
    c_env.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) dup2(fd, STDOUT_FILENO), dup2(fd, STDERR_FILENO);
      execvpe("moto_server", c_args.data(), c_env.data());
      _exit(127);
    }
    if (pid < 0) {
      *error = std::string("fork: ") + std::strerror(errno);
      return nullptr;
    }
    std::unique_ptr<MotoServer> server(new MotoServer(pid, port, log));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        kill(-pid, SIGKILL);  // anything it started in its process group
        server->pid_ = -1;
        *error = "moto_server exited at start: " + ReadLog(log);
        break;
      }
      if (CanConnect(port)) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (server->pid_ > 0) *error = "moto_server did not answer within 30 s: " + ReadLog(log);
  }
  return nullptr;
}

MotoServer::~MotoServer() {
  if (pid_ > 0) {
    // The server runs in its own process group (setpgid in the child): signal all of it.
    kill(-pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 50 && !reaped; ++i) {
      reaped = waitpid(pid_, &status, WNOHANG) == pid_;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid_, SIGKILL);  // whatever of the group outlived SIGTERM
    if (!reaped) waitpid(pid_, &status, 0);
  }
  unlink(log_.c_str());
}

std::unique_ptr<MotoServer> MotoTest::server_;
std::string MotoTest::skip_reason_;
std::vector<std::string> MotoTest::cli_env_;
std::map<std::string, std::optional<std::string>> MotoTest::saved_env_;

void MotoTest::StartServer(const std::vector<std::string>& server_env) {
  skip_reason_.clear();
  server_ = MotoServer::Start(server_env, &skip_reason_);
  if (!server_) return;
  saved_env_.clear();
  for (const auto& [name, value] : FixtureEnv(server_->endpoint())) {
    const char* old = std::getenv(name.c_str());
    saved_env_[name] = old == nullptr ? std::nullopt : std::optional<std::string>(old);
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
}

void MotoTest::TearDownTestSuite() {
  server_.reset();
  cli_env_.clear();
  for (const auto& [name, value] : saved_env_) {
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  saved_env_.clear();
}

void MotoTest::SetUp() {
  if (!server_) GTEST_SKIP() << "no moto server: " << skip_reason_;
}

AwsConfig MotoTest::Config(const std::string& service) {
  StatusOr<AwsConfig> config = ResolveAwsConfig(service);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : AwsConfig{};
}

CommandResult MotoTest::Aws(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"aws", "--endpoint-url", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.timeout = std::chrono::seconds(300);
  options.env = cli_env_;
  return RunCommand(argv, options);
}

std::string MotoTest::NewBucket(const std::string& suffix) {
  static int counter = 0;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "t" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "-";
  for (char c : std::string(info->name()) + suffix) {
    if (name.size() >= 60) break;
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '-';
  }
  while (name.back() == '-') name.pop_back();
  const CommandResult made = Aws({"s3api", "create-bucket", "--bucket", name});
  EXPECT_TRUE(made.ok()) << made.Describe();
  return name;
}

}  // namespace snapdelta::testing
