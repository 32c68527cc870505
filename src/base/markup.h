// Escaping text for XML and HTML documents (S3 request bodies, the status page).
#ifndef SNAPDELTA_BASE_MARKUP_H_
#define SNAPDELTA_BASE_MARKUP_H_

#include <string>
#include <string_view>

namespace snapdelta {

// `text` with &, <, > and " escaped: safe as element content and inside a quoted attribute.
inline std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_MARKUP_H_
