// Registry: the durable record of every import and of every table's committed state, plus the
// per-(tenant, table) lease that keeps two imports of one table from running at once.
//
// One row per import: (tenant, table, version, file) with the file's size and content checksum,
// its state, counts, timings and error. States move
//     discovered -> running -> committed
//                          \-> failed (reason)
//     discovered -> skipped (reason: re-upload of identical content, stale version)
//     waiting -> skipped (its marker arrived: the complete version is a new import)
//     failed (environment) -> discovered (RetryImport: by hand, or by a run once retry_at_ms)
// and a running import whose worker died is picked up again by the next run. A failure is of
// one of two kinds (FailureKind): an environment failure (disk full, read-only or failing
// storage, a missing or unreadable state, a lost lease, out of memory) is retried with backoff
// and holds back the table's later versions; a content failure (bad CSV, duplicate key, drift
// refused) stays failed until its file changes. An import whose worker died twice (a crash
// failure) holds the table back too, but waits for `retry` or `skip` by hand: it may be the
// export that kills the worker. One row
// per table with the committed state: the export version the table's state file describes.
//
// Leases: AcquireLease grants the (tenant, table) lease to `owner` when nobody holds it or the
// holder's lease has expired; every grant increments the table's fencing token (tokens only
// grow, across owners and restarts). RenewLease extends a lease still held with the same token.
// CommitImport refuses (kAborted) when the lease's token is no longer the table's current one or
// the lease has expired: a paused worker that lost its lease cannot overwrite newer work.
// A lease is held while its token is the table's current one and now < expires_at_ms. The owner
// string names one holder (e.g. "host:pid:worker"): a second AcquireLease by the same owner while
// it holds the lease is granted with a new token, which fences the earlier grant.
//
// Implementations, chosen by URL (OpenRegistry): SQLite (OpenSqliteRegistry), the embedded
// default, shared by several processes on one machine through SQLite's own locking; and
// PostgreSQL (OpenPostgresRegistry), shared by workers on many machines. SQLite takes time from
// the Clock given at open; PostgreSQL from the database server's clock (so workers whose clocks
// disagree still agree on lease expiry), unless a Clock is given (tests move it).
//
// Thread safety: all methods may be called concurrently from several threads.
#ifndef SNAPDELTA_REGISTRY_H_
#define SNAPDELTA_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "snapdelta/status.h"

namespace snapdelta {

// Milliseconds since the Unix epoch. Default: the system clock.
using Clock = std::function<int64_t()>;
int64_t SystemClockMs();

// Persisted as text ("discovered", ...): do not rename.
enum class ImportState {
  kDiscovered,
  kRunning,
  kCommitted,
  kFailed,
  kSkipped,
  kHeld,     // a change guard tripped; waits for `release` or `skip`
  kRewound,  // was committed, then undone by `rewind`
  kWaiting,  // a version folder of several files without its marker: waits for _SUCCESS
};
std::string_view ImportStateName(ImportState state);
std::optional<ImportState> ParseImportState(std::string_view name);

// Persisted as text ("", "environment", "content", "crash"): do not rename.
enum class FailureKind {
  kNone,         // not failed
  kEnvironment,  // the machine or storage failed; retried (with backoff) once it may be fixed
  kContent,      // the export itself is bad; stays failed until its file changes
  kCrash,        // two attempts died with their worker: retried only by hand (`retry`)
};
std::string_view FailureKindName(FailureKind kind);
std::optional<FailureKind> ParseFailureKind(std::string_view name);

// Which kind of failure a Status is. Bad input (kCorruption, kInvalidArgument, kNotFound) is
// content; refused I/O, exhausted resources, lost leases and busy resources are environment.
FailureKind ClassifyFailure(const Status& status);

struct Failure {
  std::string reason;
  FailureKind kind = FailureKind::kContent;
  int64_t retry_at_ms = 0;  // environment failures: retried automatically from then on
};

struct ImportCounts {
  uint64_t rows = 0;  // data rows in the export
  uint64_t inserts = 0;
  uint64_t updates = 0;
  uint64_t deletes = 0;
  // Events of the import: its change file's lines, seq 1..events().
  uint64_t events() const { return inserts + updates + deletes; }
};

struct ImportRecord {
  int64_t id = 0;  // assigned by RegisterImport
  std::string tenant;
  std::string table;
  std::string version;
  std::string file;  // file name inside the version folder
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string checksum;  // hex XXH3-128 of the file's bytes
  ImportState state = ImportState::kDiscovered;
  std::string reason;  // why failed or skipped; empty otherwise
  std::string note;    // e.g. the schema change this import carried; empty otherwise
  ImportCounts counts;
  int64_t discovered_at_ms = 0;
  int64_t started_at_ms = 0;                 // 0 until running
  int64_t finished_at_ms = 0;                // 0 until committed, failed or skipped
  int64_t fencing_token = 0;                 // token of the lease it last ran under
  FailureKind failure = FailureKind::kNone;  // set while failed
  int64_t retry_at_ms = 0;                   // environment failures: next automatic retry
  int attempts = 0;                          // times marked running (backoff grows with it)
  int crashes = 0;        // attempts that ended with the worker gone; reset by RetryImport
  bool released = false;  // a held import released by hand (MarkReleased), past its guard
  // Committed imports: the last seq the stream acknowledged (MarkPublished); published once it
  // reaches counts.events(). The change file sink publishes an import whole once committed.
  uint64_t published_seq = 0;
  int64_t published_at_ms = 0;  // when published_seq reached counts.events(); 0 until then
  bool published() const {
    return state == ImportState::kCommitted && published_seq >= counts.events();
  }
};

struct Lease {
  std::string tenant;
  std::string table;
  std::string owner;
  int64_t token = 0;
  int64_t expires_at_ms = 0;
};

// The committed state of a table: the version whose export the state file describes.
struct TableState {
  std::string tenant;
  std::string table;
  std::string version;     // newest committed export version
  int64_t import_id = 0;   // the import that committed it
  std::string state_file;  // file name of the state, relative to the state folder of the table
};

// Every row of a registry: what the dry run copies into a scratch registry it may change.
struct RegistrySnapshot {
  std::vector<ImportRecord> imports;  // ordered by id
  std::vector<TableState> tables;
  std::vector<Lease> leases;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  virtual ~Registry() = default;

