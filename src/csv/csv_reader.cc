// The streaming RFC 4180 reader; the contract is in csv_reader.h.
//
// Input is read into one buffer. A record is parsed in place: fields_ holds each field's offset
// and size relative to the record's first byte. When a record runs past the buffered bytes, the
// parse stops where it got to (resume_, offsets from the record's start), the partial record
// moves to the buffer start (the buffer grows when it is already there), more input is read, and
// the parse resumes: a record is scanned once whatever its size. A record without quotes, CR or
// NUL whose line feed is buffered (most of an export) takes a fast path first: its fields come
// from a 64-byte classification of its bytes (csv_scan::Classify64). Doubled quotes are unescaped
// in place only once the whole record is parsed. Runs of empty lines are counted and dropped from
// the buffer as they are read (blank_lines_), so their length never matters.
#include "csv/csv_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "csv/csv_scan.h"
#include "csv/input_buffer.h"
#include "fmt/format.h"

namespace snapdelta {
namespace {

// Room for a byte order mark and a few bytes of data.
constexpr size_t kMinBufferSize = 16;
// Messages list the header up to about this many characters.
constexpr size_t kMaxHeaderListChars = 80;

// The buffer holds a sentinel LF and zero padding after the data, as FindDelimiterOrLf and
// Classify64 (64 bytes read from any byte of the data) require.
constexpr size_t kPadding = 64;

// "64 KiB", "1024 MiB": a size for messages.
std::string SizeName(size_t bytes) {
  if (bytes >= (size_t{1} << 20)) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} KiB", bytes >> 10);
}

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
        buffer_size_(std::max(options_.buffer_size, kMinBufferSize)),
        max_record_size_(std::max(options_.max_record_size, buffer_size_)),
        capacity_(buffer_size_) {}

  Status ReadHeader();
  Status Next(bool* has_record);
  Status RecordError(std::string_view what, int column_idx) const;

  const std::vector<std::string>& header() const { return header_; }
  size_t field_count() const { return num_fields_; }
  std::string_view field(size_t column_idx) const {
    const Field& f = fields_[column_idx];
    return std::string_view(buf_.data() + record_start_ + f.begin, f.size);
  }
  bool field_quoted(size_t column_idx) const { return fields_[column_idx].quoted; }
  const Field* fields() const { return fields_.data(); }
  const char* record_data() const { return buf_.data() + record_start_; }
  size_t record_bytes() const { return record_size_; }
  uint64_t record_line() const { return record_line_; }
  uint64_t record_number() const { return record_number_; }
  const std::string& file_name() const { return source_->name(); }
  uint64_t raw_bytes_consumed() const { return source_->raw_bytes_consumed(); }

 private:
  enum class Parse { kRecord, kNeedMore, kEndOfInput, kError };
  // Where the parse of a record that ran past the buffered input resumes. Offsets count from the
  // record's first byte, so they stay valid when Refill moves the record.
  struct Resume {
    enum class At { kFieldStart, kUnquoted, kQuoted, kAfterQuote };
    At at = At::kFieldStart;
    size_t offset = 0;       // the next byte to look at
    size_t field_begin = 0;  // kUnquoted: the field's first byte; kQuoted: its opening quote
    bool escaped = false;    // kQuoted: a doubled quote was seen
    uint64_t newlines = 0;   // line breaks inside the record so far
  };

  void AddField(size_t begin, size_t size, bool quoted, bool escaped) {
    if (num_fields_ == fields_.size()) fields_.resize(fields_.size() * 2 + 16);
    fields_[num_fields_++] = Field{begin, size, quoted, escaped};
  }
  Status ReadRecord(bool* has_record);
  Parse ParseRecord();
  bool ParsePlainRecord(const char* base, const char* end, size_t* resume_offset);
  Parse ParseFields(const char* base, const char* end);
  Parse ParseQuotedField(const char* base, const char* end, const char** p);
  Parse FinishRecord(const char* base, const char* p);
  Parse SkipBlankLines();
  Status Refill();
  Status ResizeBuffer(size_t capacity);
  Status ReleaseBuffer();
  void Unescape();
  Status CheckHeaderNames(const std::vector<std::string>& names) const;
  Status FieldCountError() const;
  Status PositionError(const char* base, size_t offset, size_t column_idx, std::string_view what,
                       std::string_view fix) const;
  Status LocatedError(uint64_t line, size_t column_idx, std::string_view what) const;

  std::unique_ptr<ByteSource> source_;
  const CsvOptions options_;

