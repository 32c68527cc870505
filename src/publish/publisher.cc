#include "publish/publisher.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/cores.h"
#include "base/fs.h"
#include "pipeline/import_log.h"
#include "pipeline/importer.h"
#include "pipeline/lease_keeper.h"
#include "publish/change_reader.h"
#include "sink/debezium.h"
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

ImportIdentity Identity(const ImportRecord& record) {
  return ImportIdentity{record.tenant, record.table, record.version};
}

// One table's unpublished imports, in version order.
struct TableWork {
  std::string tenant;
  std::string table;
  std::vector<ImportRecord> imports;
};

class Publisher {
 public:
  Publisher(Registry* registry, Stream* stream, const PublishOptions& options)
      : registry_(registry), stream_(stream), options_(options), owner_(MakeOwnerId()) {}

  // Publishes every table of `work`, `threads` at a time.
  void Run(std::vector<TableWork> work) {
    int threads = options_.threads > 0 ? options_.threads : UsableCores();
    threads = std::clamp(threads, 1, std::max<int>(1, static_cast<int>(work.size())));
    std::atomic<size_t> next{0};
    auto loop = [&] {
      for (size_t i; (i = next.fetch_add(1)) < work.size();) PublishTable(work[i]);
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back(loop);
    loop();
    for (std::thread& thread : pool) thread.join();
  }

  PublishReport TakeReport() { return std::move(report_); }

 private:
  bool Stopping() const { return options_.stop != nullptr && options_.stop->load(); }

  void Unpublished(const ImportRecord& record, uint64_t acked, const Status& why) {
    ImportLog(LogLevel::kWarn, "unpublished", record)
        .Add("import", record.id)
        .Add("published", acked)
        .Add("events", record.counts.events())
        .Add("reason", why.message());
    std::lock_guard<std::mutex> lock(mu_);
    report_.unpublished.push_back(fmt::format("{}: {} of {} events published: {}",
                                              ImportPath(record), acked, record.counts.events(),
                                              why.message()));
  }

  // A stop (SIGTERM) is not a failure: what is left is published by the next run, from the
  // recorded position.
  void PublishTable(const TableWork& work) {
    if (Stopping()) return;
    StatusOr<Lease> lease = AcquireOrTakeOver(registry_, work.tenant, PublishLeaseTable(work.table),
                                              owner_, options_.lease_ttl_ms);
    if (!lease.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (lease.status().code() == StatusCode::kUnavailable) {
        report_.busy.push_back(
            fmt::format("{}/{}: {}", work.tenant, work.table, lease.status().message()));
      } else {
        for (const ImportRecord& record : work.imports) {
          report_.unpublished.push_back(
              fmt::format("{}: {}", ImportPath(record), lease.status().message()));
        }
      }
      return;
    }
    LeaseKeeper keeper(registry_, *lease, options_.lease_ttl_ms);
    std::unique_ptr<StreamWriter> writer;
    if (stream_ != nullptr) {
      StatusOr<std::unique_ptr<StreamWriter>> made = stream_->NewWriter(work.tenant, work.table);
      if (!made.ok()) {
        for (const ImportRecord& record : work.imports) {
          Unpublished(record, record.published_seq, made.status());
        }
        (void)registry_->ReleaseLease(keeper.lease());
        return;
      }
      writer = std::move(made).value();
    }
    bool first_import = false;
    if (options_.format == EventFormat::kDebezium) first_import = IsFirstImport(work);
    for (size_t i = 0; i < work.imports.size(); ++i) {
      const ImportRecord& record = work.imports[i];
      if (Stopping()) break;
      uint64_t acked = record.published_seq;
      Status published =
          PublishImport(record, i == 0 && first_import, writer.get(), keeper, &acked);
      if (!published.ok() && Stopping()) break;  // stopped mid-import: its position is recorded
      if (!published.ok()) {
        // Later versions of the table must not overtake this one.
        for (size_t j = i; j < work.imports.size(); ++j) {
          const ImportRecord& left = work.imports[j];
          Unpublished(left, j == i ? acked : left.published_seq,
                      j == i ? published : AbortedError("waits behind " + ImportPath(record)));
        }
        break;
      }
      ImportRecord done = record;
      done.published_seq = record.counts.events();
      ImportLog(LogLevel::kInfo, "published", done)
          .Add("import", done.id)
          .Add("events", done.published_seq)
          .Add("from_seq", record.published_seq);
      std::lock_guard<std::mutex> lock(mu_);
      report_.published.push_back(done);
      if (options_.on_published) options_.on_published(done);
    }
    (void)registry_->ReleaseLease(keeper.lease());
  }

  // Whether the table's first unpublished import is its first import ever (Debezium's
  // snapshot: its INSERTs are reads, "r").
  bool IsFirstImport(const TableWork& work) {
    StatusOr<std::vector<ImportRecord>> all = registry_->ListImports(work.tenant, work.table);
    if (!all.ok()) return false;
    const ImportRecord& first = work.imports.front();
    return std::none_of(all->begin(), all->end(), [&](const ImportRecord& other) {
      return other.id != first.id &&
             (other.state == ImportState::kCommitted || other.state == ImportState::kRewound) &&
             other.version < first.version;
    });
  }

  Status Record(const ImportRecord& record, const LeaseKeeper& keeper, uint64_t seq,
                uint64_t* recorded) {
    if (seq <= *recorded) return Status::OK();
    if (keeper.lost().load()) return AbortedError("the publish lease was lost");
    RETURN_IF_ERROR(registry_->MarkPublished(keeper.lease(), record.id, seq));
    *recorded = seq;
    return Status::OK();
  }

  // Sends one import's events after `*acked` and records the position; on failure `*acked` is
  // the position recorded.
  Status PublishImport(const ImportRecord& record, bool snapshot, StreamWriter* writer,
                       const LeaseKeeper& keeper, uint64_t* acked) {
    const uint64_t events = record.counts.events();
    if (writer == nullptr) return Record(record, keeper, events, acked);
    const std::string path = ChangeFilePath(options_.changes_dir, Identity(record));
    ASSIGN_OR_RETURN(std::unique_ptr<ChangeReader> reader, ChangeReader::Open(path));
    RETURN_IF_ERROR(writer->Begin(Identity(record), *acked));
    Status status = SendEvents(record, snapshot, reader.get(), writer, keeper, acked);
    if (status.ok() && reader->events() != events) {
      status = CorruptionError(fmt::format("change file {} holds {} events, the import {}", path,
                                           reader->events(), events));
    }
    if (status.ok()) status = writer->Finish();
    if (status.ok()) return Record(record, keeper, events, acked);
    uint64_t position = writer->Acked();
    writer->Abort();
    (void)Record(record, keeper, position, acked);
    return status;
  }

  Status SendEvents(const ImportRecord& record, bool snapshot, ChangeReader* reader,
                    StreamWriter* writer, const LeaseKeeper& keeper, uint64_t* acked) {
    const uint64_t from = *acked;
    int64_t last_record_ms = options_.clock();
    std::vector<ChangeLine> lines;
    std::vector<StreamMessage> messages;
    std::vector<KafkaMessage> debezium;
    std::vector<size_t> debezium_line;  // the line of each of debezium's messages
    DebeziumContext context{snapshot, record.mtime_ms, 0};
    while (true) {
      ASSIGN_OR_RETURN(bool got, reader->NextBatch(&lines));
      if (!got) return Status::OK();
      if (Stopping()) return AbortedError("stopped");
      const int64_t now = options_.clock();
      if (now - last_record_ms >= options_.position_interval_ms) {
        RETURN_IF_ERROR(Record(record, keeper, writer->Acked(), acked));
        last_record_ms = now;
      }
      messages.clear();
      if (options_.format == EventFormat::kJson) {
        for (const ChangeLine& line : lines) {
          if (line.seq > from) messages.push_back({line.seq, line.id, line.key, line.text});
        }
      } else {
        debezium.clear();
        debezium_line.clear();
        context.now_ms = now;
        for (size_t i = 0; i < lines.size(); ++i) {
          if (lines[i].seq <= from) continue;
          nlohmann::json event = nlohmann::json::parse(lines[i].text, nullptr, false);
          RETURN_IF_ERROR(ToDebezium(event, context, options_.tombstones, &debezium)
                              .WithContext(fmt::format("{} seq {}", reader->path(), lines[i].seq)));
          debezium_line.resize(debezium.size(), i);
        }
        // The views are taken once debezium holds the whole batch (it moves while it grows).
        for (size_t m = 0; m < debezium.size(); ++m) {
          const ChangeLine& line = lines[debezium_line[m]];
          std::optional<std::string_view> value;
          if (debezium[m].value) value = *debezium[m].value;
          messages.push_back({line.seq, line.id, debezium[m].key, value});
        }
      }
      if (!messages.empty()) RETURN_IF_ERROR(writer->SendBatch(messages));
    }
  }

  Registry* registry_;
  Stream* stream_;
  const PublishOptions& options_;
  const std::string owner_;
  std::mutex mu_;
  PublishReport report_;  // guarded by mu_
};

// Deletes the change files of imports published longer ago than keep_changes_ms.
Status RemoveOldChanges(Registry* registry, const PublishOptions& options, PublishReport* report) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports, registry->ListImports());
  const int64_t now = options.clock();
  for (const ImportRecord& record : imports) {
    if (!record.published()) continue;
    int64_t published_at =
        record.published_at_ms > 0 ? record.published_at_ms : record.finished_at_ms;
    if (now - published_at < options.keep_changes_ms) continue;
    std::string path = ChangeFilePath(options.changes_dir, Identity(record));
    if (!PathExists(path)) continue;
    RETURN_IF_ERROR(RemoveFile(path));
    report->removed.push_back(path);
  }
  return Status::OK();
}

}  // namespace

StatusOr<PublishReport> Publish(Registry* registry, Stream* stream, const PublishOptions& options) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> unpublished, registry->ListUnpublished());
  std::vector<TableWork> work;
  for (ImportRecord& record : unpublished) {
    if (work.empty() || work.back().tenant != record.tenant || work.back().table != record.table) {
      work.push_back(TableWork{record.tenant, record.table, {}});
    }
    work.back().imports.push_back(std::move(record));
  }
  Publisher publisher(registry, stream, options);
  publisher.Run(std::move(work));
  PublishReport report = publisher.TakeReport();
  // Tables finish in any order; the report reads in (tenant, table, version) order.
  std::sort(report.unpublished.begin(), report.unpublished.end());
  std::sort(report.busy.begin(), report.busy.end());
  if (options.keep_changes_ms >= 0) RETURN_IF_ERROR(RemoveOldChanges(registry, options, &report));
  return report;
}

std::string DescribeDelivery(const ImportRecord& record) {
  if (record.state != ImportState::kCommitted) return "";
  if (record.published()) return "published";
  if (record.published_seq == 0) return "committed";
  return fmt::format("publishing {} of {}", record.published_seq, record.counts.events());
}

}  // namespace snapdelta
