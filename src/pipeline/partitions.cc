#include "pipeline/partitions.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "diff/state_file.h"
#include "pipeline/import_log.h"
#include "pipeline/lease_keeper.h"
#include "pipeline/multipart.h"
#include "sink/event_json.h"
#include "storage/small_file.h"

namespace snapdelta {
namespace {

// How often a coordinator looks whether the parts others compute are done.
constexpr auto kPartPoll = std::chrono::milliseconds(200);
// Part events are read in chunks of this size.
constexpr size_t kReadChunkBytes = 1 << 20;
constexpr std::string_view kEventsSuffix = "-events";
constexpr std::string_view kDoneSuffix = "-done";

struct PartName {
  int64_t import_id = 0;
  int64_t base_id = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  std::string suffix;  // "", kEventsSuffix or kDoneSuffix
};

// "i<import>-b<base>-p<K>of<N>"
std::string PartStem(int64_t import_id, int64_t base_id, uint32_t index, uint32_t count) {
  return "i" + std::to_string(import_id) + "-b" + std::to_string(base_id) + "-p" +
         std::to_string(index) + "of" + std::to_string(count);
}

std::optional<PartName> ParsePartName(const std::string& version) {
  PartName name;
  char rest[32] = {};
  long long import_id = 0, base_id = 0;
  unsigned index = 0, count = 0;
  int matched = std::sscanf(version.c_str(), "i%lld-b%lld-p%uof%u%31s", &import_id, &base_id,
                            &index, &count, rest);
  if (matched < 4) return std::nullopt;
  name.import_id = import_id;
  name.base_id = base_id;
  name.index = index;
  name.count = count;
  name.suffix = rest;
  if (PartStem(import_id, base_id, index, count) + name.suffix != version) return std::nullopt;
  return name;
}

// One import's parts against one base.
struct PartsJob {
  const ImportRecord* record = nullptr;
  int64_t base_id = 0;  // the committed state's import; 0 for a first import
  uint32_t count = 1;
  std::string stem(uint32_t index) const { return PartStem(record->id, base_id, index, count); }
};

struct PartResult {
  std::string state;  // object names in the parts folder
  std::string events;
  ImportCounts counts;
  uint64_t old_rows = 0;
  std::string schema_change;
  std::string note;
};

// A -done record is a few hundred bytes; anything larger is not one.
constexpr size_t kMaxPartRecordBytes = 1 << 20;

// The done parts of one job, by index, from their -done objects. Refresh lists the parts folder
// once and reads only the records it has not read before, so following N tasks to the end costs
// N reads of records, not N per look.
class DoneParts {
 public:
  DoneParts(StateStore* states, const PartsJob& job) : states_(states), job_(job) {}

  Status Refresh() {
    const std::string tenant = PartsTenant(job_.record->tenant);
    ASSIGN_OR_RETURN(std::vector<StoredState> stored, states_->List(tenant, job_.record->table));
    for (const StoredState& object : stored) {
      std::optional<PartName> name = ParsePartName(object.version);
      if (!name || name->suffix != kDoneSuffix || name->import_id != job_.record->id ||
          name->base_id != job_.base_id || name->count != job_.count ||
          done_.contains(name->index)) {
        continue;
      }
      std::unique_ptr<StoredFile> file = states_->Open(tenant, job_.record->table, object.name);
      ASSIGN_OR_RETURN(std::string text,
                       ReadSmallFile(file.get(), kMaxPartRecordBytes, "a part record"));
      nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!json.is_object() || !json.contains("state") || !json.contains("events")) {
        return CorruptionError(file->name() + ": not a part record of snapdelta's");
      }
      PartResult result;
      result.state = json.value("state", "");
      result.events = json.value("events", "");
      result.counts.rows = json.value("rows", uint64_t{0});
      result.counts.inserts = json.value("inserts", uint64_t{0});
      result.counts.updates = json.value("updates", uint64_t{0});
      result.counts.deletes = json.value("deletes", uint64_t{0});
      result.old_rows = json.value("old_rows", uint64_t{0});
      result.schema_change = json.value("schema_change", "");
      result.note = json.value("note", "");
      done_.emplace(name->index, std::move(result));
    }
    return Status::OK();
  }

