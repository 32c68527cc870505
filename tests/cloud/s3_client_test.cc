// S3Client against moto_server, with the AWS CLI as the independent client that uploads inputs
// and checks what the client wrote.
#include "cloud/s3_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "cloud/aws_util.h"
#include "cloud/moto_server.h"

namespace snapdelta {
namespace {

using ::testing::AllOf;
using testing::CommandResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadAll;
using testing::TempDir;

std::string Md5Hex(std::string_view data) { return DigestHex(EVP_md5(), data); }

class S3ClientTest : public testing::MotoTest {
 protected:
  void SetUp() override {
    MotoTest::SetUp();
    if (IsSkipped()) return;
    StatusOr<std::unique_ptr<S3Client>> client = S3Client::Create(Config("s3"));
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }

  // The object's content as the AWS CLI downloads it.
  std::string CliDownload(const std::string& bucket, const std::string& key) {
    const CommandResult got = Aws({"s3", "cp", "s3://" + bucket + "/" + key, dir_.path() / "dl"});
    EXPECT_TRUE(got.ok()) << got.Describe();
    return testing::ReadFile(dir_.path() / "dl");
  }

  std::string Get(const std::string& bucket, const std::string& key, uint64_t offset = 0,
                  uint64_t length = UINT64_MAX) {
    StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket, key, "", offset, length);
    EXPECT_TRUE(source.ok()) << source.status().ToString();
    if (!source.ok()) return "";
    StatusOr<std::string> data = ReadAll(**source);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? *data : "";
  }

  std::unique_ptr<S3Client> client_;
  TempDir dir_{"snapdelta-s3"};
};

TEST_F(S3ClientTest, AwkwardKeysRoundTrip) {
  const std::string bucket = NewBucket();
  const std::vector<std::string> keys = {"dir/a b.csv", "dir/a+b.csv", "dir/x=1&y=é ü.csv",
                                         "dir/sub/~tilde_(1).csv"};
  for (const std::string& key : keys)
    ASSERT_TRUE(client_->Put(bucket, key, "data of " + key, false).ok());
  // The CLI sees exactly these keys with this content.
  CommandResult listed =
      Aws({"s3api", "list-objects-v2", "--bucket", bucket, "--query", "Contents[].Key"});
  ASSERT_TRUE(listed.ok()) << listed.Describe();
  nlohmann::json cli_keys = testing::ParseJson(listed.out);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(cli_keys.get<std::vector<std::string>>(), sorted);
  EXPECT_EQ(CliDownload(bucket, "dir/a+b.csv"), "data of dir/a+b.csv");

  StatusOr<std::vector<S3Object>> objects = client_->List(bucket, "dir/");
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  std::vector<std::string> listed_keys;
  for (const S3Object& object : *objects) listed_keys.push_back(object.key);
  EXPECT_EQ(listed_keys, sorted);
  for (const std::string& key : keys) {
    EXPECT_EQ(Get(bucket, key), "data of " + key);
    StatusOr<S3Object> head = client_->Head(bucket, key);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->size, ("data of " + key).size());
    EXPECT_EQ(head->etag, Md5Hex("data of " + key));
    EXPECT_GT(head->mtime_ms, 1'600'000'000'000);
  }
}

