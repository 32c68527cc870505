#include "sink/debezium.h"

#include <vector>

namespace snapdelta {
namespace {

StatusOr<const nlohmann::json*> Member(const nlohmann::json& event, const char* name,
                                       bool (nlohmann::json::*is)() const noexcept) {
  auto it = event.find(name);
  if (it == event.end() || !((*it).*is)()) {
    return CorruptionError(std::string("not a snapdelta event: no ") + name + " in " +
                           event.dump().substr(0, 200));
  }
  return &*it;
}

// Compact JSON; never throws (invalid UTF-8, impossible in parsed events, becomes U+FFFD).
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Status ToDebezium(const nlohmann::json& event, const DebeziumContext& context, bool tombstones,
                  std::vector<KafkaMessage>* out) {
  if (!event.is_object()) return CorruptionError("not a snapdelta event: not a JSON object");
  ASSIGN_OR_RETURN(const nlohmann::json* op, Member(event, "op", &nlohmann::json::is_string));
  ASSIGN_OR_RETURN(const nlohmann::json* key, Member(event, "key", &nlohmann::json::is_object));
  ASSIGN_OR_RETURN(const nlohmann::json* seq,
                   Member(event, "seq", &nlohmann::json::is_number_unsigned));
  const std::string& name = op->get_ref<const std::string&>();
  nlohmann::json value = nlohmann::json::object();
  auto before = event.find("before");
  auto row = event.find("row");
  const bool is_delete = name == "DELETE";
  if (name == "INSERT") {
    value["op"] = context.snapshot ? "r" : "c";
  } else if (name == "UPDATE") {
    value["op"] = "u";
  } else if (is_delete) {
    value["op"] = "d";
  } else {
    return CorruptionError("not a snapdelta event: op \"" + name + "\"");
  }
  if (!is_delete && (row == event.end() || !row->is_object())) {
    return CorruptionError("not a snapdelta event: " + name + " without row");
  }
  value["before"] = before != event.end() ? *before : is_delete ? *key : nlohmann::json();
  value["after"] = is_delete ? nlohmann::json() : *row;
  value["source"] = {{"connector", "snapdelta"},
                     {"name", event.value("tenant", "")},
                     {"db", event.value("tenant", "")},
                     {"table", event.value("table", "")},
                     {"version", event.value("version", "")},
                     {"seq", *seq},
                     {"snapshot", context.snapshot ? "true" : "false"},
                     {"ts_ms", context.export_ts_ms}};
  value["ts_ms"] = context.now_ms;
  const std::string key_text = Dump(*key);
  out->push_back(KafkaMessage{key_text, Dump(value)});
  if (is_delete && tombstones) out->push_back(KafkaMessage{key_text, std::nullopt});
  return Status::OK();
}

}  // namespace snapdelta
