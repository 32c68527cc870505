#include "cloud/http.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

namespace snapdelta {
namespace {

constexpr size_t kMaxIdleHandles = 8;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t count, void* response) {
  static_cast<HttpResponse*>(response)->body.append(data, size * count);
  return size * count;
}

bool IsCredentialError(const std::string& code) {
  static const char* const kCodes[] = {"InvalidAccessKeyId",   "SignatureDoesNotMatch",
                                       "AccessDenied",         "AccessDeniedException",
                                       "InvalidClientTokenId", "UnrecognizedClientException",
                                       "ExpiredToken",         "ExpiredTokenException",
                                       "InvalidToken",         "MissingAuthenticationToken",
                                       "IncompleteSignature",  "InvalidSignatureException"};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

size_t CollectResponseHeader(char* data, size_t size, size_t count, void* response_ptr) {
  auto* response = static_cast<HttpResponse*>(response_ptr);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    response->headers.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      response->status = std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  response->headers[name] = std::string(value);
  return size * count;
}

AwsHttp::AwsHttp(AwsConfig config, RetryOptions retry)
    : config_(std::move(config)),
      retry_(std::move(retry)),
      sigv4_("aws:amz:" + config_.region + ":" + config_.service) {
  GlobalInit();
}

AwsHttp::~AwsHttp() {
  for (CURL* handle : idle_) curl_easy_cleanup(handle);
}

CURL* AwsHttp::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      CURL* handle = idle_.back();
      idle_.pop_back();
      curl_easy_reset(handle);  // keeps the handle's open connections
      return handle;
    }
  }
  return curl_easy_init();
}

void AwsHttp::ReleaseHandle(CURL* handle) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle);
}

void AwsHttp::Configure(CURL* handle, const HttpRequest& request, curl_slist** headers,
                        char* error_buffer) const {
  std::string url = request.base_url + request.path;
  if (!request.query.empty()) url += "?" + CanonicalQuery(request.query);
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PATH_AS_IS, 1L);  // keys may contain "." and ".." segments
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  error_buffer[0] = '\0';
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(retry_.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, retry_.low_speed_limit);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(retry_.low_speed_time.count()));
  curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(handle, CURLOPT_USERNAME, config_.credentials.access_key_id.c_str());
  curl_easy_setopt(handle, CURLOPT_PASSWORD, config_.credentials.secret_access_key.c_str());

  curl_slist* list = nullptr;
  for (const std::string& header : request.headers) list = curl_slist_append(list, header.c_str());
  const std::string payload_hash =
      request.body.empty() ? std::string(kEmptySha256) : Sha256Hex(request.body);
  list = curl_slist_append(list, ("x-amz-content-sha256: " + payload_hash).c_str());
  if (!config_.credentials.session_token.empty()) {
    list = curl_slist_append(
        list, ("x-amz-security-token: " + config_.credentials.session_token).c_str());
  }
  if (request.method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // The body goes as POSTFIELDS (sent from memory); the method is set explicitly. Without a
    // Content-Type libcurl would send application/x-www-form-urlencoded.
    const bool has_type =
        std::any_of(request.headers.begin(), request.headers.end(), [](const std::string& h) {
          return h.size() > 13 && strncasecmp(h.c_str(), "content-type:", 13) == 0;
        });
    if (!has_type) list = curl_slist_append(list, "Content-Type: application/octet-stream");
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
  *headers = list;
}

bool AwsHttp::RetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool AwsHttp::RetryableHttp(long status, const std::string& aws_code) {
  if (status == 500 || status == 502 || status == 503 || status == 504 || status == 429) {
    return true;
  }
  static const char* const kThrottling[] = {"SlowDown",
                                            "Throttling",
                                            "ThrottlingException",
                                            "ThrottledException",
                                            "RequestThrottled",
                                            "RequestThrottledException",
                                            "TooManyRequestsException",
                                            "RequestLimitExceeded",
                                            "ProvisionedThroughputExceededException",
                                            "RequestTimeout",
                                            "RequestTimeoutException",
                                            "InternalError"};
  return std::find(std::begin(kThrottling), std::end(kThrottling), aws_code) !=
         std::end(kThrottling);
}

