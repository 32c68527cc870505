// Small helpers for tests: a temporary folder that removes itself, file writing, compression.
#ifndef SNAPDELTA_TESTS_TEST_UTIL_H_
#define SNAPDELTA_TESTS_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace snapdelta::testing {

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

// `data` as one gzip member (zlib deflate at `level`).
std::string GzipCompress(std::string_view data, int level = 6);
// `data` as one zstd frame.
std::string ZstdCompress(std::string_view data, int level = 3);

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_TEST_UTIL_H_
