// The streaming S3 GET behind S3Client::Get: a ByteSource that drives one libcurl transfer at a
// time through the multi interface from Read(), pausing the transfer (CURL_WRITEFUNC_PAUSE)
// while the chunk it delivered has not been read, so memory stays at one network chunk whatever
// the object's size. A transfer that fails retryably is replaced by one that starts at the byte
// reached (Range) and carries If-Match, so a resumed read never mixes two versions.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "cloud/s3_internal.h"

namespace snapdelta {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

class S3GetSource final : public ByteSource {
 public:
  S3GetSource(std::shared_ptr<AwsHttp> http, std::string bucket, std::string key, std::string etag,
              uint64_t offset, uint64_t length)
      : http_(std::move(http)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        name_(S3Name(bucket_, key_)),
        etag_(std::move(etag)),
        pos_(offset),
        end_(length == UINT64_MAX || UINT64_MAX - offset < length ? UINT64_MAX : offset + length),
        ranged_(offset > 0 || end_ != UINT64_MAX),
        multi_(curl_multi_init()) {
    finished_ = offset == end_;
  }

  ~S3GetSource() override {
    EndTransfer();
    curl_multi_cleanup(multi_);
  }

  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    while (true) {
      if (chunk_pos_ < chunk_.size()) {
        const size_t n = std::min(capacity, chunk_.size() - chunk_pos_);
        std::memcpy(buf, chunk_.data() + chunk_pos_, n);
        chunk_pos_ += n;
        delivered_ += n;
        return n;
      }
      if (!status_.ok()) return status_;
      if (finished_) return size_t{0};
      status_ = Pump();
    }
  }

  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_consumed() const override { return delivered_; }

 private:
  // Runs the transfer until it delivers a chunk or ends. OK with no chunk means "call again":
  // the transfer ended (finished_ set) or failed retryably and is to be restarted.
  Status Pump() {
    chunk_.clear();
    chunk_pos_ = 0;
    if (easy_ == nullptr) RETURN_IF_ERROR(StartTransfer());
    while (chunk_.empty()) {
      if (paused_) {
        paused_ = false;
        curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver the held chunk right away
        if (!chunk_.empty()) break;
      }
      int running = 0;
      if (CURLMcode mc = curl_multi_perform(multi_, &running); mc != CURLM_OK) {
        return IOError(name_ + ": curl_multi_perform: " + curl_multi_strerror(mc));
      }
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) return FinishTransfer(msg->data.result);
      }
      if (chunk_.empty()) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    return Status::OK();
  }

