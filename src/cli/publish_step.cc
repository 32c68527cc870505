#include "cli/publish_step.h"

#include <fmt/format.h>

#include "cli/common.h"
#include "config/config.h"
#include "pipeline/importer.h"
#include "publish/publisher.h"

namespace snapdelta::cli {

void AddPublishFlags(CLI::App* command, PublishFlags* flags) {
  command
      ->add_option("--sink", flags->sink,
                   "Where committed events are published: file (the change files, default), "
                   "kafka://HOST:PORT[,HOST:PORT]/TOPIC or kinesis://STREAM[?region=R]; TOPIC "
                   "and STREAM may use {tenant} and {table} (or [sink] url in the config)")
      ->group("Publishing");
  command
      ->add_option("--format", flags->format,
                   "Message format on Kafka or Kinesis: json (snapdelta's events) or debezium "
                   "(Debezium's envelope, for Kafka Connect sinks)")
      ->check(CLI::IsMember({"json", "debezium"}))
      ->group("Publishing");
  command
      ->add_option("--keep-changes", flags->keep_changes,
                   "Delete the change files of published imports this long after publishing "
                   "(7d, 12h, 30m, 90s; default: keep them)")
      ->group("Publishing");
}

StatusOr<std::unique_ptr<Publishing>> OpenPublishing(const PublishFlags& flags,
                                                     const EngineOptions& options) {
  auto publishing = std::make_unique<Publishing>();
  const Config& config = options.config;
  std::map<std::string, std::string> parameters = config.sink_parameters;
  const std::string url = flags.sink.empty() ? config.sink_url : flags.sink;
  ASSIGN_OR_RETURN(publishing->settings, ParseSinkUrl(url, parameters));
  if (!flags.format.empty()) {
    publishing->settings.format =
        flags.format == "debezium" ? EventFormat::kDebezium : EventFormat::kJson;
  }
  RETURN_IF_ERROR(CheckSinkSettings(publishing->settings));
  publishing->keep_changes_ms = config.keep_changes_ms;
  if (!flags.keep_changes.empty()) {
    StatusOr<int64_t> keep = ParseDuration(flags.keep_changes);
    if (!keep.ok()) return keep.status().WithContext("--keep-changes");
    publishing->keep_changes_ms = *keep;
  }
  if (publishing->settings.kind != SinkKind::kFile) {
    ASSIGN_OR_RETURN(publishing->stream, OpenStream(publishing->settings));
  }
  return publishing;
}

int PublishPass(const EngineOptions& options, Publishing* publishing) {
  StatusOr<std::unique_ptr<Registry>> registry =
      OpenExistingRegistry(options.home, options.registry);
  if (!registry.ok()) {
    // Nothing was ever imported here: nothing to publish.
    if (registry.status().code() == StatusCode::kNotFound) return kExitOk;
    PrintError(registry.status());
    return kExitImportFailed;
  }
  PublishOptions publish;
  publish.changes_dir = options.home + "/changes";
  publish.format = publishing->settings.format;
  publish.tombstones = publishing->settings.tombstones;
  publish.threads = options.workers;
  publish.lease_ttl_ms = options.lease_ttl_ms;
  publish.keep_changes_ms = publishing->keep_changes_ms;
  publish.stop = &StopRequested();
  Stream* stream = publishing->stream.get();
  if (stream != nullptr) {
    publish.on_published = [stream](const ImportRecord& record) {
      std::printf("published  %s/%s/%s  %llu events to %s\n", record.tenant.c_str(),
                  record.table.c_str(), record.version.c_str(),
                  static_cast<unsigned long long>(record.counts.events()),
                  stream->Describe().c_str());
      std::fflush(stdout);
    };
  }
  StatusOr<PublishReport> report = Publish(registry->get(), stream, publish);
  if (!report.ok()) {
    PrintError(report.status());
    return kExitImportFailed;
  }
  for (const std::string& left : report->unpublished) {
    std::printf("unpublished %s\n", left.c_str());
  }
  for (const std::string& path : report->removed) std::printf("removed    %s\n", path.c_str());
  for (const std::string& busy : report->busy) {
    PrintNotice(LogLevel::kInfo, "busy", "publishing busy, left for later: " + busy);
  }
  std::fflush(stdout);
  return report->unpublished.empty() ? kExitOk : kExitImportFailed;
}

}  // namespace snapdelta::cli
