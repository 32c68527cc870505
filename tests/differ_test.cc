// The differ against a 30-line reference model (a std::map diff), in every mode: stateless
// (two files), stateful (state file), with before-images; plus schema drift and policies.
#include "diff/differ.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "test_util.h"

namespace snapdelta {
namespace {

using ::snapdelta::testing::LocalFile;
using ::snapdelta::testing::LocalStateOut;

using Row = std::map<std::string, std::string>;  // column -> value
using Table = std::map<std::string, Row>;        // key -> row

struct Event {
  std::string op;
  Row key, row, before;
  std::vector<std::string> changed;
  bool has_changed = false, has_before = false;
  uint64_t seq = 0;
};

Row ToRow(const Columns& columns) {
  Row row;
  for (size_t i = 0; i < columns.names.size(); ++i) {
    row[columns.names[i]] =
        columns.values[i].is_null ? "<null>" : std::string(columns.values[i].value);
  }
  return row;
}

class CollectingSink : public Sink {
 public:
  Status Begin(const ImportIdentity&) override { return Status::OK(); }
  Status Put(const ChangeEvent& event) override {
    Event out{std::string(ChangeOpName(event.op)),
              ToRow(event.key),
              ToRow(event.row),
              ToRow(event.before),
              {},
              event.has_changed,
              event.has_before,
              event.seq};
    for (std::string_view name : event.changed) out.changed.emplace_back(name);
    events.push_back(out);
    return Status::OK();
  }
  Status Finish() override { return Status::OK(); }
  void Abort() override {}
  std::vector<Event> events;
};

std::string Quote(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string ToCsv(const std::vector<std::string>& columns, const Table& table) {
  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\n";
  for (const auto& [key, row] : table) {
    for (size_t i = 0; i < columns.size(); ++i) {
      auto it = row.find(columns[i]);
      csv += (i ? "," : "") + Quote(it == row.end() ? "" : it->second);
    }
    csv += "\r\n";
  }
  return csv;
}

// The reference: ops by key from two maps (rows compared on the new columns).
std::map<std::string, std::string> ModelDiff(const Table& old_table, const Table& new_table) {
  std::map<std::string, std::string> ops;
  for (const auto& [key, row] : new_table) {
    auto it = old_table.find(key);
    if (it == old_table.end())
      ops[key] = "INSERT";
    else if (it->second != row)
      ops[key] = "UPDATE";
  }
  for (const auto& [key, row] : old_table) {
    if (!new_table.count(key)) ops[key] = "DELETE";
  }
  return ops;
}

std::map<std::string, std::string> EventOps(const std::vector<Event>& events) {
  std::map<std::string, std::string> ops;
  for (const Event& event : events) {
    std::string key = event.key.at("id");
    EXPECT_FALSE(ops.count(key)) << "key twice: " << key;
    ops[key] = event.op;
  }
  return ops;
}

DiffRequest Request(PreviousExport previous, std::string new_path, TableOptions options) {
  DiffRequest request;
  request.previous = std::move(previous);
  request.new_export = LocalFile(std::move(new_path));
  request.options = std::move(options);
  return request;
}

class DifferTest : public ::testing::Test {
 protected:
  Status Diff(const std::string& old_csv, const std::string& new_csv, TableOptions options,
              std::vector<Event>* events, bool stateful, uint64_t memory_limit = 0,
              size_t* partitions = nullptr) {
    std::string old_path = dir_.Write("old.csv", old_csv);
    std::string new_path = dir_.Write("new.csv", new_csv);
    CollectingSink sink;
    DiffRequest request =
        Request({PreviousExport::Kind::kExport, LocalFile(old_path)}, new_path, options);
    request.memory_limit = memory_limit;
    if (stateful) {
      DiffRequest first = Request({}, old_path, options);
      first.build_state = true;
      first.state_out = LocalStateOut(dir_.File("old.state"));
      first.memory_limit = memory_limit;
      Differ seed(first);
      CollectingSink ignored;
      RETURN_IF_ERROR(seed.Run(&ignored));
      RETURN_IF_ERROR(seed.CommitState());
      request.previous = {PreviousExport::Kind::kState, LocalFile(dir_.File("old.state"))};
      request.previous_export = LocalFile(old_path);  // as the importer passes it
    }
    Differ differ(request);
    RETURN_IF_ERROR(differ.Run(&sink));
    if (partitions != nullptr) *partitions = differ.partitions();
    *events = sink.events;
    return Status::OK();
  }

  testing::ScratchDir dir_;
};

TEST_F(DifferTest, MatchesTheReferenceModelOnRandomExportsInEveryModeSpilledOrNot) {
  std::mt19937_64 rng(42);
  std::vector<std::string> columns = {"id", "name", "note", "amount"};
  for (int round = 0; round < 8; ++round) {
    Table old_table, new_table;
    for (int i = 0; i < 500; ++i) {
      std::string key = std::to_string(rng() % 2000 + 1);
      old_table[key] = {{"id", key},
                        {"name", "n" + std::to_string(rng() % 5)},
                        {"note", rng() % 4 == 0 ? "a,\"b\"\nc" : ""},
                        {"amount", std::to_string(rng() % 3)}};
    }
    for (const auto& [key, row] : old_table) {
      if (rng() % 10 == 0) continue;  // deleted
      Row copy = row;
      if (rng() % 5 == 0) copy["amount"] = std::to_string(rng() % 3);
      new_table[key] = copy;
    }
    for (int i = 0; i < 50; ++i) {
      std::string key = std::to_string(rng() % 4000 + 1);
      if (!old_table.count(key))
        new_table[key] = {{"id", key}, {"name", "new"}, {"note", "x"}, {"amount", "1"}};
    }
    std::vector<std::string> shuffled = {"amount", "id", "note", "name"};  // reordered columns
    // Modes: 0 two files, 1 state, 2 state with before-images; 3-5 the same spilled to disk
    // in partitions (a memory limit far below the data).
    for (int mode = 0; mode < 6; ++mode) {
      TableOptions options;
      options.key = {"id"};
      options.before_images = mode % 3 == 2;
      uint64_t memory_limit = mode >= 3 ? 16 << 10 : 0;
      std::vector<Event> events;
      size_t partitions = 0;
      ASSERT_TRUE(Diff(ToCsv(columns, old_table), ToCsv(shuffled, new_table), options, &events,
                       mode % 3 > 0, memory_limit, &partitions)
                      .ok());
      EXPECT_EQ(partitions > 1, mode >= 3) << "mode " << mode << ": " << partitions;
      EXPECT_EQ(EventOps(events), ModelDiff(old_table, new_table))
          << "round " << round << " mode " << mode;
      for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
      for (const Event& event : events) {
        if (event.op != "DELETE") {
          EXPECT_EQ(event.row, new_table.at(event.key.at("id")));
        }
        if (event.op == "UPDATE") {
          EXPECT_EQ(event.has_changed, mode % 3 != 1);
        }
        if (mode % 3 == 2 && event.op != "INSERT") {
          EXPECT_EQ(event.before, old_table.at(event.key.at("id")));
        }
      }
    }
  }
}

TEST_F(DifferTest, ListsChangedColumnsAndBeforeImages) {
  TableOptions options;
  options.before_images = true;
  std::vector<Event> events;
  ASSERT_TRUE(
      Diff("id,a,b,c\n1,x,y,z\n2,x,y,z\n", "id,a,b,c\n1,x,Y,\n2,x,y,z\n", options, &events, true)
          .ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].op, "UPDATE");
  EXPECT_EQ(events[0].changed, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(events[0].before, (Row{{"id", "1"}, {"a", "x"}, {"b", "y"}, {"c", "z"}}));
}

TEST_F(DifferTest, EmitsInsertsAndUpdatesInFileOrderThenDeletes) {
  std::vector<Event> events;
  ASSERT_TRUE(Diff("id,v\n1,a\n2,a\n3,a\n", "id,v\n9,a\n3,b\n8,a\n1,a\n", {}, &events, true).ok());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].op + events[0].key["id"], "INSERT9");
  EXPECT_EQ(events[1].op + events[1].key["id"], "UPDATE3");
  EXPECT_EQ(events[2].op + events[2].key["id"], "INSERT8");
  EXPECT_EQ(events[3].op + events[3].key["id"], "DELETE2");
}

TEST_F(DifferTest, TreatsAnAddedColumnAsUpdatesOnlyWhereItIsNonEmpty) {
  for (bool stateful : {false, true}) {
    std::vector<Event> events;
    ASSERT_TRUE(
        Diff("id,a\n1,x\n2,x\n", "id,a,extra\n1,x,\n2,x,new\n", {}, &events, stateful).ok());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].op, "UPDATE");
    EXPECT_EQ(events[0].key["id"], "2");
  }
}