  Status StartTransfer() {
    request_ = MakeS3Request(http_->config(), "GET", bucket_, key_, "GET");
    if (ranged_ || pos_ > 0) {
      request_.headers.push_back("Range: bytes=" + std::to_string(pos_) + "-" +
                                 (end_ == UINT64_MAX ? "" : std::to_string(end_ - 1)));
    }
    if (!etag_.empty()) request_.headers.push_back("If-Match: \"" + etag_ + "\"");
    easy_ = curl_easy_init();
    if (easy_ == nullptr) return ResourceExhaustedError(name_ + ": curl_easy_init failed");
    http_->Configure(easy_, request_, &headers_, error_buffer_);
    response_ = HttpResponse();
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, CollectResponseHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &response_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &S3GetSource::OnData);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(multi_, easy_);
    checked_ = false;
    check_status_ = Status::OK();
    body_is_data_ = false;
    progressed_ = false;
    return Status::OK();
  }

  void EndTransfer() {
    if (easy_ == nullptr) return;
    curl_multi_remove_handle(multi_, easy_);
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
    easy_ = nullptr;
    headers_ = nullptr;
    paused_ = false;
  }

  static size_t OnData(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<S3GetSource*>(self_ptr);
    const size_t n = size * count;
    if (!self->checked_) {
      self->checked_ = true;
      self->check_status_ = self->CheckResponse();
      if (!self->check_status_.ok()) return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    if (!self->body_is_data_) {
      if (self->response_.body.size() < kMaxErrorBody) self->response_.body.append(data, n);
      return n;
    }
    if (!self->chunk_.empty()) {
      self->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // libcurl holds the data and offers it again when resumed
    }
    self->chunk_.assign(data, n);
    self->pos_ += n;
    self->progressed_ = true;
    return n;
  }

  // Called at the first body byte (or the end of a body-less response): checks that a 2xx
  // response is the version and the range asked for, and learns the ETag and the end.
  Status CheckResponse() {
    body_is_data_ = response_.status >= 200 && response_.status < 300;
    if (!body_is_data_) return Status::OK();
    const std::string etag = StripQuotes(response_.Header("etag"));
    if (!etag_.empty() && !etag.empty() && etag != etag_) return ChangedError(etag);
    if (etag_.empty()) etag_ = etag;
    const bool sent_range = ranged_ || pos_ > 0;
    if (sent_range && response_.status != 206) {
      return IOError(name_ + ": the server ignored the Range header (HTTP " +
                     std::to_string(response_.status) + ")");
    }
    if (response_.status == 206) {
      // "bytes 100-199/1000".
      const std::string range = response_.Header("content-range");
      const size_t space = range.find(' '), dash = range.find('-'), slash = range.find('/');
      if (space == std::string::npos || dash == std::string::npos || slash == std::string::npos ||
          std::strtoull(range.c_str() + space + 1, nullptr, 10) != pos_) {
        return IOError(name_ + ": unexpected Content-Range '" + range + "' for bytes from " +
                       std::to_string(pos_));
      }
      end_ = std::min<uint64_t>(end_, std::strtoull(range.c_str() + dash + 1, nullptr, 10) + 1);
    } else if (const std::string length = response_.Header("content-length"); !length.empty()) {
      end_ = pos_ + std::strtoull(length.c_str(), nullptr, 10);
    }
    return Status::OK();
  }

  // The transfer ended with `code`: done, retried later (OK, easy_ reset), or an error.
  Status FinishTransfer(CURLcode code) {
    EndTransfer();
    if (!checked_ && code == CURLE_OK) check_status_ = CheckResponse();
    if (!check_status_.ok()) return check_status_;
    std::string last_error;
    if (code == CURLE_OK && body_is_data_) {
      if (end_ == UINT64_MAX || pos_ >= end_) {
        finished_ = true;
        return Status::OK();
      }
      last_error = "the body ended at byte " + std::to_string(pos_) + " of " + std::to_string(end_);
    } else if (code == CURLE_OK) {
      const AwsError error = ParseAwsError(response_.body);
      if (response_.status == 412) return ChangedError("");
      if (!AwsHttp::RetryableHttp(response_.status, error.code)) {
        return http_->HttpError(request_, response_.status, error);
      }
      last_error = AwsHttp::DescribeHttp(response_.status, error);
    } else {
      last_error = AwsHttp::DescribeCurl(code, error_buffer_);
      if (!AwsHttp::RetryableCurl(code)) {
        return IOError(name_ + ": GET failed: " + last_error + " (endpoint " + request_.base_url +
                       ")");
      }
    }
    if (progressed_) failures_ = 0;
    if (++failures_ >= http_->retry().max_attempts) {
      return http_->ExhaustedError(request_, failures_, last_error);
    }
    http_->Backoff(failures_);
    return Status::OK();
  }

  // The object is not (or no longer) the version read: a HEAD tells what it is now unless
  // `current` already does.
  Status ChangedError(std::string current) {
    if (current.empty()) {
      StatusOr<S3Object> head = HeadObject(*http_, bucket_, key_);
      if (head.ok()) {
        current = head->etag;
      } else {
        current = head.status().code() == StatusCode::kNotFound ? "(deleted)" : "(unknown)";
      }
    }
    return UnavailableError(name_ + " changed while it was read (ETag " + etag_ + " → " + current +
                            "); read it again");
  }

  const std::shared_ptr<AwsHttp> http_;
  const std::string bucket_, key_, name_;
  std::string etag_;  // the version read: the caller's, else the first response's
  uint64_t pos_;      // offset of the next byte to receive
  uint64_t end_;      // offset after the last byte wanted; UINT64_MAX until known
  const bool ranged_;
  CURLM* const multi_;
  CURL* easy_ = nullptr;  // the current transfer
  curl_slist* headers_ = nullptr;
  HttpRequest request_;
  HttpResponse response_;  // of the current transfer; body only for errors
  char error_buffer_[CURL_ERROR_SIZE] = {};
  bool paused_ = false;
  bool checked_ = false;       // CheckResponse ran for the current transfer
  bool body_is_data_ = false;  // the current transfer's body is object data
  bool progressed_ = false;    // the current transfer delivered bytes
  Status check_status_;
  int failures_ = 0;  // consecutive failed attempts without progress
  std::string chunk_;
  size_t chunk_pos_ = 0;
  uint64_t delivered_ = 0;
  bool finished_ = false;
  Status status_;  // sticky error
};

}  // namespace

std::unique_ptr<ByteSource> NewS3GetSource(std::shared_ptr<AwsHttp> http, std::string bucket,
                                           std::string key, std::string etag, uint64_t offset,
                                           uint64_t length) {
  return std::make_unique<S3GetSource>(std::move(http), std::move(bucket), std::move(key),
                                       std::move(etag), offset, length);
}

}  // namespace snapdelta
