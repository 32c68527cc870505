// Tests for the byte sources: the local file, sniffing, gzip (ISA-L and zlib) and zstd.
#include "snapdelta/source.h"

#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/decompress.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using testing::GzipCompress;
using testing::ZstdCompress;

using ::testing::HasSubstr;

// A directory under the test temp dir, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "/snapdelta_source_XXXXXX";
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& bytes) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The shared in-memory source, named like a gzip export.
struct StringSource : testing::StringSource {
  explicit StringSource(std::string data, size_t max_chunk = SIZE_MAX)
      : testing::StringSource(std::move(data), max_chunk, SIZE_MAX, "export.csv.gz") {}
};

// Compressible text with some randomness, so deflate emits several blocks.
std::string SampleText(size_t size, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < size) {
    out += std::to_string(rng() % 100000) + ",name " + std::to_string(rng() % 977) + ",x\n";
  }
  out.resize(size);
  return out;
}

// Reads `source` to the end with reads of `chunk` bytes.
StatusOr<std::string> ReadAll(ByteSource& source, size_t chunk = 1 << 16) {
  std::string out;
  std::vector<char> buf(chunk);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

StatusOr<std::string> DecodeString(const std::string& bytes, size_t max_chunk = SIZE_MAX,
                                   Compression* detected = nullptr) {
  ASSIGN_OR_RETURN(auto source,
                   OpenDecompressed(std::make_unique<StringSource>(bytes, max_chunk), detected));
  return ReadAll(*source);
}

using GzipFactory = std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)>;

// Every gzip decoder of this build, by name.
std::vector<std::pair<std::string, GzipFactory>> GzipDecoders() {
  std::vector<std::pair<std::string, GzipFactory>> decoders;
  decoders.emplace_back("zlib", [](auto raw) { return OpenGzipZlib(std::move(raw)); });
#ifdef SNAPDELTA_HAVE_ISAL
  decoders.emplace_back("isal", [](auto raw) { return OpenGzipIsal(std::move(raw)); });
#endif
  return decoders;
}

TEST(FileSource, ReadsWholeFileAndCountsBytes) {
  TempDir dir;
  const std::string data = SampleText(300000);
  const std::string path = dir.Write("plain.csv", data);
  auto source = OpenFileSource(path);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->name(), path);
  auto read = ReadAll(**source, 4096);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, data);
  EXPECT_EQ((*source)->raw_bytes_consumed(), data.size());
}

TEST(FileSource, ReportsNotFoundForMissingFile) {
  TempDir dir;
  auto source = OpenFileSource(dir.path() + "/missing.csv");
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(source.status().message(), HasSubstr("missing.csv"));
}

TEST(FileSource, RejectsDirectoryWithIOError) {
  TempDir dir;
  auto source = OpenFileSource(dir.path());
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kIOError);
  EXPECT_THAT(source.status().message(), HasSubstr(dir.path()));
}

TEST(OpenExport, PassesPlainFileThroughUnchanged) {
  TempDir dir;
  const std::string data = "id,name\n1,a\n";
  Compression detected = Compression::kGzip;
  auto source = OpenExport(dir.Write("orders.csv", data), &detected);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(detected, Compression::kNone);
  EXPECT_EQ(*ReadAll(**source), data);
  EXPECT_EQ((*source)->raw_bytes_consumed(), data.size());
}

TEST(OpenExport, DetectsGzipFromContentNotName) {
  TempDir dir;
  const std::string data = SampleText(5000);
  Compression detected = Compression::kNone;
  auto source = OpenExport(dir.Write("orders.csv", GzipCompress(data)), &detected);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(detected, Compression::kGzip);
  EXPECT_EQ(*ReadAll(**source), data);
}

TEST(OpenExport, DetectsZstdFromContentNotName) {
  TempDir dir;
  const std::string data = SampleText(5000);
  Compression detected = Compression::kNone;
  auto source = OpenExport(dir.Write("orders.csv.gz", ZstdCompress(data)), &detected);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(detected, Compression::kZstd);
  EXPECT_EQ(*ReadAll(**source), data);
}

TEST(OpenExport, ReportsNotFoundForMissingFile) {
  auto source = OpenExport("/nonexistent/snapdelta/orders.csv");
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kNotFound);
}

TEST(OpenDecompressed, PassesThroughInputsShorterThanAnyMagic) {
  for (const std::string& data :
       {std::string(), std::string("a"), std::string("\x1f"), std::string("\x28\xb5\x2f")}) {
    Compression detected = Compression::kGzip;
    auto read = DecodeString(data, SIZE_MAX, &detected);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, data);
    EXPECT_EQ(detected, Compression::kNone);
  }
}

