// The change-file event format: renumbering an event line (the events of a partitioned import's
// parts are renumbered as they are assembled) gives exactly the line formatted with that seq.
#include "sink/event_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
