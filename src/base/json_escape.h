// JSON string escaping, shared by the event formatter (hot: one call per field) and the log's
// quoted values.
#ifndef SNAPDELTA_BASE_JSON_ESCAPE_H_
#define SNAPDELTA_BASE_JSON_ESCAPE_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/word_scan.h"

namespace snapdelta {

// The offset of the first byte at or after `from` that JSON must escape (a quote, a backslash,
// a control character), or value.size(). Eight bytes at a time: a field is scanned in a step or
// two.
inline size_t FindJsonEscape(std::string_view value, size_t from) {
  size_t i = from;
  for (; i + 8 <= value.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, value.data() + i, 8);
    const uint64_t found = MatchBelow(word, 0x20) | MatchByte(word, '"') | MatchByte(word, '\\');
    if (found != 0) return i + (std::countr_zero(found) >> 3);
  }
  for (; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return value.size();
}

// Appends `value` with JSON escapes (quote, backslash, control characters), without quotes.
// Bytes of 0x80 and above pass through as they are. Inline: the event formatter calls it per
// field.
inline void AppendJsonEscaped(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run_start = 0;
  for (size_t i = FindJsonEscape(value, 0); i < value.size(); i = FindJsonEscape(value, i + 1)) {
    const auto c = static_cast<unsigned char>(value[i]);
    out->append(value.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(value.data() + run_start, value.size() - run_start);
}

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_JSON_ESCAPE_H_
