#include "sink/event_json.h"

#include <fmt/format.h>

#include "base/json_escape.h"
#include "csv/csv_scan.h"

namespace snapdelta {
namespace {

// A JSON string literal, a slice at a time when it is long and there is a drain.
void AppendValue(std::string* out, std::string_view value, const JsonDrain& drain) {
  out->push_back('"');
  if (!drain || value.size() <= kJsonSliceBytes) {
    AppendJsonEscaped(out, value);
  } else {
    for (size_t begin = 0; begin < value.size(); begin += kJsonSliceBytes) {
      AppendJsonEscaped(out, value.substr(begin, kJsonSliceBytes));
      drain(out);
    }
  }
  out->push_back('"');
}

void AppendColumns(std::string* out, std::string_view name, const Columns& columns,
                   const JsonDrain& drain) {
  out->append(",\"");
  out->append(name);
  out->append("\":{");
  for (size_t i = 0; i < columns.names.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, columns.names[i]);
    out->push_back(':');
    if (columns.values[i].is_null) {
      out->append("null");
    } else {
      AppendValue(out, columns.values[i].value, drain);
    }
  }
  out->push_back('}');
}

// About the JSON size of `columns` when no value needs escaping.
size_t ColumnsSizeHint(const Columns& columns) {
  size_t size = 0;
  for (size_t i = 0; i < columns.names.size(); ++i) {
    size += columns.names[i].size() + columns.values[i].value.size() + 6;
  }
  return size;
}

// Appends `value` as AppendJsonString does, with each byte that is not valid UTF-8 written as
// U+FFFD. For the import's identity, which comes from names and flags, not from the validated
// CSV reader: the line stays valid JSON whatever the name.
void AppendJsonText(std::string* out, std::string_view value) {
  size_t bad = csv_scan::FindInvalidUtf8(value.data(), value.size());
  if (bad == value.size()) return AppendJsonString(out, value);
  std::string text;
  while (!value.empty()) {
    bad = csv_scan::FindInvalidUtf8(value.data(), value.size());
    text.append(value.substr(0, bad));
    if (bad == value.size()) break;
    // A NUL is valid UTF-8 that FindInvalidUtf8 stops at; AppendJsonString escapes it.
    text.append(value[bad] == '\0' ? std::string_view("\0", 1) : "\xef\xbf\xbd");
    value.remove_prefix(bad + 1);
  }
  AppendJsonString(out, text);
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view value) {
  out->push_back('"');
  AppendJsonEscaped(out, value);
  out->push_back('"');
}

ImportJson::ImportJson(const ImportIdentity& import) {
  // The id is "<tenant>/<table>/<version>/<seq>" as one JSON text: its prefix ends in an ASCII
  // '/', so it is escaped (bytes that are not UTF-8 replaced) as it would be with the seq after
  // it, and the seq's digits need no escape.
  id_prefix_ = "{\"id\":";
  AppendJsonText(&id_prefix_,
                 fmt::format("{}/{}/{}/", import.tenant, import.table, import.version));
  id_prefix_.pop_back();  // the closing quote: the seq goes first
  identity_ = ",\"tenant\":";
  AppendJsonText(&identity_, import.tenant);
  identity_ += ",\"table\":";
  AppendJsonText(&identity_, import.table);
  identity_ += ",\"version\":";
  AppendJsonText(&identity_, import.version);
}

void AppendEventJson(std::string* out, const ImportIdentity& import, const ChangeEvent& event,
                     const JsonDrain& drain) {
  AppendEventJson(out, ImportJson(import), event, drain);
}

void AppendEventJson(std::string* out, const ImportJson& import, const ChangeEvent& event,
                     const JsonDrain& drain) {
  // Without a drain, reserved up front, so a large value grows `out` once instead of by
  // doublings and copies.
  size_t hint = 256 + import.id_prefix_.size() + import.identity_.size() +
                ColumnsSizeHint(event.key) + ColumnsSizeHint(event.row) +
                ColumnsSizeHint(event.before);
  for (std::string_view name : event.changed) hint += name.size() + 3;
  if (!drain) out->reserve(out->size() + hint);
  char digits[24];
  const std::string_view seq(digits,
                             static_cast<size_t>(fmt::format_to(digits, "{}", event.seq) - digits));
  out->append(import.id_prefix_);
  out->append(seq);
  out->append("\",\"op\":\"");
  out->append(ChangeOpName(event.op));
  out->push_back('"');
  out->append(import.identity_);
  out->append(",\"seq\":");
  out->append(seq);
  AppendColumns(out, "key", event.key, drain);
  if (event.op != ChangeOp::kDelete) AppendColumns(out, "row", event.row, drain);
  if (event.has_changed) {
    out->append(",\"changed\":[");
    for (size_t i = 0; i < event.changed.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(out, event.changed[i]);
    }
    out->push_back(']');
  }
  if (event.has_before) AppendColumns(out, "before", event.before, drain);
  out->append("}\n");
}

bool AppendRenumberedEvent(std::string* out, std::string_view line, uint64_t seq) {
  constexpr std::string_view kIdOpen = "{\"id\":\"";
  constexpr std::string_view kSeqField = ",\"seq\":";
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!line.starts_with(kIdOpen)) return false;
  size_t id_end = kIdOpen.size();  // the id's closing quote
  while (id_end < line.size() && line[id_end] != '"') id_end += line[id_end] == '\\' ? 2 : 1;
  if (id_end >= line.size()) return false;
  size_t id_seq = id_end;  // "<tenant>/<table>/<version>/<seq>": digits after the last '/'
  while (id_seq > kIdOpen.size() && is_digit(line[id_seq - 1])) --id_seq;
  if (id_seq == id_end || line[id_seq - 1] != '/') return false;
  // Names before "seq" are JSON strings, where a quote is escaped: the first match is the field.
  size_t seq_field = line.find(kSeqField, id_end);
  if (seq_field == std::string_view::npos) return false;
  size_t seq_begin = seq_field + kSeqField.size();
  size_t seq_end = seq_begin;
  while (seq_end < line.size() && is_digit(line[seq_end])) ++seq_end;
  if (seq_end == seq_begin) return false;
  const std::string number = std::to_string(seq);
  out->append(line.substr(0, id_seq));
  out->append(number);
  out->append(line.substr(id_end, seq_begin - id_end));
  out->append(number);
  out->append(line.substr(seq_end));
  return true;
}

}  // namespace snapdelta
