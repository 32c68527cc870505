// `snapdelta diff OLD NEW`: a stateless diff of two export files.
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_output.h"
#include "config/config.h"
#include "diff/differ.h"
#include "diff/spill.h"
#include "pipeline/guards.h"
#include "snapdelta/sink.h"
#include "snapdelta/storage.h"

namespace snapdelta::cli {
namespace {

struct DiffFlags {
  std::vector<std::string> files;
  bool first = false;
  std::string key, ignore, ops = "insert,update,delete", on_duplicate, output;
  std::optional<std::string> null_marker, delimiter;
  bool before_images = false;
  bool stats_only = false, json = false;
  std::string config, tenant = "local", table, version;
  std::string memory_limit, spill_dir;
};

// "exports/orders.csv.gz" -> "orders"
std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find('.'));
}

StatusOr<DiffRequest> BuildRequest(const DiffFlags& flags) {
  DiffRequest request;
  size_t wanted = flags.first ? 1 : 2;
  if (flags.files.size() != wanted) {
    return InvalidArgumentError(flags.first ? "diff --first takes one file: NEW"
                                            : "diff takes two files: OLD NEW (or --first NEW)");
  }
  ASSIGN_OR_RETURN(request.new_export, OpenStoredFile(flags.files.back()));
  if (!flags.first) {
    ASSIGN_OR_RETURN(request.previous.file, OpenStoredFile(flags.files.front()));
    request.previous.kind = PreviousExport::Kind::kExport;
  }
  std::string table = flags.table.empty() ? Stem(flags.files.back()) : flags.table;
  if (!flags.config.empty()) {
    ASSIGN_OR_RETURN(Config config, LoadConfig(flags.config));
    request.options = config.ForTable(table);
  }
  TableOptions& options = request.options;
  if (!flags.key.empty()) options.key = SplitList(flags.key);
  if (!flags.ignore.empty()) options.ignore = SplitList(flags.ignore);
  if (flags.null_marker) options.null_marker = flags.null_marker;
  if (flags.delimiter) {
    std::string d = *flags.delimiter == "\\t" ? "\t" : *flags.delimiter;
    if (d.size() != 1) return InvalidArgumentError("--delimiter must be one character");
    options.delimiter = d[0];
  }
  if (flags.before_images) options.before_images = true;
  if (!flags.on_duplicate.empty()) {
    ASSIGN_OR_RETURN(options.on_duplicate, ParseDuplicatePolicy(flags.on_duplicate));
  }
  ASSIGN_OR_RETURN(request.memory_limit, ResolveMemoryLimit(flags.memory_limit));
  request.spill_dir = flags.spill_dir;
  request.ops = OpFilter{false, false, false};
  for (const std::string& op : SplitList(flags.ops)) {
    if (op == "insert")
      request.ops.insert = true;
    else if (op == "update")
      request.ops.update = true;
    else if (op == "delete")
      request.ops.del = true;
    else
      return InvalidArgumentError("--ops: unknown kind '" + op + "' (insert, update, delete)");
  }
  return request;
}

// --stats-only: the counts and the share of OLD's rows deleted and changed, on stdout.
void PrintStats(const DiffStats& stats, bool json) {
  ImportCounts counts{stats.new_rows, stats.inserts, stats.updates, stats.deletes};
  double delete_ratio = DeleteRatio(counts, stats.old_rows);
  double change_ratio = ChangeRatio(counts, stats.old_rows);
  if (json) {
    nlohmann::json object{
        {"old_rows", stats.old_rows},   {"new_rows", stats.new_rows},
        {"inserts", stats.inserts},     {"updates", stats.updates},
        {"deletes", stats.deletes},     {"delete_ratio", delete_ratio},
        {"change_ratio", change_ratio}, {"schema_change", stats.schema_change.ToString()}};
    std::printf("%s\n", DumpJson(object, -1).c_str());
    return;
  }
  std::string line = fmt::format(
      "{} -> {} rows: {} INSERT, {} UPDATE, {} DELETE; deletes {:.1f}% and changes {:.1f}% of "
      "OLD's {} rows",
      stats.old_rows, stats.new_rows, stats.inserts, stats.updates, stats.deletes,
      100.0 * delete_ratio, 100.0 * change_ratio, stats.old_rows);
  if (!stats.schema_change.empty()) line += "; schema change: " + stats.schema_change.ToString();
  std::printf("%s\n", line.c_str());
}

// Set by the stop thread once it has taken a signal: from then on the process ends only by that
// thread's exit (128 + the signal). A differ thread that meets its spill folder gone, or a diff
// that finishes meanwhile, must not report that or exit first.
std::atomic<bool> g_stopping{false};

// Called by the diff's own thread on its way out: while a stop is under way, waits for the stop
// thread to end the process.
void WaitIfStopping() {
  if (!g_stopping.load()) return;
  for (;;) pause();  // the stop signals are blocked here; the stop thread calls _Exit
}

// SIGINT, SIGTERM and SIGHUP stop a diff on its way out: its spill folders and the -o temp file
// are removed first (a spill of many GB must not outlive the process), then it exits 128 + the
// signal. The signals are taken by one thread (sigwait), so no other thread is interrupted.
void CleanUpOnStopSignals(const std::string& spill_root, const std::string& output) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by the differ's threads
  std::thread([signals, spill_root, output] {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return;
    g_stopping.store(true);
    RemoveOwnSpillDirs(spill_root);
    if (!output.empty()) RemoveOwnTempFiles(output);
    std::fprintf(stderr, "snapdelta: stopped by signal %d; temporary files removed\n", sig);
    std::_Exit(128 + sig);
  }).detach();
}

