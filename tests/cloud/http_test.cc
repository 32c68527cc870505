// AwsHttp's retries, backoff and error mapping against the fault proxy answering by itself
// (no upstream): throttling then success, a retry limit, credential errors, refused and hung
// connections.
#include "cloud/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <vector>

#include "cloud/fault_proxy.h"

namespace snapdelta {
namespace {

using ::testing::AllOf;
using testing::FaultProxy;
using ::testing::HasSubstr;

class AwsHttpTest : public ::testing::Test {
 protected:
  AwsHttpTest() : proxy_(0) {
    config_.service = "s3";
    config_.region = "us-east-1";
    config_.endpoint = proxy_.endpoint();
    config_.path_style = true;
    config_.credentials = {"AKIATEST", "secret", "", "profile 'dev' in /root/.aws/credentials"};
    retry_.sleep = [this](std::chrono::milliseconds delay) {
      std::lock_guard<std::mutex> lock(mutex_);
      delays_.push_back(delay);
    };
  }

  HttpRequest Get() const {
    HttpRequest request;
    request.base_url = proxy_.endpoint();
    request.path = "/bucket/key";
    request.resource = "s3://bucket/key";
    request.operation = "GET";
    request.bucket = "bucket";
    return request;
  }

  FaultProxy proxy_;
  AwsConfig config_;
  RetryOptions retry_;
  std::mutex mutex_;
  std::vector<std::chrono::milliseconds> delays_;
};

TEST_F(AwsHttpTest, SlowDownIsRetriedWithJitteredBackoff) {
  proxy_.FailNextRequests(3, 503, "SlowDown");
  AwsHttp http(config_, retry_);
  StatusOr<HttpResponse> response = http.Send(Get());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(proxy_.Requests().size(), 4u);
  ASSERT_EQ(delays_.size(), 3u);
  for (size_t i = 0; i < delays_.size(); ++i) {
    EXPECT_GE(delays_[i].count(), 0);
    EXPECT_LE(delays_[i].count(), 100 << i) << "attempt " << i + 1;  // base 100 ms, doubling
  }
}

TEST_F(AwsHttpTest, BackoffIsCapped) {
  retry_.max_attempts = 12;
  proxy_.FailNextRequests(11, 500, "InternalError");
  AwsHttp http(config_, retry_);
  ASSERT_TRUE(http.Send(Get()).ok());
  ASSERT_EQ(delays_.size(), 11u);
  for (auto delay : delays_) EXPECT_LE(delay.count(), 5000);
}

TEST_F(AwsHttpTest, GivesUpAfterTheRetryLimitWithAClearMessage) {
  proxy_.FailNextRequests(100, 500, "InternalError");
  AwsHttp http(config_, retry_);
  StatusOr<HttpResponse> response = http.Send(Get());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(response.status().message(),
            "s3://bucket/key: GET failed after 5 attempts: HTTP 500 InternalError: Injected by "
            "the fault proxy (InternalError) (is the endpoint " +
                proxy_.endpoint() + " reachable?)");
  EXPECT_EQ(proxy_.Requests().size(), 5u);
}

TEST_F(AwsHttpTest, RejectedCredentialsNameTheirSourceAndAreNotRetried) {
  proxy_.FailNextRequests(1, 403, "InvalidAccessKeyId");
  AwsHttp http(config_, retry_);
  StatusOr<HttpResponse> response = http.Send(Get());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(),
              AllOf(HasSubstr("s3://bucket/key: GET refused (HTTP 403 InvalidAccessKeyId"),
                    HasSubstr("the credentials from profile 'dev' in /root/.aws/credentials "
                              "(access key id AKIATEST) were rejected"),
                    HasSubstr("AWS_PROFILE")));
  EXPECT_EQ(proxy_.Requests().size(), 1u);

  proxy_.FailNextRequests(1, 403, "AccessDenied");
  response = http.Send(Get());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("are not allowed to do this"));
}

TEST_F(AwsHttpTest, MissingBucketAndKeyAndPreconditions) {
  AwsHttp http(config_, retry_);
  proxy_.FailNextRequests(1, 404, "NoSuchBucket");
  StatusOr<HttpResponse> response = http.Send(Get());
  EXPECT_EQ(response.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(response.status().message(),
              HasSubstr("bucket bucket does not exist (endpoint " + proxy_.endpoint() + ")"));
  proxy_.FailNextRequests(1, 404, "NoSuchKey");
  EXPECT_EQ(http.Send(Get()).status().code(), StatusCode::kNotFound);
  proxy_.FailNextRequests(1, 412, "PreconditionFailed");
  EXPECT_EQ(http.Send(Get()).status().code(), StatusCode::kAborted);
  EXPECT_EQ(proxy_.Requests().size(), 3u);
}

TEST_F(AwsHttpTest, RefusedConnectionsFailClearly) {
  retry_.max_attempts = 3;
  proxy_.SetRefusing(true);
  AwsHttp http(config_, retry_);
  StatusOr<HttpResponse> response = http.Send(Get());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(),
              AllOf(HasSubstr("s3://bucket/key: GET failed after 3 attempts: Couldn't connect"),
                    HasSubstr("(is the endpoint " + proxy_.endpoint() + " reachable?)")));
  proxy_.SetRefusing(false);
  EXPECT_TRUE(http.Send(Get()).ok());
}

TEST_F(AwsHttpTest, HungServerTimesOut) {
  retry_.max_attempts = 2;
  retry_.low_speed_time = std::chrono::seconds(1);
  proxy_.SetHanging(true);
  AwsHttp http(config_, retry_);
  const auto start = std::chrono::steady_clock::now();
  StatusOr<HttpResponse> response = http.Send(Get());
  proxy_.SetHanging(false);
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("failed after 2 attempts: Timeout"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace snapdelta