void AwsHttp::Backoff(int attempt) const {
  const int64_t base = retry_.base_delay.count();
  const int shift = std::min(attempt - 1, 20);
  const int64_t ceiling = std::min<int64_t>(retry_.max_delay.count(), base << shift);
  thread_local std::mt19937_64 random(std::random_device{}());
  const std::chrono::milliseconds delay(
      std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(random));
  if (retry_.sleep) {
    retry_.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

std::string AwsHttp::DescribeHttp(long status, const AwsError& error) {
  std::string text = "HTTP " + std::to_string(status);
  if (!error.code.empty()) text += " " + error.code;
  if (!error.message.empty()) text += ": " + error.message;
  return text;
}

std::string AwsHttp::DescribeCurl(CURLcode code, const char* error_buffer) {
  std::string text = curl_easy_strerror(code);
  if (error_buffer != nullptr && error_buffer[0] != '\0') text += std::string(": ") + error_buffer;
  return text;
}

Status AwsHttp::HttpError(const HttpRequest& request, long status, const AwsError& error) const {
  const std::string what = request.resource + ": " + request.operation;
  const std::string detail = DescribeHttp(status, error);
  const AwsCredentials& creds = config_.credentials;
  if (status == 403 || IsCredentialError(error.code)) {
    const bool denied = error.code == "AccessDenied" || error.code == "AccessDeniedException";
    return InvalidArgumentError(
        what + " refused (" + detail + "): the credentials from " + creds.source +
        " (access key id " + creds.access_key_id + ")" +
        (denied ? " are not allowed to do this; grant them the permission or use other "
                  "credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                : " were rejected; check the key id and secret (and AWS_SESSION_TOKEN for "
                  "temporary credentials), or use others (AWS_PROFILE, or AWS_ACCESS_KEY_ID "
                  "and AWS_SECRET_ACCESS_KEY)"));
  }
  if (status == 404 && error.code == "NoSuchBucket") {
    return NotFoundError(what + ": bucket " + request.bucket + " does not exist (endpoint " +
                         request.base_url + ")");
  }
  if (error.code == "QueueDoesNotExist" ||
      error.code == "AWS.SimpleQueueService.NonExistentQueue" ||
      error.code == "ResourceNotFoundException") {
    return NotFoundError(what + ": " + request.resource + " does not exist (" + detail + ")");
  }
  if (status == 404) {
    if (error.code == "NoSuchKey" || error.code.empty()) {
      return NotFoundError(request.resource + " does not exist (" + request.operation + ": " +
                           detail + ")");
    }
    return NotFoundError(what + ": " + detail);
  }
  if (status == 412 || status == 409) {
    return AbortedError(what + ": precondition failed (" + detail + ")");
  }
  if (status >= 400 && status < 500) return InvalidArgumentError(what + ": " + detail);
  return IOError(what + ": " + detail + " (endpoint " + request.base_url + ")");
}

Status AwsHttp::ExhaustedError(const HttpRequest& request, int attempts,
                               const std::string& last_error) const {
  return UnavailableError(request.resource + ": " + request.operation + " failed after " +
                          std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") +
                          ": " + last_error + " (is the endpoint " + request.base_url +
                          " reachable?)");
}

StatusOr<HttpResponse> AwsHttp::Send(const HttpRequest& request) {
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    HttpResponse response;
    char error_buffer[CURL_ERROR_SIZE];
    curl_slist* headers = nullptr;
    CURL* handle = AcquireHandle();
    if (handle == nullptr) return ResourceExhaustedError("curl_easy_init failed");
    Configure(handle, request, &headers, error_buffer);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, CollectResponseHeader);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response);
    const CURLcode code = curl_easy_perform(handle);
    if (code == CURLE_OK) curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
      // The handle's connection may be broken: do not pool it.
      curl_easy_cleanup(handle);
      if (!RetryableCurl(code)) {
        return IOError(request.resource + ": " + request.operation + " failed: " +
                       DescribeCurl(code, error_buffer) + " (endpoint " + request.base_url + ")");
      }
      last_error = DescribeCurl(code, error_buffer);
      if (request.last_error != nullptr) *request.last_error = AwsError{};
    } else {
      ReleaseHandle(handle);
      const bool ok_status = response.status >= 200 && response.status < 300;
      AwsError error;
      if (!ok_status || request.error_in_ok_body) error = ParseAwsError(response.body);
      if (ok_status && error.code.empty()) return response;
      if (request.last_error != nullptr) *request.last_error = error;
      if (!RetryableHttp(response.status, error.code)) {
        return HttpError(request, ok_status ? 500 : response.status, error);
      }
      last_error = DescribeHttp(response.status, error);
    }
    if (attempt >= retry_.max_attempts) return ExhaustedError(request, attempt, last_error);
    Backoff(attempt);
  }
}

StatusOr<std::unique_ptr<AwsHttp>> AwsHttp::ForClient(AwsConfig config, RetryOptions retry,
                                                      std::string_view service,
                                                      std::string_view client) {
  if (config.service.empty()) config.service = std::string(service);
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return InvalidArgumentError(std::string(client) +
                                " client: no credentials (access key id and secret)");
  }
  if (retry.max_attempts < 1) retry.max_attempts = 1;
  return std::make_unique<AwsHttp>(std::move(config), std::move(retry));
}

StatusOr<HttpResponse> AwsHttp::CallJson(std::string_view content_type, const std::string& target,
                                         const std::string& resource, const std::string& operation,
                                         const std::string& body, AwsError* last_error) {
  HttpRequest request;
  request.method = "POST";
  request.base_url = ServiceEndpoint(config_);
  request.path = "/";
  request.resource = resource;
  request.operation = operation;
  request.headers = {"Content-Type: " + std::string(content_type), "X-Amz-Target: " + target};
  request.body = body;
  request.last_error = last_error;
  return Send(request);
}

}  // namespace snapdelta
