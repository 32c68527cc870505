// CsvReader: a streaming RFC 4180 reader over a ByteSource.
//
// Accepts: quoted fields with doubled quotes, delimiters and line breaks (LF, CRLF) inside
// quotes, LF or CRLF record ends, an optional UTF-8 byte order mark, a last record with or
// without a line break. A quote inside a field that does not start with one (5'10") is data.
// Values are kept byte for byte (spaces, tabs, CR/LF inside quotes); quoted fields are unescaped.
// A CR is a line break only before an LF; elsewhere it is data (a CR right before end of input
// is dropped). Empty lines at the end of the input are not records; an empty line followed by
// more data is a record with one empty field (so it fails the field count unless the header has
// one column). An empty first line is reported as a missing header. A run of empty lines is
// treated the same at any length: it is counted, never buffered.
//
// Rejects, with a kCorruption Status whose message is
//   "<file>:<line>:<column>: <what is wrong>; <possible fix>"
// (line 1-based, counting every line break in the file; column 1-based field index, with the
// header's name for that column in parentheses where known):
//   - an unterminated quoted field (the position where the quote opened),
//   - a character other than delimiter or line break after a closing quote,
//   - a record whose field count differs from the header's, without a column:
//     "<file>:<line>: 7 fields, expected 9 (header has 9 columns: id,name,...); <possible fix>",
//     where the fix names another delimiter (';', '\t', '|' or ',') when the line contains it
//     and splitting both this line and the header row on it gives equal counts,
//   - invalid UTF-8 or a NUL byte ("binary garbage"),
//   - a missing header row ("<file>: empty file, expected a header row"), a header with an
//     empty or duplicate column name (the duplicate's message names both columns).
// Errors from the ByteSource (I/O, corrupt compression) are passed through unchanged.
//
// Memory: holds one buffer of input, never the whole file. A record larger than the buffer grows
// it in place (mremap) to about the record's size plus one buffer_size of input, and the buffer
// shrinks back after it; the record's bytes are never held twice. A record larger than
// max_record_size (usually an unterminated quote) is rejected with kResourceExhausted, as is a
// buffer the system cannot provide. Views returned by field() stay valid until the next call to
// Next().
// Thread safety: one thread at a time.
#ifndef SNAPDELTA_CSV_CSV_READER_H_
#define SNAPDELTA_CSV_CSV_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct CsvOptions {
  // Field separator; a quote, CR or LF is rejected by ReadHeader (kInvalidArgument).
  // Default: ','.
  char delimiter = ',';
  // Size of the read buffer in bytes, and the most input read ahead of the parse; grown when
  // one record is larger. Values below 16 are raised to 16. Default: 1 MiB.
  size_t buffer_size = 1 << 20;
  // Longest record accepted, in bytes (it bounds the memory an unterminated quote can take).
  // Values below buffer_size are raised to it. Default: 1 GiB.
  size_t max_record_size = size_t{1} << 30;
  // The table's name, used in suggested fixes ("set delimiter in [tables.<table_name>]").
  // Default: empty (the message then says "[tables.<table>]").
  std::string table_name;
};

class CsvReader {
 public:
  // Takes ownership of `source`. Reads nothing until ReadHeader().
  CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the header row. Must be called once, before Next().
  Status ReadHeader();
  // The column names, in file order. REQUIRES: ReadHeader() returned OK.
  const std::vector<std::string>& header() const;

  // Advances to the next record. Sets *has_record to false at end of input.
  // On error, the reader must not be used further.
  Status Next(bool* has_record);

  // A field of the current record: where its value lies from record_data() (unescaped, quotes
  // removed), and whether it was written in quotes.
  struct Field {
    size_t begin;
    size_t size;
    bool quoted;
    bool escaped;  // internal: doubled quotes still to be unescaped (false once Next returns)
  };

  // The current record. REQUIRES: the last Next() set *has_record to true.
  size_t field_count() const;
  // Every field at once (field_count() of them), for a caller that takes them all; their values
  // lie within [record_data(), record_data() + record_bytes()).
  const Field* fields() const;
  const char* record_data() const;
  std::string_view field(size_t column_idx) const;
  // True when the field was written in quotes ("" is quoted and empty; an empty unquoted field
  // is not quoted). Used for the null marker, which applies to unquoted fields only.
  bool field_quoted(size_t column_idx) const;

  // Bytes of the current record as read (quotes and line break included).
  size_t record_bytes() const;
  // 1-based line on which the current record starts.
  uint64_t record_line() const;
  // 1-based index of the current data record (the header is record 0).
  uint64_t record_number() const;

  // Builds a located error for the current record: "<file>:<line>: <what>" or, with a column,
  // "<file>:<line>:<column> (<name>): <what>". For callers that validate values (empty key).
  Status RecordError(std::string_view what, int column_idx = -1) const;

  const std::string& file_name() const;
  uint64_t raw_bytes_consumed() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_CSV_CSV_READER_H_
