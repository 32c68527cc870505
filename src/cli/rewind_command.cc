// `snapdelta rewind TENANT/TABLE --to VERSION`: put a table's state back to a committed version.
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/config.h"
#include "pipeline/admin.h"

namespace snapdelta::cli {

CommandAction AddRewindCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto path = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  CLI::App* command =
      app->add_subcommand("rewind", "Put a table's state back to an earlier committed version.");
  command->footer(
      "The next import diffs against that version, so its events are exactly the compensating\n"
      "changes. The imports undone are marked rewound. Only the newest keep_states committed\n"
      "states (config, default 3) can be rewound to.\n\n"
      "Examples:\n"
      "  snapdelta rewind acme/orders --to 20240101_V0001\n\n" +
      std::string(kExitCodesHelp));
  command->add_option("table", *path, "TENANT/TABLE")->required();
  command->add_option("--to", *version, "The committed version to go back to")->required();
  command->add_option("--config", flags->config, "TOML file (for keep_states)");
  AddCommonFlags(command, flags.get(), false);
  return [flags, path, version]() {
    StatusOr<std::vector<std::string>> parts = SplitPath(*path, 2);
    StatusOr<EngineOptions> options = ResolveEngineOptions(*flags);
    if (!parts.ok() || !options.ok()) {
      PrintError(parts.ok() ? options.status() : parts.status());
      return kExitUsage;
    }
    Status status = RewindTable(*options, (*parts)[0], (*parts)[1], *version);
    if (!status.ok()) {
      PrintError(status);
      return kExitImportFailed;
    }
    std::printf("rewound    %s/%s to %s\n", (*parts)[0].c_str(), (*parts)[1].c_str(),
                version->c_str());
    return kExitOk;
  };
}

}  // namespace snapdelta::cli
