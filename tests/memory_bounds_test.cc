// Memory bounds of the parts a diff is made of: the key table's reservations, the CSV reader's
// handling of runs of empty lines and of records larger than its buffer, row batches that lend
// a large record instead of copying it, spill files that write a large row without a copy, and
// the differ splitting a table that outgrows its budget mid-diff (the same events and state as
// in memory). tests/integration/hostile_size_test.cc measures whole runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/huge_array.h"
#include "csv/csv_reader.h"
#include "diff/differ.h"
#include "diff/differ_internal.h"
#include "diff/export_reader.h"
#include "diff/key_table.h"
#include "diff/row_batch.h"
#include "diff/spill.h"
#include "sink/event_json.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using ::snapdelta::testing::LocalFile;
using ::snapdelta::testing::LocalStateOut;

using ::snapdelta::testing::ScratchDir;
using ::snapdelta::testing::StringSource;
using ::testing::HasSubstr;

KeyDigest DigestOf(uint64_t n) { return DigestKey(std::to_string(n)); }

TEST(KeyTable, CapsAReservationPastItsLimitAndGrowsWithRealKeys) {
  KeyTable table;
  table.set_reserve_limit(1 << 20);
  table.Reserve(1'000'000'000);  // a billion-key estimate: 64 GiB if taken at its word
  EXPECT_LE(table.capacity() * sizeof(KeyEntry), size_t{1} << 20);
  const size_t capped = table.capacity();
  for (uint64_t n = 0; n < 100'000; ++n) {
    bool inserted = false;
    size_t entry_idx = table.FindOrInsert(DigestOf(n), &inserted);
    ASSERT_TRUE(inserted);
    table.entry(entry_idx).Set(KeyEntry::kNewOnly, n);
  }
  EXPECT_GT(table.capacity(), capped);  // real keys grow it past the limit of Reserve
  for (uint64_t n = 0; n < 100'000; ++n) ASSERT_TRUE(table.Contains(DigestOf(n)));
  EXPECT_FALSE(table.Contains(DigestOf(100'000)));
  EXPECT_GE(table.memory_bytes(), table.capacity() * sizeof(KeyEntry));
}

// A table reserved for its keys takes them all without doubling, at most 80% full, and in no
// more than the whole huge pages that hold 80% of them (a million keys: 68 MB, not 77).
TEST(KeyTable, ReservesAsAskedWithinItsLimit) {
  KeyTable table;
  table.Reserve(100'000);
  const size_t reserved = table.capacity();
  EXPECT_GE(reserved * 8 / 10, 100'000u);
  constexpr size_t kSlotsPerPage = HugeArray<KeyEntry>::kPageBytes / sizeof(KeyEntry);
  EXPECT_LT(reserved, 100'000 * 10 / 8 + kSlotsPerPage);
  for (uint64_t n = 0; n < 100'000; ++n) {
    bool inserted = false;
    table.entry(table.FindOrInsert(DigestOf(n), &inserted)).Set(KeyEntry::kNewOnly, n);
    ASSERT_TRUE(inserted);
  }
  EXPECT_EQ(table.capacity(), reserved);
}

// A state's table is reserved for the state's keys and the new export's growth, estimated from
// the sizes of the two exports (1/32 more for the keys replaced); 1/8 more when the previous
// export's size is unknown, and no more than 1.5x growth (likelier a change of compression).
TEST(KeyTable, ReservesForAStateAndTheNewExportsGrowth) {
  constexpr uint64_t kRows = 320'000;
  EXPECT_EQ(KeysToReserve(kRows, 0, 1100), kRows + kRows / 8);
  EXPECT_EQ(KeysToReserve(kRows, 1000, 1100), kRows * 11 / 10 + kRows / 32);
  EXPECT_EQ(KeysToReserve(kRows, 2200, 1100), kRows + kRows / 32);
  EXPECT_EQ(KeysToReserve(kRows, 100, 1100), kRows * 3 / 2 + kRows / 32);
  EXPECT_EQ(KeysToReserve(kRows, 1000, 0), kRows + kRows / 8);  // the new export's size unknown
}

// All records of `text` (fields joined by '|', then the line) or the error.
std::string ParseAll(const std::string& text, CsvOptions options, size_t max_chunk = SIZE_MAX) {
  CsvReader reader(std::make_unique<StringSource>(text, max_chunk), options);
  Status status = reader.ReadHeader();
  std::string out;
  for (bool has_record = true; status.ok() && has_record;) {
    status = reader.Next(&has_record);
    if (!status.ok() || !has_record) break;
    for (size_t column_idx = 0; column_idx < reader.field_count(); ++column_idx) {
      out += std::string(reader.field(column_idx)) + (reader.field_quoted(column_idx) ? "'" : "");
      out += "|";
    }
    out += "@" + std::to_string(reader.record_line()) + "\n";
  }
  return status.ok() ? out : status.ToString();
}

CsvOptions SmallBuffers() {
  CsvOptions options;
  options.buffer_size = 4 << 10;
  options.max_record_size = 64 << 10;  // what made a long run of empty lines an error
  return options;
}

TEST(CsvReader, RunOfEmptyLinesReadsTheSameAtAnyLength) {
  const std::string many(1 << 20, '\n');  // 16 times the largest record
  const std::string many_crlf = [] {
    std::string text;
    for (int i = 0; i < (1 << 19); ++i) text += "\r\n";
    return text;
  }();
  for (const std::string& run : {many, many_crlf}) {
    // Between header and data: an empty line, on line 2, at either length.
    EXPECT_EQ(ParseAll("id,v\n" + run + "1,x\n", SmallBuffers()),
              ParseAll("id,v\n\n\n\n1,x\n", SmallBuffers()));
    EXPECT_THAT(ParseAll("id,v\n" + run + "1,x\n", SmallBuffers()),
                HasSubstr("orders.csv:2: empty line, expected 2 fields"));
    // At the end: not records.
    EXPECT_EQ(ParseAll("id,v\n1,x\n" + run, SmallBuffers()), "1|x|@2\n");
    // Only empty lines: no header.
    EXPECT_EQ(ParseAll(run, SmallBuffers()), ParseAll("\n\n\n", SmallBuffers()));
    EXPECT_THAT(ParseAll(run, SmallBuffers()), HasSubstr("empty file, expected a header row"));
    // Before the header: an empty first line.
    EXPECT_THAT(ParseAll(run + "id,v\n1,x\n", SmallBuffers()),
                HasSubstr("orders.csv:1: empty line, expected a header row"));
  }
}

TEST(CsvReader, EmptyLinesOfAOneColumnExportAreRecordsInLinearTime) {
  const int count = 200'000;  // quadratic rescanning would take minutes
  std::string text = "id\n" + std::string(count, '\n') + "x\n";
  CsvReader reader(std::make_unique<StringSource>(text), SmallBuffers());
  ASSERT_TRUE(reader.ReadHeader().ok());
  bool has_record = false;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(reader.Next(&has_record).ok());
    ASSERT_TRUE(has_record);
    ASSERT_EQ(reader.field(0), "");
    ASSERT_EQ(reader.record_line(), static_cast<uint64_t>(i + 2));
  }
  ASSERT_TRUE(reader.Next(&has_record).ok());
  EXPECT_EQ(reader.field(0), "x");
  EXPECT_EQ(reader.record_line(), static_cast<uint64_t>(count + 2));
}

TEST(CsvReader, RejectsARecordPastTheLimitButNotAFieldBelowIt) {
  std::string field(60 << 10, 'a');
  EXPECT_EQ(ParseAll("id,v\n1," + field + "\n", SmallBuffers()), "1|" + field + "|@2\n");
  EXPECT_THAT(ParseAll("id,v\n1,\"" + field + field, SmallBuffers()),
              HasSubstr("record is longer than 64 KiB; is a quote left open?"));
}

TEST(CsvReader, SameRecordsAndErrorsForEveryBufferSize) {
  std::mt19937 rng(11);
  const std::vector<std::string> pieces = {"a",  "xyz", ",",    "\"",   "\n",         "\r\n",
                                           "\r", " ",   "\"\"", "\n\n", "\r\n\r\n\n", "é"};
  for (int trial = 0; trial < 300; ++trial) {
    std::string text = trial % 2 == 0 ? "id,v\n" : "";
    for (size_t n = rng() % 60; n > 0; --n) text += pieces[rng() % pieces.size()];
    CsvOptions large;
    CsvOptions tiny;
    tiny.buffer_size = 1 + rng() % 40;
    EXPECT_EQ(ParseAll(text, tiny, 1 + rng() % 17), ParseAll(text, large)) << text;
  }
}

TEST(CsvReader, ReadsARecordManyTimesItsBufferInOnePiece) {
  std::string value(4 << 20, 'v');
  value[1000] = '"';  // a quote inside a quoted field, doubled below
  std::string quoted = "\"" + value.substr(0, 1000) + "\"\"" + value.substr(1001) + "\"";
  CsvOptions options;
  options.buffer_size = 16;
  EXPECT_EQ(ParseAll("id,v\n1," + quoted + "\n2,b\n", options, 4096),
            "1|" + value + "'|@2\n2|b|@3\n");
}

// A table of `rows` (id,v): the value of row `large_row` is `large_bytes` long.
std::string TableWithALargeValue(int rows, int large_row, size_t large_bytes) {
  std::string csv = "id,v\n";
  for (int row = 1; row <= rows; ++row) {
    csv += std::to_string(row) + "," +
           (row == large_row ? std::string(large_bytes, 'L') : "v" + std::to_string(row)) + "\n";
  }
  return csv;
}

TEST(BatchProducer, LendsALargeRecordInABatchOfItsOwn) {
  ExportSchema schema;
  schema.columns = {"id", "v"};
  schema.key_names = {"id"};
  schema.key_idx = {0};
  schema.compared_names = {"v"};
  schema.compared_idx = {1};
  schema.compared_name_hash = {NameHash("v")};
  TableOptions options;
  CsvReader reader(std::make_unique<StringSource>(TableWithALargeValue(5, 3, 3 << 20)), {});
  ASSERT_TRUE(reader.ReadHeader().ok());
  {
    BatchProducer producer(&reader, &schema, &options);
    const RowBatch* before = producer.Next();
    ASSERT_EQ(before->rows, 2u);  // rows 1 and 2: the batch ends before the large row
    EXPECT_FALSE(before->text.lent());
    const RowBatch* large = producer.Next();
    ASSERT_EQ(large->rows, 1u);
    EXPECT_TRUE(large->text.lent());
    std::string_view value(large->text.data() + large->field_begin[1], large->field_size[1]);
    EXPECT_EQ(value, std::string(3 << 20, 'L'));
    EXPECT_EQ(large->hashes[0], ValueHash(value));
    const RowBatch* after = producer.Next();
    ASSERT_EQ(after->rows, 2u);
    EXPECT_TRUE(after->end);
    EXPECT_EQ(std::string_view(after->text.data() + after->field_begin[1], 2), "v4");
  }
  CsvReader again(std::make_unique<StringSource>(TableWithALargeValue(5, 1, 3 << 20)), {});
  ASSERT_TRUE(again.ReadHeader().ok());
  BatchProducer producer(&again, &schema, &options);
  EXPECT_TRUE(producer.Next()->text.lent());
  // Destroyed while the lent batch is out and the producer waits for it: no deadlock.
}

TEST(SpillWriter, WritesALargeRowValueByValueAndReadsItBack) {
  ScratchDir dir;
  std::string path = dir.Write("new.csv", TableWithALargeValue(3, 2, 2 << 20));
  ExportReader reader;
  std::shared_ptr<StoredFile> file = LocalFile(path);
  ASSERT_TRUE(reader.Open(file.get(), {}).ok());
  SpillDir spill_dir;
  ASSERT_TRUE(spill_dir.Create(dir.path()).ok());
  spill_dir.set_write_buffer_bytes(SpillWriter::kMinBufferBytes);
  SpillWriter writer;
  ASSERT_TRUE(writer.Open(spill_dir, "new-", 1).ok());
  std::vector<std::vector<std::string>> written;
  for (bool has_row = true;;) {
    ASSERT_TRUE(reader.Next(&has_row).ok());
    if (!has_row) break;
    written.push_back({});
    for (const FieldValue& value : reader.values()) written.back().emplace_back(value.value);
    ASSERT_TRUE(writer.Add(reader).ok());
  }
  ASSERT_TRUE(writer.Close().ok());
  SpillReader spilled(writer.PathOf(0), path, &reader.schema());
  ASSERT_TRUE(spilled.Open().ok());
  for (const std::vector<std::string>& row : written) {
    bool has_row = false;
    ASSERT_TRUE(spilled.Next(&has_row).ok());
    ASSERT_TRUE(has_row);
    ASSERT_EQ(spilled.values().size(), row.size());
    for (size_t column_idx = 0; column_idx < row.size(); ++column_idx) {
      EXPECT_EQ(spilled.values()[column_idx].value, row[column_idx]);
    }
  }
  bool has_row = true;
  ASSERT_TRUE(spilled.Next(&has_row).ok());
  EXPECT_FALSE(has_row);
}

TEST(EventJson, SlicesALargeValueThroughTheDrainIntoTheSameText) {
  std::string large(3 * kJsonSliceBytes + 5, 'a');
  for (size_t at : {size_t{0}, kJsonSliceBytes - 1, kJsonSliceBytes, 2 * kJsonSliceBytes + 1}) {
    large[at] = at % 2 == 0 ? '"' : '\n';  // escapes on both sides of slice boundaries
  }
  const std::vector<std::string> names = {"id", "v"};
  const std::vector<FieldValue> values = {FieldValue{"7", false}, FieldValue{large, false}};
  ChangeEvent event;
  event.seq = 3;
  event.key = Columns{std::span(names).first(1), std::span(values).first(1)};
  event.row = Columns{names, values};
  ImportIdentity import{"t", "orders", "v1"};
  std::string whole;
  AppendEventJson(&whole, import, event);
  std::string sliced, out;
  size_t drains = 0, largest = 0;
  AppendEventJson(&out, import, event, [&](std::string* text) {
    ++drains;
    largest = std::max(largest, text->size());
    sliced += *text;
    text->clear();
  });
  sliced += out;
  EXPECT_EQ(sliced, whole);
  EXPECT_EQ(drains, 4u);
  EXPECT_LE(largest, kJsonSliceBytes + 1024);
}

// Every event as one line (op, key, row, changed, before), sorted: the events of a diff
// whatever their order (which depends on the partitions).
class SortedEventsSink : public Sink {
 public:
  Status Begin(const ImportIdentity&) override { return Status::OK(); }
  Status Put(const ChangeEvent& event) override {
    std::string line(ChangeOpName(event.op));
    for (const Columns* columns : {&event.key, &event.row, &event.before}) {
      line += " {";
      for (size_t i = 0; i < columns->names.size(); ++i) {
        line += columns->names[i] + "=" + std::string(columns->values[i].value) + ";";
      }
      line += "}";
    }
    for (std::string_view name : event.changed) line += " " + std::string(name);
    lines.push_back(line);
    return Status::OK();
  }
  Status Finish() override {
    std::sort(lines.begin(), lines.end());
    return Status::OK();
  }
  void Abort() override {}
  std::vector<std::string> lines;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

struct DiffOutcome {
  std::vector<std::string> events;
  DiffStats stats;
  size_t partitions = 0;
  std::string state;  // the new state file's bytes
};

DiffOutcome RunDiff(DiffRequest request, uint64_t memory_limit, const std::string& state_path) {
  request.memory_limit = memory_limit;
  request.build_state = true;
  request.state_out = LocalStateOut(state_path);
  Differ differ(request);
  SortedEventsSink sink;
  Status status = differ.Run(&sink);
  if (status.ok()) status = sink.Finish();
  if (status.ok()) status = differ.CommitState();
  EXPECT_TRUE(status.ok()) << status.ToString();
  return DiffOutcome{sink.lines, differ.stats(), differ.partitions(), ReadAll(state_path)};
}

// A new export the sampler misjudges: its first 8 MiB are one key repeated (a few distinct keys
// expected, one partition), then come `keys` distinct keys: the table outgrows its budget in
// the middle of the diff and must be split.
std::string MisleadingExport(int keys, int key_offset) {
  std::string csv = "id,v\n";
  const std::string repeated = "0," + std::string(100, 'r') + "\n";
  while (csv.size() < (9 << 20)) csv += repeated;
  for (int key = 1; key <= keys; ++key) {
    csv += std::to_string(key + key_offset) + "," + std::to_string(key % 7) + "\n";
  }
  return csv;
}

class DifferSplit : public ::testing::TestWithParam<PreviousExport::Kind> {};

TEST_P(DifferSplit, SplitsATableThatOutgrowsItsBudgetWithTheSameEventsAndState) {
  // Without before-images, a key both sides have has no new-side record of its own
  // (KeyEntry::kShared), and the split writes one for it into the table spill.
  for (bool before_images : {true, false}) {
    SCOPED_TRACE(before_images ? "with before-images" : "without before-images");
    ScratchDir dir;
    std::string old_csv = "id,v\n";
    for (int key = 1; key <= 60'000; ++key) old_csv += std::to_string(key * 5) + ",1\n";
    std::string old_path = dir.Write("old.csv", old_csv);
    std::string new_path = dir.Write("new.csv", MisleadingExport(300'000, 0));
    DiffRequest request;
    request.new_export = LocalFile(new_path);
    request.options.on_duplicate = DuplicatePolicy::kFirst;
    request.options.before_images = before_images;
    request.spill_dir = dir.path();
    if (GetParam() == PreviousExport::Kind::kExport)
      request.previous = {GetParam(), LocalFile(old_path)};
    if (GetParam() == PreviousExport::Kind::kState) {
      DiffRequest seed;
      seed.new_export = LocalFile(old_path);
      seed.options = request.options;
      RunDiff(seed, 0, dir.File("old.state"));
      request.previous = {GetParam(), LocalFile(dir.File("old.state"))};
    }
    DiffOutcome in_memory = RunDiff(request, 0, dir.File("a.state"));
    DiffOutcome split = RunDiff(request, 40 << 20, dir.File("b.state"));
    EXPECT_EQ(in_memory.partitions, 1u);
    EXPECT_GT(split.partitions, 1u);
    EXPECT_EQ(split.events.size(), in_memory.events.size());
    EXPECT_TRUE(split.events == in_memory.events);
    EXPECT_EQ(split.stats.inserts, in_memory.stats.inserts);
    EXPECT_EQ(split.stats.updates, in_memory.stats.updates);
    EXPECT_EQ(split.stats.deletes, in_memory.stats.deletes);
    EXPECT_EQ(split.stats.duplicates_skipped, in_memory.stats.duplicates_skipped);
    EXPECT_EQ(split.stats.new_rows, 300'001u);
    EXPECT_TRUE(split.state == in_memory.state);  // digest order, whatever the partitions
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPreviousSide, DifferSplit,
                         ::testing::Values(PreviousExport::Kind::kNone,
                                           PreviousExport::Kind::kExport,
                                           PreviousExport::Kind::kState));

TEST(DifferSplitLast, SpillsWhenTheKeysOfTheLastOccurrencePassOutgrowTheBudget) {
  ScratchDir dir;
  std::string csv = MisleadingExport(300'000, 0);
  for (int key = 1; key <= 1000; ++key) csv += std::to_string(key * 97) + ",last\n";
  DiffRequest request;
  request.new_export = LocalFile(dir.Write("new.csv", csv));
  request.options.on_duplicate = DuplicatePolicy::kLast;
  request.spill_dir = dir.path();
  DiffOutcome in_memory = RunDiff(request, 0, dir.File("a.state"));
  DiffOutcome split = RunDiff(request, 40 << 20, dir.File("b.state"));
  EXPECT_GT(split.partitions, 1u);
  EXPECT_TRUE(split.events == in_memory.events);
  EXPECT_EQ(split.stats.new_rows, in_memory.stats.new_rows);
  EXPECT_TRUE(split.state == in_memory.state);
  EXPECT_EQ(std::count_if(split.events.begin(), split.events.end(),
                          [](const std::string& line) { return line.find("v=last") != line.npos; }),
            1000);
}

}  // namespace
}  // namespace snapdelta