  const size_t buffer_size_;
  const size_t max_record_size_;
  size_t capacity_;  // usable bytes of buf_; kPadding more follow
  InputBuffer buf_;  // [pos_, data_end_) is unparsed input
  size_t pos_ = 0;
  size_t data_end_ = 0;
  bool eof_ = false;
  bool resuming_ = false;  // resume_ holds a record's partial parse
  Resume resume_;
  // Empty lines read and dropped from the buffer but not yet returned as records: they are
  // records when data follows, nothing when the input ends. line_ is still their first line.
  uint64_t blank_lines_ = 0;

  std::vector<Field> fields_;  // [0, num_fields_) is the current record, at buf_ + record_start_
  size_t num_fields_ = 0;
  size_t record_start_ = 0;
  size_t record_size_ = 0;     // raw bytes, including the line break
  bool record_plain_ = false;  // no NUL, quotes or CR: nothing to unescape
  bool record_ascii_ = false;  // plain and ASCII: no UTF-8 to check
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
  if (data_end_ >= 3 && std::memcmp(buf_.data(), "\xef\xbb\xbf", 3) == 0) pos_ = 3;
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
  header_line_.assign(buf_.data() + record_start_, std::min<size_t>(record_size_, 1 << 16));
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
  const char* base = buf_.data() + record_start_;
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
  if (!record_plain_) Unescape();
  return Status::OK();
}

