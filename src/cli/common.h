// Shared pieces of the subcommands: exit codes, the common options block, signal handling.
#ifndef SNAPDELTA_CLI_COMMON_H_
#define SNAPDELTA_CLI_COMMON_H_

#include <CLI/CLI.hpp>
#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "snapdelta/engine.h"
#include "snapdelta/status.h"

namespace snapdelta::cli {

// Documented in every command's help.
constexpr int kExitOk = 0;
constexpr int kExitImportFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kExitCodesHelp =
    "Exit status: 0 when everything pending succeeded, 1 when an import failed, was held by a "
    "change guard or waits behind a failed one (the others still ran), or when committed events "
    "are left unpublished (--sink), 2 for usage errors.";

// Flags shared by run, watch and status.
struct CommonFlags {
  std::string home = ".snapdelta";
  std::string landing;
  bool landing_required = false;  // set by AddCommonFlags(with_landing)
  std::string state;
  std::string registry;  // empty: the config's, else <home>/registry.db
  std::string config;
  int workers = 0;
  std::string memory_limit;  // empty: the engine's default
  std::string spill_dir;
  double retry_backoff_seconds = 30;
  double lease_seconds = 30;
  std::optional<double> settle_seconds;  // unset: the config's (default 2)
};

// Adds --memory-limit and --spill-dir (run, watch, diff).
void AddMemoryFlags(CLI::App* command, std::string* memory_limit, std::string* spill_dir);
// The --memory-limit flag's value in bytes; DefaultMemoryLimit() when the flag is empty.
StatusOr<uint64_t> ResolveMemoryLimit(const std::string& flag);
void AddCommonFlags(CLI::App* command, CommonFlags* flags, bool with_landing);

// Builds engine options from the flags (loads the config file). kInvalidArgument on bad config.
StatusOr<EngineOptions> ResolveEngineOptions(const CommonFlags& flags);

// Set by SIGINT/SIGTERM once InstallStopHandlers ran.
const std::atomic<bool>& StopRequested();
void InstallStopHandlers();

// Splits "a,b,c" into its parts (empty parts dropped).
std::vector<std::string> SplitList(const std::string& text);

// Prints "snapdelta: <message>" on stderr; under --log-format json, a log line instead
// ({"level": level, "step": step, "message": message}), so that every line a log shipper reads
// is JSON. Written at any --log-level.
void PrintNotice(LogLevel level, std::string_view step, const std::string& message);

// PrintNotice(kError, "error", the status's message).
void PrintError(const Status& status);

// One line per finished import, for run and watch (on stdout; its progress line goes).
void PrintImport(const ImportRecord& record);

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_COMMON_H_
