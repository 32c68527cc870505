#include "cloud/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cloud/fault_proxy_internal.h"

namespace snapdelta::testing {
namespace proxy_internal {

constexpr int kPollMs = 50;

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Waits up to kPollMs for `fd` to be readable; true when it is (or has an error or EOF).
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, kPollMs) > 0;
}

// The value of header `name` (lower-case, with ':') in `head`, or "".
std::string HeaderValue(const std::string& head, const char* name) {
  size_t pos = 0;
  const size_t len = strlen(name);
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (strncasecmp(head.c_str() + pos, name, len) == 0) {
      const size_t end = head.find("\r\n", pos);
      std::string value = head.substr(pos + len, end == std::string::npos ? end : end - pos - len);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      return value;
    }
  }
  return "";
}

}  // namespace proxy_internal

namespace {

using namespace proxy_internal;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  if (pipe2(wake_, O_CLOEXEC) != 0 || !Listen()) std::abort();
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  (void)!write(wake_[1], "x", 1);
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connections.swap(connections_);
  }
  for (std::thread& t : connections) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

bool FaultProxy::Listen() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  port_ = ntohs(addr.sin_port);
  return true;
}

void FaultProxy::CutNextResponseAfter(uint64_t bytes, std::function<void()> on_cut) {
  std::lock_guard<std::mutex> lock(mutex_);
  cut_after_ = bytes;
  on_cut_ = std::move(on_cut);
}

void FaultProxy::CutFirstResponseLongerThan(uint64_t bytes, std::function<void()> on_cut) {
  std::lock_guard<std::mutex> lock(mutex_);
  sticky_cut_after_ = bytes;
  sticky_on_cut_ = std::move(on_cut);
}

void FaultProxy::FailNextRequests(int count, int status, const std::string& code) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_count_ = count;
  fail_status_ = status;
  fail_code_ = code;
  fail_json_ = false;
}

void FaultProxy::FailNextRequestsJson(int count, int status, const std::string& type,
                                      const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_count_ = count;
  fail_status_ = status;
  fail_code_ = type;
  fail_json_ = true;
  fail_message_ = message;
}

void FaultProxy::SetKinesisEntryFaults(KinesisEntryFault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  kinesis_fault_ = std::move(fault);
}

void FaultProxy::SetRefusing(bool refusing) {
  std::unique_lock<std::mutex> lock(mutex_);
  refusing_ = refusing;
  (void)!write(wake_[1], "x", 1);
  changed_.wait(lock, [&] { return refusing_applied_ == refusing; });
}

std::vector<ProxiedRequest> FaultProxy::Requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

int FaultProxy::failures_left() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fail_count_;
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (refusing_ != refusing_applied_) {
        if (refusing_) {
          close(listen_fd_);
          listen_fd_ = -1;
        } else {
          Listen();
        }
        refusing_applied_ = refusing_;
        changed_.notify_all();
      }
    }
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (poll(fds, listen_fd_ >= 0 ? 2 : 1, kPollMs) <= 0) continue;
    if (fds[0].revents != 0) {
      char drain[16];
      (void)!read(wake_[0], drain, sizeof(drain));
    }
    if (listen_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.emplace_back([this, client] { Serve(client); });
    }
  }
}

