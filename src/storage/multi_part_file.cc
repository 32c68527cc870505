// NewMultiPartFile (storage.h): the parts of a multi-part export read as one CSV text.
#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>
#include <vector>

#include "snapdelta/storage.h"

namespace snapdelta {
namespace {

// Bytes read at a time while looking for a part's header line.
constexpr size_t kReadChunk = 64 << 10;

// Each part decompressed in turn; the first passes whole, later ones without their header line,
// which must equal the first part's.
class ConcatenatedSource final : public ByteSource {
 public:
  ConcatenatedSource(std::string name, std::vector<StoredFile*> parts,
                     std::vector<std::string> part_ids)
      : name_(std::move(name)), parts_(std::move(parts)), part_ids_(std::move(part_ids)) {}

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    while (part_idx_ < parts_.size()) {
      if (current_ == nullptr) RETURN_IF_ERROR(OpenPart());
      if (pending_pos_ < pending_.size()) {
        size_t n = std::min(capacity, pending_.size() - pending_pos_);
        std::memcpy(buf, pending_.data() + pending_pos_, n);
        pending_pos_ += n;
        last_byte_ = buf[n - 1];
        return n;
      }
      ASSIGN_OR_RETURN(size_t n, current_->Read(buf, capacity));
      if (n > 0) {
        last_byte_ = buf[n - 1];
        return n;
      }
      consumed_before_ += current_->raw_bytes_consumed();
      current_.reset();
      ++part_idx_;
      if (last_byte_ != '\n' && part_idx_ < parts_.size()) {  // a part without a final newline
        last_byte_ = '\n';
        buf[0] = '\n';
        return size_t{1};
      }
    }
    return size_t{0};
  }

  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override {
    return consumed_before_ + (current_ != nullptr ? current_->raw_bytes_consumed() : 0);
  }

 private:
  // Opens part part_idx_; for a later part, reads its header line and checks it.
  Status OpenPart() {
    StoredFile* part = parts_[part_idx_];
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> raw,
                     part->Open(0, part_ids_.empty() ? "" : part_ids_[part_idx_]));
    ASSIGN_OR_RETURN(current_, OpenExport(std::move(raw)));
    std::string line, rest;
    RETURN_IF_ERROR(ReadLine(&line, &rest));
    pending_pos_ = 0;
    if (part_idx_ == 0) {
      header_ = line;
      pending_ = line + rest;  // the first part's header passes through
      return Status::OK();
    }
    if (Trimmed(line) != Trimmed(header_)) {
      return CorruptionError(fmt::format(
          "{}: its header differs from the first part's ({}): all parts of an export must have "
          "the same columns in the same order",
          part->name(), parts_[0]->name()));
    }
    pending_ = std::move(rest);
    return Status::OK();
  }

  // Reads the current part up to and including its first line break into `line`, and the
  // bytes read after it into `rest`.
  Status ReadLine(std::string* line, std::string* rest) {
    std::string chunk(kReadChunk, '\0');
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, current_->Read(chunk.data(), chunk.size()));
      if (n == 0) return Status::OK();  // a part that is all header, or empty
      size_t newline = std::string_view(chunk.data(), n).find('\n');
      if (newline == std::string_view::npos) {
        line->append(chunk.data(), n);
        continue;
      }
      line->append(chunk.data(), newline + 1);
      rest->assign(chunk.data() + newline + 1, n - newline - 1);
      return Status::OK();
    }
  }

  static std::string_view Trimmed(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    return line;
  }

  const std::string name_;
  const std::vector<StoredFile*> parts_;
  const std::vector<std::string> part_ids_;  // empty: not checked
  size_t part_idx_ = 0;
  std::unique_ptr<ByteSource> current_;
  std::string header_;
  std::string pending_;  // bytes read ahead of the caller
  size_t pending_pos_ = 0;
  uint64_t consumed_before_ = 0;
  char last_byte_ = '\n';
};

class MultiPartFile final : public StoredFile {
 public:
  MultiPartFile(std::string name, std::vector<std::unique_ptr<StoredFile>> parts)
      : name_(std::move(name)), parts_(std::move(parts)) {}

  const std::string& name() const override { return name_; }

  StatusOr<std::unique_ptr<ByteSource>> Open(uint64_t offset,
                                             const std::string& expected_id) override {
    if (offset > 0) return InvalidArgumentError(name_ + ": a multi-part export is read whole");
    std::vector<std::string> part_ids;
    if (!expected_id.empty()) {
      ASSIGN_OR_RETURN(std::string actual, ContentIdWithParts(&part_ids));
      if (actual != expected_id) {
        return UnavailableError(name_ + ": changed since it was registered (content " + actual +
                                ", expected " + expected_id +
                                "); nothing was published, run again");
      }
    }
    std::vector<StoredFile*> parts;
    for (const auto& part : parts_) parts.push_back(part.get());
    return std::unique_ptr<ByteSource>(
        std::make_unique<ConcatenatedSource>(name_, std::move(parts), std::move(part_ids)));
  }

  StatusOr<uint64_t> Size() override {
    uint64_t total = 0;
    for (const auto& part : parts_) {
      ASSIGN_OR_RETURN(uint64_t size, part->Size());
      total += size;
    }
    return total;
  }

  StatusOr<std::string> ContentId() override {
    std::vector<std::string> part_ids;
    return ContentIdWithParts(&part_ids);
  }

 private:
  // "parts:" + hex XXH3-128 over each part's name and content id.
  StatusOr<std::string> ContentIdWithParts(std::vector<std::string>* part_ids) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    Status status;
    for (const auto& part : parts_) {
      StatusOr<std::string> id = part->ContentId();
      if (!id.ok()) {
        status = id.status();
        break;
      }
      std::string line = part->name() + '\0' + *id + '\n';
      XXH3_128bits_update(state, line.data(), line.size());
      part_ids->push_back(*id);
    }
    XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    RETURN_IF_ERROR(status);
    return fmt::format("parts:{:016x}{:016x}", hash.high64, hash.low64);
  }

  const std::string name_;
  const std::vector<std::unique_ptr<StoredFile>> parts_;
};

}  // namespace

std::unique_ptr<StoredFile> NewMultiPartFile(std::string name,
                                             std::vector<std::unique_ptr<StoredFile>> parts) {
  return std::make_unique<MultiPartFile>(std::move(name), std::move(parts));
}

}  // namespace snapdelta