int RunDiffUnguarded(const DiffFlags& flags) {
  StatusOr<DiffRequest> request = BuildRequest(flags);
  if (!request.ok()) {
    PrintError(request.status());
    return kExitUsage;
  }
  if (flags.stats_only && !flags.output.empty()) {
    PrintError(InvalidArgumentError("--stats-only writes no events; drop -o/--output"));
    return kExitUsage;
  }
  std::unique_ptr<Sink> sink = flags.stats_only       ? NewDiscardSink()
                               : flags.output.empty() ? NewJsonLinesSink(stdout, false)
                                                      : NewJsonFileSink(flags.output);
  std::string table = flags.table.empty() ? Stem(flags.files.back()) : flags.table;
  ImportIdentity identity{flags.tenant, table,
                          flags.version.empty() ? Stem(flags.files.back()) : flags.version};
  CleanUpOnStopSignals(request->spill_dir, flags.output);
  auto start = std::chrono::steady_clock::now();
  Differ differ(*request);
  Status status = sink->Begin(identity);
  if (status.ok()) status = differ.Run(sink.get());
  if (status.ok()) status = sink->Finish();
  if (!status.ok()) {
    sink->Abort();
    if (status.code() == StatusCode::kIOError &&
        status.message().find("Broken pipe") != std::string::npos) {
      return kExitOk;  // the reader went away (diff ... | head): not an error
    }
    WaitIfStopping();  // the failure is the stop's removal of the spill folder, not an error
    PrintError(status);
    return kExitImportFailed;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  const DiffStats& stats = differ.stats();
  if (flags.stats_only) {
    PrintStats(stats, flags.json);
    return kExitOk;
  }
  std::fprintf(
      stderr,
      "snapdelta diff: %llu -> %llu rows: %llu INSERT, %llu UPDATE, %llu DELETE in %lld ms%s%s\n",
      static_cast<unsigned long long>(stats.old_rows),
      static_cast<unsigned long long>(stats.new_rows),
      static_cast<unsigned long long>(stats.inserts),
      static_cast<unsigned long long>(stats.updates),
      static_cast<unsigned long long>(stats.deletes), static_cast<long long>(ms),
      stats.schema_change.empty() ? "" : "; schema change: ",
      stats.schema_change.ToString().c_str());
  return kExitOk;
}

// Allocation failure outside the differ (which reports its own) is an error, not an abort.
int RunDiff(const DiffFlags& flags) {
  try {
    const int code = RunDiffUnguarded(flags);
    WaitIfStopping();
    return code;
  } catch (const std::bad_alloc&) {
    PrintError(ResourceExhaustedError(
        "out of memory; set a lower --memory-limit, so that more is spilled to disk "
        "(--spill-dir), or free memory"));
    return kExitImportFailed;
  }
}

}  // namespace

CommandAction AddDiffCommand(CLI::App* app) {
  auto flags = std::make_shared<DiffFlags>();
  CLI::App* command = app->add_subcommand(
      "diff", "Stateless diff of two export files: events to stdout, a summary on stderr.");
  command->footer(
      "Examples:\n"
      "  snapdelta diff old.csv.gz new.csv.gz --key id\n"
      "  snapdelta diff --first new.csv.gz -k region,id -o events.jsonl\n"
      "  snapdelta diff a.csv b.csv -k id --ops delete --before-images | head\n"
      "  snapdelta diff old.csv.gz new.csv.gz -k id --stats-only --json\n\n" +
      std::string(kExitCodesHelp));
  command->add_option("files", flags->files, "OLD NEW (or NEW with --first)")->required();
  command->add_flag("--first", flags->first, "NEW is a first export: every row is an INSERT");
  command->add_option("-k,--key", flags->key,
                      "Key columns, comma-separated (default: first column)");
  command->add_option("--ignore", flags->ignore, "Columns left out of the comparison");
  command->add_option("--null-marker", flags->null_marker,
                      "An unquoted field equal to this is null");
  command->add_option("-d,--delimiter", flags->delimiter, "Field separator (default ',')");
  command->add_option("--ops", flags->ops, "Kinds of events to emit")->capture_default_str();
  command->add_option("--on-duplicate", flags->on_duplicate, "fail (default), first or last");
  command->add_flag("--before-images", flags->before_images, "UPDATE and DELETE carry the old row");
  command->add_option("-o,--output", flags->output, "Write events to this file (atomically)");
  command->add_flag("--stats-only", flags->stats_only,
                    "No events: print the counts and the share of OLD's rows deleted and changed");
  command->add_flag("--json", flags->json, "With --stats-only: one JSON object")
      ->needs("--stats-only");
  command->add_option("--config", flags->config, "TOML file; options of --table apply");
  command->add_option("--tenant", flags->tenant, "Tenant in event ids")->capture_default_str();
  command->add_option("--table", flags->table, "Table in event ids (default: NEW's name)");
  command->add_option("--version", flags->version, "Version in event ids (default: NEW's name)");
  AddMemoryFlags(command, &flags->memory_limit, &flags->spill_dir);
  return [flags]() { return RunDiff(*flags); };
}

}  // namespace snapdelta::cli
