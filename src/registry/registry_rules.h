// The decisions every Registry backend makes the same way, and the messages it gives for them:
// whether a lease is held or free, whether an import may still change state, which arguments are
// refused. The backends (SQLite, PostgreSQL) read the rows their own way and call these, so both
// give the same codes and the same messages (callers and tests match their fragments).
#ifndef SNAPDELTA_REGISTRY_REGISTRY_RULES_H_
#define SNAPDELTA_REGISTRY_REGISTRY_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "snapdelta/registry.h"
#include "snapdelta/status.h"

namespace snapdelta {

// A (tenant, table)'s lease row as stored.
struct LeaseRow {
  std::string owner;
  int64_t token = 0;
  int64_t expires_at_ms = 0;
};

// Where an import stands, as read inside a transaction.
struct ImportHead {
  std::string tenant;
  std::string table;
  std::string version;
  std::string file;
  std::string state;  // as stored (ImportStateName)
};

// "2024-05-01T12:00:00.250Z".
std::string FormatTimeMs(int64_t ms);

// "tenant/table".
std::string TableName(const std::string& tenant, const std::string& table);

// States an import can still leave: pending ones, and held ones (released or skipped by hand).
bool IsPending(ImportState state);

// A stored state or failure kind, or kCorruption naming the import.
StatusOr<ImportState> ParseStoredState(int64_t import_id, const std::string& text);
StatusOr<FailureKind> ParseStoredFailure(int64_t import_id, const std::string& text);

// RegisterImport's argument check: kInvalidArgument without a full path.
Status CheckRegistrable(const ImportRecord& record);

// The import's state when it is pending (discovered, running, held or waiting; or failed, with
// `allow_failed`): kNotFound when `head` is absent (no such id), kAborted when it already
// finished, naming `action` ("marked failed", "committed").
StatusOr<ImportState> CheckPendingImport(int64_t import_id, const std::optional<ImportHead>& head,
                                         std::string_view action, bool allow_failed = false);

// RetryImport's check: kNotFound when absent, kAborted when the import is not failed.
Status CheckRetryable(int64_t import_id, const std::optional<std::string>& state);

// MarkRunning's check that the import is the lease's table's (kInvalidArgument otherwise).
Status CheckRunningTable(int64_t import_id, const ImportHead& head, const Lease& lease);

// CommitImport's checks, before and after reading the import (kInvalidArgument).
Status CheckCommitState(int64_t import_id, const Lease& lease, const TableState& state);
Status CheckCommitImport(int64_t import_id, const ImportHead& head, const Lease& lease);

// RewindTable's check that the lease is the target's table's (kInvalidArgument).
Status CheckRewindTarget(const Lease& lease, const TableState& target);
std::string RewindContext(const TableState& target);
std::string RewoundReason(const TableState& target);

// MarkPublished: the context of its messages, and its checks of the import (absent: kNotFound;
// another table's: kInvalidArgument; not committed: kAborted; seq past the events:
// kInvalidArgument).
std::string PublishContext(int64_t import_id, uint64_t seq);
Status CheckPublishable(int64_t import_id, uint64_t seq, const Lease& lease,
                        const std::optional<ImportHead>& head, uint64_t events);

// kInvalidArgument for ttl_ms <= 0.
Status CheckTtl(int64_t ttl_ms);
// AcquireLease's and TakeOverLease's argument checks (kInvalidArgument).
Status CheckGrantArguments(const std::string& owner, int64_t ttl_ms);
Status CheckDeadOwner(const std::string& dead_owner);

// OK when `lease` is the table's current lease (`row`, absent when never granted) and unexpired
// at `now`; kAborted otherwise, saying why.
Status CheckLeaseHeld(const Lease& lease, const std::optional<LeaseRow>& row, int64_t now);

// OK when the lease may be granted to `owner` at `now`: free, expired, held by `owner` itself or
// by `dead_owner` (when not empty). kUnavailable naming the holder and the expiry otherwise.
Status CheckLeaseFree(const std::string& tenant, const std::string& table, const std::string& owner,
                      const std::string& dead_owner, const std::optional<LeaseRow>& row,
                      int64_t now);

}  // namespace snapdelta

#endif  // SNAPDELTA_REGISTRY_REGISTRY_RULES_H_
