// `snapdelta serve`: the status page, Prometheus metrics and the imports as JSON over HTTP
// (serve/status_server.h), read from the registry in use; never writes it.
#include <future>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/serve.h"
#include "pipeline/importer.h"

namespace snapdelta::cli {
namespace {

// "serving http://HOST:PORT/" (an IPv6 address in brackets), once the server listens.
void PrintServing(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  PrintNotice(
      LogLevel::kInfo, "serving",
      "serving http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/");
}

}  // namespace

StatusOr<StatusServerOptions> ParseListen(const std::string& listen, bool allow_remote) {
  StatusServerOptions options;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return InvalidArgumentError("--listen " + listen + ": expected HOST:PORT, e.g. " +
                                kDefaultListen);
  }
  options.host = listen.substr(0, colon);
  if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  long number = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || number < 0 || number > 65535) {
    return InvalidArgumentError("--listen " + listen + ": the port must be 0 to 65535");
  }
  options.port = static_cast<int>(number);
  if (!allow_remote && !IsLoopbackHost(options.host)) {
    return InvalidArgumentError("--listen " + listen +
                                ": not a loopback address; the status page and metrics are "
                                "readable by anyone who can reach it: add --allow-remote to "
                                "serve them there");
  }
  return options;
}

ServerThread::~ServerThread() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Status ServerThread::Start(const std::string& registry_url, StatusServerOptions options) {
  ASSIGN_OR_RETURN(registry_, OpenRegistry(registry_url, RegistryAccess::kReadOnly));
  options.stop = &stop_;
  auto listening = std::make_shared<std::promise<Status>>();
  std::future<Status> bound = listening->get_future();
  options.on_listening = [listening, host = options.host](int port) {
    PrintServing(host, port);
    listening->set_value(Status::OK());
  };
  thread_ = std::thread([this, options, listening] {
    Status served = ServeStatus(registry_.get(), options);
    if (!served.ok()) {
      try {
        listening->set_value(served);
      } catch (const std::future_error&) {  // it failed after listening: say so
        PrintError(served);
      }
    }
  });
  return bound.get();
}

CommandAction AddServeCommand(CLI::App* app) {
  auto flags = std::make_shared<CommonFlags>();
  auto listen = std::make_shared<std::string>(kDefaultListen);
  auto allow_remote = std::make_shared<bool>(false);
  CLI::App* command = app->add_subcommand(
      "serve", "Serve a status page, Prometheus metrics and the imports as JSON over HTTP.");
  command->footer(
      "Pages: / (status, refreshes itself), /tables/TENANT/TABLE (history), /metrics "
      "(Prometheus), /api/imports (the JSON of status --json), /healthz, /readyz. Reads the "
      "registry, never changes it.\n\n"
      "Examples:\n"
      "  snapdelta serve --home ./.snapdelta\n"
      "  snapdelta serve --registry postgresql://snapdelta@db.internal/snapdelta \\\n"
      "      --listen 0.0.0.0:8700 --allow-remote\n\n"
      "Stops on SIGINT/SIGTERM. Exit status: 0 when stopped, 1 when the registry cannot be "
      "opened, 2 for usage errors (an address that cannot be bound).");
  AddCommonFlags(command, flags.get(), false);
  command->add_option("--listen", *listen, "HOST:PORT to serve on (port 0: any free one)")
      ->capture_default_str();
  command->add_flag("--allow-remote", *allow_remote,
                    "Allow a --listen address that is not loopback (anyone reaching it can read "
                    "the page)");
  return [flags, listen, allow_remote]() {
    StatusOr<StatusServerOptions> options = ParseListen(*listen, *allow_remote);
    if (!options.ok()) {
      PrintError(options.status());
      return kExitUsage;
    }
    InstallStopHandlers();
    StatusOr<std::unique_ptr<Registry>> registry =
        OpenExistingRegistryReadOnly(flags->home, flags->registry);
    if (!registry.ok()) {
      PrintError(registry.status());
      return kExitImportFailed;
    }
    options->stop = &StopRequested();
    options->on_listening = [host = options->host](int port) { PrintServing(host, port); };
    Status served = ServeStatus(registry->get(), *options);
    if (!served.ok()) {
      PrintError(served);
      return kExitUsage;
    }
    PrintNotice(LogLevel::kInfo, "stopped", "stopped");
    return kExitOk;
  };
}

}  // namespace snapdelta::cli