TEST(OpenDecompressed, SniffsMagicFromSourceReturningOneByteReads) {
  const std::string data = SampleText(20000);
  Compression detected = Compression::kNone;
  auto gzip = DecodeString(GzipCompress(data), 1, &detected);
  ASSERT_TRUE(gzip.ok()) << gzip.status().ToString();
  EXPECT_EQ(*gzip, data);
  EXPECT_EQ(detected, Compression::kGzip);
  auto zstd = DecodeString(ZstdCompress(data), 1, &detected);
  ASSERT_TRUE(zstd.ok()) << zstd.status().ToString();
  EXPECT_EQ(*zstd, data);
  EXPECT_EQ(detected, Compression::kZstd);
  auto plain = DecodeString(data, 1, &detected);
  EXPECT_EQ(*plain, data);
  EXPECT_EQ(detected, Compression::kNone);
}

TEST(Gzip, DecodesSingleMemberAndCountsCompressedBytes) {
  const std::string data = SampleText(1 << 20);
  const std::string compressed = GzipCompress(data);
  auto source = OpenDecompressed(std::make_unique<StringSource>(compressed));
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(*ReadAll(**source), data);
  EXPECT_EQ((*source)->raw_bytes_consumed(), compressed.size());
  EXPECT_EQ((*source)->name(), "export.csv.gz");
}

TEST(Gzip, DecodesMultipleMembersWithEveryDecoder) {
  const std::string a = SampleText(70000, 1), b = SampleText(1, 2), c = SampleText(300000, 3);
  const std::string compressed =
      GzipCompress(a) + GzipCompress(b) + GzipCompress("") + GzipCompress(c, 1);
  for (const auto& [name, open] : GzipDecoders()) {
    for (size_t max_chunk : {size_t{1}, size_t{13}, SIZE_MAX}) {
      auto read = ReadAll(*open(std::make_unique<StringSource>(compressed, max_chunk)), 1000);
      ASSERT_TRUE(read.ok()) << name << ": " << read.status().ToString();
      EXPECT_EQ(*read, a + b + c) << name << " max_chunk " << max_chunk;
    }
  }
}

TEST(Gzip, IsalAndZlibAgreeOnOutputAndErrors) {
  const std::string data = SampleText(2 << 20, 7);
  const std::string compressed =
      GzipCompress(data.substr(0, 1 << 20), 9) + GzipCompress(data.substr(1 << 20), 1);
  std::vector<std::string> outputs;
  std::vector<StatusCode> truncation_codes;
  for (const auto& [name, open] : GzipDecoders()) {
    for (size_t chunk : {size_t{1} << 20, size_t{4093}}) {
      auto read = ReadAll(*open(std::make_unique<StringSource>(compressed)), chunk);
      ASSERT_TRUE(read.ok()) << name << ": " << read.status().ToString();
      outputs.push_back(*read);
    }
    auto truncated = ReadAll(*open(std::make_unique<StringSource>(compressed.substr(0, 5000))));
    ASSERT_FALSE(truncated.ok());
    truncation_codes.push_back(truncated.status().code());
    EXPECT_THAT(truncated.status().message(), HasSubstr("truncated gzip stream")) << name;
  }
  for (const std::string& output : outputs) EXPECT_TRUE(output == data);
  for (StatusCode code : truncation_codes) EXPECT_EQ(code, StatusCode::kCorruption);
}

TEST(Gzip, ToleratesTrailingZeroPadding) {
  const std::string data = SampleText(10000);
  for (const auto& [name, open] : GzipDecoders()) {
    auto read = ReadAll(
        *open(std::make_unique<StringSource>(GzipCompress(data) + std::string(512, '\0'), 100)));
    ASSERT_TRUE(read.ok()) << name << ": " << read.status().ToString();
    EXPECT_EQ(*read, data);
  }
}

TEST(Gzip, RejectsTrailingGarbageAfterLastMember) {
  for (const std::string& tail : {std::string("garbage"), std::string("\0\0\0x", 4)}) {
    auto read = DecodeString(GzipCompress("a,b\n") + tail);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(), HasSubstr("export.csv.gz: unexpected byte"));
    EXPECT_THAT(read.status().message(), HasSubstr("after gzip member 1"));
  }
}

