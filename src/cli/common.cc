#include "cli/common.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>

#include "base/console.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "config/config.h"
#include "pipeline/admin.h"
#include "pipeline/importer.h"
#include "snapdelta/storage.h"

namespace snapdelta::cli {
namespace {

std::atomic<bool> g_stop{false};

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
        ->add_option("--workers", flags->workers,
                     "Tables imported in parallel (0: one per usable core)")
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

void PrintNotice(LogLevel level, std::string_view step, const std::string& message) {
  if (CurrentLogFormat() == LogFormat::kJson) {
    Log(level, step, /*always=*/true).Add("message", message);
  } else {
    console::WriteLine(stderr, "snapdelta: " + message);
  }
}

void PrintError(const Status& status) { PrintNotice(LogLevel::kError, "error", status.message()); }

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
  EndProgress(record);
  console::WriteLine(stdout, line);
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
