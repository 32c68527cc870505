#include "serve/status_server.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/import_json.h"
#include "serve/metrics.h"
#include "serve/status_page.h"

namespace snapdelta {
namespace {

constexpr auto kStopPoll = std::chrono::milliseconds(200);
constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";

void Fail(httplib::Response& res, const Status& status) {
  res.status = 503;
  res.set_content("registry unavailable: " + status.message() + "\n", kText);
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

Status ServeStatus(Registry* registry, const StatusServerOptions& options) {
  httplib::Server server;
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", kText);
  });
  server.Get("/readyz", [registry](const httplib::Request&, httplib::Response& res) {
    StatusOr<std::optional<Lease>> read = registry->GetLease(".snapdelta", "discovery");
    if (!read.ok()) return Fail(res, read.status());
    res.set_content("ready\n", kText);
  });
  server.Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    StatusOr<RegistrySnapshot> snapshot = registry->Snapshot();
    if (!snapshot.ok()) return Fail(res, snapshot.status());
    res.set_content(RenderMetrics(*snapshot, SystemClockMs()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/api/imports", [registry](const httplib::Request&, httplib::Response& res) {
    StatusOr<std::vector<ImportRecord>> imports = registry->ListImports();
    if (!imports.ok()) return Fail(res, imports.status());
    nlohmann::json array = nlohmann::json::array();
    for (const ImportRecord& record : *imports) array.push_back(ImportJson(record));
    res.set_content(array.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                    "application/json");
  });
  server.Get("/", [registry](const httplib::Request&, httplib::Response& res) {
    StatusOr<RegistrySnapshot> snapshot = registry->Snapshot();
    if (!snapshot.ok()) return Fail(res, snapshot.status());
    res.set_content(RenderStatusPage(*snapshot, SystemClockMs()), kHtml);
  });
  server.Get(R"(/tables/([^/]+)/([^/]+))", [registry](const httplib::Request& req,
                                                      httplib::Response& res) {
    StatusOr<RegistrySnapshot> snapshot = registry->Snapshot();
    if (!snapshot.ok()) return Fail(res, snapshot.status());
    std::string page = RenderTablePage(*snapshot, req.matches[1], req.matches[2], SystemClockMs());
    if (page.empty()) {
      res.status = 404;
      res.set_content("no imports of that table\n", kText);
      return;
    }
    res.set_content(page, kHtml);
  });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return UnavailableError("cannot listen on " + options.host + ":" +
                            std::to_string(options.port) +
                            " (in use, or not an address of this machine)");
  }
  if (options.on_listening) options.on_listening(port);
  std::atomic<bool> ended{false};
  std::thread stopper([&] {
    while (!options.stop->load() && !ended.load()) std::this_thread::sleep_for(kStopPoll);
    server.stop();
  });
  bool served = server.listen_after_bind();
  ended = true;
  stopper.join();
  if (!served && !options.stop->load()) {
    return UnavailableError("the server on " + options.host + ":" + std::to_string(port) +
                            " stopped accepting connections");
  }
  return Status::OK();
}

}  // namespace snapdelta
