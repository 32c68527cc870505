// The subcommands. Each Add*Command registers its flags on `app` and returns the function that
// runs it (returning the exit status) once the command line is parsed.
#ifndef SNAPDELTA_CLI_COMMANDS_H_
#define SNAPDELTA_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "snapdelta/engine.h"

namespace snapdelta::cli {

using CommandAction = std::function<int()>;

// Runs one import by hand (ReleaseHeld, RetryFailed): options, tenant, table, version.
using ImportByHand = StatusOr<ImportRecord> (*)(const EngineOptions&, const std::string&,
                                                const std::string&, const std::string&);
// Adds the TENANT/TABLE/VERSION argument and the common flags to `command`; its action runs
// `run` and prints the import, exiting 0 when it committed.
CommandAction ImportByHandAction(CLI::App* command, ImportByHand run);

CommandAction AddRunCommand(CLI::App* app);
CommandAction AddWatchCommand(CLI::App* app);
CommandAction AddWorkerCommand(CLI::App* app);
CommandAction AddStatusCommand(CLI::App* app);
CommandAction AddDiffCommand(CLI::App* app);
CommandAction AddReleaseCommand(CLI::App* app);
CommandAction AddSkipCommand(CLI::App* app);
CommandAction AddRewindCommand(CLI::App* app);
CommandAction AddRetryCommand(CLI::App* app);
CommandAction AddServeCommand(CLI::App* app);

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_COMMANDS_H_
