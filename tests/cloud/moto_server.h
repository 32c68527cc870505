// A moto_server (the AWS service mock, moto 5.2) child process on a free loopback port, and
// MotoTest, a GoogleTest fixture that runs one such server per test suite.
//
// MotoTest::SetUpTestSuite starts the server and points the test process's environment at it
// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=testing, AWS_SECRET_ACCESS_KEY=testing,
// AWS_REGION=us-east-1, shared config files that do not exist), so that ResolveAwsConfig and the
// AWS CLI children both talk to it; TearDownTestSuite stops the server and restores the
// environment. When moto_server or the AWS CLI is not on PATH (scripts/install-deps.sh installs
// them when pip can reach PyPI) or the server does not start, every test of the suite is skipped
// with the reason.
//
// Helpers never throw: a failure is a GoogleTest failure naming the command.
//
// Thread safety: none; call from the test's main thread. setenv is not thread-safe, so the
// environment changes happen before and after the suite only.
#ifndef SNAPDELTA_TESTS_CLOUD_MOTO_SERVER_H_
#define SNAPDELTA_TESTS_CLOUD_MOTO_SERVER_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloud/aws_config.h"
#include "integration/harness.h"
#include "snapdelta/source.h"

namespace snapdelta::testing {

// A free TCP port on 127.0.0.1 (bound, read back and released: another process could take it).
int FreeLoopbackPort();

// `size` pseudo-random bytes, the same for the same seed.
std::string RandomBytes(size_t size, uint32_t seed);

// Everything `source` returns, read `chunk` bytes at a time, or its first error.
StatusOr<std::string> ReadAll(ByteSource& source, size_t chunk = 100000);

class MotoServer {
 public:
  // Starts `moto_server -H 127.0.0.1 -p <free port>` with `env` ("NAME=value") added to its
  // environment and waits up to 30 s until it accepts connections. Null with *error set when
  // moto_server is missing or does not come up (the message quotes its log).
  static std::unique_ptr<MotoServer> Start(const std::vector<std::string>& env, std::string* error);
  // Kills the server's process group and waits for it.
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  MotoServer(pid_t pid, int port, std::string log) : pid_(pid), port_(port), log_(log) {}

  pid_t pid_;
  int port_;
  std::string log_;  // the server's stdout and stderr
};

class MotoTest : public ::testing::Test {
 protected:
  // Extra environment for the server; suites override by defining their own SetUpTestSuite
  // that calls StartServer.
  static void SetUpTestSuite() { StartServer({}); }
  static void TearDownTestSuite();
  static void StartServer(const std::vector<std::string>& server_env);

  void SetUp() override;

  static MotoServer* server() { return server_.get(); }
  static std::string endpoint() { return server_->endpoint(); }

  // The configuration of `service` resolved from the environment the fixture set.
  static AwsConfig Config(const std::string& service);

  // Runs `aws --endpoint-url <endpoint> <args...>` (the AWS CLI, as an independent client),
  // with cli_env() added to its environment.
  static CommandResult Aws(const std::vector<std::string>& args);
  // "NAME=value" entries for the CLI, e.g. other credentials.
  static std::vector<std::string>& cli_env() { return cli_env_; }
  // Creates a bucket whose name is unique to the running test (and `suffix`), with the CLI.
  std::string NewBucket(const std::string& suffix = "");

 private:
  static std::unique_ptr<MotoServer> server_;
  static std::string skip_reason_;
  static std::vector<std::string> cli_env_;
  static std::map<std::string, std::optional<std::string>> saved_env_;
};

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_CLOUD_MOTO_SERVER_H_
