#include "cloud/kafka_mock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "integration/harness.h"

namespace snapdelta::testing {

std::unique_ptr<KafkaMock> KafkaMock::Start(int brokers, const std::vector<std::string>& topics,
                                            std::string* error) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  std::vector<std::string> args = {SNAPDELTA_KAFKA_MOCK_BIN, "--brokers", std::to_string(brokers)};
  for (const std::string& topic : topics) {
    args.push_back("--topic");
    args.push_back(topic);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    close(to_child[1]);
    close(from_child[0]);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  FILE* out = fdopen(from_child[0], "r");
  char line[4096];
  if (pid < 0 || out == nullptr || fgets(line, sizeof(line), out) == nullptr) {
    *error = "snapdelta-kafka-mock did not print its bootstrap address";
    close(to_child[1]);
    if (out != nullptr) fclose(out);
    if (pid > 0) waitpid(pid, nullptr, 0);
    return nullptr;
  }
  std::string bootstrap = line;
  while (!bootstrap.empty() && bootstrap.back() == '\n') bootstrap.pop_back();
  return std::unique_ptr<KafkaMock>(new KafkaMock(pid, to_child[1], out, bootstrap));
}

KafkaMock::~KafkaMock() {
  close(in_);  // end of its stdin: it stops
  fclose(out_);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string KafkaMock::Command(const std::string& command) {
  std::string line = command + "\n";
  if (write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "";
  char answer[1024];
  if (fgets(answer, sizeof(answer), out_) == nullptr) return "";
  std::string text = answer;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string Consume(const std::string& bootstrap, const std::string& topic,
                    const std::string& format, const std::vector<std::string>& kcat_args) {
  std::vector<std::string> args = {"kcat", "-C", "-b",        bootstrap, "-t",
                                   topic,  "-o", "beginning", "-e",      "-q"};
  args.insert(args.end(), kcat_args.begin(), kcat_args.end());
  args.push_back("-f");
  args.push_back(format);
  CommandResult result = RunCommand(args);
  EXPECT_TRUE(result.ok()) << result.Describe();
  return result.ok() ? result.out : "";
}

}  // namespace snapdelta::testing
