// `snapdelta run` (and its --dry-run) and `snapdelta watch`.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_output.h"
#include "cli/progress.h"
#include "cli/publish_step.h"
#include "cli/serve.h"
#include "pipeline/discovery.h"
#include "pipeline/dry_run.h"
#include "pipeline/importer.h"
#include "snapdelta/landing.h"

namespace snapdelta::cli {
namespace {

// Polling sleeps are cut into slices this long so a stop signal is seen quickly.
constexpr auto kStopCheckSlice = std::chrono::milliseconds(100);
// How long watch waits for upload notifications at a time (it checks for a stop in between).
constexpr int64_t kEventWaitMs = 1000;

constexpr const char* kStrictHelp =
    "Exit 1 also when a warning was printed (a committed export's file now holds other content)";

// Runs one pass and prints it; returns the exit status of that pass (with `strict`, 1 when it
// printed a warning).
int RunPass(EngineOptions options, bool strict) {
  options.stop = &StopRequested();
  options.on_import_done = PrintImport;
  options.on_progress = ShowProgress;
  StatusOr<RunReport> report = RunOnce(options);
  ClearProgress();
  if (!report.ok()) {
    PrintError(report.status());
    return kExitImportFailed;
  }
  for (const std::string& waiting : report->waiting) {
    std::printf("waiting    %s\n", waiting.c_str());
  }
  for (const std::string& note : report->notes) std::printf("note       %s\n", note.c_str());
  for (const std::string& warning : report->warnings) {
    std::printf("warning    %s\n", warning.c_str());
  }
  std::fflush(stdout);
  for (const std::string& busy : report->busy_tables) {
    PrintNotice(LogLevel::kInfo, "busy", "busy, left for later: " + busy);
  }
  if (report->any_failed()) return kExitImportFailed;
  return strict && !report->warnings.empty() ? kExitImportFailed : kExitOk;
}

// "deletes 90.0% of 10000 previous rows, changes 90.1%", or "first import" without a previous
// state.
std::string DescribeRatios(const DryRunImport& import) {
  if (import.first_import) return "first import";
  return fmt::format("deletes {:.1f}% of {} previous rows, changes {:.1f}%",
                     100.0 * import.delete_ratio, import.previous_rows,
                     100.0 * import.change_ratio);
}

void PrintDryRunLine(const DryRunImport& import) {
  std::string name =
      fmt::format("{}/{}/{}/{}", import.tenant, import.table, import.version, import.file);
  std::string action(DryRunActionName(import.action));
  std::string line;
  if (import.action == DryRunAction::kSkip || import.action == DryRunAction::kFail) {
    line = fmt::format("{:<7}{}: {}", action, name, import.reason);
  } else {
    line = fmt::format("{:<7}{}  rows={} insert={} update={} delete={}  {}", action, name,
                       import.counts.rows, import.counts.inserts, import.counts.updates,
                       import.counts.deletes, DescribeRatios(import));
    if (!import.reason.empty()) line += "  (" + import.reason + ")";
  }
  std::printf("%s\n", line.c_str());
}

nlohmann::json DryRunJson(const DryRunImport& import) {
  return nlohmann::json{{"tenant", import.tenant},
                        {"table", import.table},
                        {"version", import.version},
                        {"file", import.file},
                        {"action", DryRunActionName(import.action)},
                        {"reason", import.reason},
                        {"rows", import.counts.rows},
                        {"inserts", import.counts.inserts},
                        {"updates", import.counts.updates},
                        {"deletes", import.counts.deletes},
                        {"previous_rows", import.previous_rows},
                        {"delete_ratio", import.delete_ratio},
                        {"change_ratio", import.change_ratio}};
}

// Prints what a run would do; 1 when an import would be held or fail.
int DryRunPass(const EngineOptions& options, bool json) {
  StatusOr<std::vector<DryRunImport>> imports = DryRun(options);
  if (!imports.ok()) {
    PrintError(imports.status());
    return kExitImportFailed;
  }
  if (json) {
    nlohmann::json array = nlohmann::json::array();
    for (const DryRunImport& import : *imports) array.push_back(DryRunJson(import));
    std::printf("%s\n", DumpJson(array).c_str());
  } else {
    for (const DryRunImport& import : *imports) PrintDryRunLine(import);
    if (imports->empty()) std::printf("nothing pending\n");
  }
  bool blocked = std::any_of(imports->begin(), imports->end(), [](const DryRunImport& import) {
    return import.action == DryRunAction::kHold || import.action == DryRunAction::kFail;
  });
  return blocked ? kExitImportFailed : kExitOk;
}

}  // namespace

CommandAction AddRunCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto publish_flags = std::make_shared<PublishFlags>();
  auto dry_run = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  auto strict = std::make_shared<bool>(false);
  CLI::App* command =
      app->add_subcommand("run", "Process every pending export in the landing zone once.");
  command->footer(
      "Examples:\n"
      "  snapdelta run --landing ./landing --home ./.snapdelta\n"
      "  snapdelta run --landing ./landing --config snapdelta.toml --workers 4\n"
      "  snapdelta run --landing ./landing --dry-run --json | jq '.[] | select(.action != "
      "\"commit\")'\n\n"
      "--dry-run prints, per pending import, what the run would do (commit, hold, skip or fail), "
      "its counts and the share of the previous export's rows they delete and change; it "
      "publishes nothing and changes nothing under --home. Its exit status is 0 when every "
      "import would commit or be skipped, 1 when one would be held or fail, 2 for usage "
      "errors.\n" +
      std::string(kExitCodesHelp));
  AddCommonFlags(command, flags.get(), true);
  command->add_flag("--dry-run", *dry_run,
                    "Show what the run would do without publishing or recording anything");
  command->add_flag("--json", *json, "With --dry-run: a JSON array, one object per import")
      ->needs("--dry-run");
  command->add_flag("--strict", *strict, kStrictHelp);
  AddPublishFlags(command, publish_flags.get());
  return [flags, publish_flags, dry_run, json, strict]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    if (!options.ok()) {
      PrintError(options.status());
      return kExitUsage;
    }
    if (*dry_run) return DryRunPass(*options, *json);
    StatusOr<std::unique_ptr<Publishing>> publishing = OpenPublishing(*publish_flags, *options);
    if (!publishing.ok()) {
      PrintError(publishing.status());
      return kExitUsage;
    }
    InstallStopHandlers();
    int imported = RunPass(*options, *strict);
    // Everything committed, by this run or an earlier one, is published before run returns.
    int published = PublishPass(*options, publishing->get());
    return std::max(imported, published);
  };
}