  bool contains(uint32_t index) const { return done_.contains(index); }
  bool all() const { return done_.size() == job_.count; }
  const std::map<uint32_t, PartResult>& parts() const { return done_; }

 private:
  StateStore* states_;
  const PartsJob& job_;
  std::map<uint32_t, PartResult> done_;
};

// Diffs part `index` of `job` and writes its three objects.
Status ComputePart(StateStore* states, const PartsJob& job, uint32_t index,
                   const DiffRequest& whole) {
  const ImportRecord& record = *job.record;
  const std::string tenant = PartsTenant(record.tenant);
  const std::string stem = job.stem(index);
  DiffRequest request = whole;
  request.part = KeyPart{index, job.count};
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> state_out,
                   states->Create(tenant, record.table, stem));
  const std::string state_name = state_out->name();
  request.state_out = std::move(state_out);
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> events_out,
                   states->Create(tenant, record.table, stem + std::string(kEventsSuffix)));
  const std::string events_name = events_out->name();
  std::unique_ptr<Sink> events = NewObjectSink(std::move(events_out));
  Differ differ(request);
  Status status = events->Begin({record.tenant, record.table, record.version});
  if (status.ok()) status = differ.Run(events.get());
  if (status.ok()) status = differ.CommitState();
  if (status.ok()) status = events->Finish();
  if (!status.ok()) {
    events->Abort();
    return status;
  }
  const DiffStats& stats = differ.stats();
  ImportLog(LogLevel::kInfo, "part", record)
      .Add("import", record.id)
      .Add("part", static_cast<uint64_t>(index))
      .Add("of", static_cast<uint64_t>(job.count))
      .Add("rows", stats.new_rows)
      .Add("inserts", stats.inserts)
      .Add("updates", stats.updates)
      .Add("deletes", stats.deletes);
  nlohmann::json done = {
      {"state", state_name},
      {"events", events_name},
      {"rows", stats.new_rows},
      {"inserts", stats.inserts},
      {"updates", stats.updates},
      {"deletes", stats.deletes},
      {"old_rows", stats.old_rows},
      {"schema_change",
       stats.schema_change.empty() ? std::string() : stats.schema_change.ToString()},
      {"note", stats.note}};
  CrashPoint("part.before_done");
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> done_out,
                   states->Create(tenant, record.table, stem + std::string(kDoneSuffix)));
  RETURN_IF_ERROR(done_out->Append(done.dump() + "\n"));
  Status committed = done_out->Commit();
  // Another worker wrote the same part first (S3 writes each name once): its objects are equal.
  if (committed.code() == StatusCode::kAborted) return Status::OK();
  return committed;
}

// Claims part `index`'s lease and computes it (unless done meanwhile). False when another
// worker holds the lease.
StatusOr<bool> ClaimAndCompute(Registry* registry, StateStore* states, const EngineOptions& options,
                               const PartsJob& job, uint32_t index, const DiffRequest& whole,
                               DoneParts* done) {
  const ImportRecord& record = *job.record;
  StatusOr<Lease> lease =
      AcquireOrTakeOver(registry, record.tenant, PartLeaseTable(record.table, index), MakeOwnerId(),
                        options.lease_ttl_ms);
  if (lease.status().code() == StatusCode::kUnavailable) return false;
  RETURN_IF_ERROR(lease.status());
  Status status;
  {
    LeaseKeeper keeper(registry, *lease, options.lease_ttl_ms);
    // Done meanwhile by the worker that held the lease before: nothing to do.
    status = done->Refresh();
    if (status.ok() && !done->contains(index)) status = ComputePart(states, job, index, whole);
    *lease = keeper.lease();
  }
  Status released = registry->ReleaseLease(*lease);
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(released);
  return true;
}

