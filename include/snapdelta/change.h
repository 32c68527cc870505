// ChangeEvent: one INSERT, UPDATE or DELETE produced by the differ, handed to a Sink.
//
// An event is a set of views into the differ's buffers: it is valid only during the
// Sink::Put call that receives it. A sink that keeps anything copies it.
#ifndef SNAPDELTA_CHANGE_H_
#define SNAPDELTA_CHANGE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace snapdelta {

// Printed in events as "INSERT", "UPDATE", "DELETE": do not rename.
enum class ChangeOp { kInsert, kUpdate, kDelete };
std::string_view ChangeOpName(ChangeOp op);

// A value as exported; is_null when it matched the null marker.
struct FieldValue {
  std::string_view value;
  bool is_null = false;
};

// Names and values of a set of columns, in the same order.
struct Columns {
  std::span<const std::string> names;
  std::span<const FieldValue> values;
  bool empty() const { return names.empty(); }
};

struct ChangeEvent {
  ChangeOp op = ChangeOp::kInsert;
  uint64_t seq = 0;  // 1-based position in the import's event sequence
  Columns key;       // the key columns
  Columns row;       // the new row: INSERT and UPDATE; empty for DELETE
  Columns before;    // the old row, when before-images are on: UPDATE and DELETE
  bool has_before = false;
  std::span<const std::string_view> changed;  // UPDATE: the columns that differ
  bool has_changed = false;                   // false when the old row is not known
};

// Where the events of one import belong; part of every event's id.
struct ImportIdentity {
  std::string tenant;
  std::string table;
  std::string version;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_CHANGE_H_
