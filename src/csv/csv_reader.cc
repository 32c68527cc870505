// The streaming RFC 4180 reader; the contract is in csv_reader.h.
//
// Input is read into one buffer. A record is parsed in place: fields_ holds each field's offset
// and size relative to the record's first byte. When a record runs past the buffered bytes, the
// partial record moves to the buffer start (the buffer doubles when it is already there), more
// input is read, and the record is parsed again from its start. Doubled quotes are unescaped in
// place only once the whole record is parsed, so a re-parse always sees the raw bytes.
#include "csv/csv_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "csv/csv_scan.h"
#include "fmt/format.h"

namespace snapdelta {
namespace {

// Room for a byte order mark and a few bytes of data.
constexpr size_t kMinBufferSize = 16;
// Bounds memory when a quote is never closed; no sane record is this long.
constexpr size_t kMaxRecordSize = size_t{1} << 30;
// Messages list the header up to about this many characters.
constexpr size_t kMaxHeaderListChars = 80;

// The buffer holds a sentinel LF and zero padding after the data, as FindDelimiterOrLf requires.
constexpr size_t kPadding = 8;

// 'x' for a printable ASCII character, '\t', or 0xNN.
std::string CharName(char c) {
  if (c == '\t') return "'\\t'";
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("0x{:02x}", static_cast<uint8_t>(c));
}

}  // namespace

class CsvReader::Impl {
 public:
  Impl(std::unique_ptr<ByteSource> source, CsvOptions options)
      : source_(std::move(source)),
        options_(std::move(options)),
        capacity_(std::max(options_.buffer_size, kMinBufferSize)),
        buf_(std::make_unique_for_overwrite<char[]>(capacity_ + kPadding)) {}

  Status ReadHeader();
  Status Next(bool* has_record);
  Status RecordError(std::string_view what, int column_idx) const;

  const std::vector<std::string>& header() const { return header_; }
  size_t field_count() const { return num_fields_; }
  std::string_view field(size_t column_idx) const {
    const FieldRef& f = fields_[column_idx];
    return std::string_view(buf_.get() + record_start_ + f.begin, f.size);
  }
  bool field_quoted(size_t column_idx) const { return fields_[column_idx].quoted; }
  uint64_t record_line() const { return record_line_; }
  uint64_t record_number() const { return record_number_; }
  const std::string& file_name() const { return source_->name(); }
  uint64_t raw_bytes_consumed() const { return source_->raw_bytes_consumed(); }

 private:
  struct FieldRef {
    size_t begin;  // offset from the record's first byte
    size_t size;
    bool quoted;
    bool escaped;  // contains doubled quotes still to be unescaped
  };
  enum class Parse { kRecord, kNeedMore, kEndOfInput, kError };

  void AddField(size_t begin, size_t size, bool quoted, bool escaped) {
    if (num_fields_ == fields_.size()) fields_.resize(fields_.size() * 2 + 16);
    fields_[num_fields_++] = FieldRef{begin, size, quoted, escaped};
  }
  Status ReadRecord(bool* has_record);
  Parse ParseRecord();
  Parse ParseQuotedField(const char* base, const char* end, const char** p, uint64_t* newlines);
  Parse ParseBlankLine(const char* base, const char* end);
  Status Refill();
  void Unescape();
  Status CheckHeaderNames(const std::vector<std::string>& names) const;
  Status FieldCountError() const;
  Status PositionError(const char* base, size_t offset, size_t column_idx, std::string_view what,
                       std::string_view fix) const;
  Status LocatedError(uint64_t line, size_t column_idx, std::string_view what) const;

  std::unique_ptr<ByteSource> source_;
  const CsvOptions options_;

  size_t capacity_;              // usable bytes of buf_; kPadding more follow
  std::unique_ptr<char[]> buf_;  // [pos_, data_end_) is unparsed input
  size_t pos_ = 0;
  size_t data_end_ = 0;
  bool eof_ = false;

  std::vector<FieldRef> fields_;  // [0, num_fields_) is the current record, at buf_ + record_start_
  size_t num_fields_ = 0;
  size_t record_start_ = 0;
  size_t record_size_ = 0;  // raw bytes, including the line break
  uint64_t record_newlines_ = 0;
  uint64_t line_ = 1;  // line of the byte at pos_
  uint64_t record_line_ = 1;
  uint64_t record_number_ = 0;

