// Tests for the streaming CSV reader: accepted shapes, located errors, and a reference model.
#include "csv/csv_reader.h"

#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snapdelta/source.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using testing::GzipCompress;
using testing::ZstdCompress;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Rows = std::vector<std::vector<std::string>>;

// In-memory source named "orders.csv", returning at most `max_chunk` bytes per Read; fails with
// kIOError after `fail_after` bytes.
using testing::StringSource;

struct Parsed {
  Status status;
  std::vector<std::string> header;
  Rows rows;
  std::vector<uint64_t> lines;  // record_line() of each row
};

Parsed ParseReader(CsvReader& reader) {
  Parsed parsed;
  parsed.status = reader.ReadHeader();
  if (!parsed.status.ok()) return parsed;
  parsed.header = reader.header();
  bool has_record = false;
  while ((parsed.status = reader.Next(&has_record)).ok() && has_record) {
    std::vector<std::string> row;
    for (size_t i = 0; i < reader.field_count(); ++i) row.emplace_back(reader.field(i));
    parsed.rows.push_back(std::move(row));
    parsed.lines.push_back(reader.record_line());
  }
  return parsed;
}

Parsed Parse(std::string text, CsvOptions options = {}, size_t max_chunk = SIZE_MAX) {
  CsvReader reader(std::make_unique<StringSource>(std::move(text), max_chunk), options);
  return ParseReader(reader);
}

// Parses `text` and expects the error `code` with every fragment in its message.
void ExpectError(const std::string& text, StatusCode code,
                 const std::vector<std::string>& fragments, CsvOptions options = {}) {
  for (size_t max_chunk : {size_t{1}, SIZE_MAX}) {
    Parsed parsed = Parse(text, options, max_chunk);
    ASSERT_FALSE(parsed.status.ok()) << text;
    EXPECT_EQ(parsed.status.code(), code) << parsed.status.ToString();
    for (const std::string& fragment : fragments) {
      EXPECT_THAT(parsed.status.message(), HasSubstr(fragment));
    }
  }
}

TEST(CsvReader, ReadsHeaderAndRecords) {
  Parsed parsed = Parse("id,name,qty\n1,apple,3\n2,pear,\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_THAT(parsed.header, ElementsAre("id", "name", "qty"));
  EXPECT_EQ(parsed.rows, (Rows{{"1", "apple", "3"}, {"2", "pear", ""}}));
  EXPECT_THAT(parsed.lines, ElementsAre(2, 3));
}

TEST(CsvReader, UnescapesQuotedFieldsWithDoubledQuotes) {
  Parsed parsed = Parse("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n\"\",x\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_EQ(parsed.rows, (Rows{{"say \"hi\"", "\""}, {"", "x"}}));
}

