// How fast this machine hands a process fresh memory: the rate at which 256 MiB of new anonymous
// memory is faulted in by first writes, in transparent huge pages, and again after that mapping
// is unmapped (memory the kernel has just had back, so the host has not taken it yet).
// bench/compare.sh records it beside the benchmark: every byte of snapdelta's key table and
// arenas is such memory, and on VMs whose host takes freed memory back (virtio-balloon free page
// reporting) a first touch costs ten times a reuse, which explains a slower machine.
//
//   snapdelta-fresh-memory      prints: fresh=GB/s reused=GB/s
#include <sys/mman.h>

#include <chrono>
#include <cstddef>
#include <cstdio>

namespace {

constexpr size_t kBytes = size_t{256} << 20;
constexpr size_t kStride = 4096;  // one write per base page faults every page in

// Maps kBytes, faults them in with one write per page, unmaps them; returns GB/s (0 on failure).
double FaultInRate() {
  void* memory =
      ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return 0;
  ::madvise(memory, kBytes, MADV_HUGEPAGE);  // as snapdelta's tables and arenas ask
  auto* bytes = static_cast<volatile char*>(memory);
  const auto start = std::chrono::steady_clock::now();
  for (size_t offset = 0; offset < kBytes; offset += kStride) bytes[offset] = 1;
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  ::munmap(memory, kBytes);
  return seconds.count() > 0 ? static_cast<double>(kBytes) / seconds.count() / 1e9 : 0;
}

}  // namespace

int main() {
  const double fresh = FaultInRate();
  const double reused = FaultInRate();
  std::printf("fresh=%.2f reused=%.2f\n", fresh, reused);
  return fresh > 0 && reused > 0 ? 0 : 1;
}
