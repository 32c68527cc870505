// Helpers for end-to-end tests that run the real binaries (snapdelta, snapdelta-gen, sqlite3) as a
// user would, in throw-away folders.
//
// Failure model: helpers never throw. A helper that cannot do its job (a file that cannot be
// read, a line that is not JSON) records a GoogleTest failure with ADD_FAILURE() naming the path
// and returns an empty value, so callers that need the value can stop with
// `ASSERT_FALSE(::testing::Test::HasFailure())`.
//
// Thread safety: every function may be called from any thread; RunCommand ignores SIGPIPE in the
// whole process (once) so a child that closes its stdin early cannot kill the test.
#ifndef SNAPDELTA_TESTS_INTEGRATION_HARNESS_H_
#define SNAPDELTA_TESTS_INTEGRATION_HARNESS_H_

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace snapdelta::testing {

namespace fs = std::filesystem;

// The binaries under test and the source tree, as the build configured them.
fs::path SnapdeltaBin();
fs::path GenBin();
fs::path SourceDir();
// The bundled sample landing zone: SourceDir()/examples/landing.
fs::path ExamplesLanding();

// A fresh, empty, uniquely named folder under $TMPDIR (default /tmp), removed with everything in
// it when the object dies. Set SNAPDELTA_KEEP_TEMP=1 to keep it for a post-mortem (its path is
// printed on stderr then).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "snapdelta-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  // path() / relative.
  fs::path operator/(const fs::path& relative) const { return path_ / relative; }

 private:
  fs::path path_;
};

struct RunOptions {
  std::string stdin_data;             // written to the child's stdin, which is then closed
  fs::path cwd;                       // empty: the test's working directory
  std::vector<std::string> env;       // "NAME=value" entries added to (or replacing in) the
                                      // inherited environment
  std::chrono::seconds timeout{600};  // the child's process group is killed past this
};

struct CommandResult {
  std::string command;  // the argv joined by spaces, for messages
  // The exit status; 128 + signal number when killed by a signal; -1 when it could not start.
  int exit_code = -1;
  bool timed_out = false;
  std::string out;  // everything written to stdout
  std::string err;  // everything written to stderr

  bool ok() const { return exit_code == 0; }
  // "`command` exited N" followed by stdout and stderr (each truncated), for assertion messages:
  //   ASSERT_EQ(result.exit_code, 0) << result.Describe();
  std::string Describe() const;
};

// Runs argv[0] (looked up in PATH when it has no '/') with arguments argv[1..], in its own
// process group, capturing stdout and stderr. Blocks until the child exits.
CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options = {});
// Runs `command` with /bin/sh -c.
CommandResult RunShell(const std::string& command, const RunOptions& options = {});
// RunCommand with SnapdeltaBin() as argv[0]. Files a test just wrote are imported at once:
// SNAPDELTA_SETTLE_SECONDS=0 is set unless options.env sets it (a --settle-seconds flag wins).
CommandResult RunSnapdelta(const std::vector<std::string>& args, const RunOptions& options = {});
// posix_spawn()s SnapdeltaBin() with `args`, stdin from /dev/null and stdout and stderr to
// `log`, in the background. Returns its pid, or -1 (a test failure) when it could not start.
pid_t SpawnSnapdelta(const std::vector<std::string>& args, const fs::path& log);
// Sends `sig` to `pid` and reaps it. Returns its exit status, 128 + signal when killed.
int StopProcess(pid_t pid, int sig);

// Polls `done` every 50 ms until it holds or `timeout` passes; true once it holds.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A snapdelta process in the background (stdout and stderr to `log`), stopped by SIGTERM when
// the object dies.
class Background {
 public:
  Background(const std::vector<std::string>& args, const fs::path& log)
      : pid_(SpawnSnapdelta(args, log)), log_(log) {}
  ~Background() { Stop(SIGTERM); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Sends `sig`, reaps the process and returns its exit status (128 + signal when killed);
  // -1 when it was stopped already.
  int Stop(int sig) {
    if (pid_ <= 0) return -1;
    int status = StopProcess(pid_, sig);
    pid_ = -1;
    return status;
  }
  // Sends `sig` (SIGSTOP, SIGCONT) without waiting.
  void Signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  pid_t pid() const { return pid_; }
  std::string log() const;  // everything it wrote so far

 private:
  pid_t pid_;
  fs::path log_;
};

// Adds to the landing folder `table` (<landing>/<tenant>/<table>) a version after its newest,
// named <newest>z, whose export.csv holds the first `lines` lines of the newest version's
// (gzip) export: the header and lines - 1 rows, so that nearly every row is deleted and the
// default max_delete_ratio guard holds the import. Returns the new version's name.
std::string AddShrunkVersion(const fs::path& table, int lines);

// Feeds `script` (SQL and dot-commands) to `sqlite3 -batch -bail DB` on stdin.
CommandResult RunSqlite(const fs::path& db, const std::string& script);

// The whole file, byte for byte.
std::string ReadFile(const fs::path& path);
// The whole file, decompressed when its name ends in .gz or .zst.
std::string ReadDecompressed(const fs::path& path);
// Creates missing parent folders and replaces the file's content.
void WriteFile(const fs::path& path, std::string_view content);

// Parses text that must be one JSON value.
nlohmann::json ParseJson(std::string_view text, std::string_view what = "JSON text");
// One JSON value per non-empty line (JSON Lines). A malformed line is a failure that names the
// file and the 1-based line.
std::vector<nlohmann::json> ReadJsonLines(const fs::path& path);

// Copies the tree under `from` into `to` (created when missing), overwriting files.
void CopyTree(const fs::path& from, const fs::path& to);
// Relative path -> content of every regular file under `root`; empty when `root` is missing. For
// "this step changed nothing" checks.
std::map<std::string, std::string> SnapshotTree(const fs::path& root);

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_INTEGRATION_HARNESS_H_