TEST(CsvReader, KeepsDelimitersAndLineBreaksInsideQuotes) {
  Parsed parsed = Parse("a,b\n\"x,y\",\"line1\nline2\"\n\"crlf\r\ninside\",\"lone\rcr\"\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_EQ(parsed.rows, (Rows{{"x,y", "line1\nline2"}, {"crlf\r\ninside", "lone\rcr"}}));
  EXPECT_THAT(parsed.lines, ElementsAre(2, 4));
}

TEST(CsvReader, AcceptsCrlfAndLfRecordEnds) {
  Parsed crlf = Parse("a,b\r\n1,2\r\n\"3\",\"4\"\r\n");
  ASSERT_TRUE(crlf.status.ok()) << crlf.status.ToString();
  EXPECT_THAT(crlf.header, ElementsAre("a", "b"));
  EXPECT_EQ(crlf.rows, (Rows{{"1", "2"}, {"3", "4"}}));
  Parsed mixed = Parse("a,b\n1,2\r\n3,4\n");
  EXPECT_EQ(mixed.rows, (Rows{{"1", "2"}, {"3", "4"}}));
  EXPECT_THAT(mixed.lines, ElementsAre(2, 3));
}

TEST(CsvReader, KeepsValuesByteForByte) {
  Parsed parsed = Parse("a,b,c\n  x ,\tq\t, 5'10\" \n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_EQ(parsed.rows, (Rows{{"  x ", "\tq\t", " 5'10\" "}}));
}

TEST(CsvReader, ReportsWhetherAFieldWasQuoted) {
  CsvReader reader(std::make_unique<StringSource>("a,b,c\n\"\",,\"v\"\n"), {});
  ASSERT_TRUE(reader.ReadHeader().ok());
  bool has_record = false;
  ASSERT_TRUE(reader.Next(&has_record).ok());
  ASSERT_TRUE(has_record);
  EXPECT_TRUE(reader.field_quoted(0));
  EXPECT_FALSE(reader.field_quoted(1));
  EXPECT_TRUE(reader.field_quoted(2));
  EXPECT_EQ(reader.field(0), "");
  EXPECT_EQ(reader.field(2), "v");
  EXPECT_EQ(reader.record_number(), 1u);
}

TEST(CsvReader, StripsUtf8ByteOrderMark) {
  Parsed parsed = Parse("\xef\xbb\xbfid,name\n1,x\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_THAT(parsed.header, ElementsAre("id", "name"));
  EXPECT_THAT(parsed.lines, ElementsAre(2));
}

TEST(CsvReader, AcceptsLastRecordWithoutLineBreak) {
  EXPECT_EQ(Parse("a,b\n1,2").rows, (Rows{{"1", "2"}}));
  EXPECT_EQ(Parse("a,b\n1,\"2\"").rows, (Rows{{"1", "2"}}));
  EXPECT_EQ(Parse("a,b\n1,").rows, (Rows{{"1", ""}}));
  EXPECT_EQ(Parse("a,b\r\n1,2\r").rows, (Rows{{"1", "2"}}));
  EXPECT_THAT(Parse("a,b").header, ElementsAre("a", "b"));
}

TEST(CsvReader, IgnoresEmptyLinesAtEndOfInput) {
  Parsed parsed = Parse("a,b\n1,2\n\n\r\n\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_EQ(parsed.rows, (Rows{{"1", "2"}}));
}

TEST(CsvReader, TreatsEmptyLineInTheMiddleAsOneEmptyField) {
  Parsed one_column = Parse("name\nx\n\ny\n");
  ASSERT_TRUE(one_column.status.ok()) << one_column.status.ToString();
  EXPECT_EQ(one_column.rows, (Rows{{"x"}, {""}, {"y"}}));
  EXPECT_THAT(one_column.lines, ElementsAre(2, 3, 4));
  ExpectError("a,b\n1,2\n\n3,4\n", StatusCode::kCorruption,
              {"orders.csv:3: empty line, expected 2 fields (header has 2 columns: a,b)"});
}

TEST(CsvReader, ReadsRecordLargerThanTheBuffer) {
  const std::string big(10000, 'x');
  CsvOptions options;
  options.buffer_size = 16;
  Parsed parsed = Parse("a,b\n1,\"" + big + "\"\n2," + big + "\n3,4\n", options);
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_EQ(parsed.rows, (Rows{{"1", big}, {"2", big}, {"3", "4"}}));
  EXPECT_THAT(parsed.lines, ElementsAre(2, 3, 4));
}

TEST(CsvReader, ReadsFromSourceReturningOneByteAtATime) {
  const std::string text =
      "\xef\xbb\xbf"
      "a,b\r\n\"x\"\"y\",\"p\r\nq\"\r\n,\r\n3,4";
  CsvOptions options;
  options.buffer_size = 16;
  Parsed bytewise = Parse(text, options, 1);
  ASSERT_TRUE(bytewise.status.ok()) << bytewise.status.ToString();
  EXPECT_THAT(bytewise.header, ElementsAre("a", "b"));
  EXPECT_EQ(bytewise.rows, (Rows{{"x\"y", "p\r\nq"}, {"", ""}, {"3", "4"}}));
  EXPECT_THAT(bytewise.lines, ElementsAre(2, 4, 5));
  EXPECT_EQ(Parse(text).rows, bytewise.rows);
}

TEST(CsvReader, UsesCustomDelimiter) {
  CsvOptions options;
  options.delimiter = ';';
  EXPECT_EQ(Parse("a;b\n\"x;y\";1,5\n", options).rows, (Rows{{"x;y", "1,5"}}));
  options.delimiter = '\t';
  EXPECT_EQ(Parse("a\tb\nx y\t\"\t\"\n", options).rows, (Rows{{"x y", "\t"}}));
}

TEST(CsvReader, KeepsUnicodeValues) {
  Parsed parsed = Parse("név,城市\nÁrvíztűrő,東京\n😀,\"𝄞\"\n");
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
  EXPECT_THAT(parsed.header, ElementsAre("név", "城市"));
  EXPECT_EQ(parsed.rows, (Rows{{"Árvíztűrő", "東京"}, {"😀", "𝄞"}}));
}

TEST(CsvReader, RejectsEmptyFileAsMissingHeader) {
  ExpectError("", StatusCode::kCorruption, {"orders.csv: empty file, expected a header row"});
  ExpectError("\xef\xbb\xbf", StatusCode::kCorruption, {"orders.csv: empty file"});
  ExpectError("\n\n", StatusCode::kCorruption, {"orders.csv: empty file"});
  ExpectError("\nid\n1\n", StatusCode::kCorruption,
              {"orders.csv:1: empty line, expected a header"});
}

TEST(CsvReader, RejectsEmptyColumnName) {
  ExpectError("id,,qty\n", StatusCode::kCorruption, {"orders.csv:1:2: empty column name"});
}

TEST(CsvReader, RejectsDuplicateColumnNameNamingBothPositions) {
  ExpectError("id,name,\"id\"\n", StatusCode::kCorruption,
              {"orders.csv:1:3: duplicate column name 'id' (columns 1 and 3)"});
}

TEST(CsvReader, RejectsWrongFieldCountListingTheHeader) {
  ExpectError("id,name,qty\n1,a,2\n3,b\n", StatusCode::kCorruption,
              {"orders.csv:3: 2 fields, expected 3 (header has 3 columns: id,name,qty); "});
  ExpectError("id,name\n1,a,2\n", StatusCode::kCorruption,
              {"orders.csv:2: 3 fields, expected 2", "quote values that contain ','"});
  std::string many;
  for (int i = 0; i < 40; ++i) many += (i ? ",column" : "column") + std::to_string(i);
  ExpectError(many + "\n1\n", StatusCode::kCorruption,
              {"1 field, expected 40 (header has 40 columns: column0,column1,", ",...)"});
}

TEST(CsvReader, SuggestsDelimiterWhenTheFieldCountWouldMatch) {
  CsvOptions options;
  options.table_name = "orders";
  ExpectError("id;name;qty\n1;Smith, John;3\n", StatusCode::kCorruption,
              {"orders.csv:2: 2 fields, expected 1 (header has 1 columns: id;name;qty); is the "
               "delimiter ';'? set delimiter in [tables.orders]"},
              options);
  ExpectError("id\tname\n1\t\"a,b\"\n", StatusCode::kCorruption,
              {"is the delimiter '\\t'? set delimiter in [tables.<table>]"});
  options.delimiter = ';';
  ExpectError("id,name\n1,\"x;y\"\n", StatusCode::kCorruption, {"is the delimiter ','?"}, options);
}

TEST(CsvReader, DoesNotSuggestDelimiterWhenTheCountWouldNotMatch) {
  Parsed parsed = Parse("id,name,qty\n1,a;b;c;d\n");
  ASSERT_FALSE(parsed.status.ok());
  EXPECT_THAT(parsed.status.message(), Not(HasSubstr("is the delimiter")));
}

TEST(CsvReader, RejectsUnterminatedQuoteWithLineNumber) {
  ExpectError("id,name\n1,a\n2,\"open\nstill open\n3,c\n", StatusCode::kCorruption,
              {"orders.csv:3:2 (name): unterminated quoted field"});
  ExpectError("\"id,name\n", StatusCode::kCorruption, {"orders.csv:1:1: unterminated quoted"});
}

TEST(CsvReader, RejectsCharacterAfterClosingQuoteWithLineAndColumn) {
  ExpectError("id,name,qty\n1,\"multi\nline\"x,3\n", StatusCode::kCorruption,
              {"orders.csv:3:2 (name): unexpected character 'x' after a closing quote"});
  ExpectError("id,name\n1,\"a\"\rb\n", StatusCode::kCorruption, {"orders.csv:2:2 (name)"});
}

TEST(CsvReader, RejectsInvalidUtf8WithLineAndColumn) {
  ExpectError("id,name\n1,ok\n2,caf\xe9\n", StatusCode::kCorruption,
              {"orders.csv:3:2 (name): invalid UTF-8 byte 0xe9", "iconv"});
  ExpectError("id,name\n1,\xc0\xaf\n", StatusCode::kCorruption, {"byte 0xc0"});      // overlong
  ExpectError("id,name\n1,\xed\xa0\x80\n", StatusCode::kCorruption, {"byte 0xed"});  // surrogate
  ExpectError("id,name\n1,\xf4\x90\x80\x80\n", StatusCode::kCorruption, {"byte 0xf4"});
  ExpectError("id,n\xff\n", StatusCode::kCorruption, {"orders.csv:1:2: invalid UTF-8"});
}

TEST(CsvReader, RejectsNulBytesAsBinaryData) {
  ExpectError(std::string("id,name\n1,a\0b\n", 14), StatusCode::kCorruption,
              {"orders.csv:2:2 (name): NUL byte", "binary"});
}

TEST(CsvReader, RejectsRandomBinaryGarbage) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::string garbage(4096, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    Parsed parsed = Parse("id,name\n" + garbage);
    ASSERT_FALSE(parsed.status.ok());
    EXPECT_EQ(parsed.status.code(), StatusCode::kCorruption) << parsed.status.ToString();
    EXPECT_THAT(parsed.status.message(), HasSubstr("orders.csv:"));
  }
  ExpectError(std::string(100, '\0'), StatusCode::kCorruption, {"orders.csv:1:1: NUL byte"});
}

TEST(CsvReader, RejectsQuoteOrLineBreakAsDelimiter) {
  CsvOptions options;
  options.delimiter = '"';
  ExpectError("a\n", StatusCode::kInvalidArgument, {"delimiter"}, options);
}

TEST(CsvReader, PassesSourceErrorsThroughAndStaysFailed) {
  CsvOptions options;
  options.buffer_size = 16;
  CsvReader reader(std::make_unique<StringSource>("a,b\n1,2\n3,4\n5,6\n7,8\n", SIZE_MAX, 18),
                   options);
  ASSERT_TRUE(reader.ReadHeader().ok());
  bool has_record = false;
  Status status;
  while ((status = reader.Next(&has_record)).ok() && has_record) {
  }
  EXPECT_EQ(status.code(), StatusCode::kIOError);
  EXPECT_THAT(status.message(), HasSubstr("disk on fire"));
  EXPECT_EQ(reader.Next(&has_record).code(), StatusCode::kIOError);
  EXPECT_FALSE(has_record);
}

TEST(CsvReader, BuildsRecordErrorsWithLineAndColumnName) {
  CsvReader reader(std::make_unique<StringSource>("id,name\n1,a\n\"\",b\n"), {});
  ASSERT_TRUE(reader.ReadHeader().ok());
  bool has_record = false;
  ASSERT_TRUE(reader.Next(&has_record).ok());
  ASSERT_TRUE(reader.Next(&has_record).ok());
  EXPECT_EQ(reader.record_number(), 2u);
  Status status = reader.RecordError("empty key", 0);
  EXPECT_EQ(status.code(), StatusCode::kCorruption);
  EXPECT_EQ(status.message(), "orders.csv:3:1 (id): empty key");
  EXPECT_EQ(reader.RecordError("bad row").message(), "orders.csv:3: bad row");
  EXPECT_EQ(reader.file_name(), "orders.csv");
  ASSERT_TRUE(reader.Next(&has_record).ok());
  EXPECT_FALSE(has_record);
}

// Writes `rows` as RFC 4180 text, quoting where needed or at random.
std::string WriteCsv(const Rows& rows, std::mt19937& rng) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      const std::string& v = row[i];
      const bool quote =
          v.empty() || v.find_first_of(",\"\r\n") != std::string::npos || rng() % 4 == 0;
      if (!quote) {
        out += v;
        continue;
      }
      out += '"';
      for (char c : v) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
      out += '"';
    }
    out += (rng() % 2) ? "\r\n" : "\n";
  }
  return out;
}

