#include "publish/change_reader.h"

#include <simdjson.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace snapdelta {
namespace {

constexpr size_t kReadBytes = size_t{1} << 20;
// A batch is handed over once it holds this many bytes of lines, or this many lines.
constexpr size_t kBatchBytes = size_t{1} << 20;
constexpr size_t kBatchLines = 8192;
constexpr size_t kBatches = 3;

}  // namespace

// Lines read and checked ahead of the caller. Each line's text, then its unescaped id and op,
// are appended to `bytes`; `lines` hold their places (offsets: `bytes` grows while filling).
struct ChangeReader::Batch {
  struct Line {
    uint64_t seq;
    size_t text, text_size, id, id_size, op, op_size, key, key_size;  // offsets in bytes
  };
  std::string bytes;
  std::vector<Line> lines;
  Status status;      // what stopped the file after these lines (OK: its end or nothing yet)
  bool last = false;  // nothing follows this batch
};

class ChangeReader::LineSource {
 public:
  LineSource(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  ~LineSource() { std::fclose(file_); }

  // Fills `batch` with the next lines; true when it is the last batch (end of file or error).
  bool Fill(Batch* batch) {
    batch->bytes.clear();
    batch->lines.clear();
    batch->status = Status::OK();
    while (batch->bytes.size() < kBatchBytes && batch->lines.size() < kBatchLines) {
      Status status = ReadEvent(batch);
      if (!status.ok() || done_) {
        batch->status = status;
        batch->last = true;
        return true;
      }
    }
    return false;
  }

 private:
  // Appends the next event to `batch`; sets done_ at the end of the file.
  Status ReadEvent(Batch* batch) {
    std::string_view text;
    StatusOr<bool> got = ReadLine(&text);
    if (!got.ok()) return got.status();
    if (!*got) {
      done_ = true;
      return Status::OK();
    }
    // ReadLine leaves the padding the parser reads past a line's end.
    simdjson::padded_string_view json(text.data(), text.size(),
                                      text.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (parser_.iterate(json).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS) {
      return LineError("not a JSON object");
    }
    uint64_t seq = 0;
    std::string_view id, op, key;
    bool has_seq = false, has_id = false, has_key = false;
    for (auto field : object) {
      std::string_view name;
      if (field.unescaped_key().get(name) != simdjson::SUCCESS) return LineError("bad JSON");
      simdjson::error_code error = simdjson::SUCCESS;
      if (name == "id") {
        error = field.value().get_string().get(id);
        has_id = true;
      } else if (name == "op") {
        error = field.value().get_string().get(op);
      } else if (name == "seq") {
        error = field.value().get_uint64().get(seq);
        has_seq = true;
      } else if (name == "key") {
        simdjson::ondemand::object key_object;
        error = field.value().get_object().get(key_object);
        if (error == simdjson::SUCCESS) error = key_object.raw_json().get(key);
        has_key = true;
        // Nothing past the key is needed: the rest of the line is sent as it is.
        if (error == simdjson::SUCCESS && has_seq && has_id) break;
      }
      if (error != simdjson::SUCCESS) {
        return LineError(std::string("member \"") + std::string(name) +
                         "\": " + simdjson::error_message(error));
      }
    }
    if (!has_seq || !has_id || !has_key) {
      return LineError("not a snapdelta event (it needs \"id\", \"seq\" and \"key\")");
    }
    if (seq != line_number_ + 1) {
      return LineError("seq " + std::to_string(seq) + ", expected " +
                       std::to_string(line_number_ + 1));
    }
    ++line_number_;
    // raw_json of an object ends after its closing brace, possibly with trailing spaces.
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    // The key is a view into the line; id and op may be in the parser's string buffer.
    Batch::Line out{
        seq,         batch->bytes.size(),
        text.size(), 0,
        id.size(),   0,
        op.size(),   batch->bytes.size() + static_cast<size_t>(key.data() - text.data()),
        key.size()};
    batch->bytes.append(text);
    out.id = batch->bytes.size();
    batch->bytes.append(id);
    out.op = batch->bytes.size();
    batch->bytes.append(op);
    batch->lines.push_back(out);
    return Status::OK();
  }

  // Points `text` at the next line, followed by at least SIMDJSON_PADDING readable bytes: in the
  // read buffer where the line lies whole in it, else in line_. False at the end of the file.
  StatusOr<bool> ReadLine(std::string_view* text) {
    line_.clear();
    while (true) {
      const char* start = buffer_.data() + begin_;
      const void* newline = std::memchr(start, '\n', end_ - begin_);
      if (newline != nullptr) {
        const size_t length = static_cast<const char*>(newline) - start;
        begin_ += length + 1;
        if (line_.empty()) {
          *text = std::string_view(start, length);  // buffer_ is padded past end_
          return true;
        }
        line_.append(start, length);
        break;
      }
      line_.append(start, end_ - begin_);
      begin_ = end_ = 0;
      if (eof_) {
        if (line_.empty()) return false;
        return LineError("the last line has no newline (the file was cut short)");
      }
      buffer_.resize(kReadBytes + simdjson::SIMDJSON_PADDING);
      size_t got = std::fread(buffer_.data(), 1, kReadBytes, file_);
      if (got < kReadBytes) {
        if (std::ferror(file_)) return ErrnoError("read change file " + path_, errno);
        eof_ = true;
      }
      end_ = got;
    }
    const size_t length = line_.size();
    line_.resize(length + simdjson::SIMDJSON_PADDING);
    *text = std::string_view(line_.data(), length);
    return true;
  }

  Status LineError(const std::string& what) const {
    return CorruptionError("change file " + path_ + " line " + std::to_string(line_number_ + 1) +
                           ": " + what);
  }

  const std::string path_;
  std::FILE* const file_;
  std::string buffer_;  // bytes read and not yet consumed: buffer_[begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool done_ = false;  // every line was read
  std::string line_;   // a line that spans two reads, padded for the JSON parser
  uint64_t line_number_ = 0;
  simdjson::ondemand::parser parser_;
};

ChangeReader::ChangeReader(std::string path, std::unique_ptr<LineSource> source)
    : path_(std::move(path)), source_(std::move(source)) {
  std::vector<std::unique_ptr<Batch>> pool;
  for (size_t i = 0; i < kBatches; ++i) pool.push_back(std::make_unique<Batch>());
  batches_ = std::make_unique<ProducerThread<Batch>>(
      std::move(pool), [source = source_.get()](Batch* batch) { return source->Fill(batch); });
}

ChangeReader::~ChangeReader() = default;

StatusOr<std::unique_ptr<ChangeReader>> ChangeReader::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    if (errno == ENOENT) return NotFoundError("change file " + path + " does not exist");
    return ErrnoError("open change file " + path, errno);
  }
  return std::unique_ptr<ChangeReader>(
      new ChangeReader(path, std::make_unique<LineSource>(path, file)));
}

StatusOr<bool> ChangeReader::NextBatch(std::vector<ChangeLine>* lines) {
  lines->clear();
  if (batch_ != nullptr && batch_->last) {
    if (!batch_->status.ok()) return batch_->status;
    return false;
  }
  batch_ = batches_->Next();
  const std::string_view bytes = batch_->bytes;
  lines->reserve(batch_->lines.size());
  for (const Batch::Line& at : batch_->lines) {
    lines->push_back(ChangeLine{at.seq, bytes.substr(at.id, at.id_size),
                                bytes.substr(at.op, at.op_size), bytes.substr(at.key, at.key_size),
                                bytes.substr(at.text, at.text_size)});
  }
  events_ += lines->size();
  // A last batch may have no lines (the file ended, or a bad line came, right after the last
  // full batch): its end or failure is the next call's answer.
  if (lines->empty()) return NextBatch(lines);
  return true;
}

}  // namespace snapdelta
