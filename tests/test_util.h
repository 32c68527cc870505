// Small helpers for tests: a temporary folder that removes itself, file writing, compression.
#ifndef SNAPDELTA_TESTS_TEST_UTIL_H_
#define SNAPDELTA_TESTS_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "snapdelta/source.h"
#include "snapdelta/storage.h"

namespace snapdelta::testing {

using snapdelta::ByteSource;

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "snapdelta-unit-XXXXXX");
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Writes `content` to <dir>/<name> and returns the path.
  std::string Write(const std::string& name, const std::string& content) const {
    std::string file = File(name);
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::string path_;
};

// An in-memory ByteSource that returns at most `max_chunk` bytes per Read and fails with an
// I/O error once `fail_after` bytes were read.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t max_chunk = SIZE_MAX, size_t fail_after = SIZE_MAX,
                        std::string name = "orders.csv")
      : data_(std::move(data)),
        max_chunk_(max_chunk),
        fail_after_(fail_after),
        name_(std::move(name)) {}
  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    if (pos_ >= fail_after_) return IOError(name_ + ": disk on fire");
    const size_t n = std::min({capacity, max_chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override { return pos_; }

 private:
  std::string data_;
  size_t max_chunk_;
  size_t fail_after_;
  std::string name_;
  size_t pos_ = 0;
};

// `data` as one gzip member (zlib deflate at `level`).
std::string GzipCompress(std::string_view data, int level = 6);
// `data` as one zstd frame.
std::string ZstdCompress(std::string_view data, int level = 3);

// The local file `path`, as a DiffRequest takes exports and states.
inline std::shared_ptr<StoredFile> LocalFile(const std::string& path) {
  return OpenLocalFile(path);
}

// A writer of a state at the local `path` (null when it cannot be opened).
inline std::shared_ptr<ObjectWriter> LocalStateOut(const std::string& path) {
  StatusOr<std::unique_ptr<ObjectWriter>> writer = CreateLocalFile(path);
  if (!writer.ok()) return nullptr;
  return std::move(writer).value();
}

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_TEST_UTIL_H_
