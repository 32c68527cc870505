#include "publish/stream.h"

namespace snapdelta {

std::string DestinationFor(std::string_view name_template, std::string_view tenant,
                           std::string_view table) {
  std::string out;
  for (size_t i = 0; i < name_template.size();) {
    std::string_view rest = name_template.substr(i);
    if (rest.starts_with("{tenant}")) {
      out.append(tenant);
      i += 8;
    } else if (rest.starts_with("{table}")) {
      out.append(table);
      i += 7;
    } else {
      out.push_back(name_template[i++]);
    }
  }
  return out;
}

}  // namespace snapdelta