  // Inserts `record` (its id is ignored) and returns the new id. Several records may share a
  // path (a re-upload with other content is a new import); callers check FindImport first.
  // A discovered_at_ms of 0 is replaced by the clock's now. kInvalidArgument when tenant, table,
  // version or file is empty.
  virtual StatusOr<int64_t> RegisterImport(const ImportRecord& record) = 0;

  // The newest record (highest id) for this path, if any.
  virtual StatusOr<std::optional<ImportRecord>> FindImport(const std::string& tenant,
                                                           const std::string& table,
                                                           const std::string& version,
                                                           const std::string& file) = 0;

  // Every import, ordered by id. Empty tenant/table means all.
  virtual StatusOr<std::vector<ImportRecord>> ListImports(const std::string& tenant = "",
                                                          const std::string& table = "") = 0;

  // Imports in state discovered or running, ordered by (tenant, table, version, id).
  virtual StatusOr<std::vector<ImportRecord>> ListPending() = 0;

  // The Mark* calls and CommitImport apply to a pending (discovered or running) import only:
  // kNotFound for an unknown id, kAborted when it already finished (committed, failed, skipped).
  //
  // discovered/running -> running, recording the lease token and start time, and counting the
  // attempt (and, from running, the crash of the previous one). kAborted when `lease` is not
  // held (as in CommitImport); kInvalidArgument when it is another table's.
  virtual Status MarkRunning(int64_t import_id, const Lease& lease) = 0;
  // -> failed with the failure's reason, kind and retry time; counts are left as they are.
  virtual Status MarkFailed(int64_t import_id, const Failure& failure) = 0;
  // A content failure with `reason`.
  Status MarkFailed(int64_t import_id, const std::string& reason) {
    return MarkFailed(import_id, Failure{reason, FailureKind::kContent, 0});
  }
  // Records that a held (or still pending) import is released by hand past its change guard.
  virtual Status MarkReleased(int64_t import_id) = 0;
  // failed -> discovered, so the next import of the table runs it; the crash count is reset.
  // kNotFound for an unknown id, kAborted when the import is not failed.
  virtual Status RetryImport(int64_t import_id) = 0;
  // Failed imports that hold their table's later versions back (kinds environment and crash),
  // ordered by (tenant, table, version, id).
  virtual StatusOr<std::vector<ImportRecord>> ListBlocking() = 0;
  // -> skipped with `reason` (from discovered, running or held).
  virtual Status MarkSkipped(int64_t import_id, const std::string& reason) = 0;
  // running -> held with `reason` (the guard that tripped) and the counts it would have had.
  virtual Status MarkHeld(int64_t import_id, const std::string& reason,
                          const ImportCounts& counts) = 0;

  // Atomically: checks `lease` as CommitImport does, makes `target` the table's committed
  // state, and marks the committed imports listed in `undone` rewound.
  virtual Status RewindTable(const Lease& lease, const TableState& target,
                             const std::vector<int64_t>& undone) = 0;

  // Atomically: checks that `lease` is still the table's current, unexpired lease (kAborted
  // otherwise, and nothing changes), marks the import committed with `counts` and `note`, and
  // makes `state` the table's committed state, with import_id as its import (state.import_id is
  // ignored). kInvalidArgument when the import or `state` is for another table than the lease.
  virtual Status CommitImport(const Lease& lease, int64_t import_id, const ImportCounts& counts,
                              const std::string& note, const TableState& state) = 0;

  // The table's committed state; nullopt before its first commit.
  virtual StatusOr<std::optional<TableState>> GetTableState(const std::string& tenant,
                                                            const std::string& table) = 0;