TEST_F(DifferTest, StopsComparingARemovedColumn) {
  for (bool stateful : {false, true}) {
    std::vector<Event> events;
    ASSERT_TRUE(
        Diff("id,a,gone\n1,x,p\n2,x,q\n3,x,r\n", "id,a\n1,x\n2,CHANGED\n", {}, &events, stateful)
            .ok());
    ASSERT_EQ(events.size(), 2u) << "stateful=" << stateful;
    EXPECT_EQ(events[0].op + events[0].key["id"], "UPDATE2");
    EXPECT_EQ(events[1].op + events[1].key["id"], "DELETE3");
  }
}

TEST_F(DifferTest, KeepsComparingARemovedColumnWhenThePreviousExportIsGoneAndSaysSo) {
  std::string old_path = dir_.Write("gone.csv", "id,a,gone\n1,x,p\n2,x,\n");
  std::string new_path = dir_.Write("new.csv", "id,a\n1,x\n2,x\n");
  DiffRequest first = Request({}, old_path, {});
  first.build_state = true;
  first.state_out = LocalStateOut(dir_.File("gone.state"));
  Differ seed(first);
  CollectingSink ignored;
  ASSERT_TRUE(seed.Run(&ignored).ok());
  ASSERT_TRUE(seed.CommitState().ok());
  std::filesystem::remove(old_path);
  DiffRequest request =
      Request({PreviousExport::Kind::kState, LocalFile(dir_.File("gone.state"))}, new_path, {});
  request.previous_export = LocalFile(old_path);
  Differ differ(request);
  CollectingSink sink;
  ASSERT_TRUE(differ.Run(&sink).ok());
  ASSERT_EQ(sink.events.size(), 1u);  // row 1 lost a non-empty value; row 2 had none
  EXPECT_EQ(sink.events[0].key.at("id"), "1");
  EXPECT_EQ(sink.events[0].row, (Row{{"id", "1"}, {"a", "x"}}));
  EXPECT_NE(differ.stats().note.find("no longer in the landing zone"), std::string::npos);
}

