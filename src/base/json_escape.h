// JSON string escaping, shared by the event formatter (hot: one call per field) and the log's
// quoted values.
#ifndef SNAPDELTA_BASE_JSON_ESCAPE_H_
#define SNAPDELTA_BASE_JSON_ESCAPE_H_

#include <string>
#include <string_view>

namespace snapdelta {

// Appends `value` with JSON escapes (quote, backslash, control characters), without quotes.
// Bytes of 0x80 and above pass through as they are. Inline: the event formatter calls it per
// field.
inline void AppendJsonEscaped(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run_start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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
