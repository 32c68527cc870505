// The decisions and messages shared by the Registry backends (see registry_rules.h).
#include "registry/registry_rules.h"

#include <cstdio>
#include <ctime>
#include <string>

namespace snapdelta {

std::string FormatTimeMs(int64_t ms) {
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[48];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

std::string TableName(const std::string& tenant, const std::string& table) {
  return tenant + "/" + table;
}

bool IsPending(ImportState state) {
  return state == ImportState::kDiscovered || state == ImportState::kRunning ||
         state == ImportState::kHeld || state == ImportState::kWaiting;
}

StatusOr<ImportState> ParseStoredState(int64_t import_id, const std::string& text) {
  std::optional<ImportState> state = ParseImportState(text);
  if (!state) {
    return CorruptionError("import " + std::to_string(import_id) + " has unknown state '" + text +
                           "'");
  }
  return *state;
}

StatusOr<FailureKind> ParseStoredFailure(int64_t import_id, const std::string& text) {
  std::optional<FailureKind> kind = ParseFailureKind(text);
  if (!kind) {
    return CorruptionError("import " + std::to_string(import_id) + " has unknown failure kind '" +
                           text + "'");
  }
  return *kind;
}

Status CheckRegistrable(const ImportRecord& record) {
  if (record.tenant.empty() || record.table.empty() || record.version.empty() ||
      record.file.empty()) {
    return InvalidArgumentError(
        "RegisterImport: tenant, table, version and file must be set (got '" + record.tenant + "/" +
        record.table + "/" + record.version + "/" + record.file + "')");
  }
  return Status::OK();
}

StatusOr<ImportState> CheckPendingImport(int64_t import_id, const std::optional<ImportHead>& head,
                                         std::string_view action, bool allow_failed) {
  const std::string id_text = "import " + std::to_string(import_id);
  if (!head) return NotFoundError(id_text + " does not exist; it cannot be " + std::string(action));
  ASSIGN_OR_RETURN(ImportState state, ParseStoredState(import_id, head->state));
  if (!IsPending(state) && !(allow_failed && state == ImportState::kFailed)) {
    return AbortedError(id_text + " (" + head->tenant + "/" + head->table + " version " +
                        head->version + " file " + head->file + ") is already " + head->state +
                        "; it cannot be " + std::string(action));
  }
  return state;
}

Status CheckRetryable(int64_t import_id, const std::optional<std::string>& state) {
  const std::string id_text = "import " + std::to_string(import_id);
  if (!state) return NotFoundError(id_text + " does not exist; it cannot be retried");
  if (*state != ImportStateName(ImportState::kFailed)) {
    return AbortedError(id_text + " is " + *state + ", not failed; it cannot be retried");
  }
  return Status::OK();
}

Status CheckRunningTable(int64_t import_id, const ImportHead& head, const Lease& lease) {
  if (head.tenant != lease.tenant || head.table != lease.table) {
    return InvalidArgumentError("import " + std::to_string(import_id) + " belongs to " +
                                head.tenant + "/" + head.table + ", not to the lease's table " +
                                lease.tenant + "/" + lease.table);
  }
  return Status::OK();
}

Status CheckCommitState(int64_t import_id, const Lease& lease, const TableState& state) {
  if (state.tenant != lease.tenant || state.table != lease.table) {
    return InvalidArgumentError("commit import " + std::to_string(import_id) +
                                ": the state is for " + TableName(state.tenant, state.table) +
                                ", the lease for " + TableName(lease.tenant, lease.table));
  }
  return Status::OK();
}

Status CheckCommitImport(int64_t import_id, const ImportHead& head, const Lease& lease) {
  if (head.tenant != lease.tenant || head.table != lease.table) {
    return InvalidArgumentError("commit import " + std::to_string(import_id) +
                                ": the import belongs to " + TableName(head.tenant, head.table) +
                                ", the lease to " + TableName(lease.tenant, lease.table));
  }
  return Status::OK();
}

std::string RewindContext(const TableState& target) {
  return "rewind " + TableName(target.tenant, target.table);
}

std::string RewoundReason(const TableState& target) {
  return "undone by rewind to version " + target.version;
}

Status CheckRewindTarget(const Lease& lease, const TableState& target) {
  if (target.tenant != lease.tenant || target.table != lease.table) {
    return InvalidArgumentError(RewindContext(target) + ": the lease is for " +
                                TableName(lease.tenant, lease.table));
  }
  return Status::OK();
}

std::string PublishContext(int64_t import_id, uint64_t seq) {
  return "record import " + std::to_string(import_id) + " published to seq " + std::to_string(seq);
}

Status CheckPublishable(int64_t import_id, uint64_t seq, const Lease& lease,
                        const std::optional<ImportHead>& head, uint64_t events) {
  const std::string what = PublishContext(import_id, seq);
  if (!head) return NotFoundError(what + ": no such import");
  if (head->tenant != lease.tenant || PublishLeaseTable(head->table) != lease.table) {
    return InvalidArgumentError(what + ": the import belongs to " +
                                TableName(head->tenant, head->table) + ", the lease is " +
                                TableName(lease.tenant, lease.table));
  }
  if (head->state != "committed") return AbortedError(what + ": the import is " + head->state);
  if (seq > events) {
    return InvalidArgumentError(what + ": the import has only " + std::to_string(events) +
                                " events");
  }
  return Status::OK();
}

Status CheckTtl(int64_t ttl_ms) {
  if (ttl_ms <= 0) {
    return InvalidArgumentError("lease ttl must be positive, got " + std::to_string(ttl_ms) +
                                " ms");
  }
  return Status::OK();
}

Status CheckGrantArguments(const std::string& owner, int64_t ttl_ms) {
  RETURN_IF_ERROR(CheckTtl(ttl_ms));
  if (owner.empty()) return InvalidArgumentError("AcquireLease: the owner must not be empty");
  return Status::OK();
}

Status CheckDeadOwner(const std::string& dead_owner) {
  if (dead_owner.empty()) return InvalidArgumentError("TakeOverLease: no dead owner named");
  return Status::OK();
}

Status CheckLeaseHeld(const Lease& lease, const std::optional<LeaseRow>& row, int64_t now) {
  const std::string lost = "lease for " + TableName(lease.tenant, lease.table) + " lost: token " +
                           std::to_string(lease.token);
  if (!row) return AbortedError(lost + " was never granted (no lease exists for this table)");
  if (row->token != lease.token) {
    return AbortedError(lost + " is stale (current " + std::to_string(row->token) +
                        "), now held by " + row->owner);
  }
  if (now >= row->expires_at_ms) {
    return AbortedError(lost + " expired at " + FormatTimeMs(row->expires_at_ms) + " (" +
                        std::to_string(now - row->expires_at_ms) +
                        " ms ago); renew it more often or raise the lease ttl");
  }
  return Status::OK();
}

Status CheckLeaseFree(const std::string& tenant, const std::string& table, const std::string& owner,
                      const std::string& dead_owner, const std::optional<LeaseRow>& row,
                      int64_t now) {
  if (row && now < row->expires_at_ms && row->owner != owner &&
      (dead_owner.empty() || row->owner != dead_owner)) {
    return UnavailableError("lease for " + TableName(tenant, table) + " is held by " + row->owner +
                            " until " + FormatTimeMs(row->expires_at_ms) + " (" +
                            std::to_string(row->expires_at_ms - now) + " ms from now, token " +
                            std::to_string(row->token) + "); retry after it expires");
  }
  return Status::OK();
}

}  // namespace snapdelta
