#include <algorithm>

#include "base/fs.h"
#include "diff/differ_internal.h"
#include "diff/state_file.h"

namespace snapdelta {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The previous compared columns that the new export still compares, in the previous order.
std::vector<std::string> StillCompared(const std::vector<std::string>& old_compared,
                                       const std::vector<std::string>& new_compared) {
  std::vector<std::string> kept;
  for (const std::string& name : old_compared) {
    if (Contains(new_compared, name)) kept.push_back(name);
  }
  return kept;
}

Status CheckDrift(const DiffRequest& request, const std::string& previous_name,
                  const std::vector<std::string>& old_key,
                  const std::vector<std::string>& old_columns, const ExportSchema& new_schema,
                  SchemaChange* change) {
  if (old_key != new_schema.key_names) {
    return InvalidArgumentError(request.new_path + ": key columns [" +
                                JoinNames(new_schema.key_names) + "] differ from [" +
                                JoinNames(old_key) + "] used by " + previous_name +
                                "; keys cannot change between exports of a table");
  }
  *change = CompareColumns(old_columns, new_schema.columns);
  if (!change->empty() && request.options.schema_change == SchemaChangePolicy::kFail) {
    return InvalidArgumentError(request.new_path + ": columns changed since " + previous_name +
                                ": " + change->ToString() +
                                "; schema_change = \"fail\" refuses this (set it to \"allow\")");
  }
  return Status::OK();
}

Status AddOldRow(const DiffRequest& request, const std::string& source, std::string_view key,
                 const KeyDigest& digest, const Fingerprint& fp, std::span<const uint64_t> hashes,
                 bool with_row, std::string_view row, KeyTable* table, PreviousSide* previous,
                 const ExportReader* reader) {
  bool inserted = false;
  size_t entry_idx = table->FindOrInsert(digest, &inserted);
  if (!inserted) {
    if (reader == nullptr) return CorruptionError(source + ": duplicate key in state file");
    DuplicatePolicy policy = request.options.on_duplicate;
    if (policy == DuplicatePolicy::kFirst) return Status::OK();
    if (policy == DuplicatePolicy::kFail) {
      uint64_t first = FindFirstLineOfKey(source, request.options, key);
      return reader->RowError("duplicate key " + DescribeKey(previous->key, key) +
                              ", first on line " + std::to_string(first) +
                              "; set on_duplicate = \"first\" or \"last\" to accept it");
    }
  } else {
    ++previous->rows;
  }
  KeyEntry& entry = table->entry(entry_idx);
  entry.old_ref = table->old_arena().Add(key, hashes, with_row, row);
  entry.old_fp = fp;
  return Status::OK();
}

// Value hashes of `names` taken from an encoded row of `columns` (for `changed` lists).
std::vector<uint64_t> HashesFromRow(std::string_view row, const std::vector<std::string>& columns,
                                    const std::vector<std::string>& names) {
  std::vector<std::string_view> values;
  std::vector<bool> nulls;
  std::vector<uint64_t> hashes(names.size(), kAbsent);
  if (!DecodeRow(row, columns.size(), &values, &nulls)) return hashes;
  for (size_t i = 0; i < names.size(); ++i) {
    size_t column_idx = std::find(columns.begin(), columns.end(), names[i]) - columns.begin();
    if (column_idx < columns.size() && !nulls[column_idx] && !values[column_idx].empty()) {
      hashes[i] = ValueHash(values[column_idx]);
    }
  }
  return hashes;
}

Status LoadExport(const DiffRequest& request, const std::string& path,
                  const ExportSchema& new_schema, KeyTable* table, PreviousSide* previous,
                  SchemaChange* change);

Status LoadState(const DiffRequest& request, const ExportSchema& new_schema, KeyTable* table,
                 PreviousSide* previous, SchemaChange* change) {
  const std::string& path = request.previous.path;
  StateReader reader;
  RETURN_IF_ERROR(reader.Open(path));
  const StateMeta meta = reader.meta();
  RETURN_IF_ERROR(
      CheckDrift(request, "the previous export", meta.key, meta.columns, new_schema, change));
  std::vector<std::string> kept = StillCompared(meta.compared, new_schema.compared_names);
  if (kept.size() != meta.compared.size()) {
    // The state's fingerprints cover columns no longer compared: compare against the export the
    // state was built from, on the columns still compared.
    if (!request.previous_export.empty() && PathExists(request.previous_export)) {
      return LoadExport(request, request.previous_export, new_schema, table, previous, change);
    }
    previous->note =
        "the previous export is no longer in the landing zone, so rows were "
        "compared including the removed columns";
  }
  previous->columns = meta.columns;
  previous->key = meta.key;
  previous->compared = meta.compared;
  previous->has_rows = meta.before_images;
  previous->has_hashes = meta.before_images;  // `changed` is given where the old row is at hand
  table->Reserve(reader.record_count());
  for (;;) {
    bool has_record = false;
    std::string_view key, row;
    Fingerprint fp;
    RETURN_IF_ERROR(reader.Next(&has_record, &key, &fp, &row));
    if (!has_record) break;
    std::vector<uint64_t> hashes;
    if (previous->has_hashes) hashes = HashesFromRow(row, meta.columns, meta.compared);
    RETURN_IF_ERROR(AddOldRow(request, path, key, DigestKey(key), fp, hashes, previous->has_rows,
                              row, table, previous, nullptr));
  }
  return Status::OK();
}

Status LoadExport(const DiffRequest& request, const std::string& path,
                  const ExportSchema& new_schema, KeyTable* table, PreviousSide* previous,
                  SchemaChange* change) {
  ExportReader reader;
  RETURN_IF_ERROR(reader.Open(path, request.options));
  reader.SetPrefetch([table](const KeyDigest& digest) { table->Prefetch(digest); });
  RETURN_IF_ERROR(CheckDrift(request, path, reader.schema().key_names, reader.schema().columns,
                             new_schema, change));
  reader.RestrictComparison(new_schema.compared_names);
  previous->columns = reader.schema().columns;
  previous->key = reader.schema().key_names;
  previous->compared = reader.schema().compared_names;
  previous->has_hashes = true;
  previous->has_rows = request.options.before_images;
  std::string row;
  for (;;) {
    bool has_row = false;
    RETURN_IF_ERROR(reader.Next(&has_row));
    if (!has_row) break;
    if (previous->has_rows) reader.EncodeRow(&row);
    RETURN_IF_ERROR(AddOldRow(request, path, reader.key(), reader.key_digest(),
                              reader.fingerprint(), reader.value_hashes(), previous->has_rows, row,
                              table, previous, &reader));
  }
  return Status::OK();
}

}  // namespace

std::string DescribeKey(const std::vector<std::string>& names, std::string_view encoded_key) {
  std::vector<std::string_view> parts;
  DecodeKey(encoded_key, &parts);
  std::string out = "(";
  for (size_t i = 0; i < parts.size() && i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i] + "=" + std::string(parts[i]);
  }
  return out + ")";
}

Status LoadPrevious(const DiffRequest& request, const ExportSchema& new_schema, KeyTable* table,
                    PreviousSide* previous, SchemaChange* change) {
  switch (request.previous.kind) {
    case PreviousExport::Kind::kNone:
      previous->key = new_schema.key_names;
      return Status::OK();
    case PreviousExport::Kind::kState:
      return LoadState(request, new_schema, table, previous, change);
    case PreviousExport::Kind::kExport:
      return LoadExport(request, request.previous.path, new_schema, table, previous, change);
  }
  return Status::OK();
}

}  // namespace snapdelta
