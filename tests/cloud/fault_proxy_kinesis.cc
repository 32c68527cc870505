// FaultProxy (e): failing chosen entries of Kinesis PutRecords requests. The request is read
// whole, the chosen entries are removed from the JSON body (Content-Length rewritten, any
// "Expect: 100-continue" answered here and dropped), the rest is forwarded to the upstream
// server, and its answer is merged with {"ErrorCode", "ErrorMessage"} entries where the removed
// ones were, FailedRecordCount raised by as many. The signature no longer matches the changed
// body: moto does not check signatures (unless told to), so it passes; real AWS would refuse it.
// An upstream answer other than 200 is passed on unchanged.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cloud/fault_proxy.h"
#include "cloud/fault_proxy_internal.h"
#include "cloud/kinesis_cli.h"

namespace snapdelta::testing {
namespace {

using nlohmann::json;
using proxy_internal::HeaderValue;
using proxy_internal::Readable;
using proxy_internal::Reply;
using proxy_internal::SendAll;

// `head` with Content-Length set to `length` and any Expect header dropped.
std::string RewriteHead(const std::string& head, size_t length) {
  std::istringstream lines(head);
  std::string line;
  std::string out;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string lower = [&] {
      std::string l = line.substr(0, line.find(':'));
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return l;
    }();
    if (lower == "content-length" || lower == "expect") continue;
    out += line + "\r\n";
  }
  return out + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

// The whole answer of `upstream` to `request` (one request per connection), or "".
std::string Exchange(int upstream_port, const std::string& request) {
  const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (upstream >= 0 && connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      SendAll(upstream, request.data(), request.size())) {
    char buf[65536];
    for (int idle = 0; idle < 600;) {  // up to 30 s without a byte
      if (!Readable(upstream)) {
        ++idle;
        continue;
      }
      const ssize_t n = recv(upstream, buf, sizeof(buf), 0);
      if (n <= 0) break;
      response.append(buf, static_cast<size_t>(n));
      idle = 0;
    }
  }
  if (upstream >= 0) close(upstream);
  return response;
}

std::string JsonAnswer(const std::string& status_line, const std::string& body) {
  return status_line + "\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

void FaultProxy::ServeKinesisPutRecords(int client, ProxiedRequest request,
                                        const KinesisEntryFault& fault) {
  const bool complete = proxy_internal::ReadBody(client, request);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(ProxiedRequest{request.head, ""});
  }
  json call = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (!complete || !call.is_object() || !call.contains("Records") || !call["Records"].is_array()) {
    return (void)close(client);  // not a request this mode understands: the client sees a cut
  }
  json& records = call["Records"];
  std::vector<std::string> injected(records.size());  // per entry: its ErrorCode, or ""
  json forwarded = json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    const json& key = records[i]["PartitionKey"];
    const json& data = records[i]["Data"];
    injected[i] = fault(key.is_string() ? key.get<std::string>() : "",
                        Base64Decode(data.is_string() ? data.get<std::string>() : "").value_or(""),
                        kinesis_seen_++);
    if (injected[i].empty()) forwarded.push_back(std::move(records[i]));
  }
  size_t failed = 0;
  json answers = json::array();
  if (!forwarded.empty()) {
    call["Records"] = std::move(forwarded);
    const std::string body = call.dump();
    std::unique_lock<std::mutex> one_at_a_time(upstream_mutex_, std::defer_lock);
    if (serialized_) one_at_a_time.lock();
    const std::string response =
        Exchange(upstream_port_, RewriteHead(request.head, body.size()) + body);
    if (one_at_a_time.owns_lock()) one_at_a_time.unlock();
    const size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) return (void)close(client);
    const std::string status_line = response.substr(0, response.find("\r\n"));
    if (status_line.find(" 200 ") == std::string::npos) return Reply(client, response);
    const json upstream = json::parse(response.substr(head_end + 4), nullptr, false);
    if (!upstream.is_object() || !upstream.contains("Records")) return Reply(client, response);
    answers = upstream["Records"];
    failed = upstream.value("FailedRecordCount", size_t{0});
  }
  json merged = json::array();
  size_t next = 0;
  for (const std::string& code : injected) {
    if (code.empty()) {
      merged.push_back(next < answers.size() ? answers[next] : json::object());
      ++next;
    } else {
      merged.push_back(
          {{"ErrorCode", code}, {"ErrorMessage", "Injected by the fault proxy (" + code + ")"}});
      ++failed;
      ++kinesis_failed_;
    }
  }
  const json answer = {{"FailedRecordCount", failed}, {"Records", std::move(merged)}};
  Reply(client, JsonAnswer("HTTP/1.1 200 OK", answer.dump()));
}

}  // namespace snapdelta::testing
