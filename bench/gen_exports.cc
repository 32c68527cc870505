// snapdelta-gen: writes a chain of synthetic full exports of one table and their true deltas.
// A C++ port of the reference generator gen_exports.py, with its options and semantics; it is
// not byte-compatible with it (different random streams), it makes the same kind of data.
//
//   snapdelta-gen OUT_DIR --rows N [--exports K] [--update-pct P] [--delete-pct P]
//                 [--insert-pct P] [--seed S] [--gzip | --fast-gzip] [--composite-key]
//                 [--nasty] [--landing TENANT/TABLE] [--truth FILE]
//
// Output: export1.csv .. exportK.csv (".csv.gz" with --gzip: zlib level 6 as gen_exports.py;
// --fast-gzip: ISA-L level 1, for 100M-row benchmarks) in OUT_DIR, or with --landing
// OUT_DIR/TENANT/TABLE/v0001/export1.csv, v0002/export2.csv, ... (version names sort as strings;
// each version folder appears complete, by rename). truth.json goes to OUT_DIR unless --truth:
//   {"key":[...],"exports":[{"export","version"(--landing only),"rows","insert","update",
//   "delete"}]}
// Export 1 holds N rows. Export n>1 is export n-1 with int(rows*P/100) rows updated, deleted
// and inserted (the pcts apply to the row count of export n-1). Rows come in a fresh random
// order each export. Columns: id, or region,id with --composite-key; first_name, last_name,
// email, city, balance, created_at, status, notes. An update changes one of email..notes and is
// always a real change (a unique edit number is part of the new value); keys, first_name and
// last_name never change. --nasty puts quotes, commas, LF, CRLF, empty, padded, unicode, tab,
// '""' and "NULL" values in notes. Fields are quoted like RFC 4180 writers do (gen_exports.py's
// quote()): when they hold , " CR LF or leading/trailing white space.
//
// Memory: 8 bytes per live row (id and last edit number). The text of a row is a pure function
// of (seed, id, last edit), so a row edited twice shows only its last edit, and the column of an
// earlier edit returns to its original value: still a real change.
//
// Exit status: 0 ok, 1 I/O error, 2 usage error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gen_output.h"
#include "gen_rows.h"

namespace {

namespace fs = std::filesystem;
using snapdelta::gen::Chain;
using snapdelta::gen::Codec;
using snapdelta::gen::ExportWriter;
using snapdelta::gen::LiveRow;
using snapdelta::gen::RowFormatter;

// Rows are formatted into a chunk of about this size before it is handed to the writer.
constexpr size_t kChunkBytes = 1 << 20;

struct Options {
  std::string out_dir;
  uint64_t rows = 1'000'000;
  uint32_t exports = 2;
  double update_pct = 5, delete_pct = 2, insert_pct = 3;
  uint64_t seed = 1;
  bool gzip = false, fast_gzip = false, composite_key = false, nasty = false;
  std::string landing;     // "TENANT/TABLE", empty for the flat layout
  std::string truth_path;  // default OUT_DIR/truth.json
};

struct ExportStats {
  std::string file, version;
  uint64_t rows = 0, inserts = 0, updates = 0, deletes = 0;
};

bool WriteExport(const std::string& path, Codec codec, RowFormatter& formatter,
                 const std::vector<LiveRow>& rows) {
  ExportWriter out(path, codec);
  std::string chunk = formatter.Header();
  bool ok = true;
  for (const LiveRow& row : rows) {
    formatter.Append(row, &chunk);
    if (chunk.size() >= kChunkBytes) chunk = out.Write(std::move(chunk), &ok);
  }
  out.Write(std::move(chunk), &ok);
  return out.Close() && ok;
}

// Writes export `n` where it belongs. With --landing the file is written into a hidden folder
// of OUT_DIR that is then renamed to its version folder, so a watcher sees it complete.
bool PlaceExport(const Options& options, const ExportStats& stats, RowFormatter& formatter,
                 const std::vector<LiveRow>& rows) {
  const fs::path out_dir(options.out_dir);
  const Codec codec = options.fast_gzip ? Codec::kIsal
                      : options.gzip    ? Codec::kZlib
                                        : Codec::kPlain;
  if (options.landing.empty()) return WriteExport(out_dir / stats.file, codec, formatter, rows);
  const fs::path staging = out_dir / (".snapdelta-gen-" + stats.version);
  const fs::path table_dir = out_dir / options.landing, version_dir = table_dir / stats.version;
  std::error_code ec;
  fs::create_directories(staging, ec);
  fs::create_directories(table_dir, ec);
  if (!WriteExport(staging / stats.file, codec, formatter, rows)) return false;
  if (fs::exists(version_dir, ec)) {
    fs::rename(staging / stats.file, version_dir / stats.file, ec);
    if (!ec) fs::remove(staging, ec);
  } else {
    fs::rename(staging, version_dir, ec);
  }
  if (ec) std::cerr << "snapdelta-gen: cannot move into " << version_dir << ": " << ec.message();
  return !ec;
}

bool WriteTruth(const Options& options, const std::vector<ExportStats>& exports) {
  std::string json =
      options.composite_key ? "{\n \"key\": [\"region\", \"id\"],\n" : "{\n \"key\": [\"id\"],\n";
  json += " \"exports\": [\n";
  for (size_t i = 0; i < exports.size(); ++i) {
    const ExportStats& s = exports[i];
    json += "  {\"export\": \"" + s.file + "\"";
    if (!s.version.empty()) json += ", \"version\": \"" + s.version + "\"";
    json += ", \"rows\": " + std::to_string(s.rows) + ", \"insert\": " + std::to_string(s.inserts);
    json += ", \"update\": " + std::to_string(s.updates);
    json += ", \"delete\": " + std::to_string(s.deletes) + "}";
    json += i + 1 < exports.size() ? ",\n" : "\n";
  }
  json += " ]\n}\n";
  std::ofstream out(options.truth_path, std::ios::binary | std::ios::trunc);
  out << json;
  out.close();
  if (!out) std::cerr << "snapdelta-gen: cannot write " << options.truth_path << "\n";
  return static_cast<bool>(out);
}

std::string VersionName(uint32_t n, uint32_t exports) {
  const std::string digits = std::to_string(n);
  const size_t width = std::max<size_t>(4, std::to_string(exports).size());
  return "v" + std::string(width - digits.size(), '0') + digits;
}

// The file name and exact counts of every export, computed before any row is made:
// int(rows * pct / 100) of the live rows of the previous export, as gen_exports.py.
std::vector<ExportStats> PlanChain(const Options& options) {
  std::vector<ExportStats> plan(options.exports);
  uint64_t live = options.rows;
  for (uint32_t n = 1; n <= options.exports; ++n) {
    ExportStats& stats = plan[n - 1];
    stats.file = "export" + std::to_string(n) + (options.gzip ? ".csv.gz" : ".csv");
    if (!options.landing.empty()) stats.version = VersionName(n, options.exports);
    if (n == 1) {
      stats.inserts = live;
    } else {
      const double rows = static_cast<double>(live);
      stats.updates = static_cast<uint64_t>(rows * options.update_pct / 100);
      stats.deletes = static_cast<uint64_t>(rows * options.delete_pct / 100);
      stats.inserts = static_cast<uint64_t>(rows * options.insert_pct / 100);
      live = live - stats.deletes + stats.inserts;
    }
    stats.rows = live;
  }
  return plan;
}

int Generate(const Options& options, const std::vector<ExportStats>& plan) {
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec) {
    std::cerr << "snapdelta-gen: cannot create " << options.out_dir << ": " << ec.message() << "\n";
    return 1;
  }
  RowFormatter formatter(options.seed, options.composite_key, options.nasty);
  Chain chain(options.seed);
  uint64_t peak_rows = 0;
  for (const ExportStats& stats : plan) peak_rows = std::max(peak_rows, stats.rows + stats.deletes);
  chain.Reserve(peak_rows);
  for (const ExportStats& stats : plan) {
    if (&stats == &plan.front()) {
      chain.Insert(stats.inserts);
    } else {
      chain.Advance(stats.updates, stats.deletes, stats.inserts);
    }
    chain.Shuffle();
    if (!PlaceExport(options, stats, formatter, chain.rows())) return 1;
  }
  return WriteTruth(options, plan) ? 0 : 1;
}

