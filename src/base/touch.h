// TouchAll: loads the cache lines at a group of addresses, all at once, for accesses soon after.
//
// Not a prefetch instruction: on the VMs measured (AMD EPYC and Intel Xeon, 2 vCPUs), software
// prefetches of random lines in a large table were dropped (a probe cost a full miss, ~300 ns,
// at any prefetch distance), while plain loads of a group of lines, independent of each other,
// overlap their misses and cost about one miss for the whole group.
#ifndef SNAPDELTA_BASE_TOUCH_H_
#define SNAPDELTA_BASE_TOUCH_H_

#include <algorithm>
#include <cstddef>

namespace snapdelta {

// Reads a byte at address_of(i) for i in [0, count).
template <typename AddressOf>
inline void TouchAll(size_t count, AddressOf address_of) {
  unsigned char any = 0;
  for (size_t i = 0; i < count; ++i) {
    any |= *static_cast<const unsigned char*>(static_cast<const void*>(address_of(i)));
  }
  asm volatile("" : : "r"(any));  // the bytes are used: the loads are not removed
}

// Items are touched a group of this many at a time, the group ahead of the item in use: enough
// for the misses to overlap and the lines to arrive in time, few enough not to evict them again.
inline constexpr size_t kTouchGroup = 16;

// For a loop over items [0, count) about to use item i: at the start of each group, touches the
// next group's address_of(j) (and, at item 0, the first group's too).
template <typename AddressOf>
inline void TouchAhead(size_t i, size_t count, AddressOf address_of) {
  if (i % kTouchGroup != 0) return;
  auto group = [&](size_t begin) {
    if (begin >= count) return;
    TouchAll(std::min(kTouchGroup, count - begin), [&](size_t k) { return address_of(begin + k); });
  };
  if (i == 0) group(0);
  group(i + kTouchGroup);
}

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_TOUCH_H_