TEST(Gzip, RejectsTruncatedStreamNamingMemberAndOffset) {
  const std::string first = GzipCompress(SampleText(50000, 1));
  const std::string second = GzipCompress(SampleText(50000, 2));
  for (const auto& [name, open] : GzipDecoders()) {
    for (size_t cut : {size_t{5}, first.size() / 2, first.size() - 3}) {
      auto read = ReadAll(*open(std::make_unique<StringSource>(first.substr(0, cut))));
      ASSERT_FALSE(read.ok()) << name << " cut " << cut;
      EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
      EXPECT_THAT(read.status().message(),
                  HasSubstr("export.csv.gz: truncated gzip stream (ended inside member 1 after " +
                            std::to_string(cut) + " compressed bytes)"))
          << name;
    }
    auto read = ReadAll(*open(std::make_unique<StringSource>(first + second.substr(0, 100))));
    ASSERT_FALSE(read.ok());
    EXPECT_THAT(read.status().message(), HasSubstr("ended inside member 2")) << name;
  }
}

TEST(Gzip, RejectsCorruptDataWithFlippedBytes) {
  const std::string data = SampleText(200000);
  std::string compressed = GzipCompress(data);
  for (size_t i = compressed.size() / 2; i < compressed.size() / 2 + 16; ++i) compressed[i] ^= 0x5a;
  for (const auto& [name, open] : GzipDecoders()) {
    auto read = ReadAll(*open(std::make_unique<StringSource>(compressed)));
    ASSERT_FALSE(read.ok()) << name;
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption) << read.status().ToString();
    EXPECT_THAT(read.status().message(), HasSubstr("export.csv.gz: "));
    EXPECT_THAT(read.status().message(), HasSubstr("gzip"));
  }
}

TEST(Gzip, RejectsCorruptHeaderWithOffset) {
  std::string compressed = GzipCompress("a,b\n");
  compressed[2] = 7;  // compression method other than deflate
  for (const auto& [name, open] : GzipDecoders()) {
    auto read = ReadAll(*open(std::make_unique<StringSource>(compressed)));
    ASSERT_FALSE(read.ok()) << name;
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(), HasSubstr("corrupt gzip data at compressed byte"));
  }
}

TEST(Gzip, RejectsCrcMismatch) {
  std::string compressed = GzipCompress(SampleText(10000));
  compressed[compressed.size() - 6] ^= 1;  // inside the CRC-32 of the trailer
  for (const auto& [name, open] : GzipDecoders()) {
    auto read = ReadAll(*open(std::make_unique<StringSource>(compressed)));
    ASSERT_FALSE(read.ok()) << name;
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(), HasSubstr("CRC-32 or length mismatch in member 1"))
        << name << ": " << read.status().message();
  }
}

TEST(Zstd, DecodesSingleFrameAndCountsCompressedBytes) {
  const std::string data = SampleText(1 << 20);
  const std::string compressed = ZstdCompress(data);
  auto source = OpenDecompressed(std::make_unique<StringSource>(compressed));
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(*ReadAll(**source, 777), data);
  EXPECT_EQ((*source)->raw_bytes_consumed(), compressed.size());
}

TEST(Zstd, DecodesMultipleFrames) {
  const std::string a = SampleText(100000, 1), b = SampleText(3, 2), c = SampleText(200000, 3);
  const std::string compressed =
      ZstdCompress(a) + ZstdCompress(b) + ZstdCompress("") + ZstdCompress(c);
  for (size_t max_chunk : {size_t{1}, size_t{100}, SIZE_MAX}) {
    auto read = DecodeString(compressed, max_chunk);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_TRUE(*read == a + b + c);
  }
}

TEST(Zstd, RejectsTruncatedFrameNamingFrame) {
  const std::string first = ZstdCompress(SampleText(100000, 1));
  const std::string second = ZstdCompress(SampleText(100000, 2));
  auto read = DecodeString(first.substr(0, first.size() - 1));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(read.status().message(),
              HasSubstr("export.csv.gz: truncated zstd stream (ended inside frame 1 after " +
                        std::to_string(first.size() - 1) + " compressed bytes)"));
  read = DecodeString(first + second.substr(0, second.size() / 2));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("ended inside frame 2"));
}

TEST(Zstd, RejectsCorruptFrameWithZstdErrorName) {
  std::string compressed = ZstdCompress(SampleText(100000));
  for (size_t i = 20; i < 40; ++i) compressed[i] ^= 0x33;
  auto read = DecodeString(compressed);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(read.status().message(), HasSubstr("export.csv.gz: corrupt zstd data at compressed"));
}

TEST(Zstd, RejectsTrailingGarbage) {
  auto read = DecodeString(ZstdCompress("a,b\n") + "garbage!");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(read.status().message(), HasSubstr("corrupt zstd data"));
}

}  // namespace
}  // namespace snapdelta
