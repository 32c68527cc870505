#include "diff/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "diff/coding.h"

namespace snapdelta {
namespace {

constexpr char kStateMagic[9] = "SDSTATE1";
constexpr char kFooterMagic[9] = "SDSTEND1";
constexpr uint32_t kFormatVersion = 2;
// zstd level 1: the state is rewritten every import, so speed beats ratio.
constexpr int kZstdLevel = 1;
// Compressed bytes read per refill.
constexpr size_t kReadChunk = 1 << 20;

std::string EncodeMeta(const StateMeta& meta) {
  nlohmann::json json = {{"columns", meta.columns},
                         {"key", meta.key},
                         {"compared", meta.compared},
                         {"before_images", meta.before_images}};
  return json.dump();
}

Status DecodeMeta(std::string_view text, const std::string& path, StateMeta* meta) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    meta->columns = json.at("columns").get<std::vector<std::string>>();
    meta->key = json.at("key").get<std::vector<std::string>>();
    meta->compared = json.at("compared").get<std::vector<std::string>>();
    meta->before_images = json.at("before_images").get<bool>();
  } catch (const std::exception& e) {
    return CorruptionError(path + ": bad state header: " + e.what());
  }
  return Status::OK();
}

// Compresses appended bytes into one zstd frame written to an AtomicFile.
class FrameWriter {
 public:
  ~FrameWriter() { ZSTD_freeCCtx(cctx_); }

  Status Open(const std::string& path, const char* magic, const std::string& meta) {
    cctx_ = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kZstdLevel);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    RETURN_IF_ERROR(file_.Open(path));
    std::string header(magic, 8);
    header.append(reinterpret_cast<const char*>(&kFormatVersion), 4);
    PutLengthPrefixed(&header, meta);
    out_.resize(ZSTD_CStreamOutSize());
    return file_.Append(header);
  }

  // Buffered: compressed once `pending_` is large.
  Status Append(std::string_view data) {
    pending_.append(data);
    if (pending_.size() >= ZSTD_CStreamInSize() * 8) return Compress(ZSTD_e_continue);
    return Status::OK();
  }

  Status Finish(uint64_t record_count) {
    RETURN_IF_ERROR(Compress(ZSTD_e_end));
    std::string footer;
    PutFixed64(&footer, record_count);
    footer.append(kFooterMagic, 8);
    return file_.Append(footer);
  }

  Status Commit() { return file_.Commit(); }

 private:
  Status Compress(ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{pending_.data(), pending_.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t remaining = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(remaining)) {
        return IOError(file_.final_path() + ": zstd: " + ZSTD_getErrorName(remaining));
      }
      RETURN_IF_ERROR(file_.Append(std::string_view(out_.data(), out.pos)));
      bool done = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
      if (done) break;
    }
    pending_.clear();
    return Status::OK();
  }

  ZSTD_CCtx* cctx_ = nullptr;
  AtomicFile file_;
  std::string pending_;
  std::string out_;
};

// Reads a header, then decompresses one zstd frame on demand, then checks the footer.
class FrameReader {
 public:
  ~FrameReader() {
    ZSTD_freeDCtx(dctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  Status Open(const std::string& path, const char* magic, std::string* meta) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return NotFoundError(path + ": state file missing");
      return ErrnoError("open " + path, errno);
    }
    dctx_ = ZSTD_createDCtx();
    RETURN_IF_ERROR(ReadCompressed(8 + 4 + 10));
    std::string_view in(raw_.data() + raw_pos_, raw_.size() - raw_pos_);
    uint32_t version = 0;
    if (in.size() < 12 || std::memcmp(in.data(), magic, 8) != 0) return Bad("not a state file");
    std::memcpy(&version, in.data() + 8, 4);
    if (version != kFormatVersion) {
      return Bad("state format version " + std::to_string(version) + ", this build reads " +
                 std::to_string(kFormatVersion));
    }
    in.remove_prefix(12);
    uint64_t meta_len = 0;
    if (!GetVarint64(&in, &meta_len)) return Bad("truncated header");
    raw_pos_ = raw_.size() - in.size();
    RETURN_IF_ERROR(ReadCompressed(meta_len));
    if (raw_.size() - raw_pos_ < meta_len) return Bad("truncated header");
    meta->assign(raw_.data() + raw_pos_, meta_len);
    raw_pos_ += meta_len;
    return ReadFooterCount();
  }

