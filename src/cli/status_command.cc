// `snapdelta status`: the registry's imports, as a table or as JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_output.h"
#include "pipeline/importer.h"
#include "serve/import_columns.h"
#include "serve/import_json.h"
#include "snapdelta/registry.h"

namespace snapdelta::cli {
namespace {

// An aligned table: ID, IMPORT (tenant/table/version), then the columns of the status page.
void PrintTable(const std::vector<ImportRecord>& records) {
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric = {true, false};
  std::vector<std::string> header = {"ID", "IMPORT"};
  for (const ImportColumn& column : ImportColumns()) {
    std::string name(column.header);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    header.push_back(name);
    numeric.push_back(column.numeric);
  }
  rows.push_back(header);
  for (const ImportRecord& record : records) {
    std::vector<std::string> row = {std::to_string(record.id), ImportPath(record)};
    for (const ImportColumn& column : ImportColumns()) row.push_back(column.cell(record));
    if (record.state == ImportState::kFailed) row.back() += " [" + FailureNextStep(record) + "]";
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      if (i + 1 == row.size()) {
        line += row[i];  // the last column is not padded
      } else if (numeric[i]) {
        line += std::string(width[i] - row[i].size(), ' ') + row[i];
      } else {
        line += row[i] + std::string(width[i] - row[i].size(), ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
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
