// SigV4 as libcurl computes it (CURLOPT_AWS_SIGV4), checked against AWS's published test
// suite values (aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case), and
// AwsHttp's signed requests checked by recomputing the signature independently (OpenSSL
// HMAC-SHA256) from the request as a loopback server received it.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <map>
#include <sstream>
#include <string>

#include "cloud/aws_util.h"
#include "cloud/fault_proxy.h"
#include "cloud/http.h"

namespace snapdelta {
namespace {

using testing::FaultProxy;
using ::testing::HasSubstr;

constexpr char kKeyId[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// Sends GET `path_and_query` to example.amazonaws.com (connected to `proxy`) signed by libcurl
// for region us-east-1, service "service", at the suite's fixed time.
void SendSuiteRequest(const FaultProxy& proxy, const std::string& path_and_query) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  const std::string connect_to =
      "example.amazonaws.com:80:127.0.0.1:" + std::to_string(proxy.port());
  curl_slist* connect = curl_slist_append(nullptr, connect_to.c_str());
  // libcurl 7.88 takes the request time from an X-Amz-Date header the caller sets.
  curl_slist* headers = curl_slist_append(nullptr, "X-Amz-Date: 20150830T123600Z");
  const std::string url = "http://example.amazonaws.com" + path_and_query;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:service");
  curl_easy_setopt(curl, CURLOPT_USERNAME, kKeyId);
  curl_easy_setopt(curl, CURLOPT_PASSWORD, kSecret);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect);
}

// Header name (lower-case) -> value of a request head; the request line under "".
std::multimap<std::string, std::string> ParseHead(const std::string& head) {
  std::multimap<std::string, std::string> out;
  std::istringstream lines(head);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      out.emplace("", line);
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.emplace(name, value);
  }
  return out;
}

std::string Authorization(const FaultProxy& proxy) {
  const std::vector<testing::ProxiedRequest> requests = proxy.Requests();
  if (requests.size() != 1) {
    ADD_FAILURE() << requests.size() << " requests captured";
    return "";
  }
  auto head = ParseHead(requests[0].head);
  auto it = head.find("authorization");
  return it == head.end() ? "" : it->second;
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {kHex[c >> 4], kHex[c & 0xF]};
  return out;
}

TEST(SigV4Test, LibcurlMatchesTheSuitesGetVanilla) {
  FaultProxy capture(0);
  SendSuiteRequest(capture, "/");
  EXPECT_EQ(Authorization(capture),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, CanonicalQueryMatchesTheSuitesQueryOrderKeyCase) {
  // libcurl 7.88 signs the query as it is in the URL: CanonicalQuery puts it in order.
  FaultProxy capture(0);
  SendSuiteRequest(capture, "/?" + CanonicalQuery({{"Param2", "value2"}, {"Param1", "value1"}}));
  EXPECT_THAT(
      Authorization(capture),
      HasSubstr("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4Test, AwsHttpSignaturesRecomputeIndependently) {
  FaultProxy capture(0);
  AwsConfig config;
  config.service = "s3";
  config.region = "eu-west-1";
  config.endpoint = capture.endpoint();
  config.path_style = true;
  config.credentials = {kKeyId, kSecret, "session-token/+=", "test"};
  AwsHttp http(config, RetryOptions{});
  HttpRequest request;
  request.method = "PUT";
  request.base_url = config.endpoint;
  request.path = "/bucket/" + UriEncode("dir/a b+c=é.csv", true);
  request.query = {{"partNumber", "2"}, {"uploadId", "x/y+z=="}};
  request.headers = {"If-None-Match: *"};
  request.body = "hello, world";
  request.resource = "s3://bucket/dir/a b+c=é.csv";
  request.operation = "PUT";
  ASSERT_TRUE(http.Send(request).ok());

  const std::vector<testing::ProxiedRequest> requests = capture.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "hello, world");
  const auto head = ParseHead(requests[0].head);
  const std::string request_line = head.find("")->second;
  EXPECT_EQ(request_line,
            "PUT /bucket/dir/a%20b%2Bc%3D%C3%A9.csv?partNumber=2&uploadId=x%2Fy%2Bz%3D%3D "
            "HTTP/1.1");
  const std::string target = request_line.substr(4, request_line.rfind(' ') - 4);
  const std::string path = target.substr(0, target.find('?'));
  const std::string query = target.substr(target.find('?') + 1);
  EXPECT_EQ(head.find("x-amz-content-sha256")->second, Sha256Hex("hello, world"));
  EXPECT_EQ(head.find("x-amz-security-token")->second, "session-token/+=");

  // Authorization: AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<h;h>, Signature=<s>
  const std::string auth = head.find("authorization")->second;
  const std::string date = head.find("x-amz-date")->second;
  const std::string scope = date.substr(0, 8) + "/eu-west-1/s3/aws4_request";
  EXPECT_THAT(auth, HasSubstr("Credential=AKIDEXAMPLE/" + scope + ", "));
  const size_t sh = auth.find("SignedHeaders=") + 14;
  const std::string signed_headers = auth.substr(sh, auth.find(',', sh) - sh);
  EXPECT_EQ(signed_headers,
            "content-type;host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  std::string canonical_headers;
  std::istringstream names(signed_headers);
  for (std::string name; std::getline(names, name, ';');) {
    ASSERT_EQ(head.count(name), 1u) << name;
    canonical_headers += name + ":" + head.find(name)->second + "\n";
  }
  const std::string canonical_request = "PUT\n" + path + "\n" + query + "\n" + canonical_headers +
                                        "\n" + signed_headers + "\n" + Sha256Hex("hello, world");
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  std::string key = Hmac(std::string("AWS4") + kSecret, date.substr(0, 8));
  key = Hmac(key, "eu-west-1");
  key = Hmac(key, "s3");
  key = Hmac(key, "aws4_request");
  EXPECT_EQ(auth.substr(auth.find("Signature=") + 10), Hex(Hmac(key, string_to_sign)));
}

}  // namespace
}  // namespace snapdelta
