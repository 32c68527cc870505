// snapdelta: turns periodic full table exports into a change stream. See README.md.
#include <csignal>
#include <map>

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
    if (command->parsed()) return action();
  }
  return kExitUsage;
}
