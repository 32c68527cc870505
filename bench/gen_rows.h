// Rows of the synthetic table snapdelta-gen writes: word lists, random streams, the compact
// live-row record, the CSV formatter that regenerates a row's text from it, and the chain of
// updates, deletes and inserts between exports. Header-only; used by bench/gen_exports.cc.
//
// Determinism: the text of a row is a pure function of (seed, id, edit), and the chain's choices
// a pure function of the seed, so a (seed, options) pair always yields the same exports.
// Thread safety: none; each object is used by one thread.
#ifndef SNAPDELTA_BENCH_GEN_ROWS_H_
#define SNAPDELTA_BENCH_GEN_ROWS_H_

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace snapdelta::gen {

using std::string_view_literals::operator""sv;

constexpr std::array kFirst = {"Ada"sv,    "Grace"sv,  "Alan"sv,   "Edsger"sv,  "Barbara"sv,
                               "Donald"sv, "Ken"sv,    "Dennis"sv, "Frances"sv, "Margaret"sv,
                               "John"sv,   "Leslie"sv, "Tony"sv,   "Niklaus"sv, "Radia"sv};
constexpr std::array kLast = {"Lovelace"sv, "Hopper"sv,   "Turing"sv,  "Dijkstra"sv, "Liskov"sv,
                              "Knuth"sv,    "Thompson"sv, "Ritchie"sv, "Allen"sv,    "Hamilton"sv,
                              "Backus"sv,   "Lamport"sv,  "Hoare"sv,   "Wirth"sv,    "Perlman"sv};
constexpr std::array kCity = {"Lisbon"sv, "Oslo"sv,   "Nairobi"sv, "Lima"sv,
                              "Osaka"sv,  "Quebec"sv, "Tbilisi"sv, "Hanoi"sv};
constexpr std::array kRegion = {"eu"sv, "us"sv, "ap"sv, "sa"sv, "af"sv};
constexpr std::array kStatus = {"active"sv, "inactive"sv, "pending"sv};
constexpr std::array kNasty = {"say \"hi\""sv, "a,b,c"sv,      "line1\nline2"sv, "crlf\r\nend"sv,
                               ""sv,           "  padded  "sv, "naïve café ☕"sv, "tab\tsep"sv,
                               "\"\""sv,       "NULL"sv};

// The splitmix64 finaliser: a bijective 64-bit mix.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A value in [0, bound) from 64 random bits (Lemire's multiply-shift).
inline uint64_t Bounded(uint64_t bits, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * bound) >> 64);
}

// splitmix64: the cheap stream that regenerates one row's random choices.
class SplitMix {
 public:
  explicit SplitMix(uint64_t state) : state_(state) {}
  uint64_t Next() { return Mix64(state_++ * 0x9e3779b97f4a7c15ULL); }
  uint32_t Below(uint64_t bound) { return static_cast<uint32_t>(Bounded(Next(), bound)); }

 private:
  uint64_t state_;
};

