// S3Client through the fault proxy in front of moto_server: connections cut mid-body (resumed
// with Range), throttling, a retry limit, an object replaced during a resume, a stopped server;
// and moto in its IAM mode, where it checks signatures and rejects unknown keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "cloud/fault_proxy.h"
#include "cloud/moto_server.h"
#include "cloud/s3_client.h"

namespace snapdelta {
namespace {

using ::testing::AllOf;
using testing::CommandResult;
using testing::FaultProxy;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadAll;

class S3FaultTest : public testing::MotoTest {
 protected:
  void SetUp() override {
    MotoTest::SetUp();
    if (IsSkipped()) return;
    proxy_ = std::make_unique<FaultProxy>(server()->port());
    AwsConfig config = Config("s3");
    direct_ = std::move(S3Client::Create(config)).value();
    config.endpoint = proxy_->endpoint();
    RetryOptions retry;
    retry.sleep = [](std::chrono::milliseconds) {};  // no waiting in tests
    client_ = std::move(S3Client::Create(config, retry)).value();
    bucket_ = NewBucket();
  }

  // Uploads `size` random bytes as `key` with the CLI; returns them.
  std::string Upload(const std::string& key, size_t size, uint32_t seed) {
    const std::string data = testing::RandomBytes(size, seed);
    testing::TempDir dir("snapdelta-s3-fault");
    testing::WriteFile(dir / "up", data);
    const CommandResult cp = Aws({"s3", "cp", dir / "up", "s3://" + bucket_ + "/" + key});
    EXPECT_TRUE(cp.ok()) << cp.Describe();
    return data;
  }

  // The request heads the proxy saw for GETs.
  std::vector<std::string> GetHeads() {
    std::vector<std::string> heads;
    for (const testing::ProxiedRequest& r : proxy_->Requests()) {
      if (r.head.starts_with("GET ")) heads.push_back(r.head);
    }
    return heads;
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<S3Client> client_;  // through the proxy
  std::unique_ptr<S3Client> direct_;  // straight to moto
  std::string bucket_;
};

TEST_F(S3FaultTest, CutMidBodyIsResumedWithRange) {
  const std::string data = Upload("cut me.bin", 6 << 20, 1);
  proxy_->CutNextResponseAfter(2 << 20);
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket_, "cut me.bin");
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source, 65536);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == data) << "read " << read->size() << " bytes, differing";
  EXPECT_EQ(proxy_->cuts_done(), 1);
  const std::vector<std::string> heads = GetHeads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_THAT(heads[0], Not(HasSubstr("Range:")));
  EXPECT_THAT(heads[1], AllOf(HasSubstr("Range: bytes="), HasSubstr("-6291455\r\n"),
                              HasSubstr("If-Match: \"")));
  EXPECT_THAT(heads[1], Not(HasSubstr("Range: bytes=0-")));
}

TEST_F(S3FaultTest, CutInARangedReadIsResumedWithinTheRange) {
  const std::string data = Upload("ranged.bin", 5 << 20, 2);
  proxy_->CutNextResponseAfter(1 << 20);
  StatusOr<std::unique_ptr<ByteSource>> source =
      client_->Get(bucket_, "ranged.bin", "", 1 << 20, 3 << 20);
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == data.substr(1 << 20, 3 << 20));
  const std::vector<std::string> heads = GetHeads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_THAT(heads[0], HasSubstr("Range: bytes=1048576-4194303\r\n"));
  EXPECT_THAT(heads[1], HasSubstr("-4194303\r\n"));
}

TEST_F(S3FaultTest, SlowDownThenSuccess) {
  const std::string data = Upload("slow.bin", 1000, 3);
  proxy_->FailNextRequests(2, 503, "SlowDown");
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket_, "slow.bin");
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, data);
  proxy_->FailNextRequests(2, 503, "SlowDown");
  StatusOr<std::vector<S3Object>> listed = client_->List(bucket_, "");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 1u);
  proxy_->FailNextRequests(1, 500, "InternalError");
  EXPECT_TRUE(client_->Put(bucket_, "after 500", "x", true).ok());
  EXPECT_EQ(proxy_->failures_left(), 0);
}

TEST_F(S3FaultTest, InternalErrorOnEveryAttemptGivesUp) {
  Upload("broken.bin", 1000, 4);
  proxy_->FailNextRequests(1000, 500, "InternalError");
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket_, "broken.bin");
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(read.status().message(),
            "s3://" + bucket_ +
                "/broken.bin: GET failed after 5 attempts: HTTP 500 "
                "InternalError: Injected by the fault proxy (InternalError) (is the endpoint " +
                proxy_->endpoint() + " reachable?)");
  EXPECT_EQ(proxy_->failures_left(), 995);
}

TEST_F(S3FaultTest, ObjectReplacedBetweenCutAndResumeIsAnError) {
  Upload("replaced.bin", 4 << 20, 5);
  const std::string old_etag = direct_->Head(bucket_, "replaced.bin")->etag;
  const std::string replacement = testing::RandomBytes(4 << 20, 6);
  proxy_->CutNextResponseAfter(1 << 20, [&] {
    EXPECT_TRUE(direct_->Put(bucket_, "replaced.bin", replacement, false).ok());
  });
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket_, "replaced.bin");
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable);
  const std::string new_etag = direct_->Head(bucket_, "replaced.bin")->etag;
  EXPECT_NE(old_etag, new_etag);
  EXPECT_EQ(read.status().message(), "s3://" + bucket_ +
                                         "/replaced.bin changed while it was read (ETag " +
                                         old_etag + " → " + new_etag + "); read it again");
  ASSERT_EQ(GetHeads().size(), 2u);
  EXPECT_THAT(GetHeads()[1], HasSubstr("If-Match: \"" + old_etag + "\""));
}