// Reads a part's events and Puts them into `sink` renumbered from `*seq` + 1.
Status CopyPartEvents(StateStore* states, const ImportRecord& record, const PartResult& part,
                      Sink* sink, uint64_t* seq) {
  std::unique_ptr<StoredFile> file =
      states->Open(PartsTenant(record.tenant), record.table, part.events);
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, file->Open());
  std::string pending;  // bytes read and not yet put: the start of a line
  std::string line;
  std::string chunk(kReadChunkBytes, '\0');
  const uint64_t first = *seq;
  auto put = [&](std::string_view text) -> Status {
    line.clear();
    if (!AppendRenumberedEvent(&line, text, *seq + 1)) {
      return CorruptionError(file->name() + ": event " + std::to_string(*seq - first + 1) +
                             " is not a change-file event line");
    }
    ++*seq;
    return sink->PutEventLine(line);
  };
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, source->Read(chunk.data(), chunk.size()));
    if (got == 0) break;
    std::string_view data(chunk.data(), got);
    size_t newline;
    while ((newline = data.find('\n')) != std::string_view::npos) {
      if (pending.empty()) {
        RETURN_IF_ERROR(put(data.substr(0, newline + 1)));
      } else {
        pending.append(data.substr(0, newline + 1));
        RETURN_IF_ERROR(put(pending));
        pending.clear();
      }
      data.remove_prefix(newline + 1);
    }
    pending.append(data);
  }
  if (!pending.empty()) RETURN_IF_ERROR(put(pending + "\n"));
  if (*seq - first != part.counts.events()) {
    return CorruptionError(file->name() + ": holds " + std::to_string(*seq - first) +
                           " events where its part record says " +
                           std::to_string(part.counts.events()));
  }
  return Status::OK();
}

bool Stopping(const EngineOptions& options) {
  return options.stop != nullptr && options.stop->load();
}

}  // namespace

std::string PartLeaseTable(const std::string& table, uint32_t index) {
  return table + "/part/" + std::to_string(index);
}

std::string PartsTenant(const std::string& tenant) { return ".snapdelta-parts/" + tenant; }

Status RunPartitionedImport(const ImportContext& context, const ImportRecord& record,
                            const std::optional<TableState>& base, const DiffRequest& request,
                            PartsOutcome* outcome) {
  const EngineOptions& options = *context.options;
  PartsJob job{&record, base ? base->import_id : 0, request.options.partitions};
  DoneParts done(context.states, job);
  bool first_pass = true;
  for (;;) {
    RETURN_IF_ERROR(done.Refresh());
    if (done.all()) break;
    for (uint32_t index = 0; index < job.count; ++index) {
      if (done.contains(index)) continue;
      if (context.lease_lost->load()) return AbortedError("lease lost while parts were computed");
      // Not claimed: another worker computes it.
      RETURN_IF_ERROR(
          ClaimAndCompute(context.registry, context.states, options, job, index, request, &done)
              .status());
    }
    // A stop request waits too: the parts others compute are about to be done.
    if (!first_pass) std::this_thread::sleep_for(kPartPoll);
    first_pass = false;
  }
  uint64_t seq = 0;
  for (const auto& [index, part] : done.parts()) {
    RETURN_IF_ERROR(CopyPartEvents(context.states, record, part, context.sink, &seq));
    outcome->counts.rows += part.counts.rows;
    outcome->counts.inserts += part.counts.inserts;
    outcome->counts.updates += part.counts.updates;
    outcome->counts.deletes += part.counts.deletes;
    outcome->old_rows += part.old_rows;
    outcome->part_states.push_back(part.state);
  }
  outcome->schema_change = done.parts().begin()->second.schema_change;
  outcome->note = done.parts().begin()->second.note;
  return Status::OK();
}

