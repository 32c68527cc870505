// Small pure helpers of the AWS client layer: SigV4 URI encoding, canonical query strings, URL
// decoding, SHA-256, AWS error bodies (S3 XML and JSON-protocol), S3 timestamps.
//
// Encoding contract (SigV4, as S3 expects it): UriEncode keeps the unreserved characters
// A-Z a-z 0-9 '-' '.' '_' '~' and writes every other byte as %XX (upper-case hex), including
// ' ' (%20, never '+'), '+' (%2B), '=' and the bytes of UTF-8 sequences; '/' is kept only when
// `keep_slash` is true (object key paths). CanonicalQuery sorts the encoded names (then values)
// byte-wise and joins them with '&'; a parameter without a value is written "name=". libcurl
// 7.88 signs the query string and the path exactly as they appear in the URL, so a URL built
// from these helpers is both what is sent and what is signed.
//
// Thread safety: every function is reentrant.
#ifndef SNAPDELTA_CLOUD_AWS_UTIL_H_
#define SNAPDELTA_CLOUD_AWS_UTIL_H_

#include <openssl/evp.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snapdelta {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

std::string UriEncode(std::string_view text, bool keep_slash);
std::string CanonicalQuery(const QueryParams& params);
// Decodes %XX escapes; with `plus_is_space` a '+' is a space (form encoding, as in S3 event
// notifications and ListObjectsV2 with encoding-type=url). A malformed escape is kept as is.
std::string UrlDecode(std::string_view text, bool plus_is_space);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// The string member `name` of a JSON object (an AWS JSON-protocol answer); "" when `object` is
// not an object or the member is missing or not a string.
std::string JsonStringField(const nlohmann::json& object, const char* name);

// Lower-case hex of `data`'s digest by `algorithm` (EVP_sha256(), EVP_md5(), ...).
std::string DigestHex(const EVP_MD* algorithm, std::string_view data);
// Sha256Hex("") as a constant.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// What an AWS error response says. Both fields are empty when the body is not a recognizable
// error (a HEAD response, an HTML page from a proxy).
struct AwsError {
  std::string code;     // "NoSuchKey", "SlowDown", "QueueDoesNotExist"
  std::string message;  // "The specified key does not exist."
};
// Parses an S3 XML <Error> body or a JSON-protocol body ({"__type": "...#Code", "message"}).
AwsError ParseAwsError(std::string_view body);

// Milliseconds since the Unix epoch of an ISO 8601 time ("2024-05-01T12:00:00.000Z") or an HTTP
// date ("Wed, 01 May 2024 12:00:00 GMT"); 0 when it cannot be parsed.
int64_t ParseAwsTimeMs(const std::string& text);

// `etag` without surrounding double quotes ("\"abc\"" -> "abc").
std::string StripQuotes(std::string_view etag);

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_AWS_UTIL_H_
