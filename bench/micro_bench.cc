// Google Benchmark loops for the differ's inner loops: the CSV scan, row fingerprints, key
// digests, key-table inserts and probes, and the spill partition function. Run with
// `make microbench`; numbers are per row (items/s) on synthetic rows like the generator's.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/touch.h"
#include "csv/csv_reader.h"
#include "diff/fingerprint.h"
#include "diff/key_table.h"
#include "diff/spill.h"

namespace snapdelta {
namespace {

constexpr int kRows = 100000;

// An export like the generator's: id plus eight columns, some quoted.
std::string MakeCsv(int rows) {
  std::string csv = "id,first_name,last_name,email,city,balance,created_at,status,notes\n";
  for (int i = 1; i <= rows; ++i) {
    csv += std::to_string(i) + ",Ada,Lovelace,ada.lovelace" + std::to_string(i) +
           "@example.com,Lisbon," + std::to_string(i % 100000) +
           ".25,2020-05-17T03:00:00Z,active,\"note, " + std::to_string(i * 7) + "\"\n";
  }
  return csv;
}

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(const std::string* data) : data_(data) {}
  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    size_t n = std::min(capacity, data_->size() - pos_);
    std::memcpy(buf, data_->data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override { return pos_; }

 private:
  const std::string* data_;
  size_t pos_ = 0;
  std::string name_ = "bench.csv";
};

void BM_CsvScan(benchmark::State& state) {
  const std::string csv = MakeCsv(kRows);
  for (auto _ : state) {
    CsvReader reader(std::make_unique<MemorySource>(&csv), CsvOptions{});
    if (!reader.ReadHeader().ok()) state.SkipWithError("header");
    bool has_record = true;
    size_t bytes = 0;
    while (reader.Next(&has_record).ok() && has_record) bytes += reader.field(8).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_CsvScan);

void BM_Fingerprint(benchmark::State& state) {
  std::vector<std::string> values = {"Ada",    "Lovelace",  "ada.lovelace123@example.com",
                                     "Lisbon", "4321.25",   "2020-05-17T03:00:00Z",
                                     "active", "note 12345"};
  std::vector<uint64_t> names, hashes(values.size());
  for (size_t i = 0; i < values.size(); ++i) names.push_back(NameHash("c" + std::to_string(i)));
  for (auto _ : state) {
    for (size_t i = 0; i < values.size(); ++i) hashes[i] = ValueHash(values[i]);
    benchmark::DoNotOptimize(CombineFingerprint(names, hashes));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fingerprint);

void BM_DigestKey(benchmark::State& state) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) {
    keys.emplace_back();
    AppendKeyPart(&keys.back(), std::to_string(i * 7919));
  }
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(DigestKey(keys[i++ & 1023]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DigestKey);

std::vector<KeyDigest> RandomDigests(size_t count) {
  std::mt19937_64 rng(1);
  std::vector<KeyDigest> digests(count);
  for (KeyDigest& digest : digests) digest = KeyDigest{rng(), rng() | 1};
  return digests;
}

// Inserts in random order (an export) or digest order (a state file), then probes at random.
void BM_KeyTable(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  std::vector<KeyDigest> digests = RandomDigests(count);
  std::vector<KeyDigest> sorted = digests;
  std::sort(sorted.begin(), sorted.end());
  for (auto _ : state) {
    KeyTable table;
    table.Reserve(count);
    bool inserted = false;
    for (const KeyDigest& digest : state.range(1) ? sorted : digests) {
      table.entry(table.FindOrInsert(digest, &inserted)).Set(KeyEntry::kOldOnly, 0);
    }
    for (size_t i = 0; i < count; ++i) {
      TouchAhead(i, count, [&](size_t j) { return table.HomeOf(digests[j]); });  // as ExportReader
      benchmark::DoNotOptimize(table.FindOrInsert(digests[i], &inserted));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(count));
}
BENCHMARK(BM_KeyTable)->Args({1 << 20, 0})->Args({1 << 20, 1})->Unit(benchmark::kMillisecond);

void BM_Partition(benchmark::State& state) {
  std::vector<KeyDigest> digests = RandomDigests(4096);
  size_t i = 0, sum = 0;
  for (auto _ : state) sum += PartitionOf(digests[i++ & 4095], 64);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Partition);

}  // namespace
}  // namespace snapdelta

BENCHMARK_MAIN();