  std::vector<std::string> header_;
  std::string header_line_;  // raw header row, for delimiter suggestions
  bool header_read_ = false;
  Status error_;  // sticky
};

Status CsvReader::Impl::ReadHeader() {
  if (header_read_) return InvalidArgumentError("CsvReader::ReadHeader called twice");
  const char delim = options_.delimiter;
  if (delim == '"' || delim == '\n' || delim == '\r') {
    return InvalidArgumentError(
        fmt::format("{}: delimiter {} is not allowed", file_name(), CharName(delim)));
  }
  header_read_ = true;
  RETURN_IF_ERROR(Refill());
  if (data_end_ >= 3 && std::memcmp(buf_.get(), "\xef\xbb\xbf", 3) == 0) pos_ = 3;
  bool has_record = false;
  RETURN_IF_ERROR(ReadRecord(&has_record));
  if (!has_record) {
    return error_ = CorruptionError(file_name() + ": empty file, expected a header row");
  }
  if (num_fields_ == 1 && fields_[0].size == 0 && !fields_[0].quoted) {
    return error_ = CorruptionError(fmt::format(
               "{}:{}: empty line, expected a header row; the first line must name the columns",
               file_name(), record_line_));
  }
  header_line_.assign(buf_.get() + record_start_, std::min<size_t>(record_size_, 1 << 16));
  Unescape();
  std::vector<std::string> names;
  names.reserve(num_fields_);
  for (size_t column_idx = 0; column_idx < num_fields_; ++column_idx) {
    names.emplace_back(field(column_idx));
  }
  RETURN_IF_ERROR(error_ = CheckHeaderNames(names));
  header_ = std::move(names);
  return Status::OK();
}

Status CsvReader::Impl::CheckHeaderNames(const std::vector<std::string>& names) const {
  const char* base = buf_.get() + record_start_;
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t column_idx = 0; column_idx < names.size(); ++column_idx) {
    const std::string& name = names[column_idx];
    if (name.empty()) {
      return PositionError(base, fields_[column_idx].begin, column_idx, "empty column name",
                           "give every column a name in the header row");
    }
    auto [it, inserted] = seen.emplace(name, column_idx);
    if (!inserted) {
      return PositionError(base, fields_[column_idx].begin, column_idx,
                           fmt::format("duplicate column name '{}' (columns {} and {})", name,
                                       it->second + 1, column_idx + 1),
                           "rename one of them");
    }
  }
  return Status::OK();
}

Status CsvReader::Impl::Next(bool* has_record) {
  *has_record = false;
  if (!error_.ok()) return error_;
  if (!header_read_) return InvalidArgumentError("CsvReader::Next called before ReadHeader");
  RETURN_IF_ERROR(ReadRecord(has_record));
  if (!*has_record) return Status::OK();
  ++record_number_;
  if (num_fields_ != header_.size()) {
    *has_record = false;
    return error_ = FieldCountError();
  }
  Unescape();
  return Status::OK();
}

// Parses the next record, reading more input as needed, and checks its encoding.
Status CsvReader::Impl::ReadRecord(bool* has_record) {
  *has_record = false;
  record_line_ = line_;
  while (true) {
    const Parse parse = ParseRecord();
    if (parse == Parse::kRecord) break;
    if (parse == Parse::kEndOfInput) return Status::OK();
    if (parse == Parse::kError) return error_;
    Status status = Refill();
    if (!status.ok()) return error_ = status;
  }
  record_start_ = pos_;
  pos_ += record_size_;
  line_ += record_newlines_;
  const char* base = buf_.get() + record_start_;
  const size_t bad = csv_scan::FindInvalidUtf8(base, record_size_);
  if (bad < record_size_) {
    size_t column_idx = 0;
    while (column_idx + 1 < num_fields_ && fields_[column_idx + 1].begin <= bad) ++column_idx;
    const uint8_t byte = static_cast<uint8_t>(base[bad]);
    if (byte == 0) {
      return error_ = PositionError(base, bad, column_idx, "NUL byte",
                                    "this looks like binary data, not CSV text; check the file");
    }
    return error_ = PositionError(base, bad, column_idx,
                                  fmt::format("invalid UTF-8 byte 0x{:02x}", byte),
                                  "convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)");
  }
  *has_record = true;
  return Status::OK();
}

