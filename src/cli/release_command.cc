// `snapdelta release TENANT/TABLE/VERSION`: publish a held import with its guard lifted.
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddReleaseCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto path = std::make_shared<std::string>();
  CLI::App* command = app->add_subcommand(
      "release", "Publish an import a change guard held, with the guard lifted.");
  command->footer(
      "Refused as stale when a newer export of the table was committed since.\n\n"
      "Examples:\n"
      "  snapdelta release acme/orders/20240102_V0001 --landing ./landing\n\n" +
      std::string(kExitCodesHelp));
  command->add_option("import", *path, "TENANT/TABLE/VERSION")->required();
  AddCommonFlags(command, flags.get(), true);
  return [flags, path]() {
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    StatusOr<std::vector<std::string>> parts = SplitPath(*path, 3);
    if (!options.ok() || !parts.ok()) {
      PrintError(options.ok() ? parts.status() : options.status());
      return kExitUsage;
    }
    StatusOr<ImportRecord> done = ReleaseHeld(*options, (*parts)[0], (*parts)[1], (*parts)[2]);
    if (!done.ok()) {
      PrintError(done.status());
      return kExitImportFailed;
    }
    PrintImport(*done);
    return done->state == ImportState::kCommitted ? kExitOk : kExitImportFailed;
  };
}

}  // namespace snapdelta::cli