TEST(CsvReader, MatchesReferenceModelOnRandomInputAndBufferSizes) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "xyz", ",",  "\"", "\n",   "\r\n",
                                           " ", "é",   "東", "😀",  "\"\"", "12345678901"};
  for (int trial = 0; trial < 200; ++trial) {
    const size_t columns = 1 + rng() % 5;
    Rows rows(1 + rng() % 30, std::vector<std::string>(columns));
    for (size_t c = 0; c < columns; ++c) rows[0][c] = "c" + std::to_string(c);
    for (size_t r = 1; r < rows.size(); ++r) {
      for (std::string& value : rows[r]) {
        for (size_t n = rng() % 6; n > 0; --n) value += pieces[rng() % pieces.size()];
      }
    }
    const std::string text = WriteCsv(rows, rng);
    CsvOptions options;
    options.buffer_size = 1 + rng() % 64;
    const size_t max_chunk = 1 + rng() % 17;
    Parsed parsed = Parse(text, options, max_chunk);
    ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString() << "\n" << text;
    EXPECT_EQ(parsed.header, rows[0]);
    EXPECT_EQ(parsed.rows, Rows(rows.begin() + 1, rows.end())) << text;
  }
}

// Plain records (ASCII, no quotes, no CR) are parsed 64 bytes at a time; records of every length
// around those blocks and the buffer's end, between records the field loop must take (quoted,
// CRLF, UTF-8, a last record without LF), give the same fields and lines as the model.
TEST(CsvReader, ReadsPlainRecordsOfEveryLengthAcrossBlockAndBufferEdges) {
  std::mt19937 rng(11);
  for (char delimiter : {',', '\t', '|'}) {
    Rows rows = {{"id", "name", "note"}};
    std::string text =
        "id" + std::string(1, delimiter) + "name" + std::string(1, delimiter) + "note\n";
    std::vector<uint64_t> lines;
    uint64_t line = 2;
    for (size_t length = 3; length < 200; ++length) {  // the record's bytes before its LF
      std::vector<std::string> row(3);
      row[0] = std::to_string(length);
      row[1] = std::string(rng() % (length - row[0].size() - 1), 'a' + char(length % 26));
      row[2] = std::string(length - row[0].size() - row[1].size() - 2, 'z');
      const int shape = static_cast<int>(rng() % 8);
      std::string record = row[0] + delimiter + row[1] + delimiter;
      if (shape == 0) {  // quoted: the field loop's
        record += "\"" + row[2] + "\"";
      } else if (shape == 1) {  // a multi-byte character
        row[2] += "\xc3\xa9";
        record += row[2];
      } else {
        record += row[2];
      }
      text += record + (shape == 2 ? "\r\n" : "\n");
      rows.push_back(row);
      lines.push_back(line++);
    }
    text.pop_back();  // the last record ends without an LF
    if (text.back() == '\r') text.pop_back();
    for (size_t buffer_size : {size_t{16}, size_t{64}, size_t{100}, size_t{4096}}) {
      for (size_t max_chunk : {size_t{1}, size_t{7}, size_t{61}, SIZE_MAX}) {
        CsvOptions options;
        options.delimiter = delimiter;
        options.buffer_size = buffer_size;
        Parsed parsed = Parse(text, options, max_chunk);
        ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
        EXPECT_EQ(parsed.header, rows[0]);
        EXPECT_EQ(parsed.rows, Rows(rows.begin() + 1, rows.end()))
            << "buffer " << buffer_size << ", chunk " << max_chunk;
        EXPECT_EQ(parsed.lines, lines);
      }
    }
  }
}