namespace {

// Deletes the notifications whose exports are registered (or that name no export), keeping the
// others (one per path, the newest) for after the next pass.
void AckRegistered(const EngineOptions& options, LandingEvents* events,
                   std::vector<LandingEvent>* unacked) {
  if (unacked->empty()) return;
  StatusOr<std::unique_ptr<Registry>> registry =
      OpenExistingRegistryReadOnly(options.home, options.registry);
  std::map<std::string, LandingEvent> kept;
  for (const LandingEvent& event : *unacked) {
    std::optional<LandingFile> file = LandingFileAt(options.landing, event.path);
    StatusOr<bool> registered = !file           ? StatusOr<bool>(true)
                                : registry.ok() ? ExportRegistered(registry->get(), *file)
                                                : StatusOr<bool>(false);
    if (registered.ok() && *registered) {
      Status acked = events->Ack(event);
      if (acked.ok()) continue;
      PrintError(acked);
    }
    kept[event.path] = event;
  }
  unacked->clear();
  for (auto& [path, event] : kept) unacked->push_back(std::move(event));
}

// watch and worker: one loop of passes, under two names.
CommandAction AddLoopCommand(CLI::App* command) {
  auto flags = std::make_shared<CommonFlags>();
  auto publish_flags = std::make_shared<PublishFlags>();
  auto interval = std::make_shared<double>(10.0);
  auto strict = std::make_shared<bool>(false);
  auto events_url = std::make_shared<std::string>();
  AddCommonFlags(command, flags.get(), true);
  command->add_option("--interval", *interval, "Seconds between polls")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--events", *events_url,
                      "S3 event notifications that start an import at once: sqs://HOST/ACCOUNT/"
                      "QUEUE; a message is deleted once its export is registered, and the polls "
                      "go on as the reconciliation");
  command->add_flag("--strict", *strict, kStrictHelp);
  AddPublishFlags(command, publish_flags.get());
  auto serve = std::make_shared<std::string>();
  auto allow_remote = std::make_shared<bool>(false);
  command->add_option("--serve", *serve,
                      "Also serve the status page and metrics on HOST:PORT (as `serve`; e.g. " +
                          std::string(kDefaultListen) + ")");
  command->add_flag("--allow-remote", *allow_remote,
                    "Allow a --serve address that is not loopback");
  return [flags, publish_flags, interval, strict, events_url, serve, allow_remote]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    if (!options.ok()) {
      PrintError(options.status());
      return kExitUsage;
    }
    std::optional<StatusServerOptions> serve_options;
    if (!serve->empty()) {
      StatusOr<StatusServerOptions> parsed = ParseListen(*serve, *allow_remote);
      if (!parsed.ok()) {
        PrintError(parsed.status());
        return kExitUsage;
      }
      serve_options = *parsed;
    }
    ServerThread server;  // started after the first pass made the registry
    StatusOr<std::unique_ptr<Publishing>> publishing = OpenPublishing(*publish_flags, *options);
    if (!publishing.ok()) {
      PrintError(publishing.status());
      return kExitUsage;
    }
    // One landing zone for every pass: an S3 one then lists only what is new between rescans.
    StatusOr<std::unique_ptr<LandingZone>> landing = OpenLandingZone(options->landing);
    if (!landing.ok()) {
      PrintError(landing.status());
      return kExitUsage;
    }
    options->landing_zone = std::move(landing).value();
    std::unique_ptr<LandingEvents> events;
    if (!events_url->empty()) {
      StatusOr<std::unique_ptr<LandingEvents>> opened = OpenLandingEvents(*events_url);
      if (!opened.ok()) {
        PrintError(opened.status());
        return kExitUsage;
      }
      events = std::move(opened).value();
    }
    InstallStopHandlers();
    int exit_code = kExitOk;
    std::vector<LandingEvent> unacked;
    while (!StopRequested().load()) {
      if (RunPass(*options, *strict) != kExitOk) exit_code = kExitImportFailed;
      if (serve_options) {
        Status started = server.Start(RegistryUrl(options->home, options->registry),
                                      *std::exchange(serve_options, std::nullopt));
        if (!started.ok()) {
          PrintError(started);
          return kExitUsage;
        }
      }
      if (PublishPass(*options, publishing->get()) != kExitOk) exit_code = kExitImportFailed;
      if (events) AckRegistered(*options, events.get(), &unacked);
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(*interval * 1000));
      while (!StopRequested().load() && std::chrono::steady_clock::now() < until) {
        if (events == nullptr) {
          std::this_thread::sleep_for(kStopCheckSlice);
          continue;
        }
        // Short long-polls, so a stop signal is seen within a second or two.
        StatusOr<std::vector<LandingEvent>> got = events->Wait(kEventWaitMs);
        if (!got.ok()) {
          PrintError(got.status());
          std::this_thread::sleep_for(kStopCheckSlice);
          continue;
        }
        if (got->empty()) continue;
        std::vector<std::string> paths;
        for (const LandingEvent& event : *got) paths.push_back(event.path);
        options->landing_zone->Notify(paths);
        unacked.insert(unacked.end(), got->begin(), got->end());
        break;  // an upload: a pass now
      }
    }
    PrintNotice(LogLevel::kInfo, "stopped", "stopped");
    return exit_code;
  };
}

}  // namespace

