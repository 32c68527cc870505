// snapdelta/change.h: the names of the change operations, as events spell them.
#include "snapdelta/change.h"

namespace snapdelta {

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

}  // namespace snapdelta
