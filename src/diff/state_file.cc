#include "diff/state_file.h"

#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "diff/coding.h"

namespace snapdelta {
namespace {

constexpr char kStateMagic[9] = "SDSTATE1";
constexpr char kFooterMagic[9] = "SDSTEND1";
// Written; version 2 (no identity, no meta checksum) is still read.
constexpr uint32_t kFormatVersion = 3;
constexpr uint32_t kFormatVersionWithoutIdentity = 2;
// Bytes read per refill.
constexpr size_t kReadChunk = 1 << 20;
// fixed64 count, fixed64 checksum, magic.
constexpr size_t kFooterBytes = 24;

std::string EncodeMeta(const StateMeta& meta) {
  nlohmann::json json = {
      {"tenant", meta.identity.tenant},   {"table", meta.identity.table},
      {"version", meta.identity.version}, {"export_checksum", meta.identity.export_checksum},
      {"columns", meta.columns},          {"key", meta.key},
      {"compared", meta.compared},        {"before_images", meta.before_images}};
  // Column names are valid UTF-8 (the CSV reader checks); a tenant, table or version that is
  // not is replaced rather than thrown on (its identity then fails to match, a clear error).
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A version 2 meta has no identity fields: they stay empty.
Status DecodeMeta(std::string_view text, const std::string& path, StateMeta* meta) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    meta->columns = json.at("columns").get<std::vector<std::string>>();
    meta->key = json.at("key").get<std::vector<std::string>>();
    meta->compared = json.at("compared").get<std::vector<std::string>>();
    meta->before_images = json.at("before_images").get<bool>();
    meta->identity.tenant = json.value("tenant", "");
    meta->identity.table = json.value("table", "");
    meta->identity.version = json.value("version", "");
    meta->identity.export_checksum = json.value("export_checksum", "");
  } catch (const std::exception& e) {
    return CorruptionError(path + ": bad state header: " + e.what());
  }
  return Status::OK();
}

// True when every non-empty field of `expected` equals the field of `found`.
bool Matches(const StateIdentity& found, const StateIdentity& expected) {
  auto same = [](const std::string& have, const std::string& want) {
    return want.empty() || have == want;
  };
  return same(found.tenant, expected.tenant) && same(found.table, expected.table) &&
         same(found.version, expected.version) &&
         same(found.export_checksum, expected.export_checksum);
}

Status IdentityMismatch(const std::string& path, const StateIdentity& found,
                        const StateIdentity& expected) {
  std::string table = (expected.tenant.empty() ? found.tenant : expected.tenant) + "/" +
                      (expected.table.empty() ? found.table : expected.table);
  return CorruptionError(
      path + ": this state file belongs to another table or version: it holds the state of " +
      found.ToString() + ", but the registry's committed state of " + table + " is " +
      expected.ToString() +
      " (a state file was copied over this one, or the registry was edited). Restore the state "
      "file of " +
      expected.ToString() + ", or put the table back to a version whose state is intact with " +
      "`snapdelta rewind " + table + " --to VERSION`");
}

// Writes header, records and footer through an ObjectWriter, checksumming the records.
class BodyWriter {
 public:
  BodyWriter() : hash_(XXH3_createState()) { XXH3_64bits_reset(hash_); }
  ~BodyWriter() { XXH3_freeState(hash_); }

  Status Open(std::shared_ptr<ObjectWriter> file, const std::string& meta) {
    if (file == nullptr) return InvalidArgumentError("no state to write into");
    file_ = std::move(file);
    std::string header(kStateMagic, 8);
    header.append(reinterpret_cast<const char*>(&kFormatVersion), 4);
    PutLengthPrefixed(&header, meta);
    PutFixed64(&header, XXH3_64bits(meta.data(), meta.size()));
    return file_->Append(header);
  }

  Status Append(std::string_view data) {
    XXH3_64bits_update(hash_, data.data(), data.size());
    return file_->Append(data);
  }

  Status Finish(uint64_t record_count) {
    std::string footer;
    PutFixed64(&footer, record_count);
    PutFixed64(&footer, XXH3_64bits_digest(hash_));
    footer.append(kFooterMagic, 8);
    RETURN_IF_ERROR(file_->Append(footer));
    return file_->Commit();
  }

 private:
  XXH3_state_t* hash_;
  std::shared_ptr<ObjectWriter> file_;
};

// Reads the header and footer, then the records on demand, checking the checksum at the end.
class BodyReader {
 public:
  BodyReader() : hash_(XXH3_createState()) { XXH3_64bits_reset(hash_); }
  ~BodyReader() { XXH3_freeState(hash_); }