TEST_F(DifferTest, RefusesSchemaDriftWhenPolicyIsFail) {
  TableOptions options;
  options.schema_change = SchemaChangePolicy::kFail;
  std::vector<Event> events;
  Status status = Diff("id,a\n1,x\n", "id,a,b\n1,x,y\n", options, &events, true);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("added columns [b]"), std::string::npos) << status.message();
}

TEST_F(DifferTest, FailsWhenAKeyColumnDisappears) {
  TableOptions options;
  options.key = {"id"};
  std::vector<Event> events;
  Status status = Diff("id,a\n1,x\n", "a\nx\n", options, &events, true);
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("new.csv:1: key column 'id' is not in the header"),
            std::string::npos)
      << status.message();
}

TEST_F(DifferTest, IgnoresConfiguredColumns) {
  TableOptions options;
  options.ignore = {"exported_at"};
  std::vector<Event> events;
  ASSERT_TRUE(Diff("id,a,exported_at\n1,x,t1\n2,x,t1\n", "id,a,exported_at\n1,x,t2\n2,y,t2\n",
                   options, &events, true)
                  .ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key["id"], "2");
  EXPECT_EQ(events[0].row["exported_at"], "t2");
}

TEST_F(DifferTest, HandlesCompositeKeys) {
  TableOptions options;
  options.key = {"region", "id"};
  std::vector<Event> events;
  ASSERT_TRUE(
      Diff("region,id,v\neu,1,a\nus,1,a\n", "region,id,v\nus,1,b\neu,2,a\n", options, &events, true)
          .ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].op, "UPDATE");
  EXPECT_EQ(events[0].key, (Row{{"region", "us"}, {"id", "1"}}));
  EXPECT_EQ(events[1].op, "INSERT");
  EXPECT_EQ(events[2].op, "DELETE");
  EXPECT_EQ(events[2].key, (Row{{"region", "eu"}, {"id", "1"}}));
}

