// Byte encodings shared by the differ and the state file: little-endian fixed integers and
// LEB128 varints (LevelDB util/coding.h). Decoders return false on truncated input.
#ifndef SNAPDELTA_DIFF_CODING_H_
#define SNAPDELTA_DIFF_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace snapdelta {

inline void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

// The bytes PutVarint64 writes for `v`.
inline size_t VarintLength(uint64_t v) {
  size_t length = 1;
  for (; v >= 0x80; v >>= 7) ++length;
  return length;
}

// Writes `v` as PutVarint64 does at `dst`; returns the byte after it.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  for (; v >= 0x80; v >>= 7) *dst++ = static_cast<char>(v | 0x80);
  *dst++ = static_cast<char>(v);
  return dst;
}

inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);  // snapdelta runs on little-endian machines only
  dst->append(buf, 8);
}

inline bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  std::memcpy(v, in->data(), 8);
  in->remove_prefix(8);
  return true;
}

inline void PutLengthPrefixed(std::string* dst, std::string_view value) {
  PutVarint64(dst, value.size());
  dst->append(value);
}

inline bool GetLengthPrefixed(std::string_view* in, std::string_view* value) {
  uint64_t len = 0;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *value = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_CODING_H_