  // The footer is read first (a ranged read), then header and records in one sequential pass.
  Status Open(std::shared_ptr<StoredFile> file, std::string* meta) {
    file_ = std::move(file);
    path_ = file_->name();
    StatusOr<uint64_t> size = file_->Size();
    if (size.status().code() == StatusCode::kNotFound) {
      return NotFoundError(path_ + ": state file missing");
    }
    RETURN_IF_ERROR(size.status());
    RETURN_IF_ERROR(ReadFooter(*size));
    ASSIGN_OR_RETURN(stream_, file_->Open(0));
    stream_pos_ = 0;
    RETURN_IF_ERROR(ReadHeader(meta));
    return Status::OK();
  }

  uint64_t announced_count() const { return announced_count_; }

  // Makes at least `want` bytes available at data() unless the records end first.
  Status Fill(size_t want) {
    if (buf_.size() - pos_ >= want || file_pos_ == body_end_) return Status::OK();
    buf_.erase(0, pos_);
    pos_ = 0;
    while (buf_.size() < want && file_pos_ < body_end_) {
      size_t chunk = static_cast<size_t>(
          std::min<uint64_t>(std::max(kReadChunk, want - buf_.size()), body_end_ - file_pos_));
      size_t old_size = buf_.size();
      buf_.resize(old_size + chunk);
      ASSIGN_OR_RETURN(size_t n, ReadAt(file_pos_, buf_.data() + old_size, chunk));
      if (n == 0) return Bad("truncated");
      buf_.resize(old_size + n);
      XXH3_64bits_update(hash_, buf_.data() + old_size, n);
      file_pos_ += n;
    }
    return Status::OK();
  }

  std::string_view data() const { return std::string_view(buf_.data() + pos_, buf_.size() - pos_); }
  void Consume(size_t n) { pos_ += n; }
  bool exhausted() const { return file_pos_ == body_end_ && pos_ == buf_.size(); }

  Status CheckEnd(uint64_t record_count) const {
    if (record_count != announced_count_) {
      return Bad("footer says " + std::to_string(announced_count_) + " records, found " +
                 std::to_string(record_count));
    }
    if (XXH3_64bits_digest(hash_) != checksum_) return Bad("checksum mismatch");
    return Status::OK();
  }

  Status Bad(const std::string& what) const { return CorruptionError(path_ + ": " + what); }

 private:
  // Reads up to `size` bytes at `offset`, fewer only where the file ends. `offset` never goes
  // back: bytes between the last read and `offset` are skipped. Errors: the store's.
  StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t size) {
    if (offset < stream_pos_) return Bad("malformed header");  // only a tiny header goes back
    char skip[4096];
    while (stream_pos_ < offset) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(skip), offset - stream_pos_));
      ASSIGN_OR_RETURN(size_t n, ReadFully(stream_.get(), skip, want));
      if (n == 0) return size_t{0};
      stream_pos_ += n;
    }
    ASSIGN_OR_RETURN(size_t done, ReadFully(stream_.get(), buf, size));
    stream_pos_ += done;
    return done;
  }

  // Reads until `size` bytes or the end of `source`.
  static StatusOr<size_t> ReadFully(ByteSource* source, char* buf, size_t size) {
    size_t done = 0;
    while (done < size) {
      ASSIGN_OR_RETURN(size_t n, source->Read(buf + done, size - done));
      if (n == 0) break;
      done += n;
    }
    return done;
  }

  Status ReadFooter(uint64_t file_size) {
    char footer[kFooterBytes];
    if (file_size < kFooterBytes) return Bad("not a state file (too short)");
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> tail, file_->Open(file_size - kFooterBytes));
    ASSIGN_OR_RETURN(size_t n, ReadFully(tail.get(), footer, kFooterBytes));
    if (n != kFooterBytes) return Bad("not a state file (too short)");
    std::memcpy(&announced_count_, footer, 8);
    std::memcpy(&checksum_, footer + 8, 8);
    body_end_ = file_size - kFooterBytes;
    if (std::memcmp(footer + 16, kFooterMagic, 8) != 0) return Bad("not a state file (footer)");
    return Status::OK();
  }

  Status ReadHeader(std::string* meta) {
    char head[12 + 10];
    ASSIGN_OR_RETURN(size_t n, ReadAt(0, head, sizeof(head)));
    if (n < 12 || std::memcmp(head, kStateMagic, 8) != 0) return Bad("not a state file");
    uint32_t version = 0;
    std::memcpy(&version, head + 8, 4);
    if (version != kFormatVersion && version != kFormatVersionWithoutIdentity) {
      return Bad("state format version " + std::to_string(version) + ", this build reads " +
                 std::to_string(kFormatVersionWithoutIdentity) + " and " +
                 std::to_string(kFormatVersion) + "; remove the table's state folder and " +
                 "import its latest export again");
    }
    std::string_view in(head + 12, n - 12);
    uint64_t meta_len = 0;
    if (!GetVarint64(&in, &meta_len)) return Bad("truncated header");
    uint64_t meta_start = 12 + (n - 12 - in.size());
    uint64_t meta_checksum_len = version == kFormatVersion ? 8 : 0;
    if (meta_len > body_end_ || meta_start + meta_len + meta_checksum_len > body_end_) {
      return Bad("truncated header");
    }
    meta->resize(meta_len + meta_checksum_len);
    // The first bytes of the meta came with `head`; the rest follows in the stream.
    size_t in_head = std::min<size_t>(n - meta_start, meta->size());
    std::memcpy(meta->data(), head + meta_start, in_head);
    ASSIGN_OR_RETURN(size_t meta_read,
                     ReadAt(meta_start + in_head, meta->data() + in_head, meta->size() - in_head));
    if (in_head + meta_read != meta->size()) return Bad("truncated header");
    if (meta_checksum_len > 0) {
      uint64_t stored = 0;
      std::memcpy(&stored, meta->data() + meta_len, 8);
      meta->resize(meta_len);
      if (XXH3_64bits(meta->data(), meta->size()) != stored) return Bad("header checksum mismatch");
    }
    file_pos_ = meta_start + meta_len + meta_checksum_len;
    return Status::OK();
  }

  std::shared_ptr<StoredFile> file_;
  std::string path_;
  std::unique_ptr<ByteSource> stream_;  // from the start of the file
  uint64_t stream_pos_ = 0;
  XXH3_state_t* hash_;
  uint64_t announced_count_ = 0;
  uint64_t checksum_ = 0;
  uint64_t body_end_ = 0;
  uint64_t file_pos_ = 0;
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace

