// RowSource: rows of one export as the differ consumes them, each reduced to its encoded key,
// key digest, value hashes and fingerprint, plus its values. Implemented by ExportReader (an
// export file) and SpillReader (one partition of an export spilled to disk).
//
// Views stay valid until the next call to Next(). Thread safety: one thread.
#ifndef SNAPDELTA_DIFF_ROW_SOURCE_H_
#define SNAPDELTA_DIFF_ROW_SOURCE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "diff/fingerprint.h"
#include "snapdelta/change.h"
#include "snapdelta/status.h"

namespace snapdelta {

class RowSource {
 public:
  virtual ~RowSource() = default;

  // Reads the next row; *has_row is false at the end.
  virtual Status Next(bool* has_row) = 0;

  virtual std::string_view key() const = 0;
  virtual const KeyDigest& key_digest() const = 0;
  // One per compared column, canonical order; kAbsent for empty or null values.
  virtual std::span<const uint64_t> value_hashes() const = 0;
  virtual const Fingerprint& fingerprint() const = 0;
  // All values, header order.
  virtual std::span<const FieldValue> values() const = 0;
  virtual std::span<const FieldValue> key_values() const = 0;
  // 1-based line of the export where the row starts, and its 1-based row number.
  virtual uint64_t line() const = 0;
  virtual uint64_t rows_read() const = 0;
  // A located error for the current row ("<export>:<line>[:<column> (<name>)]: <what>").
  virtual Status RowError(std::string_view what, int column_idx = -1) const = 0;

  // The row's values encoded as in a state file (see state_file.h).
  void EncodeRow(std::string* out) const;
};

// The located error of RowSource::RowError, as kCorruption:
// "<file>:<line>[:<column> (<name>)]: <what>" (column 1-based, named from `columns`).
Status LocatedRowError(const std::string& file, uint64_t line,
                       const std::vector<std::string>& columns, int column_idx,
                       std::string_view what);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_ROW_SOURCE_H_
