// The change-event wire format: one JSON object per line (DESIGN.md, "Event format"):
//   {"id":"<tenant>/<table>/<version>/<seq>","op":"INSERT|UPDATE|DELETE","tenant":..,
//    "table":..,"version":..,"seq":N,"key":{..},"row":{..},"changed":[..],"before":{..}}
// `row` for INSERT and UPDATE; `changed` for UPDATE when the old row is known; `before` with
// before-images. Values are JSON strings (null for a null-marker value); bytes other than
// '"', '\\' and control characters pass through unchanged (input is validated UTF-8).
#ifndef SNAPDELTA_SINK_EVENT_JSON_H_
#define SNAPDELTA_SINK_EVENT_JSON_H_

#include <string>
#include <string_view>

#include "snapdelta/change.h"

namespace snapdelta {

// Appends `value` as a JSON string literal, quotes included.
void AppendJsonString(std::string* out, std::string_view value);

// Appends one event as a JSON object followed by '\n'.
void AppendEventJson(std::string* out, const ImportIdentity& import, const ChangeEvent& event);

}  // namespace snapdelta

#endif  // SNAPDELTA_SINK_EVENT_JSON_H_
