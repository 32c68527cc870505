// S3Client: the S3 operations snapdelta needs (list, head, streamed get, conditional put,
// multipart upload, delete) on AwsHttp, against AWS or an S3-compatible server.
//
// Addressing: path-style (http://endpoint/bucket/key) when AwsConfig::path_style (any custom
// endpoint) or the bucket name contains a '.', else virtual-hosted
// (https://bucket.s3.<region>.amazonaws.com/key). Keys are sent URI-encoded ('/' kept), so any
// key works, spaces, '+', '=', and UTF-8 included.
//
// ETags are handled without their double quotes ("abc", not "\"abc\""), as in S3 event
// notifications; requests add the quotes.
//
// Errors: as AwsHttp maps them (kNotFound for a missing bucket or key, kInvalidArgument for
// rejected credentials, kAborted for a failed precondition, kUnavailable after the retries).
// A PUT retried after a lost response may find its own object and report it as existing when
// written with If-None-Match.
//
// Thread safety: an S3Client may be used from several threads at once (each request uses its
// own curl handle). The ByteSources and S3Writers it returns are used by one thread at a time;
// they share the client's connection settings and may outlive the client.
#ifndef SNAPDELTA_CLOUD_S3_CLIENT_H_
#define SNAPDELTA_CLOUD_S3_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/aws_config.h"
#include "cloud/http.h"
#include "snapdelta/source.h"
#include "snapdelta/status.h"

namespace snapdelta {

struct S3Object {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t mtime_ms = 0;
};

// Writes one object of any size. Append() buffers one part; every time a full part is buffered
// and more data comes, the part is uploaded (CreateMultipartUpload before the first). Commit()
// sends a single PutObject when everything fit in one part, else uploads the last part and
// completes the upload. Memory: at most one part buffered. An error makes the writer unusable
// (every later call returns it). Destroying a writer whose multipart upload was not completed
// aborts the upload, so no object and no stored parts remain.
class S3Writer {
 public:
  virtual ~S3Writer() = default;
  virtual Status Append(std::string_view data) = 0;
  // With if_none_match (given to StartWrite): kAborted when the key exists already.
  virtual Status Commit() = 0;
  // "s3://bucket/key".
  virtual const std::string& name() const = 0;
};

class S3Client {
 public:
  // S3's minimum part size is 5 MiB (except the last part).
  static constexpr size_t kDefaultPartSize = size_t{8} << 20;

  // kInvalidArgument when the configuration has no credentials.
  static StatusOr<std::unique_ptr<S3Client>> Create(AwsConfig config, RetryOptions retry = {});

  // Every key under `prefix`, strictly after `start_after` when it is not empty, in the order S3
  // returns them (UTF-8 byte order), following continuation tokens.
  StatusOr<std::vector<S3Object>> List(const std::string& bucket, const std::string& prefix,
                                       const std::string& start_after = "");

  // kNotFound when the object (or the bucket) does not exist.
  StatusOr<S3Object> Head(const std::string& bucket, const std::string& key);

  // Bytes [offset, offset + length) of the object (length UINT64_MAX: to the end) as a stream:
  // Read() returns bytes as they arrive, at most one network chunk (16 KiB) is held. Every request
  // carries If-Match: the caller's `etag`, else the ETag of the first response, so an object
  // replaced while it is read is an error (kUnavailable, "s3://b/k changed while it was read
  // (ETag a → b)"), never a mix of two versions. A connection dropped mid-body is resumed with a
  // Range from the byte reached, up to RetryOptions::max_attempts consecutive attempts without
  // progress. name() is "s3://bucket/key"; raw_bytes_consumed() counts the bytes returned.
  // The request is sent by the first Read(); errors (kNotFound included) come from Read().
  // A length of 0 sends no request.
  StatusOr<std::unique_ptr<ByteSource>> Get(const std::string& bucket, const std::string& key,
                                            const std::string& etag = "", uint64_t offset = 0,
                                            uint64_t length = UINT64_MAX);

  // PutObject of `body`. With if_none_match, sends If-None-Match: * and returns kAborted when the
  // key exists already.
  Status Put(const std::string& bucket, const std::string& key, std::string_view body,
             bool if_none_match);

  // A writer for an object of any size (see S3Writer).
  StatusOr<std::unique_ptr<S3Writer>> StartWrite(const std::string& bucket, const std::string& key,
                                                 bool if_none_match);

  // OK when the object is already absent.
  Status Delete(const std::string& bucket, const std::string& key);

  // The part size of writers started afterwards; S3 rejects parts under 5 MiB but the last.
  // Not thread-safe with StartWrite.
  void set_part_size(size_t bytes) { part_size_ = bytes; }

 private:
  explicit S3Client(std::shared_ptr<AwsHttp> http) : http_(std::move(http)) {}

  std::shared_ptr<AwsHttp> http_;
  size_t part_size_ = kDefaultPartSize;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_S3_CLIENT_H_
