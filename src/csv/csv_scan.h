// Byte-scanning primitives of the CSV reader: a classifier of 64 bytes at a time (AVX2, SSE2 or
// scalar, as the build allows) for the fast path of plain records, a word-at-a-time search for
// field ends and a UTF-8 validator with an ASCII fast path. Used by the CSV reader, and by
// discovery and the event writer to check names are UTF-8; pure functions, safe from any thread.
#ifndef SNAPDELTA_CSV_CSV_SCAN_H_
#define SNAPDELTA_CSV_CSV_SCAN_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/word_scan.h"

#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace snapdelta::csv_scan {

// Returns the first `delimiter` or LF at or after `p`, reading 8 bytes at a time.
// REQUIRES: an LF follows `p` within the readable bytes, and 7 readable bytes follow that LF.
inline const char* FindDelimiterOrLf(const char* p, char delimiter) {
  while (true) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    const uint64_t match = MatchByte(word, static_cast<uint8_t>(delimiter)) | MatchByte(word, '\n');
    if (match != 0) return p + (std::countr_zero(match) >> 3);
    p += 8;
  }
}

// Where the 64 bytes at `p` hold the delimiter, an LF, a byte the fast path of a record does not
// handle (a quote, CR or NUL), and a byte above 0x7f (to be checked as UTF-8): bit i for byte i.
struct ByteClasses {
  uint64_t delimiter = 0;
  uint64_t line_feed = 0;
  uint64_t special = 0;
  uint64_t non_ascii = 0;
};

// REQUIRES: 64 readable bytes at `p`; `delimiter` is not a quote, CR or LF.
inline ByteClasses Classify64(const char* p, char delimiter) {
  ByteClasses classes;
#if defined(__AVX2__)
  const __m256i delimiters = _mm256_set1_epi8(delimiter);
  const __m256i line_feeds = _mm256_set1_epi8('\n');
  const __m256i quotes = _mm256_set1_epi8('"');
  const __m256i returns = _mm256_set1_epi8('\r');
  const __m256i zeros = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * half));
    const auto bits = [](__m256i match) {
      return uint64_t{static_cast<uint32_t>(_mm256_movemask_epi8(match))};
    };
    const __m256i special = _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(bytes, quotes), _mm256_cmpeq_epi8(bytes, returns)),
        _mm256_cmpeq_epi8(bytes, zeros));
    classes.delimiter |= bits(_mm256_cmpeq_epi8(bytes, delimiters)) << (32 * half);
    classes.line_feed |= bits(_mm256_cmpeq_epi8(bytes, line_feeds)) << (32 * half);
    classes.special |= bits(special) << (32 * half);
    classes.non_ascii |= bits(bytes) << (32 * half);  // the high bit of each byte
  }
#elif defined(__SSE2__)
  const __m128i delimiters = _mm_set1_epi8(delimiter);
  const __m128i line_feeds = _mm_set1_epi8('\n');
  const __m128i quotes = _mm_set1_epi8('"');
  const __m128i returns = _mm_set1_epi8('\r');
  const __m128i zeros = _mm_setzero_si128();
  for (int quarter = 0; quarter < 4; ++quarter) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * quarter));
    const auto bits = [](__m128i match) {
      return uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(match))};
    };
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quotes), _mm_cmpeq_epi8(bytes, returns)),
                     _mm_cmpeq_epi8(bytes, zeros));
    classes.delimiter |= bits(_mm_cmpeq_epi8(bytes, delimiters)) << (16 * quarter);
    classes.line_feed |= bits(_mm_cmpeq_epi8(bytes, line_feeds)) << (16 * quarter);
    classes.special |= bits(special) << (16 * quarter);
    classes.non_ascii |= bits(bytes) << (16 * quarter);  // the high bit of each byte
  }
#else
  for (int i = 0; i < 64; ++i) {
    const auto byte = static_cast<uint8_t>(p[i]);
    const uint64_t bit = uint64_t{1} << i;
    if (byte == static_cast<uint8_t>(delimiter)) classes.delimiter |= bit;
    if (byte == '\n') classes.line_feed |= bit;
    if (byte == '"' || byte == '\r' || byte == 0) classes.special |= bit;
    if (byte >= 0x80) classes.non_ascii |= bit;
  }
#endif
  return classes;
}

// The number of LF bytes from `p` on, before `end` or another byte: runs of empty lines are
// skipped eight bytes at a time.
inline size_t CountLf(const char* p, const char* end) {
  const char* q = p;
  for (uint64_t word; q + 8 <= end; q += 8) {
    std::memcpy(&word, q, 8);
    if (word != kLowBits * '\n') break;
  }
  while (q < end && *q == '\n') ++q;
  return static_cast<size_t>(q - p);
}

// Returns the offset of the first byte in [data, data + size) that is NUL or starts an invalid
// UTF-8 sequence (overlong, surrogate, above U+10FFFF, truncated), or `size` when there is none.
inline size_t FindInvalidUtf8(const char* data, size_t size) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  size_t i = 0;
  while (i < size) {
    for (; i + 8 <= size; i += 8) {  // ASCII fast path: no high bit and no zero byte
      uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      if (((word & kHighBits) | MatchByte(word, 0)) != 0) break;
    }
    if (i >= size) break;
    const uint8_t lead = bytes[i];
    if (lead < 0x80) {
      if (lead == 0) return i;
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      len = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      len = 3;
      if (lead == 0xe0) lo = 0xa0;  // overlong
      if (lead == 0xed) hi = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      len = 4;
      if (lead == 0xf0) lo = 0x90;  // overlong
      if (lead == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > size || bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return i;
    }
    i += len;
  }
  return size;
}

// The number of fields the first record of `text` would have if `delimiter` separated them;
// quotes hide delimiters and line breaks. Used to suggest a delimiter in error messages.
inline size_t CountFields(std::string_view text, char delimiter) {
  size_t count = 1;
  bool in_quotes = false;
  for (char c : text) {
    if (c == '"') {
      in_quotes = !in_quotes;
    } else if (!in_quotes && c == delimiter) {
      ++count;
    } else if (!in_quotes && c == '\n') {
      break;
    }
  }
  return count;
}

}  // namespace snapdelta::csv_scan

#endif  // SNAPDELTA_CSV_CSV_SCAN_H_
