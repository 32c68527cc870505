// OpenRegistry: the backend a registry URL names (registry.h).
#include "base/fs.h"
#include "snapdelta/registry.h"

namespace snapdelta {

bool IsPostgresUrl(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

StatusOr<std::unique_ptr<Registry>> OpenRegistry(const std::string& url, RegistryAccess access) {
  if (url.empty()) return InvalidArgumentError("no registry named");
  if (IsPostgresUrl(url)) return OpenPostgresRegistry(url);
  const std::string& path = url;
  if (path.find("://") != std::string::npos) {
    return InvalidArgumentError("registry " + url +
                                ": not a registry URL; use postgresql://USER@HOST:PORT/DB or a "
                                "SQLite file path");
  }
  if (access != RegistryAccess::kCreate && !PathExists(path)) {
    return NotFoundError(path + ": no registry here; run `snapdelta run` first, or check --home");
  }
  if (access == RegistryAccess::kReadOnly) return OpenSqliteRegistryReadOnly(path);
  return OpenSqliteRegistry(path);
}

}  // namespace snapdelta
