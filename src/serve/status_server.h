// The status server (`snapdelta serve`, and `watch --serve` / `worker --serve` beside the work):
// HTTP on one address, reading the registry on every request and never writing it.
//   /                          the status page: per table its last import, counts, rows/s, the
//                              lease holder while one runs, held imports with the command that
//                              releases or skips them, failures with their message; refreshes
//                              itself every 5 s
//   /tables/<tenant>/<table>   one table's history, with a chart of changes per import
//   /metrics                   Prometheus text format (serve/metrics.h)
//   /api/imports               the JSON of `status --json`
//   /healthz                   200 while the server runs
//   /readyz                    200 while the registry can be read, 503 (with why) otherwise
// Pages are self-contained (inline CSS and SVG, no scripts from elsewhere): they work offline.
#ifndef SNAPDELTA_SERVE_STATUS_SERVER_H_
#define SNAPDELTA_SERVE_STATUS_SERVER_H_

#include <atomic>
#include <functional>
#include <string>

#include "snapdelta/registry.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct StatusServerOptions {
  std::string host = "127.0.0.1";
  int port = 8700;  // 0: any free port (on_listening says which)
  // Stops the server once true (checked a few times a second). Required.
  const std::atomic<bool>* stop = nullptr;
  // Called once the address is bound, with the port. Default: none.
  std::function<void(int port)> on_listening;
};

// Serves until *options.stop. Errors: kUnavailable when the address cannot be bound (named).
Status ServeStatus(Registry* registry, const StatusServerOptions& options);

// Whether `host` is a loopback address ("127.0.0.1", "::1", "localhost", 127.0.0.0/8).
bool IsLoopbackHost(const std::string& host);

}  // namespace snapdelta

#endif  // SNAPDELTA_SERVE_STATUS_SERVER_H_
