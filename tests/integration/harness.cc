#include "harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

namespace snapdelta::testing {
namespace {

// Output kept per stream in CommandResult::Describe().
constexpr size_t kDescribeBytes = 4000;

std::string Truncated(const std::string& text) {
  if (text.size() <= kDescribeBytes) return text;
  return text.substr(0, kDescribeBytes) + "\n... (" + std::to_string(text.size()) + " bytes)";
}

// The inherited environment with `extra` ("NAME=value") added or replacing.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const std::string& e : extra) replaced = replaced || e.substr(0, e.find('=')) == name;
    if (!replaced) env.emplace_back(text);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// In the child: wires the pipes and execs; never returns.
[[noreturn]] void ExecChild(const int (&in)[2], const int (&out)[2], const int (&err)[2],
                            char** argv, char** envp, const fs::path& cwd) {
  setpgid(0, 0);
  dup2(in[0], STDIN_FILENO);
  dup2(out[1], STDOUT_FILENO);
  dup2(err[1], STDERR_FILENO);
  for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
  signal(SIGPIPE, SIG_DFL);
  if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
  execvpe(argv[0], argv, envp);
  const std::string message = std::string("exec ") + argv[0] + ": " + std::strerror(errno) + "\n";
  (void)!write(STDERR_FILENO, message.data(), message.size());
  _exit(127);
}

// Feeds `input` to `in_fd` and drains `out_fd`/`err_fd` until both reach end of file or the
// deadline passes. Returns false on timeout.
bool Pump(int in_fd, int out_fd, int err_fd, std::string_view input,
          std::chrono::steady_clock::time_point deadline, std::string* out, std::string* err) {
  size_t written = 0;
  if (input.empty()) close(std::exchange(in_fd, -1));
  char buffer[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (poll(fds, 3, static_cast<int>(std::min<int64_t>(left.count(), 1000))) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) (i == 0 ? out : err)->append(buffer, n);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        (i == 0 ? out_fd : err_fd) = -1;
      }
    }
    if (in_fd >= 0 && fds[2].revents != 0) {
      const ssize_t n = write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += n;
      if ((n < 0 && errno != EINTR && errno != EAGAIN) || written == input.size()) {
        close(std::exchange(in_fd, -1));
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  return true;
}

std::string GunzipFile(const fs::path& path) {
  std::string data;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return data;
  }
  char buffer[1 << 16];
  int n;
  while ((n = gzread(gz, buffer, sizeof buffer)) > 0) data.append(buffer, n);
  if (n < 0) ADD_FAILURE() << path << ": gzip error: " << gzerror(gz, &n);
  gzclose(gz);
  return data;
}

std::string UnzstdString(const std::string& compressed, const fs::path& path) {
  std::string data;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string buffer(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t rc = 0;
  for (;;) {
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    rc = ZSTD_decompressStream(ctx.get(), &out, &in);
    if (ZSTD_isError(rc)) {
      ADD_FAILURE() << path << ": zstd error: " << ZSTD_getErrorName(rc);
      return "";
    }
    data.append(buffer.data(), out.pos);
    if (in.pos == in.size && out.pos < out.size) break;
  }
  if (rc != 0) ADD_FAILURE() << path << ": truncated zstd frame";
  return data;
}

}  // namespace

fs::path SnapdeltaBin() { return SNAPDELTA_BIN; }
fs::path GenBin() { return SNAPDELTA_GEN_BIN; }
fs::path SourceDir() { return SNAPDELTA_SOURCE_DIR; }
fs::path ExamplesLanding() { return SourceDir() / "examples" / "landing"; }

TempDir::TempDir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = (fs::path(tmp && *tmp ? tmp : "/tmp") / prefix).string() + ".XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
  }
  path_ = templ;
}

