// `snapdelta release TENANT/TABLE/VERSION`: publish a held import with its guard lifted.
#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddReleaseCommand(CLI::App* app) {
  CLI::App* command = app->add_subcommand(
      "release", "Publish an import a change guard held, with the guard lifted.");
  command->footer(
      "Refused as stale when a newer export of the table was committed since.\n\n"
      "Examples:\n"
      "  snapdelta release acme/orders/20240102_V0001 --landing ./landing\n\n" +
      std::string(kExitCodesHelp));
  return ImportByHandAction(command, ReleaseHeld);
}

}  // namespace snapdelta::cli
