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
  // A located error for the current row ("<export>:<line>[:<column> (<name>)]: <what>").
  virtual Status RowError(std::string_view what, int column_idx = -1) const = 0;

  std::string_view key() const { return key_; }
  const KeyDigest& key_digest() const { return key_digest_; }
  // One per compared column, canonical order; kAbsent for empty or null values.
  std::span<const uint64_t> value_hashes() const { return value_hashes_; }
  const Fingerprint& fingerprint() const { return fingerprint_; }
  // All values, header order. Made on the first call for a row: most rows never become an
  // event, and their values are never needed.
  std::span<const FieldValue> values() const {
    if (values_pending_) FillValues();
    return values_;
  }
  std::span<const FieldValue> key_values() const {
    if (values_pending_) FillValues();
    return key_values_;
  }
  // 1-based line of the export where the row starts, and its 1-based row number.
  uint64_t line() const { return line_; }
  uint64_t rows_read() const { return row_number_; }

  // The row's values encoded as in a state file (see state_file.h).
  void EncodeRow(std::string* out) const;

 protected:
  // The current row, set by Next() of the implementation.
  std::string_view key_;
  KeyDigest key_digest_;
  std::vector<uint64_t> value_hashes_;
  Fingerprint fingerprint_;
  // An implementation whose Next() sets values_pending_ fills values_ and key_values_ (and
  // clears it) in FillValues; the others set them in Next().
  virtual void FillValues() const {}
  mutable bool values_pending_ = false;
  mutable std::vector<FieldValue> values_;
  mutable std::vector<FieldValue> key_values_;
  uint64_t line_ = 0;
  uint64_t row_number_ = 0;
};

// The located error of RowSource::RowError, as kCorruption:
// "<file>:<line>[:<column> (<name>)]: <what>" (column 1-based, named from `columns`).
Status LocatedRowError(const std::string& file, uint64_t line,
                       const std::vector<std::string>& columns, int column_idx,
                       std::string_view what);

}  // namespace snapdelta

#endif  // SNAPDELTA_DIFF_ROW_SOURCE_H_
