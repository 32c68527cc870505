// `snapdelta retry TENANT/TABLE/VERSION`: run a failed import again now, by hand.
#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddRetryCommand(CLI::App* app) {
  CLI::App* command = app->add_subcommand("retry", "Run a failed import again now, by hand.");
  command->footer(
      "An import that failed for an environment reason (disk full, read-only or failing "
      "storage, an unreadable state, out of memory) is retried by later runs anyway, with "
      "backoff, and holds its table's later versions back; retry runs it at once. An import that "
      "failed on its content (bad CSV, duplicate key, refused drift) or crashed the worker twice "
      "is only retried by hand, e.g. after changing the table's config.\n\n"
      "Examples:\n"
      "  snapdelta retry acme/orders/20240102_V0001 --landing ./landing\n\n" +
      std::string(kExitCodesHelp));
  return ImportByHandAction(command, RetryFailed);
}

}  // namespace snapdelta::cli
