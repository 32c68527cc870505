// The S3Writer behind S3Client::StartWrite: one part buffered, multipart upload once the data
// outgrows a part, AbortMultipartUpload when destroyed uncommitted.
#include <algorithm>
#include <memory>
#include <pugixml.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/markup.h"
#include "cloud/s3_internal.h"

namespace snapdelta {
namespace {

class S3WriterImpl final : public S3Writer {
 public:
  S3WriterImpl(std::shared_ptr<AwsHttp> http, std::string bucket, std::string key,
               bool if_none_match, size_t part_size)
      : http_(std::move(http)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        name_(S3Name(bucket_, key_)),
        if_none_match_(if_none_match),
        part_size_(part_size) {}

  ~S3WriterImpl() override {
    if (upload_id_.empty() || completed_) return;
    HttpRequest request = Request("DELETE", "AbortMultipartUpload");
    request.query = {{"uploadId", upload_id_}};
    (void)http_->Send(request);  // best effort: a lifecycle rule collects what is left
  }

  Status Append(std::string_view data) override {
    RETURN_IF_ERROR(status_);
    if (committed_) return InvalidArgumentError(name_ + ": Append after Commit");
    while (!data.empty()) {
      // A full part is uploaded only when more data comes, so that an object of exactly one
      // part is written with a single PutObject.
      if (part_.size() == part_size_) {
        status_ = UploadPart();
        RETURN_IF_ERROR(status_);
      }
      if (part_.capacity() < part_size_) part_.reserve(part_size_);
      const size_t take = std::min(data.size(), part_size_ - part_.size());
      part_.append(data.data(), take);
      data.remove_prefix(take);
    }
    return Status::OK();
  }

  Status Commit() override {
    RETURN_IF_ERROR(status_);
    if (committed_) return InvalidArgumentError(name_ + ": Commit called twice");
    committed_ = true;
    if (upload_id_.empty()) {
      status_ = PutObject(*http_, bucket_, key_, part_, if_none_match_);
    } else {
      status_ = part_.empty() ? Status::OK() : UploadPart();
      if (status_.ok()) status_ = Complete();
    }
    std::string().swap(part_);
    return status_;
  }

  const std::string& name() const override { return name_; }

 private:
  HttpRequest Request(const char* method, const char* operation) const {
    return MakeS3Request(http_->config(), method, bucket_, key_, operation);
  }

  Status UploadPart() {
    if (upload_id_.empty()) {
      HttpRequest create = Request("POST", "CreateMultipartUpload");
      create.query = {{"uploads", ""}};
      ASSIGN_OR_RETURN(HttpResponse response, http_->Send(create));
      pugi::xml_document doc;
      doc.load_buffer(response.body.data(), response.body.size());
      upload_id_ = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
      if (upload_id_.empty()) {
        return CorruptionError(name_ + ": CreateMultipartUpload answered no UploadId: " +
                               response.body.substr(0, 200));
      }
    }
    const int number = static_cast<int>(etags_.size()) + 1;
    HttpRequest request = Request("PUT", "UploadPart");
    request.operation += " " + std::to_string(number);
    request.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    request.body = part_;
    ASSIGN_OR_RETURN(HttpResponse response, http_->Send(request));
    const std::string etag = response.Header("etag");
    if (etag.empty()) return CorruptionError(name_ + ": UploadPart answered no ETag");
    etags_.push_back(etag);
    part_.clear();
    return Status::OK();
  }

  Status Complete() {
    std::string body =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (size_t i = 0; i < etags_.size(); ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
              EscapeMarkup(etags_[i]) + "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    HttpRequest request = Request("POST", "CompleteMultipartUpload");
    request.query = {{"uploadId", upload_id_}};
    request.headers.push_back("Content-Type: application/xml");
    if (if_none_match_) request.headers.push_back("If-None-Match: *");
    request.body = body;
    request.error_in_ok_body = true;
    StatusOr<HttpResponse> response = http_->Send(request);
    if (response.ok()) {
      completed_ = true;
      return Status::OK();
    }
    if (if_none_match_ && response.status().code() == StatusCode::kAborted) {
      return AbortedError(name_ + " already exists (written with If-None-Match: *; " +
                          response.status().message() + ")");
    }
    return response.status();
  }

  const std::shared_ptr<AwsHttp> http_;
  const std::string bucket_, key_, name_;
  const bool if_none_match_;
  const size_t part_size_;
  std::string part_;  // the part being filled
  std::string upload_id_;
  std::vector<std::string> etags_;  // of the parts uploaded, in order
  bool committed_ = false;
  bool completed_ = false;  // the multipart upload was completed
  Status status_;           // sticky error
};

}  // namespace

std::unique_ptr<S3Writer> NewS3Writer(std::shared_ptr<AwsHttp> http, std::string bucket,
                                      std::string key, bool if_none_match, size_t part_size) {
  return std::make_unique<S3WriterImpl>(std::move(http), std::move(bucket), std::move(key),
                                        if_none_match, part_size == 0 ? 1 : part_size);
}

}  // namespace snapdelta
