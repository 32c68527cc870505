#include "cloud/s3_client.h"

#include <cstdlib>
#include <pugixml.hpp>
#include <utility>

#include "cloud/s3_internal.h"

namespace snapdelta {

std::string S3Name(const std::string& bucket, const std::string& key) {
  return "s3://" + bucket + "/" + key;
}

HttpRequest MakeS3Request(const AwsConfig& config, std::string method, const std::string& bucket,
                          const std::string& key, std::string operation) {
  HttpRequest request;
  request.method = std::move(method);
  request.operation = std::move(operation);
  request.bucket = bucket;
  request.resource = S3Name(bucket, key);
  // Virtual-hosted addressing breaks TLS wildcard certificates for names with dots.
  if (config.path_style || bucket.find('.') != std::string::npos) {
    request.base_url = config.endpoint.empty() ? "https://s3." + config.region + ".amazonaws.com"
                                               : config.endpoint;
    request.path = "/" + UriEncode(bucket, false);
    if (!key.empty()) request.path += "/" + UriEncode(key, true);
  } else {
    request.base_url = "https://" + bucket + ".s3." + config.region + ".amazonaws.com";
    request.path = "/" + UriEncode(key, true);
  }
  return request;
}

StatusOr<S3Object> HeadObject(AwsHttp& http, const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(HttpResponse response,
                   http.Send(MakeS3Request(http.config(), "HEAD", bucket, key, "HEAD")));
  S3Object object;
  object.key = key;
  object.size = std::strtoull(response.Header("content-length").c_str(), nullptr, 10);
  object.etag = StripQuotes(response.Header("etag"));
  object.mtime_ms = ParseAwsTimeMs(response.Header("last-modified"));
  return object;
}

Status PutObject(AwsHttp& http, const std::string& bucket, const std::string& key,
                 std::string_view body, bool if_none_match) {
  HttpRequest request = MakeS3Request(http.config(), "PUT", bucket, key, "PUT");
  request.body = body;
  if (if_none_match) request.headers.push_back("If-None-Match: *");
  StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok() && if_none_match && response.status().code() == StatusCode::kAborted) {
    return AbortedError(request.resource + " already exists (written with If-None-Match: *; " +
                        response.status().message() + ")");
  }
  return response.status();
}

StatusOr<std::unique_ptr<S3Client>> S3Client::Create(AwsConfig config, RetryOptions retry) {
  if (config.service.empty()) config.service = "s3";
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return InvalidArgumentError("S3 client: no credentials (access key id and secret)");
  }
  if (config.region.empty()) return InvalidArgumentError("S3 client: no region");
  if (retry.max_attempts < 1) retry.max_attempts = 1;
  return std::unique_ptr<S3Client>(
      new S3Client(std::make_shared<AwsHttp>(std::move(config), std::move(retry))));
}

StatusOr<std::vector<S3Object>> S3Client::List(const std::string& bucket, const std::string& prefix,
                                               const std::string& start_after) {
  std::vector<S3Object> objects;
  std::string token;
  for (;;) {
    HttpRequest request = MakeS3Request(http_->config(), "GET", bucket, "", "ListObjectsV2");
    request.resource = S3Name(bucket, prefix);
    request.query = {{"list-type", "2"}, {"encoding-type", "url"}};
    if (!prefix.empty()) request.query.emplace_back("prefix", prefix);
    if (!start_after.empty()) request.query.emplace_back("start-after", start_after);
    if (!token.empty()) request.query.emplace_back("continuation-token", token);
    ASSIGN_OR_RETURN(HttpResponse response, http_->Send(request));

    pugi::xml_document doc;
    const pugi::xml_node result = doc.load_buffer(response.body.data(), response.body.size())
                                      ? doc.child("ListBucketResult")
                                      : pugi::xml_node();
    if (!result) {
      return CorruptionError(request.resource +
                             ": ListObjectsV2 answered something that is not "
                             "a ListBucketResult: " +
                             response.body.substr(0, 200));
    }
    const bool url_encoded = std::string_view(result.child_value("EncodingType")) == "url";
    for (pugi::xml_node item : result.children("Contents")) {
      S3Object object;
      object.key = item.child_value("Key");
      if (url_encoded) object.key = UrlDecode(object.key, /*plus_is_space=*/true);
      object.size = std::strtoull(item.child_value("Size"), nullptr, 10);
      object.etag = StripQuotes(item.child_value("ETag"));
      object.mtime_ms = ParseAwsTimeMs(item.child_value("LastModified"));
      objects.push_back(std::move(object));
    }
    if (std::string_view(result.child_value("IsTruncated")) != "true") break;
    token = result.child_value("NextContinuationToken");
    if (token.empty()) {
      return CorruptionError(request.resource +
                             ": ListObjectsV2 is truncated but has no NextContinuationToken");
    }
  }
  return objects;
}

StatusOr<S3Object> S3Client::Head(const std::string& bucket, const std::string& key) {
  return HeadObject(*http_, bucket, key);
}

StatusOr<std::unique_ptr<ByteSource>> S3Client::Get(const std::string& bucket,
                                                    const std::string& key, const std::string& etag,
                                                    uint64_t offset, uint64_t length) {
  if (key.empty()) return InvalidArgumentError(S3Name(bucket, key) + ": empty key");
  return NewS3GetSource(http_, bucket, key, StripQuotes(etag), offset, length);
}

Status S3Client::Put(const std::string& bucket, const std::string& key, std::string_view body,
                     bool if_none_match) {
  return PutObject(*http_, bucket, key, body, if_none_match);
}

StatusOr<std::unique_ptr<S3Writer>> S3Client::StartWrite(const std::string& bucket,
                                                         const std::string& key,
                                                         bool if_none_match) {
  if (key.empty()) return InvalidArgumentError(S3Name(bucket, key) + ": empty key");
  return NewS3Writer(http_, bucket, key, if_none_match, part_size_);
}

Status S3Client::Delete(const std::string& bucket, const std::string& key) {
  StatusOr<HttpResponse> response =
      http_->Send(MakeS3Request(http_->config(), "DELETE", bucket, key, "DELETE"));
  if (!response.ok() && response.status().code() == StatusCode::kNotFound &&
      response.status().message().find(": bucket " + bucket + " does not exist") ==
          std::string::npos) {
    return Status::OK();  // already absent (S3 itself answers 204 then)
  }
  return response.status();
}

}  // namespace snapdelta
