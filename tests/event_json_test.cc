// The change-file event format: renumbering an event line (the events of a partitioned import's
// parts are renumbered as they are assembled) gives exactly the line formatted with that seq.
#include "sink/event_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/json_escape.h"

namespace snapdelta {
namespace {

std::string Line(const ImportIdentity& import, ChangeOp op, uint64_t seq) {
  const std::vector<std::string> names = {"id", "v"};
  const std::vector<FieldValue> values = {FieldValue{"12", false},
                                          FieldValue{"x\",\"seq\":5", false}};
  ChangeEvent event;
  event.op = op;
  event.seq = seq;
  event.key = Columns{std::span(names).first(1), std::span(values).first(1)};
  if (op != ChangeOp::kDelete) event.row = Columns{names, values};
  std::string out;
  AppendEventJson(&out, import, event);
  return out;
}

// The escape scans eight bytes at a time: every byte value, at every offset of values up to 20
// bytes long (between plain ASCII, UTF-8 and bytes next to the escaped ones), is escaped as a
// byte-at-a-time reference does.
TEST(EventJson, ValuesAreEscapedAsAByteAtATimeReferenceDoes) {
  auto reference = [](std::string_view value) {
    std::string out;
    for (char ch : value) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += ch;
      }
    }
    return out;
  };
  for (const std::string filler : {"a", "\xc3\xa9", "\x1f", "!", "#", "[", "]", "\x7f"}) {
    for (size_t size = 1; size <= 20; ++size) {
      for (size_t at = 0; at < size; ++at) {
        for (int byte = 0; byte < 256; ++byte) {
          std::string value;
          while (value.size() < size) value += filler;
          value.resize(size);
          value[at] = static_cast<char>(byte);
          std::string out;
          AppendJsonEscaped(&out, value);
          ASSERT_EQ(out, reference(value)) << "byte " << byte << " at " << at << " of " << size;
        }
      }
    }
  }
}

TEST(EventJson, ARenumberedLineIsTheLineFormattedWithThatSeq) {
  // Names with quotes, backslashes, digits after a slash and a "seq" of their own.
  const ImportIdentity imports[] = {
      {"acme", "orders", "v0002"}, {"a\"b", "t\\", "v/9"}, {"x,\"seq\":1", "7", "2026/01"}};
  for (const ImportIdentity& import : imports) {
    for (ChangeOp op : {ChangeOp::kInsert, ChangeOp::kUpdate, ChangeOp::kDelete}) {
      for (uint64_t seq : {uint64_t{1}, uint64_t{9}, uint64_t{1000000007}}) {
        std::string renumbered;
        ASSERT_TRUE(AppendRenumberedEvent(&renumbered, Line(import, op, 3), seq));
        EXPECT_EQ(renumbered, Line(import, op, seq)) << import.tenant << " " << seq;
      }
    }
  }
}

TEST(EventJson, TheImportsIdentityIsEscapedOnceAndTheSameInEveryEvent) {
  // A quote, a backslash, a control character, a lone continuation byte and a truncated
  // sequence before the '/' that ends each part of the id.
  const ImportIdentity import{"a\"b", "t\\\x01", "v\x80\xe2\x82"};
  const std::string identity =
      "\"tenant\":\"a\\\"b\",\"table\":\"t\\\\\\u0001\","
      "\"version\":\"v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"";
  const std::string id = "a\\\"b/t\\\\\\u0001/v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/";
  const ImportJson once(import);
  for (uint64_t seq : {uint64_t{1}, uint64_t{18446744073709551615u}}) {
    ChangeEvent event;
    event.op = ChangeOp::kDelete;
    event.seq = seq;
    std::string formatted_once, formatted_each;
    AppendEventJson(&formatted_once, once, event);
    AppendEventJson(&formatted_each, import, event);
    EXPECT_EQ(formatted_once, formatted_each);
    const std::string seq_text = std::to_string(seq);
    EXPECT_EQ(formatted_once, "{\"id\":\"" + id + seq_text + "\",\"op\":\"DELETE\"," + identity +
                                  ",\"seq\":" + seq_text + ",\"key\":{}}\n");
  }
}

TEST(EventJson, RenumberingRefusesWhatIsNotAnEventLine) {
  for (const char* line : {"", "{}", "{\"id\":\"a/b/c/\",\"seq\":1}", "{\"id\":\"a/b/c/1\"}",
                           "{\"id\":\"a/b/c/1", "[\"id\"]", "{\"id\":\"a/b/c/1\",\"seq\":x}"}) {
    std::string out = "kept";
    EXPECT_FALSE(AppendRenumberedEvent(&out, line, 2)) << line;
    EXPECT_EQ(out, "kept");
  }
}

}  // namespace
}  // namespace snapdelta
