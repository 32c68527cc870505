#include "sink/event_json.h"

#include <fmt/format.h>

namespace snapdelta {
namespace {

void AppendColumns(std::string* out, std::string_view name, const Columns& columns) {
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
      AppendJsonString(out, columns.values[i].value);
    }
  }
  out->push_back('}');
}

}  // namespace

std::string_view ChangeOpName(ChangeOp op) {
  switch (op) {
    case ChangeOp::kInsert:
      return "INSERT";
    case ChangeOp::kUpdate:
      return "UPDATE";
    case ChangeOp::kDelete:
      return "DELETE";
  }
  return "?";
}

void AppendJsonString(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
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
  out->push_back('"');
}

void AppendEventJson(std::string* out, const ImportIdentity& import, const ChangeEvent& event) {
  out->append("{\"id\":");
  AppendJsonString(
      out, fmt::format("{}/{}/{}/{}", import.tenant, import.table, import.version, event.seq));
  out->append(",\"op\":\"");
  out->append(ChangeOpName(event.op));
  out->append("\",\"tenant\":");
  AppendJsonString(out, import.tenant);
  out->append(",\"table\":");
  AppendJsonString(out, import.table);
  out->append(",\"version\":");
  AppendJsonString(out, import.version);
  out->append(",\"seq\":");
  out->append(std::to_string(event.seq));
  AppendColumns(out, "key", event.key);
  if (event.op != ChangeOp::kDelete) AppendColumns(out, "row", event.row);
  if (event.has_changed) {
    out->append(",\"changed\":[");
    for (size_t i = 0; i < event.changed.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(out, event.changed[i]);
    }
    out->push_back(']');
  }
  if (event.has_before) AppendColumns(out, "before", event.before);
  out->append("}\n");
}

}  // namespace snapdelta
