// Table spills: a KeyTable's entries written to per-partition files and read back, so that a
// table that outgrows the memory budget in the middle of a diff is split into partitions and the
// diff goes on one partition at a time (differ.cc), without reading the inputs again.
//
//   table spill file := (varint(entry length) entry)*     (the framing of spill.h)
//   entry   := fixed64(digest.low) fixed64(digest.high) byte(sides) fixed64(fp.low)
//              fixed64(fp.high) [side] [side]          (fp: the entry's, key_table.h)
//   sides   := 1 (the old side) | 2 (the new side) | 3 (both, old first)
//   side    := varint(len) record
//   record  := an arena record, byte for byte (key_table.h)
//
// Files live in a SpillDir; entries go to PartitionOf(digest, partitions, skip_bits).
// Thread safety: none.
#ifndef SNAPDELTA_DIFF_TABLE_SPILL_H_
#define SNAPDELTA_DIFF_TABLE_SPILL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "diff/key_table.h"
#include "diff/spill.h"

namespace snapdelta {

// How a table's arena records are laid out (what Arena::Record needs to find their end).
struct ArenaLayout {
  size_t old_hashes = 0;  // value hashes per old-side record
  bool old_rows = false;  // old-side records hold rows
  bool new_rows = false;  // new-side records hold rows
};

// Writes every entry of `table` to the open `writer` (its partition's file).
Status SpillTable(const KeyTable& table, const ArenaLayout& layout, SpillWriter* writer);

// Adds the entries of the table spill file at `path` to `table`, which must not hold their
// keys yet.
Status LoadTableSpill(const std::string& path, KeyTable* table);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_TABLE_SPILL_H_
