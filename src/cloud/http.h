// AwsHttp: one SigV4-signed HTTP request to an AWS service (or an S3-compatible server) over
// libcurl, with retries, and the mapping of AWS failures to Status.
//
// Signing is libcurl's own (CURLOPT_AWS_SIGV4 "aws:amz:<region>:<service>", key and secret as
// user name and password). libcurl 7.88 signs every header the request sets plus Host and the
// X-Amz-Date it adds, the path and query exactly as in the URL (so HttpRequest carries the path
// encoded and the query unencoded; the URL is built with CanonicalQuery), and the payload hash
// from the x-amz-content-sha256 header, which AwsHttp always sends: the SHA-256 of the body
// (of "" for requests without one). A session token goes in x-amz-security-token.
//
// Retries: up to RetryOptions::max_attempts attempts in all, with full-jitter exponential
// backoff (a random delay in [0, min(max_delay, base_delay * 2^(n-1))] before attempt n+1), on
// connection failures (refused, reset, send/receive errors, a body shorter than announced,
// timeouts, an empty reply) and on HTTP 500, 502, 503, 504, 429 and throttling error codes
// (SlowDown, Throttling, RequestTimeout, ...). A request that still fails is kUnavailable:
//   "s3://b/k: GET failed after 5 attempts: HTTP 503 SlowDown: Please reduce your request rate.
//    (is the endpoint http://127.0.0.1:9000 reachable?)"
// Final HTTP errors map to:
//   403 (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, ...) and the JSON services'
//       credential errors   kInvalidArgument naming AwsCredentials::source and the fix
//   404 NoSuchBucket        kNotFound "bucket B does not exist (endpoint E)"
//   404 otherwise           kNotFound
//   409, 412                kAborted (a precondition such as If-None-Match / If-Match failed)
//   other 4xx               kInvalidArgument; anything else kIOError
// Timeouts: connecting may take RetryOptions::connect_timeout; a transfer slower than
// low_speed_limit bytes/s for low_speed_time is aborted (and retried), so a hung server fails.
//
// Thread safety: Send may be called from many threads at once. Each request uses its own curl
// easy handle, taken from a small pool of idle handles (guarded by a mutex) so that connections
// are reused.
#ifndef SNAPDELTA_CLOUD_HTTP_H_
#define SNAPDELTA_CLOUD_HTTP_H_

#include <curl/curl.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/aws_config.h"
#include "cloud/aws_util.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct RetryOptions {
  int max_attempts = 5;  // attempts in all, the first one included
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
  // Waits between attempts; tests install a fake to run fast. Null: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::chrono::milliseconds connect_timeout{10000};
  long low_speed_limit = 1;  // bytes per second
  std::chrono::seconds low_speed_time{30};
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string base_url;        // "http://127.0.0.1:9000", "https://b.s3.eu-west-1.amazonaws.com"
  std::string path = "/";      // already URI-encoded (UriEncode(..., true))
  QueryParams query;           // unencoded; sent as CanonicalQuery(query)
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // PUT/POST payload; must outlive the call
  std::string resource;              // "s3://bucket/key": what messages are about
  std::string operation;             // "GET", "ListObjectsV2": what was attempted
  std::string bucket;                // for "bucket B does not exist"
  // CompleteMultipartUpload may answer 200 and report an error in the body.
  bool error_in_ok_body = false;
  // When set, receives the AWS error of the last attempt that got an error answer (cleared for
  // a connection failure), so that a caller can tell e.g. throttling from other failures.
  AwsError* last_error = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; the last value wins
  std::string body;

  // The header's value, or "" when absent. `name` is lower-case.
  std::string Header(const std::string& name) const;
};

// A CURLOPT_HEADERFUNCTION that collects into the HttpResponse* passed as user data. A status
// line (a new response, e.g. after "100 Continue") clears the headers and sets `status`.
size_t CollectResponseHeader(char* data, size_t size, size_t count, void* response);

class AwsHttp {
 public:
  AwsHttp(AwsConfig config, RetryOptions retry);
  ~AwsHttp();
  AwsHttp(const AwsHttp&) = delete;
  AwsHttp& operator=(const AwsHttp&) = delete;

  // Sends `request`, retrying as described above; the response of the first 2xx attempt.
  StatusOr<HttpResponse> Send(const HttpRequest& request);

  // The AwsHttp of a service client (`client` names it in messages): config.service is set to
  // `service` when empty, at least one attempt is made. kInvalidArgument without credentials.
  static StatusOr<std::unique_ptr<AwsHttp>> ForClient(AwsConfig config, RetryOptions retry,
                                                      std::string_view service,
                                                      std::string_view client);
  // One call of an AWS JSON-protocol service: POST / with `content_type`
  // ("application/x-amz-json-1.0" or "-1.1") and X-Amz-Target `target` (e.g.
  // "AmazonSQS.ReceiveMessage"); `resource` and `operation` name it in messages. `last_error`:
  // as HttpRequest::last_error.
  StatusOr<HttpResponse> CallJson(std::string_view content_type, const std::string& target,
                                  const std::string& resource, const std::string& operation,
                                  const std::string& body, AwsError* last_error = nullptr);

  // --- Building blocks for callers that drive their own transfers (the streaming S3 GET).

  // Sets `handle` up for `request`: URL, method and body, signing, headers, timeouts. The
  // caller keeps `*headers` alive for the transfer and frees it with curl_slist_free_all;
  // `error_buffer` (CURL_ERROR_SIZE bytes) receives libcurl's message.
  void Configure(CURL* handle, const HttpRequest& request, curl_slist** headers,
                 char* error_buffer) const;
  static bool RetryableCurl(CURLcode code);
  static bool RetryableHttp(long status, const std::string& aws_code);
  // Waits before attempt `attempt + 1`.
  void Backoff(int attempt) const;
  // "HTTP 503 SlowDown: Please reduce..." / "Connection refused: <libcurl message>".
  static std::string DescribeHttp(long status, const AwsError& error);
  static std::string DescribeCurl(CURLcode code, const char* error_buffer);
  // The Status of a final, non-retryable HTTP error (see the table above).
  Status HttpError(const HttpRequest& request, long status, const AwsError& error) const;
  // The kUnavailable of a request that failed `attempts` times, the last with `last_error`.
  Status ExhaustedError(const HttpRequest& request, int attempts,
                        const std::string& last_error) const;

  const AwsConfig& config() const { return config_; }
  const RetryOptions& retry() const { return retry_; }

 private:
  CURL* AcquireHandle();
  void ReleaseHandle(CURL* handle);

  const AwsConfig config_;
  const RetryOptions retry_;
  const std::string sigv4_;  // "aws:amz:<region>:<service>"
  std::mutex mutex_;
  std::vector<CURL*> idle_;  // guarded by mutex_
};

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_HTTP_H_
