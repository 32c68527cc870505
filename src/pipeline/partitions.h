// Partitioned imports: a table with `partitions = N` (TableOptions::partitions) has each import
// split into N tasks by key-digest range (KeyPart), which different workers can compute at once.
//
// A part reads the whole export and keeps its range's keys; it diffs them against its range of
// the committed state (DiffRequest::part) and writes three objects into the state store, under
// the tenant PartsTenant(tenant), named after the import and the committed state it diffs
// against (its base):
//   i<import>-b<base import>-p<K>of<N>          the part's state (its keys' records)
//   i<import>-b<base import>-p<K>of<N>-events   its events, seq from 1 within the part
//   i<import>-b<base import>-p<K>of<N>-done     JSON: counts and the two names; written last
// A part is done once its -done object exists. A part is deterministic (same export, base and
// N: same bytes), so two workers that computed one part (one of them paused past its part
// lease) wrote equal objects, and either may be used.
//
// Who computes a part: the import's coordinator, the worker holding the table's lease
// (RunImport), claims each part's lease (tenant, PartLeaseTable(table, K)) in turn and computes
// the parts nobody else holds; helpers, workers that found the table's lease busy
// (HelpPartitionedImport), do the same for the coordinator's running import. The coordinator
// then waits for the parts others hold, computing any whose lease lapsed, and assembles the
// import: the parts' events in part order, renumbered from 1 (so event ids depend on the
// export, the base and N only, never on who computed what), and the parts' states concatenated
// (digest order: byte for byte the state an unpartitioned import writes). The change guards see
// the whole import's counts, and the import commits in its one fenced CommitImport.
#ifndef SNAPDELTA_PIPELINE_PARTITIONS_H_
#define SNAPDELTA_PIPELINE_PARTITIONS_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diff/differ.h"
#include "pipeline/importer.h"
#include "snapdelta/registry.h"
#include "snapdelta/sink.h"
#include "snapdelta/status.h"

namespace snapdelta {

// The lease of one part: "orders/part/3" (a slash never occurs in a table name).
std::string PartLeaseTable(const std::string& table, uint32_t index);

// The state-store tenant the parts of `tenant`'s tables live under.
std::string PartsTenant(const std::string& tenant);

// What the assembled parts of an import add up to.
struct PartsOutcome {
  ImportCounts counts;
  uint64_t old_rows = 0;                 // rows of the committed state
  std::string schema_change;             // SchemaChange::ToString(); empty when none
  std::string note;                      // DiffStats::note
  std::vector<std::string> part_states;  // the parts' state objects, in part order
};

// The coordinator's side, inside RunImport: makes sure every part of `record` is done
// (computing what nobody else holds, waiting for the rest), then Puts the events of all parts
// into `sink` (Begin already called) and writes the import's state into request.state_out
// (not committed). `request` is the whole import's (ImportRequest, with new_export and
// state_out). Errors: a part's diff error (as the unpartitioned import would fail), kAborted
// when the table's lease was lost or a stop was requested while waiting.
Status RunPartitionedImport(const ImportContext& context, const ImportRecord& record,
                            const std::optional<TableState>& base, const DiffRequest& request,
                            PartsOutcome* outcome);

// Writes the import's state, the parts' states concatenated, into request.state_out and
// commits it. Errors: a part's state unreadable or not the import's (kCorruption), storage.
Status WritePartitionedState(StateStore* states, const ImportRecord& record,
                             const DiffRequest& request, const PartsOutcome& outcome);

// A helper's side: when `tenant`/`table` is partitioned and its lease holder is running an
// import, computes the parts of it that are not done and whose lease is free, then returns.
// What went wrong in a part is returned as a note (the coordinator computes that part itself
// and records the failure); an empty string when nothing did.
std::string HelpPartitionedImport(Registry* registry, LandingZone* landing, StateStore* states,
                                  const EngineOptions& options, const std::string& tenant,
                                  const std::string& table);

// Removes the part objects of the table's imports that are no longer pending (committed,
// failed, skipped): called after a commit.
void PruneParts(Registry* registry, StateStore* states, const std::string& tenant,
                const std::string& table);

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_PARTITIONS_H_