TEST_F(S3ClientTest, ListPaginatesPrefixesAndStartsAfter) {
  const std::string bucket = NewBucket();
  constexpr int kKeys = 1050;
  std::vector<std::thread> threads;  // the client is used from several threads at once
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += 4) {
        char key[32];
        snprintf(key, sizeof(key), "p/%04d.csv", i);
        if (!client_->Put(bucket, key, std::to_string(i), false).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(client_->Put(bucket, "q/other", "x", false).ok());
  CommandResult count = Aws({"s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "p/",
                             "--query", "length(Contents)"});
  EXPECT_EQ(count.out, std::to_string(kKeys) + "\n") << count.Describe();

  StatusOr<std::vector<S3Object>> all = client_->List(bucket, "");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), kKeys + 1u);
  EXPECT_TRUE(std::is_sorted(all->begin(), all->end(),
                             [](const S3Object& a, const S3Object& b) { return a.key < b.key; }));
  EXPECT_EQ(all->front().key, "p/0000.csv");
  EXPECT_EQ((*all)[1000].key, "p/1000.csv");
  EXPECT_EQ(all->back().key, "q/other");
  EXPECT_EQ((*all)[1049].size, 4u);

  StatusOr<std::vector<S3Object>> tail = client_->List(bucket, "p/", "p/0997.csv");
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  ASSERT_EQ(tail->size(), 52u);
  EXPECT_EQ(tail->front().key, "p/0998.csv");
  EXPECT_EQ(tail->back().key, "p/1049.csv");

  StatusOr<std::vector<S3Object>> tens = client_->List(bucket, "p/101");
  ASSERT_TRUE(tens.ok());
  EXPECT_EQ(tens->size(), 10u);
  StatusOr<std::vector<S3Object>> none = client_->List(bucket, "nothing/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(S3ClientTest, GetWholeRangedAndByEtag) {
  const std::string bucket = NewBucket();
  const std::string data = testing::RandomBytes(3 << 20, 7);
  testing::WriteFile(dir_.path() / "up", data);
  ASSERT_TRUE(Aws({"s3", "cp", dir_.path() / "up", "s3://" + bucket + "/in/big file.bin"}).ok());
  const std::string key = "in/big file.bin";

  EXPECT_EQ(Get(bucket, key), data);
  EXPECT_EQ(Get(bucket, key, 1000, 5000), data.substr(1000, 5000));
  EXPECT_EQ(Get(bucket, key, data.size() - 10), data.substr(data.size() - 10));
  EXPECT_EQ(Get(bucket, key, 5, 0), "");

  StatusOr<S3Object> head = client_->Head(bucket, key);
  ASSERT_TRUE(head.ok());
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket, key, head->etag);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->name(), "s3://" + bucket + "/" + key);
  StatusOr<std::string> read = ReadAll(**source, 7777);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, data);
  EXPECT_EQ((*source)->raw_bytes_consumed(), data.size());

  source = client_->Get(bucket, key, "0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(source.ok());
  read = ReadAll(**source);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(read.status().message(),
              HasSubstr("changed while it was read (ETag 0123456789abcdef0123456789abcdef → " +
                        head->etag + ")"));
}

TEST_F(S3ClientTest, GetIsPulledAndCanBeAbandoned) {
  const std::string bucket = NewBucket();
  const std::string data = testing::RandomBytes(8 << 20, 8);
  ASSERT_TRUE(client_->Put(bucket, "big.bin", data, false).ok());
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket, "big.bin");
  ASSERT_TRUE(source.ok());
  char buf[1000];
  StatusOr<size_t> n = (*source)->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_GT(*n, 0u);
  EXPECT_EQ(std::string_view(buf, *n), std::string_view(data).substr(0, *n));
  EXPECT_EQ((*source)->raw_bytes_consumed(), *n);
  source->reset();  // mid-transfer: the connection is dropped, nothing hangs
  EXPECT_TRUE(client_->Head(bucket, "big.bin").ok());
}

TEST_F(S3ClientTest, MissingThingsAreNotFound) {
  const std::string bucket = NewBucket();
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket, "absent");
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(ReadAll(**source).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->Head(bucket, "absent").status().code(), StatusCode::kNotFound);

  const std::string missing = bucket + "-missing";
  StatusOr<std::vector<S3Object>> listed = client_->List(missing, "");
  EXPECT_EQ(listed.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(listed.status().message(),
              HasSubstr("bucket " + missing + " does not exist (endpoint " + endpoint() + ")"));
  Status put = client_->Put(missing, "k", "x", false);
  EXPECT_EQ(put.code(), StatusCode::kNotFound);
  EXPECT_THAT(put.message(), HasSubstr("bucket " + missing + " does not exist"));
  EXPECT_EQ(client_->Delete(missing, "k").code(), StatusCode::kNotFound);
}

