// Importer: one import of one table, from a discovered record to a committed (or failed or
// skipped) one. The caller holds the table's lease for the whole call.
//
// Order of effects, which crash safety rests on:
//   1. mark running (with the lease's token)
//   2. diff the export against the committed state; events to the sink
//   3. write the new state into the state store (not yet current)
//   4. Sink::Finish: the events are durable
//   5. CommitImport: the lease is checked and the new state becomes current, atomically
// A crash before 5 leaves the old state current: the import reruns from 1 and produces the same
// events, which overwrite the change file of the earlier attempt.
#ifndef SNAPDELTA_PIPELINE_IMPORTER_H_
#define SNAPDELTA_PIPELINE_IMPORTER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "diff/differ.h"
#include "snapdelta/engine.h"
#include "snapdelta/landing.h"
#include "snapdelta/registry.h"
#include "snapdelta/sink.h"
#include "snapdelta/storage.h"

namespace snapdelta {

struct ImportContext {
  Registry* registry = nullptr;
  LandingZone* landing = nullptr;
  StateStore* states = nullptr;
  Sink* sink = nullptr;
  const EngineOptions* options = nullptr;
  // Set by the lease keeper when a renewal failed: the import must not commit.
  const std::atomic<bool>* lease_lost = nullptr;
  // Commit even when a change guard trips (`release`). Default: false.
  bool lift_guards = false;
};

// Runs one import under `lease`. Returns the record as it ended (committed, failed, skipped,
// or still running when the lease was lost). A non-OK Status means the registry itself failed.
StatusOr<ImportRecord> RunImport(const ImportContext& context, const ImportRecord& pending,
                                 const Lease& lease);

// The wait before the automatic retry of an environment failure after `attempts` attempts:
// options.retry_backoff_ms, doubled per further attempt, capped at an hour.
int64_t RetryDelayMs(const EngineOptions& options, int attempts);

// Whether a failed import that holds its table back (environment or crash) is retried by a run
// now: never a crash (it waits for `retry`); an environment failure once its backoff is over,
// by the options in force (a smaller --retry-backoff than at the failure counts).
bool RetryDue(const EngineOptions& options, const ImportRecord& failed, int64_t now_ms);

// When and how `blocker` is retried: "retried automatically in N s, or now with `snapdelta
// retry T/T/V`", or, for a crash, "retried only by hand: ...".
std::string RetryWhen(const ImportRecord& blocker, int64_t now_ms);

// "tenant/table/version", as `retry`, `release` and `skip` take it, and as logs, `status`, the
// status page and progress lines name an import.
std::string ImportPath(const ImportRecord& record);

// What happens next to a failed import, by its failure kind, and the command to step in.
std::string FailureNextStep(const ImportRecord& record);

// "waits behind T/T/V, which is <RetryWhen>" for a version held back by `blocker`.
std::string WaitsBehind(const ImportRecord& blocker, int64_t now_ms);

// Sets the previous side of `request` to `table`'s committed state, with one look at the
// registry: previous (the state in `states`), previous_export (the export the state was built
// from, in `landing`; null when it is gone or the registry no longer has its import) and
// previous_identity (its table, version and export checksum: StateReader refuses another).
Status UseCommittedState(Registry* registry, LandingZone* landing, StateStore* states,
                         const TableState& table, DiffRequest* request);

// The diff of `record` against `table` (its committed state; nullopt before the first commit)
// as an import runs it, but for new_export and state_out (unset) and progress.
StatusOr<DiffRequest> ImportRequest(Registry* registry, LandingZone* landing, StateStore* states,
                                    const EngineOptions& options, const ImportRecord& record,
                                    const std::optional<TableState>& table);

// kInvalidArgument naming them when the record's version folder holds other export files
// besides its file: snapdelta expects one export file per version.
Status CheckOneExportPerVersion(LandingZone* landing, const ImportRecord& record);

// Where the engine keeps states: options.state, or <home>/state by default.
std::string StateUrl(const EngineOptions& options);

// The landing zone and state store `options` name, opened by URL (storage.h).
struct EngineStorage {
  std::shared_ptr<LandingZone> landing;  // options.landing_zone when set
  std::unique_ptr<StateStore> states;
};
StatusOr<EngineStorage> OpenEngineStorage(const EngineOptions& options);

// <home>/registry.db
std::string RegistryPath(const std::string& home);

// The registry URL in use: `registry` (--registry, or `registry` in the config) when set, else
// RegistryPath(home).
std::string RegistryUrl(const std::string& home, const std::string& registry);

// The registry in use; for SQLite, kNotFound (saying to run `snapdelta run` first, or to check
// --home) when there is none, instead of creating an empty one.
StatusOr<std::unique_ptr<Registry>> OpenExistingRegistry(const std::string& home,
                                                         const std::string& registry);

// OpenExistingRegistry for reading only (`status`): a SQLite file on a read-only home too.
StatusOr<std::unique_ptr<Registry>> OpenExistingRegistryReadOnly(const std::string& home,
                                                                 const std::string& registry);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_IMPORTER_H_
