#include "diff/state_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string_view>

#include "diff/coding.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using ::snapdelta::testing::LocalFile;
using ::snapdelta::testing::LocalStateOut;

struct Record {
  std::string key;
  Fingerprint fp;
  std::string row;
};

std::vector<Record> MakeRecords(size_t count, bool with_rows) {
  std::vector<Record> records;
  for (size_t i = 0; i < count; ++i) {
    Record record;
    AppendKeyPart(&record.key, "key" + std::to_string(i));
    record.fp = Fingerprint{i * 7 + 1, i * 13 + 2};
    if (with_rows) {
      AppendRowValue(&record.row, "key" + std::to_string(i), false);
      AppendRowValue(&record.row, std::string(i % 50, 'x'), false);
      AppendRowValue(&record.row, "", true);
    }
    records.push_back(record);
  }
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return DigestKey(a.key) < DigestKey(b.key); });
  return records;
}

const StateIdentity kIdentity{"acme", "orders", "v0002", "00112233445566778899aabbccddeeff"};

StateMeta Meta(bool with_rows, const StateIdentity& identity = kIdentity) {
  return StateMeta{{"id", "name", "note"}, {"id"}, {"name", "note"}, with_rows, identity};
}

void WriteState(const std::string& path, const std::vector<Record>& records, bool with_rows,
                const StateIdentity& identity = kIdentity) {
  StateWriter writer;
  ASSERT_TRUE(writer.Open(LocalStateOut(path), Meta(with_rows, identity)).ok());
  for (const Record& record : records) {
    ASSERT_TRUE(writer.Add(record.key, record.fp, record.row).ok());
  }
  ASSERT_TRUE(writer.Commit().ok());
}

Status ReadAll(const std::string& path, std::vector<Record>* out,
               const StateIdentity& expected = {}) {
  StateReader reader;
  RETURN_IF_ERROR(reader.Open(LocalFile(path), expected));
  for (;;) {
    bool has_record = false;
    std::string_view key, row;
    Fingerprint fp;
    RETURN_IF_ERROR(reader.Next(&has_record, &key, &fp, &row));
    if (!has_record) return Status::OK();
    out->push_back(Record{std::string(key), fp, std::string(row)});
  }
}

TEST(StateFile, RoundTripsRecordsWithAndWithoutRows) {
  testing::ScratchDir dir;
  for (bool with_rows : {false, true}) {
    std::vector<Record> records = MakeRecords(20000, with_rows);
    std::string path = dir.File(with_rows ? "rows.state" : "plain.state");
    WriteState(path, records, with_rows);
    std::vector<Record> read;
    ASSERT_TRUE(ReadAll(path, &read).ok());
    ASSERT_EQ(read.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(read[i].key, records[i].key);
      EXPECT_EQ(read[i].fp, records[i].fp);
      EXPECT_EQ(read[i].row, records[i].row);
    }
    StateReader reader;
    ASSERT_TRUE(reader.Open(LocalFile(path)).ok());
    EXPECT_EQ(reader.meta().columns, Meta(with_rows).columns);
    EXPECT_EQ(reader.meta().before_images, with_rows);
    EXPECT_EQ(reader.meta().identity.version, "v0002");
    EXPECT_EQ(reader.meta().identity.export_checksum, kIdentity.export_checksum);
  }
}

TEST(StateFile, RoundTripsAnEmptyState) {
  testing::ScratchDir dir;
  WriteState(dir.File("empty.state"), {}, false);
  std::vector<Record> read;
  Status status = ReadAll(dir.File("empty.state"), &read);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(read.empty());
}

TEST(StateFile, LeavesNoFileWhenNotCommitted) {
  testing::ScratchDir dir;
  {
    StateWriter writer;
    ASSERT_TRUE(writer.Open(LocalStateOut(dir.File("x.state")), Meta(false)).ok());
    ASSERT_TRUE(writer.Add("k", Fingerprint{1, 2}, "").ok());
  }
  EXPECT_FALSE(std::ifstream(dir.File("x.state")).good());
  EXPECT_FALSE(std::ifstream(dir.File("x.state.tmp")).good());
}

TEST(StateFile, DetectsCorruptionAndTruncation) {
  testing::ScratchDir dir;
  std::string path = dir.File("c.state");
  WriteState(path, MakeRecords(5000, false), false);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  dir.Write("flipped.state", flipped);
  std::vector<Record> read;
  Status status = ReadAll(dir.File("flipped.state"), &read);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("flipped.state"), std::string::npos);

  dir.Write("short.state", bytes.substr(0, bytes.size() - 30));
  read.clear();
  status = ReadAll(dir.File("short.state"), &read);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();

  dir.Write("garbage.state", "not a state file at all");
  StateReader reader;
  status = reader.Open(LocalFile(dir.File("garbage.state")));
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_NE(status.message().find("not a state file"), std::string::npos);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The same state as `v3_bytes` in format version 2, as builds before the identity wrote it:
// the meta without identity fields and no meta checksum; records and footer are unchanged.
std::string AsVersion2(const std::string& v3_bytes, bool with_rows) {
  std::string_view in(v3_bytes);
  in.remove_prefix(12);  // magic, version
  uint64_t meta_len = 0;
  EXPECT_TRUE(GetVarint64(&in, &meta_len));
  in.remove_prefix(meta_len + 8);  // meta, meta checksum
  std::string meta = std::string(R"({"columns":["id","name","note"],"key":["id"],)") +
                     R"("compared":["name","note"],"before_images":)" +
                     (with_rows ? "true}" : "false}");
  std::string out = v3_bytes.substr(0, 8);
  uint32_t version = 2;
  out.append(reinterpret_cast<const char*>(&version), 4);
  PutLengthPrefixed(&out, meta);
  out.append(in);
  return out;
}