TempDir::~TempDir() {
  const char* keep = std::getenv("SNAPDELTA_KEEP_TEMP");
  if (keep != nullptr && *keep != '\0' && std::string_view(keep) != "0") {
    std::cerr << "kept " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string CommandResult::Describe() const {
  std::ostringstream text;
  text << "`" << command << "` ";
  if (timed_out) text << "timed out and was killed; ";
  text << "exited " << exit_code << "\n--- stdout:\n"
       << Truncated(out) << "\n--- stderr:\n"
       << Truncated(err);
  return text.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options) {
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });
  CommandResult result;
  for (const std::string& arg : argv) result.command += (result.command.empty() ? "" : " ") + arg;
  std::vector<std::string> args = argv, env = ChildEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args), c_env = CStrings(env);
  int in[2], out[2], err[2];
  if (argv.empty() || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0) {
    result.err = "cannot start: empty argv or no pipes";
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0) ExecChild(in, out, err, c_args.data(), c_env.data(), options.cwd);
  close(in[0]), close(out[1]), close(err[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]), close(err[0]);
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  if (!Pump(in[1], out[0], err[0], options.stdin_data, deadline, &result.out, &result.err)) {
    result.timed_out = true;
    kill(-pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  return result;
}

CommandResult RunShell(const std::string& command, const RunOptions& options) {
  return RunCommand({"/bin/sh", "-c", command}, options);
}

pid_t SpawnSnapdelta(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> command = args;
  command.insert(command.begin(), SnapdeltaBin().string());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

int StopProcess(pid_t pid, int sig) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);      // a child that already exited is a zombie until reaped: no other target
  ::kill(pid, SIGCONT);  // a stopped child sees `sig` only once it runs again
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

CommandResult RunSnapdelta(const std::vector<std::string>& args, const RunOptions& options) {
  std::vector<std::string> argv = {SnapdeltaBin().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions with_settle = options;
  const std::string settle = "SNAPDELTA_SETTLE_SECONDS=";
  if (std::none_of(options.env.begin(), options.env.end(),
                   [&](const std::string& entry) { return entry.starts_with(settle); })) {
    with_settle.env.push_back(settle + "0");
  }
  return RunCommand(argv, with_settle);
}

std::string Background::log() const { return ReadFile(log_); }

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

CommandResult RunSqlite(const fs::path& db, const std::string& script) {
  RunOptions options;
  options.stdin_data = script;
  return RunCommand({"sqlite3", "-batch", "-bail", db.string()}, options);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string ReadDecompressed(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".gz") return GunzipFile(path);
  if (ext == ".zst") return UnzstdString(ReadFile(path), path);
  return ReadFile(path);
}

std::string AddShrunkVersion(const fs::path& table, int lines) {
  std::string newest;
  for (const auto& entry : fs::directory_iterator(table)) {
    newest = std::max(newest, entry.path().filename().string());
  }
  EXPECT_FALSE(newest.empty()) << "no version in " << table;
  CommandResult head =
      RunShell("gzip -dc '" + (table / newest).string() + "'/* | head -" + std::to_string(lines));
  EXPECT_TRUE(head.ok()) << head.Describe();
  WriteFile(table / (newest + "z") / "export.csv", head.out);
  return newest + "z";
}

void WriteFile(const fs::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

nlohmann::json ParseJson(std::string_view text, std::string_view what) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    ADD_FAILURE() << what << " is not JSON: " << Truncated(std::string(text));
    return nullptr;
  }
  return value;
}

std::vector<nlohmann::json> ReadJsonLines(const fs::path& path) {
  std::vector<nlohmann::json> values;
  std::istringstream lines(ReadFile(path));
  std::string line;
  for (int line_number = 1; std::getline(lines, line); ++line_number) {
    if (line.empty()) continue;
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      ADD_FAILURE() << path.string() << ":" << line_number << ": not JSON: " << Truncated(line);
      continue;
    }
    values.push_back(std::move(value));
  }
  return values;
}

void CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) ADD_FAILURE() << "cannot copy " << from << " to " << to << ": " << ec.message();
}

std::map<std::string, std::string> SnapshotTree(const fs::path& root) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  if (!fs::exists(root, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) {
      files[fs::relative(it->path(), root).string()] = ReadFile(it->path());
    }
  }
  if (ec) ADD_FAILURE() << "cannot list " << root << ": " << ec.message();
  return files;
}

}  // namespace snapdelta::testing