TEST_F(S3ClientTest, PutIfNoneMatchRefusesTheSecondWrite) {
  const std::string bucket = NewBucket();
  ASSERT_TRUE(client_->Put(bucket, "once.csv", "first", true).ok());
  Status second = client_->Put(bucket, "once.csv", "second", true);
  EXPECT_EQ(second.code(), StatusCode::kAborted);
  EXPECT_THAT(second.message(), HasSubstr("s3://" + bucket + "/once.csv already exists"));
  EXPECT_EQ(CliDownload(bucket, "once.csv"), "first");
  EXPECT_TRUE(client_->Put(bucket, "once.csv", "third", false).ok());
  EXPECT_EQ(CliDownload(bucket, "once.csv"), "third");
}

TEST_F(S3ClientTest, MultipartUploadOfTwentyMiB) {
  const std::string bucket = NewBucket();
  client_->set_part_size(5 << 20);
  const std::string data = testing::RandomBytes((20 << 20) + 12345, 11);
  StatusOr<std::unique_ptr<S3Writer>> writer = client_->StartWrite(bucket, "out/big.bin", true);
  ASSERT_TRUE(writer.ok());
  for (size_t at = 0; at < data.size(); at += 777777) {
    ASSERT_TRUE((*writer)->Append(std::string_view(data).substr(at, 777777)).ok());
  }
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(CliDownload(bucket, "out/big.bin") == data) << "content differs";
  StatusOr<S3Object> head = client_->Head(bucket, "out/big.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  EXPECT_TRUE(head->etag.ends_with("-5")) << head->etag;  // four full parts and the rest

  // A second writer of the same key with If-None-Match fails at Commit and leaves nothing.
  writer = client_->StartWrite(bucket, "out/big.bin", true);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(std::string_view(data).substr(0, 11 << 20)).ok());
  Status commit = (*writer)->Commit();
  EXPECT_EQ(commit.code(), StatusCode::kAborted);
  EXPECT_THAT(commit.message(), HasSubstr("out/big.bin already exists"));
  writer->reset();
  EXPECT_EQ(client_->Head(bucket, "out/big.bin")->size, data.size());
  CommandResult uploads = Aws({"s3api", "list-multipart-uploads", "--bucket", bucket});
  EXPECT_THAT(uploads.out, Not(HasSubstr("UploadId"))) << uploads.Describe();
}

TEST_F(S3ClientTest, SmallWritesAreOnePutAndUncommittedWritersAbort) {
  const std::string bucket = NewBucket();
  client_->set_part_size(5 << 20);
  StatusOr<std::unique_ptr<S3Writer>> writer = client_->StartWrite(bucket, "exact.bin", false);
  const std::string part = testing::RandomBytes(5 << 20, 3);
  ASSERT_TRUE((*writer)->Append(part).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(client_->Head(bucket, "exact.bin")->etag, Md5Hex(part));  // a single PutObject

  writer = client_->StartWrite(bucket, "abandoned.bin", false);
  ASSERT_TRUE((*writer)->Append(testing::RandomBytes(12 << 20, 4)).ok());
  CommandResult uploads = Aws({"s3api", "list-multipart-uploads", "--bucket", bucket});
  EXPECT_THAT(uploads.out, HasSubstr("abandoned.bin")) << uploads.Describe();
  writer->reset();  // destroyed uncommitted: the upload is aborted
  uploads = Aws({"s3api", "list-multipart-uploads", "--bucket", bucket});
  EXPECT_THAT(uploads.out, Not(HasSubstr("UploadId"))) << uploads.Describe();
  EXPECT_EQ(client_->Head(bucket, "abandoned.bin").status().code(), StatusCode::kNotFound);
  CommandResult listed = Aws({"s3", "ls", "s3://" + bucket + "/"});
  EXPECT_THAT(listed.out, Not(HasSubstr("abandoned"))) << listed.Describe();
}

TEST_F(S3ClientTest, DeleteIsIdempotent) {
  const std::string bucket = NewBucket();
  ASSERT_TRUE(client_->Put(bucket, "gone soon+.csv", "x", false).ok());
  EXPECT_TRUE(client_->Delete(bucket, "gone soon+.csv").ok());
  EXPECT_EQ(client_->Head(bucket, "gone soon+.csv").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(client_->Delete(bucket, "gone soon+.csv").ok());
  CommandResult listed = Aws({"s3", "ls", "s3://" + bucket + "/"});
  EXPECT_EQ(listed.out, "") << listed.Describe();
}

}  // namespace
}  // namespace snapdelta