TEST_F(DifferTest, MarksNullMarkerValuesAsNull) {
  TableOptions options;
  options.null_marker = "NULL";
  std::vector<Event> events;
  ASSERT_TRUE(Diff("id,a\n", "id,a\n1,NULL\n2,\"NULL\"\n", options, &events, false).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].row["a"], "<null>");
  EXPECT_EQ(events[1].row["a"], "NULL");  // quoted: a string
}

TEST_F(DifferTest, FailsOnDuplicateKeysNamingBothLines) {
  std::vector<Event> events;
  Status status = Diff("id,v\n", "id,v\n1,a\n2,b\n1,c\n", {}, &events, false);
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("new.csv:4"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("first on line 2"), std::string::npos) << status.message();
}

TEST_F(DifferTest, AppliesFirstAndLastDuplicatePolicies) {
  for (auto [policy, expected] :
       {std::pair{DuplicatePolicy::kFirst, "a"}, std::pair{DuplicatePolicy::kLast, "c"}}) {
    TableOptions options;
    options.on_duplicate = policy;
    std::vector<Event> events;
    ASSERT_TRUE(Diff("id,v\n", "id,v\n1,a\n2,b\n1,c\n", options, &events, false).ok());
    ASSERT_EQ(events.size(), 2u);
    for (const Event& event : events) {
      if (event.key.at("id") == "1") {
        EXPECT_EQ(event.row.at("v"), expected);
      }
    }
  }
}

TEST_F(DifferTest, AppliesDuplicatePoliciesAndReportsLinesWhenSpilled) {
  std::string csv = "id,v\n";
  for (int i = 1; i <= 300; ++i) csv += std::to_string(i) + ",a\n";
  csv += "7,b\n";
  std::vector<Event> events;
  Status status = Diff("id,v\n", csv, {}, &events, false, 1 << 10);
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("new.csv:302"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("first on line 8"), std::string::npos) << status.message();
  for (auto [policy, expected] :
       {std::pair{DuplicatePolicy::kFirst, "a"}, std::pair{DuplicatePolicy::kLast, "b"}}) {
    TableOptions options;
    options.on_duplicate = policy;
    size_t partitions = 0;
    ASSERT_TRUE(Diff("id,v\n", csv, options, &events, false, 1 << 10, &partitions).ok());
    EXPECT_GT(partitions, 1u);
    ASSERT_EQ(events.size(), 300u);
    for (const Event& event : events) {
      if (event.key.at("id") == "7") {
        EXPECT_EQ(event.row.at("v"), expected);
      }
    }
  }
}

TEST_F(DifferTest, RejectsEmptyKeysWithTheirLocation) {
  std::vector<Event> events;
  Status status = Diff("id,v\n", "id,v\n1,a\n,b\n", {}, &events, false);
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("new.csv:3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("empty key"), std::string::npos) << status.message();
}

TEST_F(DifferTest, FiltersOperationsButCountsThemAll) {
  std::string old_path = dir_.Write("o.csv", "id,v\n1,a\n2,a\n");
  std::string new_path = dir_.Write("n.csv", "id,v\n2,b\n3,a\n");
  DiffRequest request = Request({PreviousExport::Kind::kExport, LocalFile(old_path)}, new_path, {});
  request.ops = OpFilter{false, false, true};
  Differ differ(request);
  CollectingSink sink;
  ASSERT_TRUE(differ.Run(&sink).ok());
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].op, "DELETE");
  EXPECT_EQ(differ.stats().inserts, 1u);
  EXPECT_EQ(differ.stats().updates, 1u);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A partitioned table's tasks: each part diffs its key range against its range of the state;