CommandAction AddWatchCommand(CLI::App* app) {
  CLI::App* command = app->add_subcommand(
      "watch", "Like run, in a loop: poll the landing zone until SIGINT or SIGTERM.");
  command->footer(
      "Examples:\n"
      "  snapdelta watch --landing ./landing --interval 30\n"
      "  snapdelta watch --landing s3://exports/landing --state s3://exports/state \\\n"
      "      --events sqs://sqs.eu-west-1.amazonaws.com/123456789012/exports\n\n"
      "Stops cleanly between imports on SIGINT/SIGTERM. " +
      std::string(kExitCodesHelp));
  return AddLoopCommand(command);
}

CommandAction AddWorkerCommand(CLI::App* app) {
  CLI::App* command = app->add_subcommand(
      "worker",
      "One of many workers sharing a registry: like watch, for running several at once on one "
      "or more machines.");
  command->footer(
      "Workers share the landing zone, the state store and a PostgreSQL registry; each import "
      "runs under its table's lease, so two workers never import one table at once, and "
      "different tables run in parallel. A worker that stops or dies mid-import leaves the "
      "import to another once its lease expires; one that was paused past its lease cannot "
      "commit (fencing token).\n\n"
      "Examples:\n"
      "  export PGPASSWORD=...\n"
      "  snapdelta worker --landing s3://exports/landing --state s3://exports/state \\\n"
      "      --registry postgresql://snapdelta@db.internal:5432/snapdelta --interval 5\n\n"
      "Stops cleanly between imports on SIGINT/SIGTERM. " +
      std::string(kExitCodesHelp));
  return AddLoopCommand(command);
}

}  // namespace snapdelta::cli
