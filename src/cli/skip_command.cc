// `snapdelta skip TENANT/TABLE/VERSION`: record a held or pending import as skipped by hand.
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddSkipCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto path = std::make_shared<std::string>();
  CLI::App* command =
      app->add_subcommand("skip", "Record a held or pending import as skipped, by hand.");
  command->footer(
      "Examples:\n"
      "  snapdelta skip acme/orders/20240102_V0001\n\n" +
      std::string(kExitCodesHelp));
  command->add_option("import", *path, "TENANT/TABLE/VERSION")->required();
  AddCommonFlags(command, flags.get(), false);
  return [flags, path]() {
    StatusOr<std::vector<std::string>> parts = SplitPath(*path, 3);
    if (!parts.ok()) {
      PrintError(parts.status());
      return kExitUsage;
    }
    EngineOptions options;
    options.home = flags->home;
    options.registry = flags->registry;
    StatusOr<ImportRecord> done = SkipByHand(options, (*parts)[0], (*parts)[1], (*parts)[2]);
    if (!done.ok()) {
      PrintError(done.status());
      return kExitImportFailed;
    }
    PrintImport(*done);
    return kExitOk;
  };
}

}  // namespace snapdelta::cli
