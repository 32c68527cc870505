// InputBuffer: the CSV reader's byte buffer, in anonymous memory that grows and shrinks with
// mremap(2). Growing never holds two copies of the bytes (no allocate-copy-free), and pages past
// the bytes written are never touched, so the resident memory of a buffer grown for one large
// record is about that record's size. Private to src/csv.
//
// Thread safety: none; one CsvReader owns a buffer.
#ifndef SNAPDELTA_CSV_INPUT_BUFFER_H_
#define SNAPDELTA_CSV_INPUT_BUFFER_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>

namespace snapdelta {

class InputBuffer {
 public:
  InputBuffer() = default;
  ~InputBuffer() {
    if (data_ != nullptr) ::munmap(data_, mapped_);
  }
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  // Makes the buffer hold `size` bytes, keeping the first min(old size, size). Returns false,
  // leaving the buffer as it was, when the memory is not available.
  bool Resize(size_t size) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t mapped = (size + page - 1) / page * page;
    void* memory;
    if (data_ == nullptr) {
      memory = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else if (mapped == mapped_) {
      memory = data_;
    } else {
      memory = ::mremap(data_, mapped_, mapped, MREMAP_MAYMOVE);
    }
    if (memory == MAP_FAILED) return false;
    data_ = static_cast<char*>(memory);
    mapped_ = mapped;
    size_ = size;
    return true;
  }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_CSV_INPUT_BUFFER_H_
