#include "change_checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

namespace snapdelta::testing {
namespace {

// Mismatches reported per call; the rest are only counted.
constexpr int kMaxReported = 10;

// Records up to kMaxReported failures, then a final count.
class FailureLog {
 public:
  explicit FailureLog(std::string context) : context_(std::move(context)) {}
  ~FailureLog() {
    if (count_ > kMaxReported) {
      ADD_FAILURE() << context_ << ": " << count_ - kMaxReported << " more mismatches not shown";
    }
  }
  void Add(const std::string& what, const nlohmann::json& subject) {
    if (++count_ <= kMaxReported) ADD_FAILURE() << context_ << ": " << what << ": " << subject;
  }

 private:
  std::string context_;
  int count_ = 0;
};

std::string Ident(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string Literal(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

// "json_object('c1', alias."c1", ...)" over `columns`.
std::string RowObject(const std::vector<std::string>& columns, const std::string& alias) {
  std::string sql = "json_object(";
  for (size_t i = 0; i < columns.size(); ++i) {
    sql += (i ? ", " : "") + Literal(columns[i]) + ", " + alias + "." + Ident(columns[i]);
  }
  return sql + ")";
}

// One JSON object per changed key: {"op","key","row","before","changed":[name or null...]}.
std::string JoinQuery(const std::vector<std::string>& columns,
                      const std::vector<std::string>& key) {
  const std::string o_key = "o." + Ident(key[0]), n_key = "n." + Ident(key[0]);
  std::string key_object = "json_object(", join_on, changed = "json_array(", differs;
  for (size_t i = 0; i < key.size(); ++i) {
    const std::string col = Ident(key[i]);
    key_object += (i ? ", " : "") + Literal(key[i]) + ", coalesce(n." + col + ", o." + col + ")";
    join_on += (i ? " AND " : "") + std::string("o.") + col + " = n." + col;
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string col = Ident(columns[i]);
    changed += (i ? ", " : "") + std::string("CASE WHEN o.") + col + " IS NOT n." + col + " THEN " +
               Literal(columns[i]) + " END";
    differs += " OR o." + col + " IS NOT n." + col;
  }
  return "SELECT json_object('op', CASE WHEN " + o_key + " IS NULL THEN 'INSERT' WHEN " + n_key +
         " IS NULL THEN 'DELETE' ELSE 'UPDATE' END, 'key', " + key_object +
         "), 'row', json(CASE WHEN " + n_key + " IS NULL THEN NULL ELSE " +
         RowObject(columns, "n") + " END), 'before', json(CASE WHEN " + o_key +
         " IS NULL THEN NULL ELSE " + RowObject(columns, "o") + " END), 'changed', " + changed +
         "))\nFROM \"old\" AS o " + "FULL OUTER JOIN \"new\" AS n ON " + join_on + "\nWHERE " +
         o_key + " IS NULL OR " + n_key + " IS NULL" + differs + ";\n";
}

// Decompresses `path` into work_dir/name and returns the new path.
fs::path PlainCsv(const fs::path& path, const fs::path& work_dir, const std::string& name) {
  const fs::path plain = work_dir / name;
  WriteFile(plain, ReadDecompressed(path));
  return plain;
}

// Imports the exports as tables "old" and "new" and returns their column names, or empty lists
// after a failure.
std::pair<std::vector<std::string>, std::vector<std::string>> ImportExports(
    const fs::path& db, const fs::path& previous, const fs::path& next, const fs::path& work_dir) {
  std::string script = ".import --csv " + Literal(PlainCsv(next, work_dir, "next.csv")) + " new\n";
  if (previous.empty()) {
    script += "CREATE TABLE \"old\" AS SELECT * FROM \"new\" WHERE 0;\n";
  } else {
    script += ".import --csv " + Literal(PlainCsv(previous, work_dir, "previous.csv")) + " old\n";
  }
  script += "SELECT json_group_array(name) FROM pragma_table_info('old');\n";
  script += "SELECT json_group_array(name) FROM pragma_table_info('new');\n";
  const CommandResult result = RunSqlite(db, script);
  std::istringstream lines(result.out);
  std::string old_line, new_line;
  if (!result.ok() || !std::getline(lines, old_line) || !std::getline(lines, new_line)) {
    ADD_FAILURE() << "sqlite3 import failed: " << result.Describe();
    return {};
  }
  return {ParseJson(old_line, "old columns"), ParseJson(new_line, "new columns")};
}

ExpectedChange ToExpectedChange(const nlohmann::json& object) {
  ExpectedChange change;
  change.op = object.at("op").get<std::string>();
  change.key = object.at("key");
  change.row = object.at("row");
  change.before = object.at("before");
  if (change.op == "UPDATE") {
    for (const auto& name : object.at("changed")) {
      if (!name.is_null()) change.changed.push_back(name.get<std::string>());
    }
    std::sort(change.changed.begin(), change.changed.end());
  }
  return change;
}

// The event's "seq" when it is a positive integer.
std::optional<uint64_t> SeqOf(const nlohmann::json& event) {
  const nlohmann::json seq = event.value("seq", nlohmann::json());
  if (!seq.is_number_integer() || seq.get<int64_t>() < 1) return std::nullopt;
  return seq.get<uint64_t>();
}

void CheckOneEnvelope(const nlohmann::json& event, const ChangeFileSpec& spec, FailureLog& log) {
  const std::string op = event.value("op", "");
  if (op != "INSERT" && op != "UPDATE" && op != "DELETE") log.Add("bad op", event);
  const std::optional<uint64_t> seq = SeqOf(event);
  const std::string id = spec.tenant + "/" + spec.table + "/" + spec.version + "/" +
                         (seq ? std::to_string(*seq) : "?");
  if (event.value("id", "") != id) log.Add("id is not " + id, event);
  if (event.value("tenant", "") != spec.tenant || event.value("table", "") != spec.table ||
      event.value("version", "") != spec.version) {
    log.Add("tenant/table/version differ from " + id, event);
  }
  const nlohmann::json key = event.value("key", nlohmann::json());
  bool key_ok = key.is_object() && key.size() == spec.key.size();
  for (const std::string& column : spec.key) {
    key_ok = key_ok && key.contains(column) && key[column].is_string();
  }
  if (!key_ok) log.Add("key is not the key columns as strings", event);
  const bool has_row = event.contains("row");
  if (has_row != (op != "DELETE")) log.Add("\"row\" must be on INSERT and UPDATE only", event);
  if (has_row && key_ok) {
    const nlohmann::json& row = event["row"];
    for (const std::string& column : spec.key) {
      if (!row.is_object() || row.value(column, nlohmann::json()) != key[column]) {
        log.Add("row does not hold the key's " + column, event);
      }
    }
  }
  if (event.contains("changed") && (op != "UPDATE" || !event["changed"].is_array())) {
    log.Add("\"changed\" must be an array on UPDATE only", event);
  }
  const bool wants_before = spec.before_images && op != "INSERT";
  if (event.contains("before") != wants_before) {
    log.Add(wants_before ? "\"before\" missing" : "unexpected \"before\"", event);
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const ChangeCounts& counts) {
  return os << "{inserts " << counts.inserts << ", updates " << counts.updates << ", deletes "
            << counts.deletes << "}";
}

std::string KeyString(const nlohmann::json& key) { return key.dump(); }

ChangeCounts CountOf(const ExpectedChanges& changes) {
  ChangeCounts counts;
  for (const auto& [key, change] : changes) {
    counts.inserts += change.op == "INSERT";
    counts.updates += change.op == "UPDATE";
    counts.deletes += change.op == "DELETE";
  }
  return counts;
}

ExpectedChanges SqlOracleDiff(const fs::path& previous, const fs::path& next,
                              const std::vector<std::string>& key, const fs::path& work_dir) {
  const fs::path db = work_dir / "oracle.db";
  std::error_code ec;
  fs::remove(db, ec);
  auto [old_columns, new_columns] = ImportExports(db, previous, next, work_dir);
  if (new_columns.empty() || key.empty()) return {};
  auto sorted = [](std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
  };
  if (sorted(old_columns) != sorted(new_columns)) {
    ADD_FAILURE() << "the oracle wants the same columns in both exports; " << previous << " has "
                  << nlohmann::json(old_columns) << ", " << next << " has "
                  << nlohmann::json(new_columns);
    return {};
  }
  const CommandResult result = RunSqlite(db, JoinQuery(new_columns, key));
  if (!result.ok()) {
    ADD_FAILURE() << "sqlite3 join failed: " << result.Describe();
    return {};
  }
  ExpectedChanges changes;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json object = ParseJson(line, "sqlite3 output");
    if (object.is_null()) return {};
    ExpectedChange change = ToExpectedChange(object);
    const std::string key_string = KeyString(change.key);
    if (!changes.emplace(key_string, std::move(change)).second) {
      ADD_FAILURE() << "duplicate key " << key_string << " in " << previous << " or " << next;
    }
  }
  return changes;
}

ChangeCounts CheckEnvelopes(const std::vector<nlohmann::json>& events, const ChangeFileSpec& spec) {
  FailureLog log(spec.tenant + "/" + spec.table + "/" + spec.version);
  ChangeCounts counts;
  std::set<uint64_t> seqs;
  std::set<std::string> keys;
  for (const nlohmann::json& event : events) {
    if (!event.is_object()) {
      log.Add("event is not an object", event);
      continue;
    }
    CheckOneEnvelope(event, spec, log);
    const std::optional<uint64_t> seq = SeqOf(event);
    if (!seq || !seqs.insert(*seq).second) {
      log.Add("seq missing or repeated", event);
    }
    if (!keys.insert(KeyString(event.value("key", nlohmann::json()))).second) {
      log.Add("key appears twice", event);
    }
    const std::string op = event.value("op", "");
    counts.inserts += op == "INSERT";
    counts.updates += op == "UPDATE";
    counts.deletes += op == "DELETE";
  }
  if (!seqs.empty() && (*seqs.begin() != 1 || *seqs.rbegin() != events.size())) {
    log.Add("seqs are not 1.." + std::to_string(events.size()),
            nlohmann::json{*seqs.begin(), *seqs.rbegin()});
  }
  return counts;
}

void ExpectEventsMatch(const std::vector<nlohmann::json>& events, const ExpectedChanges& expected) {
  FailureLog log("events vs SQL oracle");
  std::set<std::string> seen;
  for (const nlohmann::json& event : events) {
    const std::string key = KeyString(event.value("key", nlohmann::json()));
    const auto it = expected.find(key);
    if (it == expected.end()) {
      log.Add("the oracle has no change for this key", event);
      continue;
    }
    seen.insert(key);
    const ExpectedChange& want = it->second;
    if (event.value("op", "") != want.op) log.Add("op should be " + want.op, event);
    if (want.op != "DELETE" && event.value("row", nlohmann::json()) != want.row) {
      log.Add("row should be " + want.row.dump(), event);
    }
    if (event.contains("changed")) {
      std::vector<std::string> changed;
      for (const auto& name : event["changed"]) {
        changed.push_back(name.is_string() ? name.get<std::string>() : name.dump());
      }
      std::sort(changed.begin(), changed.end());
      if (changed != want.changed) {
        log.Add("changed should be " + nlohmann::json(want.changed).dump(), event);
      }
    }
    if (event.contains("before") && event["before"] != want.before) {
      log.Add("before should be " + want.before.dump(), event);
    }
  }
  for (const auto& [key, change] : expected) {
    if (!seen.count(key)) log.Add("no event for the oracle's " + change.op + " of", change.key);
  }
}

fs::path ChangeFilePath(const fs::path& home, const ChangeFileSpec& spec) {
  return home / "changes" / spec.tenant / spec.table / (spec.version + ".jsonl");
}

nlohmann::json ReadStatus(const fs::path& home) {
  const CommandResult result = RunSnapdelta({"status", "--home", home.string(), "--json"});
  if (!result.ok()) {
    ADD_FAILURE() << result.Describe();
    return nullptr;
  }
  nlohmann::json status = ParseJson(result.out, "snapdelta status --json");
  if (!status.is_array()) {
    ADD_FAILURE() << "snapdelta status --json is not an array: " << result.Describe();
    return nullptr;
  }
  return status;
}

std::vector<nlohmann::json> StatusEntries(const nlohmann::json& status, const std::string& tenant,
                                          const std::string& table, const std::string& version) {
  std::vector<nlohmann::json> entries;
  if (!status.is_array()) return entries;
  for (const nlohmann::json& entry : status) {
    if (entry.is_object() && entry.value("tenant", "") == tenant &&
        entry.value("table", "") == table && entry.value("version", "") == version) {
      entries.push_back(entry);
    }
  }
  return entries;
}

nlohmann::json StableStatus(const nlohmann::json& status) {
  std::vector<std::string> entries;
  if (!status.is_array()) return nullptr;
  for (const nlohmann::json& entry : status) {
    nlohmann::json stable = nlohmann::json::object();
    for (const char* name : {"tenant", "table", "version", "file", "state", "rows", "inserts",
                             "updates", "deletes", "reason"}) {
      if (entry.contains(name)) stable[name] = entry[name];
    }
    entries.push_back(stable.dump());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

Outcome ReadOutcome(const fs::path& home) {
  return {SnapshotTree(home / "changes"), SnapshotTree(home / "state"),
          StableStatus(ReadStatus(home))};
}

void ExpectSameFiles(const std::map<std::string, std::string>& got,
                     const std::map<std::string, std::string>& want, const std::string& what) {
  std::vector<std::string> got_names, want_names;
  for (const auto& [path, content] : got) got_names.push_back(path);
  for (const auto& [path, content] : want) want_names.push_back(path);
  EXPECT_EQ(got_names, want_names) << what << ": not the same files";
  for (const auto& [path, content] : got) {
    auto it = want.find(path);
    if (it != want.end() && it->second != content) {
      ADD_FAILURE() << what << "/" << path << " differs (" << content.size() << " bytes, expected "
                    << it->second.size() << ")";
    }
  }
}

void ExpectSameOutcome(const Outcome& got, const Outcome& want) {
  ExpectSameFiles(got.changes, want.changes, "changes");
  ExpectSameFiles(got.states, want.states, "state");
  EXPECT_EQ(got.status, want.status);
}

}  // namespace snapdelta::testing
