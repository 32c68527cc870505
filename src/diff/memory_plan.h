// How the differ fits a memory limit: row estimates sampled from the exports, and the budget
// left to the key table and to spill files' buffers once the fixed buffers are counted.
//
// Memory model, in bytes, while one partition is diffed:
//   fixed   := kReaderBytes for each export open at once (read-ahead, decompressor, CSV buffer,
//              row batches) + kIoBytes (event sink, state file, spill reader)
//   table   := 1.5 x TableEntryBytes(keys) (growing by doubling, the old entries are held
//              while they move) + keys x (arena record of each side)
//   record  := varint + key [+ 8 per value hash (an old export's side)] [+ row (before-images)]
// The table may take the limit less the fixed part (table_bytes, but at least 16 MiB: a
// smaller limit spreads the rows over the most partitions, and is exceeded); while rows are
// spilled no table is held, and the spill files' write buffers share that same amount. A large
// record costs its size once on top (the CSV reader's buffer), whatever the limit.
//
// Estimates only choose the first partition count: the differ measures the table as it fills
// and splits a partition that outgrows table_bytes (differ.cc), so the limit holds when an
// estimate is wrong.
#ifndef SNAPDELTA_DIFF_MEMORY_PLAN_H_
#define SNAPDELTA_DIFF_MEMORY_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "diff/differ.h"
#include "snapdelta/options.h"

namespace snapdelta {

// What the start of an export says about the whole of it.
struct ExportSample {
  uint64_t rows = 0;      // rows of the whole export, extrapolated (exact when it was all read)
  double distinct = 1;    // distinct keys / rows among the first rows
  double key_bytes = 16;  // average encoded key
  double row_bytes = 64;  // average encoded row (state_file.h)
};

// Reads up to kSampleBytes of the export's decompressed text and extrapolates by the share of
// the file (compressed bytes) it took. Never fails: an unreadable export gets a guess from its
// size (the diff itself reports the error).
ExportSample SampleExport(StoredFile* file, const TableOptions& options);

// Bytes of a table's entries for `keys`, as memory plans have always counted them (64-byte
// entries, a power-of-two slot count at load <= 7/10): more than a table takes now.
uint64_t TableEntryBytes(uint64_t keys);

struct MemoryPlan {
  uint64_t table_bytes = 0;       // most bytes of the key table (entries and arenas)
  size_t partitions = 1;          // first partition count (a power of two)
  size_t spill_buffer_bytes = 0;  // write buffer of each spill file
};

struct MemoryDemand {
  uint64_t limit = 0;        // the memory limit; 0: none (one partition, no table limit)
  size_t open_exports = 1;   // exports read at once
  uint64_t keys = 0;         // distinct keys expected in the table of both sides
  double bytes_per_key = 0;  // arena bytes per key, both sides
};

// The demand of `request`, from samples of its exports (none without a memory limit).
// `state_rows`: the previous state's row count; the old side's arena records hold `old_hashes`
// value hashes, and rows with `old_rows`; the new side's hold rows with `new_rows`.
MemoryDemand DemandOf(const DiffRequest& request, uint64_t state_rows, size_t old_hashes,
                      bool old_rows, bool new_rows);

MemoryPlan PlanMemory(const MemoryDemand& demand);

// Most partitions planned up front: each side keeps a spill file per partition open, and 256
// stays well inside the usual limit of 1024 open files.
inline constexpr size_t kMaxPartitions = 256;

// Bits to split a partition by when its table, at `table_bytes` now, outgrew `budget` with
// `remaining` times the rows read so far still to come (1 or more): enough parts that each
// ends at about half the budget, at least 2, at most 2^8 at a time.
int SplitBits(double remaining, uint64_t table_bytes, uint64_t budget);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_MEMORY_PLAN_H_
