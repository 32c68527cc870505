// HugeArray<T>: a fixed-size, zero-filled array of trivially copyable T in anonymous memory
// that the kernel is asked to back with transparent huge pages (MADV_HUGEPAGE). For large
// tables probed at random: huge pages turn most TLB misses into hits.
//
// An array of kBackgroundFaultBytes or more is faulted in by a helper thread
// (MADV_POPULATE_WRITE), from its last page down to its first, while the caller goes on: on the
// VMs measured, the kernel's zeroing of fresh pages ran at under 1 GB/s, and a table faulted in
// by its first random writes cost a 1M-row diff 130 ms on one thread while the other core
// waited. The caller's own writes fault in what they touch first, so the two share the work:
// a table filled in order (a state file's digest order) faults its first pages in as it goes
// while the helper meets it from the end. A table is spread over all its pages by the hash of
// its keys, so it would be resident in full soon anyway. The helper stops early (and is joined)
// when the array goes.
//
// Elements start as all-zero bytes (not as T{}). Thread safety: none (the helper touches no
// element, only the mapping).
#ifndef SNAPDELTA_BASE_HUGE_ARRAY_H_
#define SNAPDELTA_BASE_HUGE_ARRAY_H_

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <memory>
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
    if (bytes_ >= kBackgroundFaultBytes) StartFaultIn();
  }
  ~HugeArray() { Release(); }
  HugeArray(HugeArray&& other) noexcept { *this = std::move(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(bytes_, other.bytes_);
    std::swap(helper_, other.helper_);
    return *this;
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }

  // x86-64's transparent huge page size: an array takes whole ones.
  static constexpr size_t kPageBytes = 2 << 20;

 private:
  // Arrays from this size on are faulted in by a helper (smaller ones fault in quickly).
  static constexpr size_t kBackgroundFaultBytes = 16 << 20;

  // The thread faulting the array in, and how it is told to stop.
  struct Helper {
    std::atomic<bool> stop{false};
    std::thread thread;
  };

  // Starts the helper. Without a thread (none could be started), the caller's writes fault the
  // pages in; without MADV_POPULATE_WRITE (Linux before 5.14), so do they.
  void StartFaultIn() {
    auto helper = std::make_unique<Helper>();
    char* const memory = reinterpret_cast<char*>(data_);
    const size_t bytes = bytes_;
    std::atomic<bool>* stop = &helper->stop;
    try {
      helper->thread = std::thread([memory, bytes, stop] {
        for (size_t end = bytes; end > 0 && !stop->load(std::memory_order_relaxed);) {
          const size_t begin = end > kPageBytes ? end - kPageBytes : 0;
          if (::madvise(memory + begin, end - begin, MADV_POPULATE_WRITE) != 0) return;
          end = begin;
        }
      });
    } catch (const std::system_error&) {
      return;
    }
    helper_ = std::move(helper);
  }

  void Release() {
    if (helper_ != nullptr) {
      helper_->stop.store(true, std::memory_order_relaxed);
      helper_->thread.join();
      helper_.reset();
    }
    if (data_ != nullptr) ::munmap(data_, bytes_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
  std::unique_ptr<Helper> helper_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_HUGE_ARRAY_H_