Status WritePartitionedState(StateStore* states, const ImportRecord& record,
                             const DiffRequest& request, const PartsOutcome& outcome) {
  StateWriter writer;
  std::optional<StateMeta> meta;
  for (const std::string& name : outcome.part_states) {
    StateReader reader;
    std::shared_ptr<StoredFile> file = states->Open(PartsTenant(record.tenant), record.table, name);
    RETURN_IF_ERROR(reader.Open(file, request.state_identity));
    const StateMeta& part_meta = reader.meta();
    if (!meta) {
      meta = part_meta;
      RETURN_IF_ERROR(writer.Open(request.state_out, *meta));
    } else if (part_meta.columns != meta->columns || part_meta.key != meta->key ||
               part_meta.compared != meta->compared ||
               part_meta.before_images != meta->before_images) {
      return CorruptionError(file->name() + ": the part's columns differ from the first part's");
    }
    bool has_record = true;
    std::string_view key, row;
    Fingerprint fp;
    for (;;) {
      RETURN_IF_ERROR(reader.Next(&has_record, &key, &fp, &row));
      if (!has_record) break;
      RETURN_IF_ERROR(writer.Add(key, fp, row));
    }
  }
  return writer.Commit();
}

std::string HelpPartitionedImport(Registry* registry, LandingZone* landing, StateStore* states,
                                  const EngineOptions& options, const std::string& tenant,
                                  const std::string& table) {
  const uint32_t count = options.config.ForTable(table).partitions;
  if (count <= 1) return "";
  StatusOr<std::optional<Lease>> lease = registry->GetLease(tenant, table);
  if (!lease.ok() || !*lease) return "";
  StatusOr<std::vector<ImportRecord>> imports = registry->ListImports(tenant, table);
  if (!imports.ok()) return "";
  const ImportRecord* running = nullptr;
  for (const ImportRecord& record : *imports) {
    if (record.state == ImportState::kRunning && record.fencing_token == (*lease)->token) {
      running = &record;
    }
  }
  if (running == nullptr) return "";
  StatusOr<std::optional<TableState>> base = registry->GetTableState(tenant, table);
  if (!base.ok()) return "";
  PartsJob job{running, *base ? (*base)->import_id : 0, count};
  StatusOr<DiffRequest> request =
      ImportRequest(registry, landing, states, options, *running, *base);
  StatusOr<std::unique_ptr<StoredFile>> file =
      request.ok() ? OpenImportExport(landing, *running) : request.status();
  std::string path = tenant + "/" + table + "/" + running->version;
  if (!file.ok()) return path + ": helping with its parts failed: " + file.status().message();
  request->new_export = std::move(file).value();
  DoneParts done(states, job);
  if (!done.Refresh().ok()) return "";
  for (uint32_t index = 0; index < count && !Stopping(options); ++index) {
    if (done.contains(index)) continue;
    Status status =
        ClaimAndCompute(registry, states, options, job, index, *request, &done).status();
    if (status.ok()) continue;
    return path + ": part " + std::to_string(index) + " of " + std::to_string(count) +
           " failed here (the import's own worker computes it again and records why): " +
           status.message();
  }
  return "";
}

void PruneParts(Registry* registry, StateStore* states, const std::string& tenant,
                const std::string& table) {
  StatusOr<std::vector<ImportRecord>> imports = registry->ListImports(tenant, table);
  StatusOr<std::vector<StoredState>> stored = states->List(PartsTenant(tenant), table);
  if (!imports.ok() || !stored.ok()) return;
  std::map<int64_t, ImportState> state_of;
  for (const ImportRecord& record : *imports) state_of[record.id] = record.state;
  for (const StoredState& object : *stored) {
    std::optional<PartName> name = ParsePartName(object.version);
    if (!name) continue;
    auto state = state_of.find(name->import_id);
    bool pending = state != state_of.end() &&
                   (state->second == ImportState::kDiscovered ||
                    state->second == ImportState::kRunning || state->second == ImportState::kHeld);
    if (!pending) (void)states->Remove(PartsTenant(tenant), table, object.name);
  }
}

}  // namespace snapdelta
