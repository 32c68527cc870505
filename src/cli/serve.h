// The status server from the command line: `snapdelta serve`, and `--serve` of watch and worker
// (the server on a thread beside the work).
#ifndef SNAPDELTA_CLI_SERVE_H_
#define SNAPDELTA_CLI_SERVE_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <thread>

#include "serve/status_server.h"
#include "snapdelta/registry.h"

namespace snapdelta::cli {

inline constexpr char kDefaultListen[] = "127.0.0.1:8700";

// "HOST:PORT" ("[::1]:8700" for IPv6; port 0: any free one) as server options. A host that is
// not a loopback address needs `allow_remote` (kInvalidArgument saying so).
StatusOr<StatusServerOptions> ParseListen(const std::string& listen, bool allow_remote);

// A status server on its own thread until the stop flag is set (or the object goes).
class ServerThread {
 public:
  ServerThread() = default;
  ~ServerThread();
  // Opens the registry at `registry_url` read-only and starts serving it; prints the address.
  Status Start(const std::string& registry_url, StatusServerOptions options);

 private:
  std::unique_ptr<Registry> registry_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_SERVE_H_