std::string StateIdentity::ToString() const {
  auto or_unknown = [](const std::string& text) { return text.empty() ? "?" : text; };
  return or_unknown(tenant) + "/" + or_unknown(table) + "/" + or_unknown(version) +
         " (export checksum " + or_unknown(export_checksum) + ")";
}

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
  BodyWriter records;
  StateMeta meta;
  std::string scratch;
  uint64_t count = 0;
};

StateWriter::StateWriter() : impl_(std::make_unique<Impl>()) {}
StateWriter::~StateWriter() = default;

Status StateWriter::Open(std::shared_ptr<ObjectWriter> state, const StateMeta& meta) {
  impl_->meta = meta;
  return impl_->records.Open(std::move(state), EncodeMeta(meta));
}

Status StateWriter::Add(std::string_view key, const Fingerprint& fp, std::string_view row) {
  std::string& buf = impl_->scratch;
  buf.clear();
  Encode(&buf, key, fp, row);
  return AddEncoded(buf, 1);
}

void StateWriter::Encode(std::string* out, std::string_view key, const Fingerprint& fp,
                         std::string_view row) const {
  PutLengthPrefixed(out, key);
  PutFixed64(out, fp.low);
  PutFixed64(out, fp.high);
  if (impl_->meta.before_images) PutLengthPrefixed(out, row);
}

Status StateWriter::AddEncoded(std::string_view records, uint64_t count) {
  RETURN_IF_ERROR(impl_->records.Append(records));
  impl_->count += count;
  return Status::OK();
}

Status StateWriter::Commit() { return impl_->records.Finish(impl_->count); }

class StateReader::Impl {
 public:
  BodyReader records;
  StateMeta meta;
  uint64_t count = 0;
};

StateReader::StateReader() : impl_(std::make_unique<Impl>()) {}
StateReader::~StateReader() = default;

Status StateReader::Open(std::shared_ptr<StoredFile> state, const StateIdentity& expected) {
  const std::string state_path = state->name();
  std::string meta_text;
  RETURN_IF_ERROR(impl_->records.Open(std::move(state), &meta_text));
  RETURN_IF_ERROR(DecodeMeta(meta_text, state_path, &impl_->meta));
  const StateIdentity& found = impl_->meta.identity;
  if (!expected.empty() && !found.empty() && !Matches(found, expected)) {
    return IdentityMismatch(state_path, found, expected);
  }
  return Status::OK();
}

const StateMeta& StateReader::meta() const { return impl_->meta; }

uint64_t StateReader::record_count() const { return impl_->records.announced_count(); }

Status StateReader::Next(bool* has_record, std::string_view* key, Fingerprint* fp,
                         std::string_view* row) {
  BodyReader& in = impl_->records;
  RETURN_IF_ERROR(in.Fill(10));
  if (in.exhausted()) {
    *has_record = false;
    return in.CheckEnd(impl_->count);
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