  // The record count the footer announces (checked again when the frame ends).
  uint64_t announced_count() const { return announced_count_; }

  // Makes at least `want` decompressed bytes available at data() unless the frame ends first.
  Status Fill(size_t want) {
    if (out_pos_ > 0 && out_pos_ * 2 > out_.size()) {
      out_.erase(0, out_pos_);
      out_pos_ = 0;
    }
    while (out_.size() - out_pos_ < want && !frame_done_) {
      if (raw_pos_ == raw_.size()) {
        RETURN_IF_ERROR(ReadCompressed(1));
        if (raw_pos_ == raw_.size()) return Bad("truncated data");
      }
      size_t old_size = out_.size();
      out_.resize(old_size + ZSTD_DStreamOutSize());
      ZSTD_inBuffer in{raw_.data() + raw_pos_, raw_.size() - raw_pos_, 0};
      ZSTD_outBuffer out{out_.data() + old_size, ZSTD_DStreamOutSize(), 0};
      size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
      if (ZSTD_isError(ret)) return Bad(std::string("zstd: ") + ZSTD_getErrorName(ret));
      raw_pos_ += in.pos;
      out_.resize(old_size + out.pos);
      if (ret == 0) frame_done_ = true;
    }
    return Status::OK();
  }

  std::string_view data() const {
    return std::string_view(out_.data() + out_pos_, out_.size() - out_pos_);
  }
  void Consume(size_t n) { out_pos_ += n; }
  bool exhausted() const { return frame_done_ && out_pos_ == out_.size(); }

  Status CheckFooter(uint64_t record_count) {
    RETURN_IF_ERROR(Fill(1));
    if (!exhausted()) return Bad("more data than records");
    RETURN_IF_ERROR(ReadCompressed(16));
    std::string_view rest(raw_.data() + raw_pos_, raw_.size() - raw_pos_);
    uint64_t count = 0;
    if (rest.size() != 16 || !GetFixed64(&rest, &count) ||
        std::memcmp(rest.data(), kFooterMagic, 8) != 0) {
      return Bad("bad footer");
    }
    if (count != record_count) {
      return Bad("footer says " + std::to_string(count) + " records, found " +
                 std::to_string(record_count));
    }
    return Status::OK();
  }

  Status Bad(const std::string& what) const { return CorruptionError(path_ + ": " + what); }

 private:
  // Reads compressed bytes until at least `want` are buffered past raw_pos_ or EOF.
  Status ReadCompressed(size_t want) {
    if (raw_pos_ > 0) {
      raw_.erase(0, raw_pos_);
      raw_pos_ = 0;
    }
    while (raw_.size() < want || want == 1) {
      size_t old_size = raw_.size();
      raw_.resize(old_size + kReadChunk);
      ssize_t n = ::read(fd_, raw_.data() + old_size, kReadChunk);
      if (n < 0 && errno == EINTR) n = 0;
      if (n < 0) return ErrnoError("read " + path_, errno);
      raw_.resize(old_size + static_cast<size_t>(n));
      if (n == 0 || want == 1) break;
    }
    return Status::OK();
  }

  Status ReadFooterCount() {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoError("stat " + path_, errno);
    char footer[16];
    if (st.st_size < 16 || ::pread(fd_, footer, 16, st.st_size - 16) != 16 ||
        std::memcmp(footer + 8, kFooterMagic, 8) != 0) {
      return Bad("bad footer");
    }
    std::memcpy(&announced_count_, footer, 8);
    return Status::OK();
  }

  std::string path_;
  int fd_ = -1;
  uint64_t announced_count_ = 0;
  ZSTD_DCtx* dctx_ = nullptr;
  std::string raw_;
  size_t raw_pos_ = 0;
  std::string out_;
  size_t out_pos_ = 0;
  bool frame_done_ = false;
};

}  // namespace

void AppendRowValue(std::string* row, std::string_view value, bool is_null) {
  if (is_null) {
    PutVarint64(row, 0);
    return;
  }
  PutVarint64(row, value.size() + 1);
  row->append(value);
}

