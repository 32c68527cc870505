// The engine: start here. RunOnce processes every pending export of a landing zone once:
//
//   1. discovery (pipeline/discovery.h): every file under <tenant>/<table>/<version>/<file>
//      not seen before is registered (discovered) once it has settled (settle_ms), or recorded
//      as skipped when it is a re-upload of identical content, a version not newer than the
//      table's committed one or not a readable file, or as failed when its names are refused
//      or it cannot be read;
//   2. a worker pool takes the tables with pending imports; a worker holds the table's lease
//      (renewed while it works, fenced at commit) and imports its exports in version order;
//   3. each import diffs the new export against the table's committed state, writes the events
//      to the sink (durably), writes the new state, and commits both in the registry.
//
// A failed import publishes nothing, leaves the state untouched and is recorded with its
// reason. A content failure (the export is bad) stays failed and later exports of the table
// diff against the last committed state. An environment failure (the machine or storage failed)
// is retried by later runs with backoff and holds the table's later versions back until it
// succeeds or is skipped, so versions are never published out of order. A crash at any
// point leaves the old state (the import reruns and writes identical events) or the new one.
//
// Home folder layout (README.md, "How it works"): <home>/registry.db,
// <home>/state/<tenant>/<table>/<version> .state, <home>/changes/<tenant>/<table>/<version>.jsonl.
#ifndef SNAPDELTA_ENGINE_H_
#define SNAPDELTA_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "snapdelta/landing.h"
#include "snapdelta/options.h"
#include "snapdelta/registry.h"
#include "snapdelta/status.h"

namespace snapdelta {

// A quarter of the physical memory: room for the rest of the machine, and the default of
// --memory-limit.
uint64_t DefaultMemoryLimit();

// Parses "512MB", "2GiB", "1.5G", "1000000" (bytes); units are powers of 1024.
StatusOr<uint64_t> ParseByteSize(std::string_view text);

// Where a running import is (EngineOptions::on_progress).
struct ImportProgress {
  uint64_t bytes_read = 0;  // of the export file as stored (compressed bytes for a .gz)
  uint64_t rows_read = 0;
};

struct EngineOptions {
  // The landing zone: a folder or s3://BUCKET[/PREFIX]. Required.
  std::string landing;
  // Registry, states and change files. Default: ./.snapdelta
  std::string home = ".snapdelta";
  // The state store: a folder or s3://BUCKET[/PREFIX]. Default: empty, meaning <home>/state.
  std::string state;
  // The registry: a SQLite file, or postgresql://… shared by workers on several machines.
  // Default: empty, meaning <home>/registry.db.
  std::string registry;
  // The landing zone `landing` names, already open: `watch` keeps one across its passes, so an
  // S3 landing zone lists only what is new between full rescans. Default: none (opened by URL).
  std::shared_ptr<LandingZone> landing_zone;
  // Per-table options. Default: key = first column, everything compared.
  Config config;
  // Tables imported in parallel. Default: 0, meaning one per core (at most one per table).
  int workers = 0;
  // A lease lives this long unless renewed (renewed every third of it). Default: 30 s.
  int64_t lease_ttl_ms = 30000;
  // Memory budget of one import in bytes; past it, rows are spilled to spill_dir and diffed in
  // partitions. Default: a quarter of the machine's memory (DefaultMemoryLimit).
  uint64_t memory_limit = DefaultMemoryLimit();
  // Where spill files go. Default: $TMPDIR or /tmp.
  std::string spill_dir;
  // States kept per table (the newest committed ones). Default: 3.
  int keep_states = 3;
  // The first wait before an import that failed for an environment reason (disk full, read-only
  // or failing storage, an unreadable state, out of memory) is retried by a later run; it
  // doubles with each attempt, up to an hour. Default: 30 s.
  int64_t retry_backoff_ms = 30000;
  // A landing file is imported only once it has settled: its size and mtime unchanged across
  // two looks this far apart, or its mtime this far in the past (then at the first look). A
  // run that finds a file not settled looks again once, when it could be, and otherwise leaves
  // it (and its table's later versions) for a later run. 0: no waiting. Default: 2 s.
  int64_t settle_ms = 2000;
  // When set and true, workers stop between imports. Default: none.
  const std::atomic<bool>* stop = nullptr;
  // Called once per finished import, from worker threads (serialized). Default: none.
  std::function<void(const ImportRecord&)> on_import_done;
  // Called when an import starts reading its export and now and then as it reads, from worker
  // threads (not serialized). Default: none.
  std::function<void(const ImportRecord&, const ImportProgress&)> on_progress;
};

struct RunReport {
  std::vector<ImportRecord> imports;     // every import this run finished, failed or skipped
  std::vector<std::string> busy_tables;  // tables whose lease another worker held
  // What needs the operator's eye though nothing failed: the file of a committed import now
  // holds other content (its published events came from the earlier content). `run --strict`
  // exits 1 on any.
  std::vector<std::string> warnings;
  // Landing entries passed over (a FIFO, a symlink leaving the landing zone, a folder that
  // cannot be read) and files left for a later run because they are still being written.
  std::vector<std::string> notes;
  // Imports held back behind an environment failure of their table that is not yet due for
  // its retry, and those failures themselves: what waits, for what, and how to go on.
  std::vector<std::string> waiting;
  // True when an import failed, was held by a change guard, or waits (exit status 1).
  bool any_failed() const;
};

// Runs one pass over the landing zone. Errors are about the run itself (unreadable landing
// folder, registry); a bad export is not an error here but a failed import in the report.
StatusOr<RunReport> RunOnce(const EngineOptions& options);

}  // namespace snapdelta

#endif  // SNAPDELTA_ENGINE_H_
