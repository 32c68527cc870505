// The change-event wire format: one JSON object per line (README.md, "Event format"):
//   {"id":"<tenant>/<table>/<version>/<seq>","op":"INSERT|UPDATE|DELETE","tenant":..,
//    "table":..,"version":..,"seq":N,"key":{..},"row":{..},"changed":[..],"before":{..}}
// `row` for INSERT and UPDATE; `changed` for UPDATE when the old row is known; `before` with
// before-images. Values are JSON strings (null for a null-marker value); bytes other than
// '"', '\\' and control characters pass through unchanged (input is validated UTF-8). In the
// import's identity (id, tenant, table, version), bytes that are not UTF-8 become U+FFFD.
#ifndef SNAPDELTA_SINK_EVENT_JSON_H_
#define SNAPDELTA_SINK_EVENT_JSON_H_

#include <functional>
#include <string>
#include <string_view>

#include "snapdelta/change.h"

namespace snapdelta {

// Appends `value` as a JSON string literal, quotes included.
void AppendJsonString(std::string* out, std::string_view value);

// Takes the JSON text appended to `out` so far, and empties `out`.
using JsonDrain = std::function<void(std::string* out)>;
// Values longer than this are appended in slices of it when there is a drain.
inline constexpr size_t kJsonSliceBytes = 1 << 20;

// An import's identity as each of its events carries it (the id's prefix, tenant, table and
// version), formatted once per import instead of once per event.
class ImportJson {
 public:
  ImportJson() = default;
  explicit ImportJson(const ImportIdentity& import);

 private:
  friend void AppendEventJson(std::string* out, const ImportJson& import, const ChangeEvent& event,
                              const JsonDrain& drain);
  std::string id_prefix_;  // {"id":"<tenant>/<table>/<version>/
  std::string identity_;   // ,"tenant":"..","table":"..","version":".."
};

// Appends one event as a JSON object followed by '\n'. With `drain`, a value longer than
// kJsonSliceBytes passes through `out` a slice at a time (`drain` is called between slices), so
// a large field is never held twice; without, `out` grows once to the event's size.
void AppendEventJson(std::string* out, const ImportJson& import, const ChangeEvent& event,
                     const JsonDrain& drain = nullptr);
// The same, formatting the import's identity for this one event.
void AppendEventJson(std::string* out, const ImportIdentity& import, const ChangeEvent& event,
                     const JsonDrain& drain = nullptr);

// Appends `line` (one event as AppendEventJson wrote it, with or without its '\n') with its seq
// changed to `seq`, in the id and in "seq". False, appending nothing, when `line` does not
// start like such an event.
bool AppendRenumberedEvent(std::string* out, std::string_view line, uint64_t seq);

}  // namespace snapdelta

#endif  // SNAPDELTA_SINK_EVENT_JSON_H_