TEST(StateFile, RefusesAStateOfAnotherVersionNamingBothAndTheWayOut) {
  testing::ScratchDir dir;
  std::string path = dir.File("v0002.state");
  WriteState(path, MakeRecords(10, false), false,
             StateIdentity{"acme", "orders", "v0001", "ffeeddccbbaa99887766554433221100"});
  StateReader reader;
  Status status = reader.Open(LocalFile(path), kIdentity);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  for (const char* fragment :
       {"v0002.state", "belongs to another table or version",
        "acme/orders/v0001 (export checksum ffeeddccbbaa99887766554433221100)",
        "acme/orders/v0002 (export checksum 00112233445566778899aabbccddeeff)",
        "snapdelta rewind acme/orders --to VERSION", "Restore the state file"}) {
    EXPECT_NE(status.message().find(fragment), std::string::npos) << fragment << "\n"
                                                                  << status.message();
  }
}

TEST(StateFile, ChecksEveryFieldOfTheIdentityButEmptyOnes) {
  testing::ScratchDir dir;
  std::string path = dir.File("s.state");
  WriteState(path, MakeRecords(10, false), false);
  std::vector<Record> read;
  EXPECT_TRUE(ReadAll(path, &read, kIdentity).ok());
  read.clear();
  EXPECT_TRUE(ReadAll(path, &read, StateIdentity{"acme", "orders", "v0002", ""}).ok());
  for (StateIdentity other :
       {StateIdentity{"other", "orders", "v0002", ""}, StateIdentity{"acme", "other", "v0002", ""},
        StateIdentity{"acme", "orders", "v0003", ""},
        StateIdentity{"acme", "orders", "v0002", "0123"}}) {
    read.clear();
    EXPECT_EQ(ReadAll(path, &read, other).code(), StatusCode::kCorruption) << other.ToString();
  }
}

TEST(StateFile, ReadsVersion2FilesWithoutIdentityAsBefore) {
  testing::ScratchDir dir;
  for (bool with_rows : {false, true}) {
    std::vector<Record> records = MakeRecords(3000, with_rows);
    std::string v3 = dir.File("v3.state");
    WriteState(v3, records, with_rows);
    std::string v2 = dir.Write("v2.state", AsVersion2(ReadBytes(v3), with_rows));
    std::vector<Record> read;
    Status status = ReadAll(v2, &read, kIdentity);  // no identity to check: accepted
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(read.size(), records.size());
    EXPECT_EQ(read.back().row, records.back().row);
    StateReader reader;
    ASSERT_TRUE(reader.Open(LocalFile(v2)).ok());
    EXPECT_TRUE(reader.meta().identity.empty());
    EXPECT_EQ(reader.meta().compared, Meta(with_rows).compared);
  }
}

TEST(StateFile, DetectsADamagedHeaderByItsChecksum) {
  testing::ScratchDir dir;
  std::string path = dir.File("h.state");
  WriteState(path, MakeRecords(10, false), false);
  std::string bytes = ReadBytes(path);
  size_t at = bytes.find("v0002");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] = '3';  // still valid JSON, another version
  dir.Write("h2.state", bytes);
  StateReader reader;
  Status status = reader.Open(LocalFile(dir.File("h2.state")));
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("header checksum mismatch"), std::string::npos)
      << status.message();
}

TEST(StateFile, RefusesUnknownFormatVersions) {
  testing::ScratchDir dir;
  std::string path = dir.File("u.state");
  WriteState(path, MakeRecords(10, false), false);
  std::string bytes = ReadBytes(path);
  for (uint32_t version : {1u, 4u}) {
    std::memcpy(bytes.data() + 8, &version, 4);
    dir.Write("u2.state", bytes);
    StateReader reader;
    Status status = reader.Open(LocalFile(dir.File("u2.state")));
    EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
    EXPECT_NE(status.message().find("state format version " + std::to_string(version)),
              std::string::npos)
        << status.message();
  }
}

TEST(StateFile, ReportsAMissingFileAsNotFound) {
  testing::ScratchDir dir;
  StateReader reader;
  EXPECT_EQ(reader.Open(LocalFile(dir.File("none.state"))).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace snapdelta