// together the parts emit each event of the whole diff once, their counts add up to the
// whole's, and their states concatenated in part order are the whole state byte for byte.
TEST_F(DifferTest, PartsOfTheKeySpaceTogetherAreTheWholeDiff) {
  std::mt19937_64 rng(7);
  std::vector<std::string> columns = {"id", "name", "amount"};
  Table old_table, new_table;
  for (int i = 0; i < 3000; ++i) {
    std::string key = std::to_string(rng() % 10000 + 1);
    old_table[key] = {{"id", key}, {"name", "n" + std::to_string(rng() % 5)}, {"amount", "1"}};
  }
  for (const auto& [key, row] : old_table) {
    if (rng() % 10 == 0) continue;
    Row copy = row;
    if (rng() % 5 == 0) copy["amount"] = "2";
    new_table[key] = copy;
  }
  for (int i = 0; i < 300; ++i) {
    std::string key = std::to_string(rng() % 20000 + 1);
    if (!old_table.count(key)) new_table[key] = {{"id", key}, {"name", "new"}, {"amount", "1"}};
  }
  std::string old_path = dir_.Write("old.csv", ToCsv(columns, old_table));
  std::string new_path = dir_.Write("new.csv", ToCsv(columns, new_table));
  for (bool before_images : {false, true}) {
    for (uint64_t memory_limit : {uint64_t{0}, uint64_t{16} << 10}) {
      TableOptions options;
      options.before_images = before_images;
      DiffRequest seed = Request({}, old_path, options);
      seed.build_state = true;
      seed.state_out = LocalStateOut(dir_.File("old.state"));
      Differ first(seed);
      CollectingSink ignored;
      ASSERT_TRUE(first.Run(&ignored).ok());
      ASSERT_TRUE(first.CommitState().ok());
      auto request = [&](const std::string& state_name) {
        DiffRequest diff = Request(
            {PreviousExport::Kind::kState, LocalFile(dir_.File("old.state"))}, new_path, options);
        diff.build_state = true;
        diff.state_out = LocalStateOut(dir_.File(state_name));
        diff.memory_limit = memory_limit;
        return diff;
      };
      Differ whole(request("whole.state"));
      CollectingSink whole_events;
      ASSERT_TRUE(whole.Run(&whole_events).ok());
      ASSERT_TRUE(whole.CommitState().ok());
      for (uint32_t count : {2u, 3u, 5u}) {
        std::vector<Event> events;
        DiffStats sum;
        StateWriter joined;  // with the first part's meta, as the importer joins them
        for (uint32_t index = 0; index < count; ++index) {
          DiffRequest part = request("part.state");
          part.part = KeyPart{index, count};
          Differ differ(part);
          CollectingSink sink;
          ASSERT_TRUE(differ.Run(&sink).ok());
          ASSERT_TRUE(differ.CommitState().ok());
          events.insert(events.end(), sink.events.begin(), sink.events.end());
          sum.inserts += differ.stats().inserts;
          sum.updates += differ.stats().updates;
          sum.deletes += differ.stats().deletes;
          sum.new_rows += differ.stats().new_rows;
          sum.old_rows += differ.stats().old_rows;
          StateReader reader;
          ASSERT_TRUE(reader.Open(LocalFile(dir_.File("part.state"))).ok());
          if (index == 0) {
            ASSERT_TRUE(joined.Open(LocalStateOut(dir_.File("joined.state")), reader.meta()).ok());
          }
          bool has_record = true;
          std::string_view key, row;
          Fingerprint fp;
          for (;;) {
            ASSERT_TRUE(reader.Next(&has_record, &key, &fp, &row).ok());
            if (!has_record) break;
            EXPECT_TRUE(part.part.Contains(DigestKey(key)));
            ASSERT_TRUE(joined.Add(key, fp, row).ok());
          }
        }
        ASSERT_TRUE(joined.Commit().ok());
        const std::string what = "parts " + std::to_string(count) + ", before_images " +
                                 std::to_string(before_images) + ", limit " +
                                 std::to_string(memory_limit);
        EXPECT_EQ(EventOps(events), ModelDiff(old_table, new_table)) << what;
        EXPECT_EQ(EventOps(events), EventOps(whole_events.events)) << what;
        EXPECT_EQ(sum.inserts, whole.stats().inserts) << what;
        EXPECT_EQ(sum.updates, whole.stats().updates) << what;
        EXPECT_EQ(sum.deletes, whole.stats().deletes) << what;
        EXPECT_EQ(sum.new_rows, whole.stats().new_rows) << what;
        EXPECT_EQ(sum.old_rows, whole.stats().old_rows) << what;
        EXPECT_TRUE(ReadBytes(dir_.File("joined.state")) == ReadBytes(dir_.File("whole.state")))
            << what;
      }
    }
  }
}

}  // namespace
}  // namespace snapdelta