// Parses the next record, reading more input as needed, and checks its encoding.
Status CsvReader::Impl::ReadRecord(bool* has_record) {
  *has_record = false;
  record_line_ = line_;
  while (true) {
    const Parse parse = ParseRecord();
    if (parse == Parse::kRecord) break;
    if (parse == Parse::kEndOfInput) return ReleaseBuffer();
    if (parse == Parse::kError) return error_;
    Status status = Refill();
    if (!status.ok()) return error_ = status;
  }
  record_start_ = pos_;
  pos_ += record_size_;
  line_ += record_newlines_;
  if (record_ascii_) {
    *has_record = true;
    return Status::OK();
  }
  const char* base = buf_.data() + record_start_;
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
// when the buffered input ends before the record does (and the source has more); the next call
// resumes where this one stopped.
CsvReader::Impl::Parse CsvReader::Impl::ParseRecord() {
  record_plain_ = record_ascii_ = false;
  if (!resuming_) {
    num_fields_ = 0;
    const char* const base = buf_.data() + pos_;
    const char* const end = buf_.data() + data_end_;
    const bool blank =
        base < end && (*base == '\n' || (*base == '\r' && (base + 1 == end || base[1] == '\n')));
    if (blank || blank_lines_ > 0) return SkipBlankLines();
    if (base == end) return eof_ ? Parse::kEndOfInput : Parse::kNeedMore;
    resume_ = Resume{};
    if (ParsePlainRecord(base, end, &resume_.offset)) return Parse::kRecord;
    resuming_ = true;
  }
  const Parse parse = ParseFields(buf_.data() + pos_, buf_.data() + data_end_);
  if (parse != Parse::kNeedMore) resuming_ = false;
  return parse;
}

// The fast path of ParseRecord, 64 bytes at a time: a record without NUL, quotes or CR whose LF
// is buffered. Returns false for any other record, with the fields it found before the first
// such byte (or the end of the buffered bytes) added and *resume_offset at the next field's
// first byte: the field loop goes on from there, and reports what is wrong with the record.
bool CsvReader::Impl::ParsePlainRecord(const char* base, const char* end, size_t* resume_offset) {
  const char delim = options_.delimiter;
  size_t field_begin = 0;
  uint64_t non_ascii = 0;
  for (size_t offset = 0; base + offset < end; offset += 64) {
    const csv_scan::ByteClasses classes = csv_scan::Classify64(base + offset, delim);
    // The bytes up to and including the first LF, if this block has one.
    const uint64_t record_bits =
        classes.line_feed == 0 ? ~uint64_t{0} : classes.line_feed ^ (classes.line_feed - 1);
    if ((classes.special & record_bits) != 0) break;
    non_ascii |= classes.non_ascii & record_bits;
    for (uint64_t delimiters = classes.delimiter & record_bits; delimiters != 0;
         delimiters &= delimiters - 1) {
      const size_t at = offset + size_t(std::countr_zero(delimiters));
      AddField(field_begin, at - field_begin, false, false);
      field_begin = at + 1;
    }
    if (classes.line_feed == 0) continue;
    const size_t at = offset + size_t(std::countr_zero(classes.line_feed));
    if (base + at >= end) break;  // the sentinel LF: the input ends without one
    AddField(field_begin, at - field_begin, false, false);
    record_size_ = at + 1;
    record_newlines_ = 1;
    record_plain_ = true;
    record_ascii_ = non_ascii == 0;
    return true;
  }
  *resume_offset = field_begin;
  return false;
}

// The field loop of ParseRecord, from resume_.
CsvReader::Impl::Parse CsvReader::Impl::ParseFields(const char* base, const char* end) {
  const char delim = options_.delimiter;
  const char* p = base + resume_.offset;
  while (true) {
    switch (resume_.at) {
      case Resume::At::kFieldStart:
        if (p == end && !eof_) {  // whether the field is quoted is not known yet
          resume_.offset = size_t(p - base);
          return Parse::kNeedMore;
        }
        resume_.field_begin = size_t(p - base);
        resume_.escaped = false;
        // At the end of the input *p is the sentinel LF: an empty unquoted field.
        resume_.at = *p == '"' ? Resume::At::kQuoted : Resume::At::kUnquoted;
        if (*p == '"') ++p;
        break;
      case Resume::At::kUnquoted: {
        p = csv_scan::FindDelimiterOrLf(p, delim);
        if (p == end && !eof_) {
          resume_.offset = size_t(p - base);
          return Parse::kNeedMore;
        }
        const char* start = base + resume_.field_begin;
        if (p < end && *p == delim) {
          AddField(size_t(start - base), size_t(p - start), false, false);
          ++p;
          resume_.at = Resume::At::kFieldStart;
          break;
        }
        const char* field_end = (p > start && p[-1] == '\r') ? p - 1 : p;
        AddField(size_t(start - base), size_t(field_end - start), false, false);
        if (p < end) {
          ++resume_.newlines;
          ++p;
        }
        return FinishRecord(base, p);
      }
      case Resume::At::kQuoted: {
        const Parse quoted = ParseQuotedField(base, end, &p);
        if (quoted != Parse::kRecord) return quoted;
        resume_.at = Resume::At::kAfterQuote;
        break;
      }
      case Resume::At::kAfterQuote:
        if (p < end && *p == delim) {
          ++p;
          resume_.at = Resume::At::kFieldStart;
          break;
        }
        if (p < end && *p == '\n') {
          ++resume_.newlines;
          return FinishRecord(base, p + 1);
        }
        if (p + 1 < end && *p == '\r' && p[1] == '\n') {
          ++resume_.newlines;
          return FinishRecord(base, p + 2);
        }
        if (p == end || (*p == '\r' && p + 1 == end)) {  // the end of input, or CR before it
          if (!eof_) {
            resume_.offset = size_t(p - base);
            return Parse::kNeedMore;
          }
          return FinishRecord(base, end);
        }
        error_ = PositionError(
            base, p - base, num_fields_ - 1,
            fmt::format("unexpected character {} after a closing quote", CharName(*p)),
            "a quote inside a quoted value must be doubled (\"\")");
        return Parse::kError;
    }
  }
}

// Scans the quoted field opened at resume_.field_begin from *p. Returns kRecord with the field
// added and *p just past the closing quote, kNeedMore (resume_ updated), or kError.
CsvReader::Impl::Parse CsvReader::Impl::ParseQuotedField(const char* base, const char* end,
                                                         const char** p) {
  const char* q = *p;
  while (true) {
    const char* close = static_cast<const char*>(std::memchr(q, '"', end - q));
    if (close == nullptr) {
      if (!eof_) {
        resume_.newlines += std::count(q, end, '\n');
        resume_.offset = size_t(end - base);
        return Parse::kNeedMore;
      }
      error_ = PositionError(base, resume_.field_begin, num_fields_, "unterminated quoted field",
                             "the quote opened here is never closed; close it, or double a quote "
                             "inside a quoted value (\"\")");
      return Parse::kError;
    }
    resume_.newlines += std::count(q, close, '\n');
    if (close + 1 == end && !eof_) {
      resume_.offset = size_t(close - base);
      return Parse::kNeedMore;
    }
    if (close + 1 == end || close[1] != '"') {
      const size_t open = resume_.field_begin;
      AddField(open + 1, size_t(close - base) - open - 1, true, resume_.escaped);
      *p = close + 1;
      return Parse::kRecord;
    }
    resume_.escaped = true;
    q = close + 2;
  }
}

CsvReader::Impl::Parse CsvReader::Impl::FinishRecord(const char* base, const char* p) {
  record_size_ = size_t(p - base);
  record_newlines_ = resume_.newlines;
  return Parse::kRecord;
}

// At an empty line (LF, CRLF, or CR at the end of input) or with empty lines set aside: counts
// and drops the empty lines in the buffer. When data follows them, the first of them becomes a
// record with one empty field (kRecord); when only line breaks remain, kEndOfInput.
CsvReader::Impl::Parse CsvReader::Impl::SkipBlankLines() {
  const char* const end = buf_.data() + data_end_;
  const char* p = buf_.data() + pos_;
  while (p < end) {
    size_t line_break = 0;  // bytes of the line break at p, 0 when p starts data
    if (*p == '\n') {
      const size_t run = csv_scan::CountLf(p, end);  // a run of LFs, eight at a time
      blank_lines_ += run - 1;
      p += run - 1;
      line_break = 1;
    } else if (*p == '\r' && p + 1 == end && eof_) {
      line_break = 1;
    } else if (*p == '\r' && p + 1 < end && p[1] == '\n') {
      line_break = 2;
    }
    if (line_break == 0) break;
    p += line_break;
    ++blank_lines_;
  }
  pos_ = size_t(p - buf_.data());
  if (p == end && eof_) {
    blank_lines_ = 0;
    return Parse::kEndOfInput;
  }
  if (p == end || (*p == '\r' && p + 1 == end)) return Parse::kNeedMore;
  --blank_lines_;
  record_size_ = 0;
  record_newlines_ = 1;
  AddField(0, 0, false, false);
  return Parse::kRecord;
}

// Moves the unparsed bytes to the buffer start, shrinks a buffer grown for an earlier record,
// grows it when the unparsed bytes already fill it, then reads up to buffer_size_ more bytes
// (so a grown buffer is filled no further than a record needs).
Status CsvReader::Impl::Refill() {
  if (buf_.data() == nullptr) RETURN_IF_ERROR(ResizeBuffer(capacity_));
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, data_end_ - pos_);
    data_end_ -= pos_;
    pos_ = 0;
  }
  if (capacity_ > buffer_size_ && data_end_ < buffer_size_ / 2) {
    RETURN_IF_ERROR(ResizeBuffer(buffer_size_));
  }
  if (data_end_ == capacity_) {
    if (capacity_ >= max_record_size_) {
      return ResourceExhaustedError(
          fmt::format("{}:{}: record is longer than {}; is a quote left open?", file_name(), line_,
                      SizeName(max_record_size_)));
    }
    RETURN_IF_ERROR(ResizeBuffer(std::min(capacity_ * 2, max_record_size_)));
  }
  const size_t target = std::min(capacity_, data_end_ + buffer_size_);
  while (data_end_ < target) {
    ASSIGN_OR_RETURN(size_t n, source_->Read(buf_.data() + data_end_, target - data_end_));
    if (n == 0) {
      eof_ = true;
      break;
    }
    data_end_ += n;
  }
  buf_.data()[data_end_] = '\n';
  std::memset(buf_.data() + data_end_ + 1, 0, kPadding - 1);
  return Status::OK();
}