  // Grants the lease for `ttl_ms` when free or expired (token incremented). kUnavailable when
  // another owner holds an unexpired lease (the message names the owner and the expiry).
  // kInvalidArgument for an empty owner or ttl_ms <= 0 (also in RenewLease).
  virtual StatusOr<Lease> AcquireLease(const std::string& tenant, const std::string& table,
                                       const std::string& owner, int64_t ttl_ms) = 0;
  // Like AcquireLease, but also grants while `dead_owner` still holds an unexpired lease: for a
  // holder known to be gone (its process died). Atomic: when the lease has meanwhile passed to
  // anyone else, kUnavailable as AcquireLease. The token is incremented, so anything the dead
  // holder might still try to commit is fenced.
  virtual StatusOr<Lease> TakeOverLease(const std::string& tenant, const std::string& table,
                                        const std::string& owner, int64_t ttl_ms,
                                        const std::string& dead_owner) = 0;
  // The table's lease as recorded (possibly expired); nullopt when it was never granted.
  virtual StatusOr<std::optional<Lease>> GetLease(const std::string& tenant,
                                                  const std::string& table) = 0;
  // Extends the lease to now + ttl_ms. kAborted when it expired or was granted to someone else
  // (token changed). Updates lease->expires_at_ms.
  virtual Status RenewLease(Lease* lease, int64_t ttl_ms) = 0;
  // Gives the lease up (expires it now) if still held with this token; otherwise does nothing.
  // The token is kept, so the next grant's token is still larger.
  virtual Status ReleaseLease(const Lease& lease) = 0;

  // --- Publishing (publish/publisher.h): committed change files sent to a stream.
  //
  // A table's publisher holds its publish lease, the lease of (tenant, PublishLeaseTable(table)),
  // so imports and publishing of one table run side by side, each fenced on its own.

  // Committed imports not yet wholly published (published_seq < counts.events()), ordered by
  // (tenant, table, version, id): the order their events must be published in.
  virtual StatusOr<std::vector<ImportRecord>> ListUnpublished() = 0;
  // Records that every event of the import with seq <= `seq` is acknowledged by the stream.
  // Checks `lease` as CommitImport does (kAborted when lost); kInvalidArgument when the lease is
  // not the import's table's publish lease or `seq` passes counts.events(); kAborted when the
  // import is not committed. A position never moves back (a smaller `seq` changes nothing).
  virtual Status MarkPublished(const Lease& lease, int64_t import_id, uint64_t seq) = 0;

  // Every import, table state and lease, read in one consistent snapshot.
  virtual StatusOr<RegistrySnapshot> Snapshot() = 0;
};

// The lease table name under which `table`'s publisher holds its lease ("orders/publish": a
// slash never occurs in a table name, which is a folder or key segment).
std::string PublishLeaseTable(const std::string& table);

// Opens (creating if needed) the SQLite registry at `path`; the schema is created or migrated
// on open. Errors: kIOError when the file cannot be opened, kCorruption when it is not a
// snapdelta registry (not SQLite, another application's database, or an unknown schema version);
// such a file is left unchanged.
StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path,
                                                       Clock clock = SystemClockMs);

// A new SQLite registry at `path` (which must not exist) holding `snapshot`'s rows with their
// ids: the scratch copy the dry run of a PostgreSQL registry works on.
StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistryCopy(const std::string& path,
                                                           const RegistrySnapshot& snapshot,
                                                           Clock clock = SystemClockMs);

// Connects to the PostgreSQL registry at `url` (a libpq connection URI:
// "postgresql://user:password@host:port/dbname?sslmode=…"; PG* environment variables fill in
// what it leaves out) and creates or migrates its schema: a schema_version table, migrations
// applied in one transaction under an advisory lock, so workers starting together migrate once.
// `clock` null: "now" is the database server's clock. A connection lost later is re-established
// with backoff by the next call; a transaction whose outcome is unknown fails with kUnavailable.
// Errors: kUnavailable when the server cannot be reached (the message names host and port,
// never the password), kCorruption when the database holds a newer schema than this snapdelta
// knows or tables that are not snapdelta's.
StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(const std::string& url,
                                                         Clock clock = nullptr);

// True for "postgresql://…" and "postgres://…".
bool IsPostgresUrl(const std::string& url);

enum class RegistryAccess {
  kCreate,    // open, creating an empty registry when there is none
  kExisting,  // open; kNotFound when a SQLite file does not exist
  kReadOnly,  // as kExisting; SQLite opens the file read-only (works on a read-only home)
};

// The registry `url` names, the one factory that knows the backends: "postgresql://…" or
// "postgres://…" (OpenPostgresRegistry; its schema is created on first connect whatever the
// access), or a SQLite file path.
StatusOr<std::unique_ptr<Registry>> OpenRegistry(const std::string& url, RegistryAccess access);

// Opens an existing SQLite registry for reading only (`status`, the dry run), which also works
// on a read-only file system. Writes through it fail.
StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistryReadOnly(const std::string& path,
                                                               Clock clock = SystemClockMs);

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_H_
