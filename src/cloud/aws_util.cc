#include "cloud/aws_util.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

namespace snapdelta {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string CanonicalQuery(const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && text[i] == '+') ? ' ' : text[i];
  }
  return out;
}

std::string JsonStringField(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Sha256Hex(std::string_view data) { return DigestHex(EVP_sha256(), data); }

std::string DigestHex(const EVP_MD* algorithm, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, algorithm, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

AwsError ParseAwsError(std::string_view body) {
  AwsError error;
  const size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return error;
  if (body[start] == '{') {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return error;
    for (const char* key : {"__type", "code", "Code"}) {
      if (json.contains(key) && json[key].is_string()) {
        error.code = json[key].get<std::string>();
        break;
      }
    }
    // "com.amazonaws.sqs#QueueDoesNotExist" -> "QueueDoesNotExist".
    if (const size_t hash = error.code.rfind('#'); hash != std::string::npos) {
      error.code.erase(0, hash + 1);
    }
    for (const char* key : {"message", "Message"}) {
      if (json.contains(key) && json[key].is_string()) {
        error.message = json[key].get<std::string>();
        break;
      }
    }
    return error;
  }
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return error;
  // S3: <Error>; the query protocol: <ErrorResponse><Error>.
  pugi::xml_node node = doc.child("Error");
  if (!node) node = doc.child("ErrorResponse").child("Error");
  if (!node) return error;
  error.code = node.child_value("Code");
  error.message = node.child_value("Message");
  return error;
}

int64_t ParseAwsTimeMs(const std::string& text) {
  if (text.size() >= 19 && text[4] == '-' && text[10] == 'T') {
    std::tm tm{};
    if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
    int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
    if (text.size() > 20 && text[19] == '.') {
      int64_t frac = 0, scale = 100;
      for (size_t i = 20; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
           ++i, scale /= 10) {
        frac += (text[i] - '0') * scale;
      }
      ms += frac;
    }
    return ms;
  }
  const time_t seconds = curl_getdate(text.c_str(), nullptr);
  return seconds < 0 ? 0 : static_cast<int64_t>(seconds) * 1000;
}

std::string StripQuotes(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

}  // namespace snapdelta