TEST_F(S3FaultTest, StoppedServerFailsClearlyWithoutHanging) {
  Upload("unreachable.bin", 1000, 7);
  proxy_->SetRefusing(true);
  const auto start = std::chrono::steady_clock::now();
  StatusOr<std::unique_ptr<ByteSource>> source = client_->Get(bucket_, "unreachable.bin");
  ASSERT_TRUE(source.ok());
  StatusOr<std::string> read = ReadAll(**source);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(read.status().message(),
              AllOf(HasSubstr("GET failed after 5 attempts: Couldn't connect to server"),
                    HasSubstr("(is the endpoint " + proxy_->endpoint() + " reachable?)")));
  StatusOr<std::vector<S3Object>> listed = client_->List(bucket_, "");
  EXPECT_EQ(listed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(listed.status().message(), HasSubstr("ListObjectsV2 failed after 5 attempts"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// moto with INITIAL_NO_AUTH_ACTION_COUNT: the first three requests (creating a user, its key and
// its policy) are let through, every later one must be signed by a key moto issued.
class S3AuthTest : public testing::MotoTest {
 protected:
  static void SetUpTestSuite() {
    StartServer({"INITIAL_NO_AUTH_ACTION_COUNT=3"});
    if (server() == nullptr) return;
    ASSERT_TRUE(Aws({"iam", "create-user", "--user-name", "snapdelta"}).ok());
    const CommandResult key = Aws({"iam", "create-access-key", "--user-name", "snapdelta"});
    ASSERT_TRUE(key.ok()) << key.Describe();
    const nlohmann::json parsed = testing::ParseJson(key.out);
    key_id_ = parsed["AccessKey"]["AccessKeyId"];
    secret_ = parsed["AccessKey"]["SecretAccessKey"];
    ASSERT_TRUE(Aws({"iam", "put-user-policy", "--user-name", "snapdelta", "--policy-name", "all",
                     "--policy-document",
                     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",)"
                     R"("Resource":"*"}]})"})
                    .ok());
    cli_env() = {"AWS_ACCESS_KEY_ID=" + key_id_, "AWS_SECRET_ACCESS_KEY=" + secret_};
  }

  std::unique_ptr<S3Client> Client(const std::string& key_id, const std::string& secret,
                                   const std::string& source) {
    AwsConfig config = Config("s3");
    config.credentials = {key_id, secret, "", source};
    return std::move(S3Client::Create(config)).value();
  }

  static std::string key_id_, secret_;
};

std::string S3AuthTest::key_id_, S3AuthTest::secret_;

TEST_F(S3AuthTest, SignedRequestsPassMotosSignatureCheck) {
  const std::string bucket = NewBucket();
  std::unique_ptr<S3Client> client = Client(key_id_, secret_, "moto IAM user");
  ASSERT_TRUE(client->Put(bucket, "dir/plain.csv", "hello", true).ok());
  // moto 5.2's IAM mode miscomputes the signature of query values with '/' and of keys with
  // '+', '=' or non-ASCII (the AWS CLI is rejected as well), so the names here avoid them.
  StatusOr<std::vector<S3Object>> listed = client->List(bucket, "dir", "di");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  StatusOr<S3Object> head = client->Head(bucket, "dir/plain.csv");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  StatusOr<std::unique_ptr<ByteSource>> source = client->Get(bucket, "dir/plain.csv");
  EXPECT_EQ(*ReadAll(**source), "hello");
  source = client->Get(bucket, "dir/plain.csv", head->etag, 1, 3);  // Range and If-Match signed
  StatusOr<std::string> part = ReadAll(**source);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(*part, "ell");
  client->set_part_size(5 << 20);
  StatusOr<std::unique_ptr<S3Writer>> writer = client->StartWrite(bucket, "dir/multi.bin", true);
  ASSERT_TRUE((*writer)->Append(testing::RandomBytes(6 << 20, 9)).ok());
  EXPECT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(client->Delete(bucket, "dir/plain.csv").ok());
}

TEST_F(S3AuthTest, UnknownKeyIdIsInvalidArgumentNamingTheSource) {
  const std::string bucket = NewBucket();
  std::unique_ptr<S3Client> client =
      Client("AKIAUNKNOWN000000000", secret_, "AWS_ACCESS_KEY_ID (environment)");
  StatusOr<std::vector<S3Object>> listed = client->List(bucket, "");
  EXPECT_EQ(listed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(listed.status().message(),
              AllOf(HasSubstr("ListObjectsV2 refused (HTTP 403 InvalidAccessKeyId"),
                    HasSubstr("the credentials from AWS_ACCESS_KEY_ID (environment) (access key "
                              "id AKIAUNKNOWN000000000) were rejected")));
}

TEST_F(S3AuthTest, WrongSecretIsSignatureDoesNotMatch) {
  const std::string bucket = NewBucket();
  std::unique_ptr<S3Client> client = Client(key_id_, "not-the-secret", "profile 'x' in f");
  Status put = client->Put(bucket, "k", "v", false);
  EXPECT_EQ(put.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(put.message(), AllOf(HasSubstr("SignatureDoesNotMatch"),
                                   HasSubstr("the credentials from profile 'x' in f")));
}

}  // namespace
}  // namespace snapdelta