// Parses one record at pos_ into fields_, record_size_ and record_newlines_. Returns kNeedMore
// when the buffered input ends before the record does (and the source has more).
CsvReader::Impl::Parse CsvReader::Impl::ParseRecord() {
  const char* const base = buf_.get() + pos_;
  const char* const end = buf_.get() + data_end_;
  num_fields_ = 0;
  if (base == end) return eof_ ? Parse::kEndOfInput : Parse::kNeedMore;
  if (*base == '\n' || (*base == '\r' && (base + 1 == end || base[1] == '\n'))) {
    return ParseBlankLine(base, end);
  }
  const char delim = options_.delimiter;
  const char* p = base;
  uint64_t newlines = 0;
  while (true) {      // one iteration per field
    if (*p != '"') {  // also at the end: the sentinel is LF
      const char* start = p;
      p = csv_scan::FindDelimiterOrLf(p, delim);
      if (p == end && !eof_) return Parse::kNeedMore;
      if (p < end && *p == delim) {
        AddField(size_t(start - base), size_t(p - start), false, false);
        ++p;
        continue;
      }
      const char* field_end = (p > start && p[-1] == '\r') ? p - 1 : p;
      AddField(size_t(start - base), size_t(field_end - start), false, false);
      if (p < end) {
        ++newlines;
        ++p;
      }
      break;
    }
    const Parse quoted = ParseQuotedField(base, end, &p, &newlines);
    if (quoted != Parse::kRecord) return quoted;
    if (p == end) break;
    if (*p == delim) {
      ++p;
      continue;
    }
    if (*p == '\n') {
      ++newlines;
      ++p;
      break;
    }
    if (*p == '\r' && p + 1 == end) {
      if (!eof_) return Parse::kNeedMore;
      ++p;
      break;
    }
    if (*p == '\r' && p[1] == '\n') {
      ++newlines;
      p += 2;
      break;
    }
    error_ =
        PositionError(base, p - base, num_fields_ - 1,
                      fmt::format("unexpected character {} after a closing quote", CharName(*p)),
                      "a quote inside a quoted value must be doubled (\"\")");
    return Parse::kError;
  }
  record_size_ = p - base;
  record_newlines_ = newlines;
  return Parse::kRecord;
}

// Parses the quoted field whose opening quote is at *p, adding its line breaks to *newlines.
// Returns kRecord with *p just past the closing quote, kNeedMore, or kError.
CsvReader::Impl::Parse CsvReader::Impl::ParseQuotedField(const char* base, const char* end,
                                                         const char** p, uint64_t* newlines) {
  const char* open = *p;
  const char* q = open + 1;
  bool escaped = false;
  while (true) {
    const char* close = static_cast<const char*>(std::memchr(q, '"', end - q));
    if (close == nullptr) {
      if (!eof_) return Parse::kNeedMore;
      error_ = PositionError(base, open - base, num_fields_, "unterminated quoted field",
                             "the quote opened here is never closed; close it, or double a quote "
                             "inside a quoted value (\"\")");
      return Parse::kError;
    }
    *newlines += std::count(q, close, '\n');
    if (close + 1 == end && !eof_) return Parse::kNeedMore;
    if (close + 1 == end || close[1] != '"') {
      AddField(size_t(open + 1 - base), size_t(close - open - 1), true, escaped);
      *p = close + 1;
      return Parse::kRecord;
    }
    escaped = true;
    q = close + 2;
  }
}

// At an empty line (LF, CRLF, or CR at the end of input): finds whether only line breaks remain
// (kEndOfInput) or more data follows, which makes this line a record with one empty field.
CsvReader::Impl::Parse CsvReader::Impl::ParseBlankLine(const char* base, const char* end) {
  const char* p = base;
  while (p < end) {
    if (*p == '\n') {
      ++p;
    } else if (*p == '\r' && p + 1 == end) {
      if (!eof_) return Parse::kNeedMore;
      ++p;
    } else if (*p == '\r' && p[1] == '\n') {
      p += 2;
    } else {
      break;
    }
  }
  if (p == end) return eof_ ? Parse::kEndOfInput : Parse::kNeedMore;
  record_size_ = *base == '\n' ? 1 : 2;
  record_newlines_ = 1;
  AddField(0, 0, false, false);
  return Parse::kRecord;
}

// Moves the unparsed bytes to the buffer start, grows the buffer when they already fill it, then
// reads until the buffer is full or the source ends.
Status CsvReader::Impl::Refill() {
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, data_end_ - pos_);
    data_end_ -= pos_;
    pos_ = 0;
  }
  if (data_end_ == capacity_) {
    if (capacity_ >= kMaxRecordSize) {
      return ResourceExhaustedError(
          fmt::format("{}:{}: record is longer than {} MiB; is a quote left open?", file_name(),
                      line_, kMaxRecordSize >> 20));
    }
    const size_t new_capacity = std::min(capacity_ * 2, kMaxRecordSize);
    auto grown = std::make_unique_for_overwrite<char[]>(new_capacity + kPadding);
    std::memcpy(grown.get(), buf_.get(), data_end_);
    buf_ = std::move(grown);
    capacity_ = new_capacity;
  }
  while (data_end_ < capacity_) {
    ASSIGN_OR_RETURN(size_t n, source_->Read(buf_.get() + data_end_, capacity_ - data_end_));
    if (n == 0) {
      eof_ = true;
      break;
    }
    data_end_ += n;
  }
  buf_[data_end_] = '\n';
  std::memset(buf_.get() + data_end_ + 1, 0, kPadding - 1);
  return Status::OK();
}

