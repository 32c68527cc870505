// Change files: <dir>/<tenant>/<table>/<version>.jsonl, written through AtomicFile, so a file
// under its final name is always complete; a rerun of the import rewrites it identically.
#include <algorithm>
#include <cerrno>
#include <functional>

#include "base/fs.h"
#include "sink/event_json.h"
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

// Events are batched into this many bytes before reaching the file.
constexpr size_t kBatchBytes = 1 << 20;

// Empties a written batch; one grown past a few batches by a large event gives its memory back.
void ClearBatch(std::string* batch) {
  if (batch->capacity() > 4 * kBatchBytes) {
    std::string().swap(*batch);
  } else {
    batch->clear();
  }
}

// JSON Lines written atomically to the path `path_for` gives for an import.
class ChangeFileSink : public Sink {
 public:
  using PathFor = std::function<std::string(const ImportIdentity&)>;
  // With `owns_final_path`, the file under its final name belongs to the import (a change
  // file), so Abort removes what an earlier, uncommitted attempt left there.
  ChangeFileSink(PathFor path_for, bool owns_final_path)
      : path_for_(std::move(path_for)), owns_final_path_(owns_final_path) {}

  Status Begin(const ImportIdentity& import) override {
    import_ = ImportJson(import);
    batch_.clear();
    return file_.Open(path_for_(import),
                      owns_final_path_ ? AtomicFile::Temp::kFencing : AtomicFile::Temp::kOwn);
  }

  Status Put(const ChangeEvent& event) override {
    Status drained;
    AppendEventJson(&batch_, import_, event, [this, &drained](std::string* batch) {
      if (drained.ok()) drained = AppendBatch();
      ClearBatch(batch);
    });
    RETURN_IF_ERROR(drained);
    if (batch_.size() < kBatchBytes) return Status::OK();
    CrashPoint("sink.mid_file");
    Status s = AppendBatch();
    ClearBatch(&batch_);
    return s;
  }

  Status PutEventLine(std::string_view line) override {
    batch_.append(line);
    if (batch_.size() < kBatchBytes) return Status::OK();
    CrashPoint("sink.mid_file");
    Status s = AppendBatch();
    ClearBatch(&batch_);
    return s;
  }

  Status Finish() override {
    RETURN_IF_ERROR(AppendBatch());
    batch_.clear();
    CrashPoint("sink.before_commit");
    return file_.Commit();
  }

  // A change file also loses what an earlier, uncommitted attempt of the same import left
  // under the final name: the import failed, so no events of it may stay visible.
  void Abort() override {
    batch_.clear();
    std::string final_path = file_.final_path();
    file_.Abort();
    if (owns_final_path_ && !final_path.empty()) (void)RemoveFile(final_path);
  }

  void Abandon() override {
    batch_.clear();
    file_.Abort();
  }

 private:
  // Hands the batch to the file in slices of kBatchBytes, so that the file's own buffer does not
  // grow to a large event's size.
  Status AppendBatch() {
    std::string_view rest = batch_;
    while (!rest.empty()) {
      RETURN_IF_ERROR(file_.Append(rest.substr(0, kBatchBytes)));
      rest.remove_prefix(std::min(rest.size(), kBatchBytes));
    }
    return Status::OK();
  }

  PathFor path_for_;
  bool owns_final_path_;
  ImportJson import_;
  std::string batch_;
  AtomicFile file_;
};

// JSON Lines to a stream, for `snapdelta diff`.
class JsonLinesSink : public Sink {
 public:
  JsonLinesSink(std::FILE* out, bool owns_file) : out_(out), owns_file_(owns_file) {}
  ~JsonLinesSink() override {
    if (owns_file_ && out_ != nullptr) std::fclose(out_);
  }

  Status Begin(const ImportIdentity& import) override {
    import_ = ImportJson(import);
    return Status::OK();
  }

  Status Put(const ChangeEvent& event) override {
    Status drained;
    AppendEventJson(&batch_, import_, event, [this, &drained](std::string*) {
      Status flushed = Flush();
      if (drained.ok()) drained = flushed;
    });
    RETURN_IF_ERROR(drained);
    if (batch_.size() >= kBatchBytes) return Flush();
    return Status::OK();
  }

  Status PutEventLine(std::string_view line) override {
    batch_.append(line);
    if (batch_.size() >= kBatchBytes) return Flush();
    return Status::OK();
  }

  Status Finish() override {
    RETURN_IF_ERROR(Flush());
    if (std::fflush(out_) != 0) return ErrnoError("write events", errno);
    return Status::OK();
  }

  void Abort() override { batch_.clear(); }

 private:
  Status Flush() {
    size_t wanted = batch_.size();
    size_t written = std::fwrite(batch_.data(), 1, wanted, out_);
    ClearBatch(&batch_);
    if (written != wanted) return ErrnoError("write events", errno);
    return Status::OK();
  }

  std::FILE* out_;
  bool owns_file_;
  ImportJson import_;
  std::string batch_;
};

// JSON Lines into one stored object, for the events of one part of a partitioned import.
class ObjectSink : public Sink {
 public:
  explicit ObjectSink(std::unique_ptr<ObjectWriter> out) : out_(std::move(out)) {}

  Status Begin(const ImportIdentity& import) override {
    import_ = ImportJson(import);
    return Status::OK();
  }

  Status Put(const ChangeEvent& event) override {
    Status drained;
    AppendEventJson(&batch_, import_, event, [this, &drained](std::string* batch) {
      if (drained.ok()) drained = out_->Append(*batch);
      ClearBatch(batch);
    });
    RETURN_IF_ERROR(drained);
    return batch_.size() < kBatchBytes ? Status::OK() : Flush();
  }

  Status PutEventLine(std::string_view line) override {
    batch_.append(line);
    return batch_.size() < kBatchBytes ? Status::OK() : Flush();
  }

  Status Finish() override {
    RETURN_IF_ERROR(Flush());
    return out_->Commit();
  }

  void Abort() override {
    batch_.clear();
    out_.reset();  // an uncommitted writer abandons what it wrote
  }

 private:
  Status Flush() {
    Status status = out_->Append(batch_);
    ClearBatch(&batch_);
    return status;
  }

  std::unique_ptr<ObjectWriter> out_;
  ImportJson import_;
  std::string batch_;
};

}  // namespace

Status Sink::PutEventLine(std::string_view) {
  return InvalidArgumentError("this sink takes events only as they are diffed, not formatted");
}

std::unique_ptr<Sink> NewObjectSink(std::unique_ptr<ObjectWriter> out) {
  return std::make_unique<ObjectSink>(std::move(out));
}

std::string ChangeFilePath(const std::string& dir, const ImportIdentity& import) {
  return dir + "/" + import.tenant + "/" + import.table + "/" + import.version + ".jsonl";
}

std::unique_ptr<Sink> NewChangeFileSink(const std::string& dir) {
  return std::make_unique<ChangeFileSink>(
      [dir](const ImportIdentity& import) { return ChangeFilePath(dir, import); }, true);
}

std::unique_ptr<Sink> NewJsonFileSink(const std::string& path) {
  return std::make_unique<ChangeFileSink>([path](const ImportIdentity&) { return path; }, false);
}

std::unique_ptr<Sink> NewJsonLinesSink(std::FILE* out, bool owns_file) {
  return std::make_unique<JsonLinesSink>(out, owns_file);
}

}  // namespace snapdelta