bool DecodeRow(std::string_view row, size_t count, std::vector<std::string_view>* values,
               std::vector<bool>* nulls) {
  values->clear();
  nulls->clear();
  for (size_t column_idx = 0; column_idx < count; ++column_idx) {
    uint64_t len = 0;
    if (!GetVarint64(&row, &len)) return false;
    if (len == 0) {
      values->emplace_back();
      nulls->push_back(true);
      continue;
    }
    if (len - 1 > row.size()) return false;
    values->push_back(row.substr(0, len - 1));
    nulls->push_back(false);
    row.remove_prefix(len - 1);
  }
  return row.empty();
}

class StateWriter::Impl {
 public:
  FrameWriter records;
  StateMeta meta;
  std::string scratch;
  uint64_t count = 0;
};

StateWriter::StateWriter() : impl_(std::make_unique<Impl>()) {}
StateWriter::~StateWriter() = default;

Status StateWriter::Open(const std::string& state_path, const StateMeta& meta) {
  impl_->meta = meta;
  return impl_->records.Open(state_path, kStateMagic, EncodeMeta(meta));
}

Status StateWriter::Add(std::string_view key, const Fingerprint& fp, std::string_view row) {
  std::string& buf = impl_->scratch;
  buf.clear();
  PutLengthPrefixed(&buf, key);
  PutFixed64(&buf, fp.low);
  PutFixed64(&buf, fp.high);
  if (impl_->meta.before_images) PutLengthPrefixed(&buf, row);
  RETURN_IF_ERROR(impl_->records.Append(buf));
  ++impl_->count;
  return Status::OK();
}

Status StateWriter::Commit() {
  RETURN_IF_ERROR(impl_->records.Finish(impl_->count));
  return impl_->records.Commit();
}

uint64_t StateWriter::record_count() const { return impl_->count; }

class StateReader::Impl {
 public:
  FrameReader records;
  StateMeta meta;
  uint64_t count = 0;
};

StateReader::StateReader() : impl_(std::make_unique<Impl>()) {}
StateReader::~StateReader() = default;

Status StateReader::Open(const std::string& state_path) {
  std::string meta_text;
  RETURN_IF_ERROR(impl_->records.Open(state_path, kStateMagic, &meta_text));
  return DecodeMeta(meta_text, state_path, &impl_->meta);
}

const StateMeta& StateReader::meta() const { return impl_->meta; }

uint64_t StateReader::record_count() const { return impl_->records.announced_count(); }

Status StateReader::Next(bool* has_record, std::string_view* key, Fingerprint* fp,
                         std::string_view* row) {
  FrameReader& in = impl_->records;
  RETURN_IF_ERROR(in.Fill(10));
  if (in.exhausted()) {
    *has_record = false;
    return in.CheckFooter(impl_->count);
  }
  std::string_view view = in.data();
  uint64_t key_len = 0;
  if (!GetVarint64(&view, &key_len)) return in.Bad("bad record");
  size_t header_len = in.data().size() - view.size();
  size_t need = header_len + key_len + 16 + (impl_->meta.before_images ? 10 : 0);
  RETURN_IF_ERROR(in.Fill(need));
  view = in.data().substr(header_len);
  if (view.size() < key_len + 16) return in.Bad("truncated record");
  *key = view.substr(0, key_len);
  view.remove_prefix(key_len);
  GetFixed64(&view, &fp->low);
  GetFixed64(&view, &fp->high);
  size_t used = header_len + key_len + 16;
  *row = std::string_view();
  if (impl_->meta.before_images) {
    uint64_t row_len = 0;
    std::string_view len_view = view;
    if (!GetVarint64(&len_view, &row_len)) return in.Bad("bad record");
    size_t len_bytes = view.size() - len_view.size();
    RETURN_IF_ERROR(in.Fill(used + len_bytes + row_len));
    std::string_view all = in.data();
    if (all.size() < used + len_bytes + row_len) return in.Bad("truncated record");
    *key = all.substr(header_len, key_len);
    *row = all.substr(used + len_bytes, row_len);
    used += len_bytes + row_len;
  }
  in.Consume(used);
  ++impl_->count;
  *has_record = true;
  return Status::OK();
}

}  // namespace snapdelta
