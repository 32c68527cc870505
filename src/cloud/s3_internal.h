// Internals shared by the S3 client's files (s3_client.cc, s3_get.cc, s3_writer.cc): request
// addressing, HEAD, PUT and the factories of the streaming reader and the writer.
//
// Thread safety: the functions are reentrant; AwsHttp is thread-safe.
#ifndef SNAPDELTA_CLOUD_S3_INTERNAL_H_
#define SNAPDELTA_CLOUD_S3_INTERNAL_H_

#include <memory>
#include <string>
#include <string_view>

#include "cloud/http.h"
#include "cloud/s3_client.h"

namespace snapdelta {

// "s3://bucket/key".
std::string S3Name(const std::string& bucket, const std::string& key);

// A request for `key` in `bucket` (key "" addresses the bucket), addressed as s3_client.h
// describes, with resource and operation set for messages.
HttpRequest MakeS3Request(const AwsConfig& config, std::string method, const std::string& bucket,
                          const std::string& key, std::string operation);

StatusOr<S3Object> HeadObject(AwsHttp& http, const std::string& bucket, const std::string& key);

// PutObject; with if_none_match a kAborted "s3://b/k already exists" when it does.
Status PutObject(AwsHttp& http, const std::string& bucket, const std::string& key,
                 std::string_view body, bool if_none_match);

std::unique_ptr<ByteSource> NewS3GetSource(std::shared_ptr<AwsHttp> http, std::string bucket,
                                           std::string key, std::string etag, uint64_t offset,
                                           uint64_t length);

std::unique_ptr<S3Writer> NewS3Writer(std::shared_ptr<AwsHttp> http, std::string bucket,
                                      std::string key, bool if_none_match, size_t part_size);

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_S3_INTERNAL_H_
