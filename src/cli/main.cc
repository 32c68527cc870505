// snapdelta: turns periodic full table exports into a change stream. See README.md.
#include <csignal>
#include <map>
#include <string>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  using namespace snapdelta::cli;
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe surfaces as EPIPE and exits quietly
  CLI::App app{"snapdelta: turns periodic full table exports into INSERT/UPDATE/DELETE events."};
  app.set_version_flag("--version", "snapdelta " SNAPDELTA_VERSION " (commit " SNAPDELTA_COMMIT ")",
                       "Print the version and the commit it was built from");
  app.require_subcommand(1);
  app.footer(kExitCodesHelp);
  // Accepted before or after the subcommand's name.
  app.fallthrough();
  std::string log_level;
  std::string log_format = "text";
  app.add_option("--log-level", log_level,
                 "Log lines on stderr from this level up: debug, info, warn, error or off "
                 "(default: info for watch, worker and serve, warn otherwise)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->group("Logging");
  app.add_option("--log-format", log_format,
                 "text (time LEVEL step key=value ...) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str()
      ->group("Logging");
  std::map<CLI::App*, CommandAction> actions;
  auto add = [&](CommandAction (*adder)(CLI::App*)) {
    size_t before = app.get_subcommands({}).size();
    CommandAction action = adder(&app);
    actions[app.get_subcommands({})[before]] = std::move(action);
  };
  add(AddRunCommand);
  add(AddWatchCommand);
  add(AddWorkerCommand);
  add(AddStatusCommand);
  add(AddDiffCommand);
  add(AddReleaseCommand);
  add(AddSkipCommand);
  add(AddRewindCommand);
  add(AddRetryCommand);
  add(AddServeCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& [command, action] : actions) {
    if (!command->parsed()) continue;
    const std::string& name = command->get_name();
    bool daemon = name == "watch" || name == "worker" || name == "serve";
    if (log_level.empty()) log_level = daemon ? "info" : "warn";
    snapdelta::ConfigureLog(*snapdelta::ParseLogLevel(log_level),
                            *snapdelta::ParseLogFormat(log_format));
    return action();
  }
  return kExitUsage;
}
