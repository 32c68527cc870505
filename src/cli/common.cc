#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>

#include "cli/commands.h"
#include "config/config.h"
#include "pipeline/admin.h"
#include "pipeline/importer.h"
#include "snapdelta/storage.h"

namespace snapdelta::cli {
namespace {

std::atomic<bool> g_stop{false};

// Redraws of the progress line are at least this far apart.
constexpr auto kProgressInterval = std::chrono::milliseconds(200);

std::mutex g_progress_mutex;
bool g_progress_shown = false;                          // guarded by g_progress_mutex
std::chrono::steady_clock::time_point g_progress_last;  // guarded by g_progress_mutex

bool StderrIsTerminal() {
  static const bool is_tty = ::isatty(STDERR_FILENO) != 0;
  return is_tty;
}

// Clears the progress line before other output. REQUIRES: g_progress_mutex held.
void ClearProgressLocked() {
  if (!g_progress_shown) return;
  std::fputs("\r\033[K", stderr);
  g_progress_shown = false;
}

extern "C" void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

void AddCommonFlags(CLI::App* command, CommonFlags* flags, bool with_landing) {
  command->add_option("--home", flags->home, "Registry, states and change files")
      ->capture_default_str()
      ->group("Common options");
  command
      ->add_option("--state", flags->state,
                   "State store, a folder or s3://BUCKET[/PREFIX] (or `state` in the config; "
                   "default: <home>/state)")
      ->group("Common options");
  command
      ->add_option("--registry", flags->registry,
                   "The registry: postgresql://USER@HOST:PORT/DB, shared by workers on several "
                   "machines, or a SQLite file (or `registry` in the config; default: "
                   "<home>/registry.db). A password is best left to PGPASSWORD or ~/.pgpass")
      ->envname("SNAPDELTA_REGISTRY")
      ->group("Common options");
  flags->landing_required = with_landing;
  if (with_landing) {
    command
        ->add_option("--landing", flags->landing,
                     "Landing zone, a folder or s3://BUCKET[/PREFIX], holding "
                     "<tenant>/<table>/<version>/<file> (or `landing` in the config)")
        ->group("Common options");
    command->add_option("--config", flags->config, "TOML file with per-table options")
        ->group("Common options");
    command
        ->add_option("--workers", flags->workers, "Tables imported in parallel (0: one per core)")
        ->capture_default_str()
        ->group("Common options");
    command
        ->add_option("--retry-backoff", flags->retry_backoff_seconds,
                     "Seconds before an import that failed for an environment reason (disk "
                     "full, I/O error) is retried by a later run; doubles per attempt, up to an "
                     "hour")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group("Common options");
    command
        ->add_option("--lease-seconds", flags->lease_seconds,
                     "A table's lease lasts this long unless renewed (every third of it): a "
                     "worker that dies or stalls holds its table at most this long")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->group("Common options");
    command
        ->add_option("--settle-seconds", flags->settle_seconds,
                     "A landing file is imported once its size and modification time stayed "
                     "the same this long (0: at once). Default: $SNAPDELTA_SETTLE_SECONDS, else "
                     "settle_seconds of the config, else 2")
        ->envname("SNAPDELTA_SETTLE_SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->group("Common options");
    AddMemoryFlags(command, &flags->memory_limit, &flags->spill_dir);
  }
}

void AddMemoryFlags(CLI::App* command, std::string* memory_limit, std::string* spill_dir) {
  command
      ->add_option("--memory-limit", *memory_limit,
                   "Memory budget of an import, e.g. 512MB; past it, rows spill to disk "
                   "(default: a quarter of RAM)")
      ->group("Common options");
  command->add_option("--spill-dir", *spill_dir, "Where spill files go (default: $TMPDIR or /tmp)")
      ->group("Common options");
}

StatusOr<uint64_t> ResolveMemoryLimit(const std::string& flag) {
  if (flag.empty()) return DefaultMemoryLimit();
  StatusOr<uint64_t> limit = ParseByteSize(flag);
  if (!limit.ok()) return limit.status().WithContext("--memory-limit");
  return limit;
}

StatusOr<EngineOptions> ResolveEngineOptions(const CommonFlags& flags) {
  EngineOptions options;
  ASSIGN_OR_RETURN(options.memory_limit, ResolveMemoryLimit(flags.memory_limit));
  options.spill_dir = flags.spill_dir;
  options.home = flags.home;
  options.workers = flags.workers;
  options.retry_backoff_ms = static_cast<int64_t>(flags.retry_backoff_seconds * 1000);
  options.lease_ttl_ms = std::max<int64_t>(3, std::llround(flags.lease_seconds * 1000));
  if (!flags.config.empty()) {
    ASSIGN_OR_RETURN(options.config, LoadConfig(flags.config));
    options.keep_states = options.config.keep_states;
  }
  options.landing = flags.landing.empty() ? options.config.landing : flags.landing;
  options.state = flags.state.empty() ? options.config.state : flags.state;
  options.registry = flags.registry.empty() ? options.config.registry : flags.registry;
  if (!options.landing.empty()) RETURN_IF_ERROR(CheckStorageUrl(options.landing, "--landing"));
  if (!options.state.empty()) RETURN_IF_ERROR(CheckStorageUrl(options.state, "--state"));
  if (flags.landing_required && options.landing.empty()) {
    return InvalidArgumentError(
        "--landing is required (a folder or s3://BUCKET[/PREFIX]), or `landing` in the config");
  }
  options.settle_ms =
      std::llround(1000 * flags.settle_seconds.value_or(options.config.settle_seconds));
  return options;
}

const std::atomic<bool>& StopRequested() { return g_stop; }

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

void PrintError(const Status& status) {
  std::fprintf(stderr, "snapdelta: %s\n", status.message().c_str());
}

void PrintImport(const ImportRecord& record) {
  std::string name =
      fmt::format("{}/{}/{}/{}", record.tenant, record.table, record.version, record.file);
  std::string line;
  switch (record.state) {
    case ImportState::kCommitted:
      line = fmt::format("committed  {}  rows={} insert={} update={} delete={}  {} ms", name,
                         record.counts.rows, record.counts.inserts, record.counts.updates,
                         record.counts.deletes, record.finished_at_ms - record.started_at_ms);
      if (!record.note.empty()) line += "  (" + record.note + ")";
      break;
    case ImportState::kFailed:
      line = fmt::format("failed     {}: {} [{}]", name, record.reason, FailureNextStep(record));
      break;
    case ImportState::kSkipped:
      line = fmt::format("skipped    {}: {}", name, record.reason);
      break;
    case ImportState::kHeld:
      line = fmt::format(
          "held       {}: {}; publish it anyway with `snapdelta release {}/{}/{}`, or drop it "
          "with `snapdelta skip {}/{}/{}`",
          name, record.reason, record.tenant, record.table, record.version, record.tenant,
          record.table, record.version);
      break;
    default:
      line = fmt::format("unfinished {}: {}", name, record.reason);
  }
  std::lock_guard<std::mutex> lock(g_progress_mutex);
  ClearProgressLocked();
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void PrintProgress(const ImportRecord& record, uint64_t bytes_read) {
  if (!StderrIsTerminal()) return;
  std::lock_guard<std::mutex> lock(g_progress_mutex);
  auto now = std::chrono::steady_clock::now();
  if (g_progress_shown && now - g_progress_last < kProgressInterval) return;
  g_progress_last = now;
  double percent = record.size > 0
                       ? 100.0 * static_cast<double>(bytes_read) / static_cast<double>(record.size)
                       : 0.0;
  std::fprintf(stderr, "\r\033[K%s/%s/%s: %.0f%% of %.1f MB", record.tenant.c_str(),
               record.table.c_str(), record.version.c_str(), std::min(percent, 100.0),
               static_cast<double>(record.size) / 1e6);
  std::fflush(stderr);
  g_progress_shown = true;
}

CommandAction ImportByHandAction(CLI::App* command, ImportByHand run) {
  auto flags = std::make_shared<CommonFlags>();
  auto path = std::make_shared<std::string>();
  command->add_option("import", *path, "TENANT/TABLE/VERSION")->required();
  AddCommonFlags(command, flags.get(), true);
  return [flags, path, run]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    StatusOr<std::vector<std::string>> parts = SplitPath(*path, 3);
    if (!options.ok() || !parts.ok()) {
      PrintError(options.ok() ? parts.status() : options.status());
      return kExitUsage;
    }
    StatusOr<ImportRecord> done = run(*options, (*parts)[0], (*parts)[1], (*parts)[2]);
    if (!done.ok()) {
      PrintError(done.status());
      return kExitImportFailed;
    }
    PrintImport(*done);
    return done->state == ImportState::kCommitted ? kExitOk : kExitImportFailed;
  };
}

}  // namespace snapdelta::cli
