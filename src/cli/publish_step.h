// The publishing step of run and watch: after a pass, committed change files go to the sink
// (publish/publisher.h), and what is left unpublished makes the exit status 1.
#ifndef SNAPDELTA_CLI_PUBLISH_STEP_H_
#define SNAPDELTA_CLI_PUBLISH_STEP_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "publish/sink_url.h"
#include "publish/stream.h"
#include "snapdelta/engine.h"

namespace snapdelta::cli {

struct PublishFlags {
  std::string sink;          // empty: the config's [sink] url, else file
  std::string format;        // empty: the sink's
  std::string keep_changes;  // empty: the config's keep_changes, else keep
};

void AddPublishFlags(CLI::App* command, PublishFlags* flags);

// The sink and its stream, opened once per process.
struct Publishing {
  SinkSettings settings;
  std::unique_ptr<Stream> stream;  // null for the file sink
  int64_t keep_changes_ms = -1;
};

// kInvalidArgument for a bad sink URL, format or duration; the stream's own errors (a Kafka
// property librdkafka refuses) too.
StatusOr<std::unique_ptr<Publishing>> OpenPublishing(const PublishFlags& flags,
                                                     const EngineOptions& options);

// Publishes what is committed and unpublished; prints a line per import published to a stream
// and per import left unpublished. Returns the exit status: 1 when something is left.
int PublishPass(const EngineOptions& options, Publishing* publishing);

}  // namespace snapdelta::cli

#endif  // SNAPDELTA_CLI_PUBLISH_STEP_H_
