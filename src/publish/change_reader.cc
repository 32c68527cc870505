#include "publish/change_reader.h"

#include <simdjson.h>

#include <cerrno>
#include <cstring>

namespace snapdelta {
namespace {

constexpr size_t kReadBytes = size_t{1} << 20;

}  // namespace

struct ChangeReader::Parser {
  simdjson::ondemand::parser parser;
};

ChangeReader::ChangeReader(std::string path, std::FILE* file)
    : path_(std::move(path)), file_(file), parser_(std::make_unique<Parser>()) {}

ChangeReader::~ChangeReader() { std::fclose(file_); }

StatusOr<std::unique_ptr<ChangeReader>> ChangeReader::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    if (errno == ENOENT) return NotFoundError("change file " + path + " does not exist");
    return ErrnoError("open change file " + path, errno);
  }
  return std::unique_ptr<ChangeReader>(new ChangeReader(path, file));
}

StatusOr<bool> ChangeReader::ReadLine() {
  line_.clear();
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline != nullptr) {
      size_t length = static_cast<const char*>(newline) - start;
      line_.append(start, length);
      begin_ += length + 1;
      return true;
    }
    line_.append(start, end_ - begin_);
    begin_ = end_ = 0;
    if (eof_) {
      if (line_.empty()) return false;
      return LineError("the last line has no newline (the file was cut short)");
    }
    buffer_.resize(kReadBytes);
    size_t got = std::fread(buffer_.data(), 1, kReadBytes, file_);
    if (got < kReadBytes) {
      if (std::ferror(file_)) return ErrnoError("read change file " + path_, errno);
      eof_ = true;
    }
    end_ = got;
  }
}

Status ChangeReader::LineError(const std::string& what) const {
  return CorruptionError("change file " + path_ + " line " + std::to_string(line_number_ + 1) +
                         ": " + what);
}

StatusOr<bool> ChangeReader::Next(ChangeLine* line) {
  ASSIGN_OR_RETURN(bool got, ReadLine());
  if (!got) return false;
  const size_t length = line_.size();
  line_.resize(length + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view json(line_.data(), length, line_.size());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser_->parser.iterate(json).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return LineError("not a JSON object");
  }
  ChangeLine out;
  bool has_seq = false, has_id = false, has_key = false;
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return LineError("bad JSON");
    simdjson::error_code error = simdjson::SUCCESS;
    if (name == "id") {
      std::string_view id;
      error = field.value().get_string().get(id);
      if (error == simdjson::SUCCESS) id_.assign(id);
      has_id = true;
    } else if (name == "op") {
      error = field.value().get_string().get(out.op);
    } else if (name == "seq") {
      error = field.value().get_uint64().get(out.seq);
      has_seq = true;
    } else if (name == "key") {
      simdjson::ondemand::object key;
      error = field.value().get_object().get(key);
      if (error == simdjson::SUCCESS) error = key.raw_json().get(out.key);
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
  if (out.seq != line_number_ + 1) {
    return LineError("seq " + std::to_string(out.seq) + ", expected " +
                     std::to_string(line_number_ + 1));
  }
  ++line_number_;
  // raw_json of an object ends after its closing brace, possibly with trailing spaces.
  while (!out.key.empty() && out.key.back() == ' ') out.key.remove_suffix(1);
  out.id = id_;
  out.text = std::string_view(line_.data(), length);
  *line = out;
  return true;
}

}  // namespace snapdelta
