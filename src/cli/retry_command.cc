// `snapdelta retry TENANT/TABLE/VERSION`: run a failed import again now, by hand.
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddRetryCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto path = std::make_shared<std::string>();
  CLI::App* command = app->add_subcommand("retry", "Run a failed import again now, by hand.");
  command->footer(
      "An import that failed for an environment reason (disk full, read-only or failing "
      "storage, an unreadable state, out of memory) is retried by later runs anyway, with "
      "backoff, and holds its table's later versions back; retry runs it at once. An import that "
      "failed on its content (bad CSV, duplicate key, refused drift, crashed the worker twice) "
      "is only retried by hand, e.g. after changing the table's config.\n\n"
      "Examples:\n"
      "  snapdelta retry acme/orders/20240102_V0001 --landing ./landing\n\n" +
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
    StatusOr<ImportRecord> done = RetryFailed(*options, (*parts)[0], (*parts)[1], (*parts)[2]);
    if (!done.ok()) {
      PrintError(done.status());
      return kExitImportFailed;
    }
    PrintImport(*done);
    return done->state == ImportState::kCommitted ? kExitOk : kExitImportFailed;
  };
}

}  // namespace snapdelta::cli