void FaultProxy::Serve(int client) {
  std::string buffered;
  size_t head_end;
  while ((head_end = buffered.find("\r\n\r\n")) == std::string::npos) {
    if (stopping_) return (void)close(client);
    if (!Readable(client)) continue;
    char buf[16384];
    const ssize_t n = recv(client, buf, sizeof(buf), 0);
    if (n <= 0) return (void)close(client);
    buffered.append(buf, static_cast<size_t>(n));
  }
  ProxiedRequest request;
  request.head = buffered.substr(0, head_end);
  request.body = buffered.substr(head_end + 4);

  std::unique_lock<std::mutex> lock(mutex_);
  if (fail_count_ > 0) {
    --fail_count_;
    const int status = fail_status_;
    if (fail_json_) {
      const std::string body =
          nlohmann::json{{"__type", fail_code_}, {"message", fail_message_}}.dump();
      lock.unlock();
      return Answer(client, request, status, body, "application/x-amz-json-1.1");
    }
    const std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" +
                             fail_code_ + "</Code><Message>Injected by the fault proxy (" +
                             fail_code_ + ")</Message><RequestId>proxy</RequestId></Error>";
    lock.unlock();
    return Answer(client, request, status, body);
  }
  if (hanging_) {
    requests_.push_back(request);
    lock.unlock();
    char buf[4096];
    while (!stopping_ && hanging_) {
      if (Readable(client) && recv(client, buf, sizeof(buf), 0) <= 0) break;
    }
    return (void)close(client);
  }
  if (upstream_port_ == 0) {
    lock.unlock();
    return Answer(client, request, 200, "");
  }
  if (kinesis_fault_ &&
      HeaderValue(request.head, "x-amz-target:") == "Kinesis_20131202.PutRecords") {
    const KinesisEntryFault fault = kinesis_fault_;
    lock.unlock();
    return ServeKinesisPutRecords(client, std::move(request), fault);
  }
  requests_.push_back(request);
  uint64_t cut_after = cut_after_;
  std::function<void()> on_cut = std::move(on_cut_);
  cut_after_ = 0;
  on_cut_ = nullptr;
  bool sticky = false;
  if (cut_after == 0 && sticky_cut_after_ > 0) {  // armed for every response until one is cut
    cut_after = sticky_cut_after_;
    on_cut = sticky_on_cut_;
    sticky = true;
  }
  lock.unlock();

  std::unique_lock<std::mutex> one_at_a_time(upstream_mutex_, std::defer_lock);
  if (serialized_) one_at_a_time.lock();
  const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (upstream < 0 || connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      !SendAll(upstream, buffered.data(), buffered.size())) {
    if (upstream >= 0) close(upstream);
    return (void)close(client);
  }
  Relay(client, upstream, cut_after, std::move(on_cut), sticky);
}

namespace proxy_internal {

bool ReadBody(int client, ProxiedRequest& request) {
  const size_t want =
      std::strtoull(HeaderValue(request.head, "content-length:").c_str(), nullptr, 10);
  if (request.body.size() < want &&
      strcasecmp(HeaderValue(request.head, "expect:").c_str(), "100-continue") == 0) {
    SendAll(client, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (request.body.size() < want && std::chrono::steady_clock::now() < deadline) {
    if (!Readable(client)) continue;
    char buf[16384];
    const ssize_t n = recv(client, buf, sizeof(buf), 0);
    if (n <= 0) break;
    request.body.append(buf, static_cast<size_t>(n));
  }
  return request.body.size() >= want;
}

void Reply(int client, const std::string& response) {
  SendAll(client, response.data(), response.size());
  shutdown(client, SHUT_WR);
  char buf[4096];
  for (int i = 0; i < 20 && Readable(client) && recv(client, buf, sizeof(buf), 0) > 0; ++i) {
  }
  close(client);
}

}  // namespace proxy_internal

void FaultProxy::Answer(int client, ProxiedRequest& request, int status, const std::string& body,
                        const std::string& content_type) {
  ReadBody(client, request);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
  }
  Reply(client, "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\nContent-Type: " +
                    content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body);
}

void FaultProxy::Relay(int client, int upstream, uint64_t cut_after, std::function<void()> on_cut,
                       bool sticky) {
  uint64_t relayed = 0;  // upstream -> client
  bool client_open = true;
  char buf[65536];
  while (!stopping_) {
    pollfd fds[2] = {{upstream, POLLIN, 0},
                     {client, static_cast<short>(client_open ? POLLIN : 0), 0}};
    if (poll(fds, 2, kPollMs) <= 0) continue;
    if (fds[1].revents != 0) {
      const ssize_t n = recv(client, buf, sizeof(buf), 0);
      if (n <= 0) {
        client_open = false;
        shutdown(upstream, SHUT_WR);
      } else if (!SendAll(upstream, buf, static_cast<size_t>(n))) {
        break;
      }
    }
    if (fds[0].revents != 0) {
      const ssize_t n = recv(upstream, buf, sizeof(buf), 0);
      if (n <= 0) break;
      size_t size = static_cast<size_t>(n);
      // A sticky cut happens once, in whichever response gets there first.
      const bool cut =
          cut_after > 0 && relayed + size >= cut_after && !(sticky && sticky_fired_.exchange(true));
      if (cut) size = static_cast<size_t>(cut_after - relayed);
      if (!SendAll(client, buf, size)) break;
      relayed += size;
      if (cut) {
        if (on_cut) on_cut();
        ++cuts_done_;
        break;
      }
    }
  }
  close(upstream);
  close(client);
}

}  // namespace snapdelta::testing
