// Byte tests eight bytes at a time in a 64-bit word, for the scanners of CSV text (csv/csv_scan.h)
// and of JSON strings (base/json_escape.h). Results mark bytes with bit 7; bits above the first
// marked byte may be spurious, so only the lowest set bit is exact.
#ifndef SNAPDELTA_BASE_WORD_SCAN_H_
#define SNAPDELTA_BASE_WORD_SCAN_H_

#include <bit>
#include <cstdint>

namespace snapdelta {

static_assert(std::endian::native == std::endian::little, "word scans assume little endian");

inline constexpr uint64_t kHighBits = 0x8080808080808080ULL;
inline constexpr uint64_t kLowBits = 0x0101010101010101ULL;

// Bit 7 of a result byte is set where `word` holds `byte`.
inline uint64_t MatchByte(uint64_t word, uint8_t byte) {
  const uint64_t x = word ^ (kLowBits * byte);
  return (x - kLowBits) & ~x & kHighBits;
}

// Bit 7 of a result byte is set where `word` holds a byte below `bound`. REQUIRES: bound <= 0x80.
inline uint64_t MatchBelow(uint64_t word, uint8_t bound) {
  return (word - kLowBits * bound) & ~word & kHighBits;
}

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_WORD_SCAN_H_
