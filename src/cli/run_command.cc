// `snapdelta run` and `snapdelta watch`.
#include <chrono>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"

namespace snapdelta::cli {
namespace {

// Polling sleeps are cut into slices this long so a stop signal is seen quickly.
constexpr auto kStopCheckSlice = std::chrono::milliseconds(100);

// Runs one pass and prints it; returns the exit status of that pass.
int RunPass(EngineOptions options) {
  options.stop = &StopRequested();
  options.on_import_done = PrintImport;
  options.on_progress = PrintProgress;
  StatusOr<RunReport> report = RunOnce(options);
  if (!report.ok()) {
    PrintError(report.status());
    return kExitImportFailed;
  }
  for (const std::string& busy : report->busy_tables) {
    std::fprintf(stderr, "snapdelta: busy, left for later: %s\n", busy.c_str());
  }
  return report->any_failed() ? kExitImportFailed : kExitOk;
}

}  // namespace

CommandAction AddRunCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  CLI::App* command =
      app->add_subcommand("run", "Process every pending export in the landing zone once.");
  command->footer(
      "Examples:\n"
      "  snapdelta run --landing ./landing --home ./.snapdelta\n"
      "  snapdelta run --landing ./landing --config snapdelta.toml --workers 4\n\n" +
      std::string(kExitCodesHelp));
  AddCommonFlags(command, flags.get(), true);
  return [flags]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    if (!options.ok()) {
      PrintError(options.status());
      return kExitUsage;
    }
    InstallStopHandlers();
    return RunPass(*options);
  };
}

CommandAction AddWatchCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto interval = std::make_shared<double>(10.0);
  CLI::App* command = app->add_subcommand(
      "watch", "Like run, in a loop: poll the landing zone until SIGINT or SIGTERM.");
  command->footer(
      "Examples:\n"
      "  snapdelta watch --landing ./landing --interval 30\n\n"
      "Stops cleanly between imports on SIGINT/SIGTERM. " +
      std::string(kExitCodesHelp));
  AddCommonFlags(command, flags.get(), true);
  command->add_option("--interval", *interval, "Seconds between polls")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  return [flags, interval]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    if (!options.ok()) {
      PrintError(options.status());
      return kExitUsage;
    }
    InstallStopHandlers();
    int exit_code = kExitOk;
    while (!StopRequested().load()) {
      if (RunPass(*options) != kExitOk) exit_code = kExitImportFailed;
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(*interval * 1000));
      while (!StopRequested().load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(kStopCheckSlice);
      }
    }
    std::fprintf(stderr, "snapdelta: stopped\n");
    return exit_code;
  };
}

}  // namespace snapdelta::cli