// Checks what CLI11 cannot: a landing path of two plain names, and row ids and edit numbers that
// fit in 32 bits.
std::string Validate(const Options& o, const std::vector<ExportStats>& plan) {
  if (!o.landing.empty()) {
    const auto slash = o.landing.find('/');
    const std::string tenant = o.landing.substr(0, slash);
    const std::string table = slash == std::string::npos ? "" : o.landing.substr(slash + 1);
    for (const std::string& part : {tenant, table}) {
      if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos) {
        return "--landing wants TENANT/TABLE, got '" + o.landing + "'";
      }
    }
  }
  if (o.update_pct + o.delete_pct > 100) return "--update-pct plus --delete-pct exceeds 100";
  uint64_t ids = 0, edits = 0;
  for (const ExportStats& stats : plan) ids += stats.inserts, edits += stats.updates;
  if (ids > UINT32_MAX || edits > UINT32_MAX) return "the chain needs more than 2^32 ids or edits";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Writes a chain of synthetic full table exports and truth.json, their true deltas."};
  app.add_option("OUT_DIR", o.out_dir, "output folder (created)")->required();
  app.add_option("--rows", o.rows, "rows in the first export")
      ->check([](const std::string& value) {
        return value.starts_with('-') ? "--rows must not be negative" : std::string();
      })
      ->capture_default_str();
  app.add_option("--exports", o.exports, "exports in the chain")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--update-pct", o.update_pct, "% of rows updated per export")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app.add_option("--delete-pct", o.delete_pct, "% of rows deleted per export")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app.add_option("--insert-pct", o.insert_pct, "% of rows inserted per export")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_flag("--gzip", o.gzip, "write .csv.gz (zlib, level 6)");
  app.add_flag("--fast-gzip", o.fast_gzip,
               "write .csv.gz with ISA-L level 1: several times faster, larger files");
  app.add_flag("--composite-key", o.composite_key, "the key is (region, id)");
  app.add_flag("--nasty", o.nasty, "quotes, commas, CR/LF, unicode, empty values in notes");
  app.add_option("--landing", o.landing,
                 "write OUT_DIR/TENANT/TABLE/<version>/export<n>.csv instead");
  app.add_option("--truth", o.truth_path, "where truth.json goes (default OUT_DIR/truth.json)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "snapdelta-gen: " << e.what() << "\n\n" << app.help();
    return 2;
  }
  o.gzip = o.gzip || o.fast_gzip;
  if (o.truth_path.empty()) o.truth_path = (fs::path(o.out_dir) / "truth.json").string();
  const std::vector<ExportStats> plan = PlanChain(o);
  if (const std::string error = Validate(o, plan); !error.empty()) {
    std::cerr << "snapdelta-gen: " << error << "\n";
    return 2;
  }
  return Generate(o, plan);
}
