// HugeArray<T>: a fixed-size, zero-filled array of trivially copyable T in anonymous memory
// that the kernel is asked to back with transparent huge pages (MADV_HUGEPAGE). For large
// tables probed at random: huge pages turn most TLB misses into hits.
//
// An array of kParallelFaultBytes or more is faulted in at once by two threads
// (MADV_POPULATE_WRITE), the caller's and a helper: on the VMs measured, the kernel's zeroing
// of fresh pages ran at under 1 GB/s, and a table faulted in by its first random writes cost a
// 1M-row diff 130 ms on one thread while the other core waited. A table is spread over all its
// pages by the hash of its keys, so it would be resident in full soon anyway.
//
// Elements start as all-zero bytes (not as T{}). Thread safety: none.
#ifndef SNAPDELTA_BASE_HUGE_ARRAY_H_
#define SNAPDELTA_BASE_HUGE_ARRAY_H_

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

namespace snapdelta {

template <typename T>
class HugeArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  HugeArray() = default;
  explicit HugeArray(size_t size) : size_(size) {
    if (size == 0) return;
    bytes_ = (size * sizeof(T) + kPageBytes - 1) / kPageBytes * kPageBytes;
    void* memory =
        ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    ::madvise(memory, bytes_, MADV_HUGEPAGE);  // a hint: without it, plain pages still work
    data_ = static_cast<T*>(memory);
    if (bytes_ >= kParallelFaultBytes) FaultIn(static_cast<char*>(memory), bytes_);
  }
  ~HugeArray() {
    if (data_ != nullptr) ::munmap(data_, bytes_);
  }
  HugeArray(HugeArray&& other) noexcept { *this = std::move(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }

  // x86-64's transparent huge page size: an array takes whole ones.
  static constexpr size_t kPageBytes = 2 << 20;

 private:
  // Arrays from this size on are faulted in by two threads (smaller ones fault in quickly).
  static constexpr size_t kParallelFaultBytes = 16 << 20;

  // Faults [memory, memory + bytes) in, half on a helper thread (all on the caller's when no
  // thread can be started). A kernel without MADV_POPULATE_WRITE (before Linux 5.14) refuses:
  // the first writes fault the pages in then.
  static void FaultIn(char* memory, size_t bytes) {
    const size_t half = bytes / 2 / kPageBytes * kPageBytes;
    auto fault = [](char* begin, size_t size) { ::madvise(begin, size, MADV_POPULATE_WRITE); };
    std::thread helper;
    try {
      helper = std::thread(fault, memory + half, bytes - half);
    } catch (const std::system_error&) {
      fault(memory + half, bytes - half);
    }
    fault(memory, half);
    if (helper.joinable()) helper.join();
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_HUGE_ARRAY_H_