// A NUL or a byte that is not UTF-8 in a record otherwise plain is still found, at its column.
TEST(CsvReader, FindsABadByteInALongRecordOfPlainText) {
  const std::string plain(150, 'x');
  ExpectError("a,b\n1," + plain + "\n2," + plain + std::string(1, '\0') + "y\n",
              StatusCode::kCorruption, {"orders.csv:3:2 (b): NUL byte"});
  ExpectError("a,b\n1," + plain + "\n2," + plain + "\xff\n", StatusCode::kCorruption,
              {"orders.csv:3:2 (b): invalid UTF-8 byte 0xff"});
}

// A temp dir with one file, for reading exports end to end.
class ExportFile {
 public:
  ExportFile(const std::string& name, const std::string& bytes) {
    std::string pattern = ::testing::TempDir() + "/snapdelta_csv_XXXXXX";
    dir_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
    path_ = dir_ + "/" + name;
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~ExportFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(CsvReader, ReadsCompressedExportsEndToEnd) {
  const std::string part1 = "id,name\n1,\"a\n", part2 = "b\"\n2,c\n";
  for (const std::string& bytes : {GzipCompress(part1) + GzipCompress(part2),
                                   ZstdCompress(part1) + ZstdCompress(part2), part1 + part2}) {
    ExportFile file("orders.csv", bytes);
    auto source = OpenExport(file.path());
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    CsvReader reader(std::move(source).value(), {});
    Parsed parsed = ParseReader(reader);
    ASSERT_TRUE(parsed.status.ok()) << parsed.status.ToString();
    EXPECT_EQ(parsed.rows, (Rows{{"1", "a\nb"}, {"2", "c"}}));
    EXPECT_EQ(reader.raw_bytes_consumed(), bytes.size());
  }
}

TEST(CsvReader, PassesTruncatedGzipErrorThrough) {
  std::string text = "id,name\n";
  for (int i = 0; i < 5000; ++i) text += std::to_string(i) + ",name" + std::to_string(i) + "\n";
  const std::string gz = GzipCompress(text);
  ExportFile file("orders.csv.gz", gz.substr(0, gz.size() / 2));
  auto source = OpenExport(file.path());
  ASSERT_TRUE(source.ok());
  CsvReader reader(std::move(source).value(), {});
  Parsed parsed = ParseReader(reader);
  EXPECT_EQ(parsed.status.code(), StatusCode::kCorruption);
  EXPECT_THAT(parsed.status.message(), HasSubstr("orders.csv.gz: truncated gzip stream"));
}

}  // namespace
}  // namespace snapdelta