// Rewrites each field with doubled quotes in place, dropping the second quote of every pair.
void CsvReader::Impl::Unescape() {
  char* base = buf_.get() + record_start_;
  for (size_t column_idx = 0; column_idx < num_fields_; ++column_idx) {
    FieldRef& f = fields_[column_idx];
    if (!f.escaped) continue;
    char* out = base + f.begin;
    const char* in = out;
    const char* end = in + f.size;
    while (in < end) {
      const char c = *in++;
      *out++ = c;
      if (c == '"') ++in;
    }
    f.size = out - (base + f.begin);
    f.escaped = false;
  }
}

Status CsvReader::Impl::FieldCountError() const {
  const size_t expected = header_.size();
  std::string columns;
  for (size_t column_idx = 0; column_idx < expected; ++column_idx) {
    if (column_idx > 0) columns += ',';
    if (columns.size() + header_[column_idx].size() > kMaxHeaderListChars) {
      columns += "...";
      break;
    }
    columns += header_[column_idx];
  }
  const std::string_view line(buf_.get() + record_start_, record_size_);
  std::string fix;
  for (char candidate : {';', '\t', '|', ','}) {
    if (candidate == options_.delimiter || line.find(candidate) == std::string_view::npos) {
      continue;
    }
    const size_t count = csv_scan::CountFields(line, candidate);
    if (count > 1 && count == csv_scan::CountFields(header_line_, candidate)) {
      fix = fmt::format("is the delimiter {}? set delimiter in [tables.{}]", CharName(candidate),
                        options_.table_name.empty() ? "<table>" : options_.table_name);
      break;
    }
  }
  const bool blank = num_fields_ == 1 && fields_[0].size == 0 && !fields_[0].quoted;
  if (fix.empty()) {
    fix = blank ? "remove empty lines from the data"
          : num_fields_ > expected
              ? fmt::format("quote values that contain {}", CharName(options_.delimiter))
              : "the line may be cut short, or a value may be missing";
  }
  const std::string found = blank              ? std::string("empty line")
                            : num_fields_ == 1 ? std::string("1 field")
                                               : fmt::format("{} fields", num_fields_);
  return CorruptionError(fmt::format("{}:{}: {}, expected {}{} (header has {} columns: {}); {}",
                                     file_name(), record_line_, found, expected,
                                     blank ? " fields" : "", expected, columns, fix));
}

// "<file>:<line>:<column> (<name>): <what>; <fix>" for the byte at base + offset.
Status CsvReader::Impl::PositionError(const char* base, size_t offset, size_t column_idx,
                                      std::string_view what, std::string_view fix) const {
  const uint64_t line = record_line_ + std::count(base, base + offset, '\n');
  return LocatedError(line, column_idx, fmt::format("{}; {}", what, fix));
}

// "<file>:<line>:<column> (<name>): <what>", naming the column once the header is known.
Status CsvReader::Impl::LocatedError(uint64_t line, size_t column_idx,
                                     std::string_view what) const {
  const std::string name =
      column_idx < header_.size() ? fmt::format(" ({})", header_[column_idx]) : std::string();
  return CorruptionError(
      fmt::format("{}:{}:{}{}: {}", file_name(), line, column_idx + 1, name, what));
}

Status CsvReader::Impl::RecordError(std::string_view what, int column_idx) const {
  if (column_idx >= 0) return LocatedError(record_line_, column_idx, what);
  return CorruptionError(fmt::format("{}:{}: {}", file_name(), record_line_, what));
}

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options)
    : impl_(std::make_unique<Impl>(std::move(source), std::move(options))) {}
CsvReader::~CsvReader() = default;

Status CsvReader::ReadHeader() { return impl_->ReadHeader(); }
const std::vector<std::string>& CsvReader::header() const { return impl_->header(); }
Status CsvReader::Next(bool* has_record) { return impl_->Next(has_record); }
size_t CsvReader::field_count() const { return impl_->field_count(); }
std::string_view CsvReader::field(size_t column_idx) const { return impl_->field(column_idx); }
bool CsvReader::field_quoted(size_t column_idx) const { return impl_->field_quoted(column_idx); }
uint64_t CsvReader::record_line() const { return impl_->record_line(); }
uint64_t CsvReader::record_number() const { return impl_->record_number(); }
Status CsvReader::RecordError(std::string_view what, int column_idx) const {
  return impl_->RecordError(what, column_idx);
}
const std::string& CsvReader::file_name() const { return impl_->file_name(); }
uint64_t CsvReader::raw_bytes_consumed() const { return impl_->raw_bytes_consumed(); }

}  // namespace snapdelta