// xoshiro256**: the chain's stream (which rows change, row order).
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& word : s_) word = seed = Mix64(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  uint64_t Below(uint64_t bound) { return Bounded(Next(), bound); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

// A live row. edit == 0: never updated; otherwise the chain-wide number of its last update.
struct LiveRow {
  uint32_t id;
  uint32_t edit;
};

// The columns an update may change, in header order.
enum class Editable { kEmail, kCity, kBalance, kCreatedAt, kStatus, kNotes, kCount };

// Formats rows as CSV text. Every row's text is a pure function of (seed, id, edit).
class RowFormatter {
 public:
  RowFormatter(uint64_t seed, bool composite_key, bool nasty)
      : row_salt_(Mix64(seed ^ 0x726f77ULL)),
        edit_salt_(Mix64(seed ^ 0x65646974ULL)),
        composite_key_(composite_key),
        nasty_(nasty) {
    for (size_t i = 0; i < kFirst.size(); ++i) first_lower_[i] = Lower(kFirst[i]);
    for (size_t i = 0; i < kLast.size(); ++i) last_lower_[i] = Lower(kLast[i]);
  }

  std::string Header() const {
    return std::string(composite_key_ ? "region,id" : "id") +
           ",first_name,last_name,email,city,balance,created_at,status,notes\n";
  }

  // Appends the row's CSV line, LF-terminated.
  void Append(LiveRow row, std::string* out) {
    SplitMix rng(row_salt_ ^ Mix64(row.id));
    const uint32_t first = rng.Below(kFirst.size()), last = rng.Below(kLast.size());
    const uint32_t region = rng.Below(kRegion.size()), city = rng.Below(kCity.size());
    const uint32_t cents = rng.Below(10'000'000), month = 1 + rng.Below(12);
    const uint32_t day = 1 + rng.Below(28), hour = rng.Below(24), status = rng.Below(3);
    const bool nasty_note = nasty_ && rng.Below(10) < 3;
    const uint32_t note = rng.Below(nasty_note ? kNasty.size() : 1'000'000);
    edit_ = row.edit;
    edit_bits_ = Mix64(edit_salt_ ^ row.edit);
    edited_ = row.edit == 0 ? Editable::kCount
                            : static_cast<Editable>(edit_bits_ % int(Editable::kCount));

    if (composite_key_) *out += kRegion[region], *out += ',';
    AppendUint(row.id, 1, out);
    *out += ',', *out += kFirst[first], *out += ',', *out += kLast[last];
    field_.clear();
    field_ += first_lower_[first], field_ += '.', field_ += last_lower_[last];
    AppendUint(row.id, 1, &field_);
    field_ += "@example.com";
    EmitField(Editable::kEmail, out);
    field_.assign(kCity[city]);
    EmitField(Editable::kCity, out);
    field_.clear();
    AppendUint(cents / 100, 1, &field_), field_ += '.', AppendUint(cents % 100, 2, &field_);
    EmitField(Editable::kBalance, out);
    field_.assign("2020-");
    AppendUint(month, 2, &field_), field_ += '-', AppendUint(day, 2, &field_);
    field_ += 'T', AppendUint(hour, 2, &field_), field_ += ":00:00Z";
    EmitField(Editable::kCreatedAt, out);
    field_.assign(kStatus[status]);
    EmitField(Editable::kStatus, out);
    if (nasty_note) {
      field_.assign(kNasty[note]);
    } else {
      field_.assign("note "), AppendUint(note, 1, &field_);
    }
    EmitField(Editable::kNotes, out);
    *out += '\n';
  }

 private:
  static std::string Lower(std::string_view s) {
    std::string lower(s);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }

  // Appends `value` in decimal, zero-padded to at least `width` digits.
  static void AppendUint(uint64_t value, int width, std::string* out) {
    char digits[24];
    char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    for (int pad = width - static_cast<int>(end - digits); pad > 0; --pad) *out += '0';
    out->append(digits, end);
  }

  // Appends ',' and field_ (with the row's edit applied when it targets `column`), quoted as
  // gen_exports.py's quote() does.
  void EmitField(Editable column, std::string* out) {
    if (column == edited_) ApplyEdit(column);
    *out += ',';
    const bool padded = !field_.empty() && (IsSpace(field_.front()) || IsSpace(field_.back()));
    if (!padded && field_.find_first_of(",\"\r\n") == std::string::npos) {
      *out += field_;
      return;
    }
    *out += '"';
    for (char c : field_) {
      if (c == '"') *out += '"';
      *out += c;
    }
    *out += '"';
  }

  // The update rules of gen_exports.py's mutate(), with the edit number as unique suffix.
  void ApplyEdit(Editable column) {
    const uint64_t pick = edit_bits_ >> 8;
    if (column == Editable::kNotes && nasty_) {
      field_.assign(kNasty[pick % kNasty.size()]);
      field_ += " (edit ", AppendUint(edit_, 1, &field_), field_ += ')';
    } else if (column == Editable::kBalance) {
      field_.assign("-"), AppendUint(edit_, 1, &field_);
      field_ += '.', AppendUint(pick % 100, 2, &field_);  // original balances are never negative
    } else {
      field_ += '~', AppendUint(edit_, 1, &field_);
    }
  }

  static bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

  const uint64_t row_salt_, edit_salt_;
  const bool composite_key_, nasty_;
  std::array<std::string, kFirst.size()> first_lower_;
  std::array<std::string, kLast.size()> last_lower_;
  std::string field_;  // the field being built
  uint32_t edit_ = 0;
  uint64_t edit_bits_ = 0;
  Editable edited_ = Editable::kCount;
};

// The live rows of the table and the random walk from one export to the next.
class Chain {
 public:
  explicit Chain(uint64_t seed) : rng_(seed) {}

  // Makes room for `rows` live rows, so that growing never copies the array.
  void Reserve(uint64_t rows) { rows_.reserve(rows); }

  // Appends `count` new rows with fresh ids.
  void Insert(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) rows_.push_back({next_id_++, 0});
  }

  // Updates and deletes a uniform random sample of the live rows and appends `inserts` new
  // rows with fresh ids.
  // REQUIRES: updates + deletes <= rows().size(); ids and edit numbers stay below 2^32.
  void Advance(uint64_t updates, uint64_t deletes, uint64_t inserts) {
    const uint64_t picked = updates + deletes;
    for (uint64_t i = 0; i < picked; ++i) {  // partial Fisher-Yates: rows_[0, picked) sampled
      std::swap(rows_[i], rows_[i + rng_.Below(rows_.size() - i)]);
    }
    for (uint64_t i = 0; i < updates; ++i) rows_[i].edit = ++edits_;
    rows_.erase(rows_.begin() + updates, rows_.begin() + picked);
    Insert(inserts);
  }

  void Shuffle() {
    for (size_t i = rows_.size(); i > 1; --i) std::swap(rows_[i - 1], rows_[rng_.Below(i)]);
  }

  const std::vector<LiveRow>& rows() const { return rows_; }

 private:
  Xoshiro256 rng_;
  std::vector<LiveRow> rows_;
  uint32_t next_id_ = 1;
  uint32_t edits_ = 0;
};

}  // namespace snapdelta::gen

#endif  // SNAPDELTA_BENCH_GEN_ROWS_H_