// At the end of the input: gives back what a large record grew the buffer to.
Status CsvReader::Impl::ReleaseBuffer() {
  if (capacity_ <= buffer_size_) return Status::OK();
  pos_ = data_end_ = 0;
  RETURN_IF_ERROR(ResizeBuffer(buffer_size_));
  std::memset(buf_.data(), 0, kPadding);
  buf_.data()[0] = '\n';
  return Status::OK();
}

Status CsvReader::Impl::ResizeBuffer(size_t capacity) {
  if (!buf_.Resize(capacity + kPadding)) {
    return ResourceExhaustedError(
        fmt::format("{}:{}: out of memory for a read buffer of {} (a record this long needs it); "
                    "free memory or lower --memory-limit",
                    file_name(), line_, SizeName(capacity)));
  }
  capacity_ = capacity;
  return Status::OK();
}

// Rewrites each field with doubled quotes in place, dropping the second quote of every pair.
void CsvReader::Impl::Unescape() {
  char* base = buf_.data() + record_start_;
  for (size_t column_idx = 0; column_idx < num_fields_; ++column_idx) {
    Field& f = fields_[column_idx];
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
  const std::string_view line(buf_.data() + record_start_, record_size_);
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
const CsvReader::Field* CsvReader::fields() const { return impl_->fields(); }
const char* CsvReader::record_data() const { return impl_->record_data(); }
size_t CsvReader::record_bytes() const { return impl_->record_bytes(); }
uint64_t CsvReader::record_line() const { return impl_->record_line(); }
uint64_t CsvReader::record_number() const { return impl_->record_number(); }
Status CsvReader::RecordError(std::string_view what, int column_idx) const {
  return impl_->RecordError(what, column_idx);
}
const std::string& CsvReader::file_name() const { return impl_->file_name(); }
uint64_t CsvReader::raw_bytes_consumed() const { return impl_->raw_bytes_consumed(); }

}  // namespace snapdelta
