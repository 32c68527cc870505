// `snapdelta status`: the registry's imports, as a table or as JSON.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_output.h"
#include "pipeline/importer.h"
#include "publish/publisher.h"
#include "serve/import_json.h"
#include "snapdelta/registry.h"

namespace snapdelta::cli {
namespace {

void PrintTable(const std::vector<ImportRecord>& records) {
  std::printf("%-6s %-10s %-40s %10s %9s %9s %9s  %-22s %s\n", "ID", "STATE", "EXPORT", "ROWS",
              "INSERT", "UPDATE", "DELETE", "DELIVERY", "REASON");
  for (const ImportRecord& record : records) {
    std::string name = fmt::format("{}/{}/{}", record.tenant, record.table, record.version);
    std::string reason = record.reason.empty() ? record.note : record.reason;
    if (record.state == ImportState::kFailed) reason += " [" + FailureNextStep(record) + "]";
    std::printf("%-6lld %-10s %-40s %10llu %9llu %9llu %9llu  %-22s %s\n",
                static_cast<long long>(record.id),
                std::string(ImportStateName(record.state)).c_str(), name.c_str(),
                static_cast<unsigned long long>(record.counts.rows),
                static_cast<unsigned long long>(record.counts.inserts),
                static_cast<unsigned long long>(record.counts.updates),
                static_cast<unsigned long long>(record.counts.deletes),
                DescribeDelivery(record).c_str(), reason.c_str());
  }
}

}  // namespace

CommandAction AddStatusCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command =
      app->add_subcommand("status", "Show the imports: state, counts, timings, errors.");
  command->footer(
      "Examples:\n"
      "  snapdelta status --home ./.snapdelta\n"
      "  snapdelta status --json | jq '.[] | select(.state == \"failed\")'\n\n" +
      std::string(kExitCodesHelp));
  AddCommonFlags(command, flags.get(), false);
  command->add_flag("--json", *json, "A JSON array, one object per import");
  return [flags, json]() {
    StatusOr<std::unique_ptr<Registry>> registry =
        OpenExistingRegistryReadOnly(flags->home, flags->registry);
    if (!registry.ok()) {
      PrintError(registry.status());
      return registry.status().code() == StatusCode::kNotFound ? kExitUsage : kExitImportFailed;
    }
    StatusOr<std::vector<ImportRecord>> records = (*registry)->ListImports();
    if (!records.ok()) {
      PrintError(records.status());
      return kExitImportFailed;
    }
    if (*json) {
      nlohmann::json array = nlohmann::json::array();
      for (const ImportRecord& record : *records) array.push_back(ImportJson(record));
      std::printf("%s\n", DumpJson(array).c_str());
    } else {
      PrintTable(*records);
    }
    return kExitOk;
  };
}

}  // namespace snapdelta::cli
