// FaultProxy: a TCP proxy on a free loopback port that forwards HTTP connections to an upstream
// server (moto) and injects the failures the AWS client layer must survive:
//   (a) cut the connection after N bytes of the next response (optionally running a callback
//       first, e.g. to replace the object being read);
//   (b) answer the next K requests itself with an HTTP status and an S3 <Error> body;
//   (c) refuse connections (the listening socket is closed);
//   (d) hang: accept and read requests but never answer;
//   (e) Kinesis PutRecords: fail chosen entries (fault_proxy_kinesis.cc): they are REMOVED from
//       the request forwarded upstream and the upstream answer is merged with failed entries in
//       their places (ErrorCode as chosen, FailedRecordCount adjusted), so a failed entry is
//       really not stored, as on AWS (moto does not check signatures, so the changed body
//       passes; moto never fails entries itself);
//   (f) answer the next K requests with an HTTP status and a JSON-protocol error body
//       {"__type": TYPE, "message": MESSAGE} (e.g. 400 ProvisionedThroughputExceededException).
// It records every request it sees (the head up to the blank line, and the body the proxy read
// itself for answered requests), so a test can check e.g. that a Range request was sent. With
// upstream port 0 it forwards nothing and answers every request 200 with an empty body: a
// capturing server for signing tests.
//
// Model: one request per connection, as moto (werkzeug) answers with "Connection: close"; the
// answers the proxy makes itself say so too.
//
// Plain POSIX sockets and threads: one accept thread and one thread per connection, all joined
// by the destructor. Thread safety: every method may be called from any thread; callbacks run on
// a connection thread.
#ifndef SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_H_
#define SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace snapdelta::testing {

struct ProxiedRequest {
  std::string head;  // request line and headers, up to the blank line
  std::string body;  // only for requests the proxy answered itself
};

class FaultProxy {
 public:
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // (a) The next forwarded request's response is cut after `bytes` bytes (headers included):
  // `on_cut` runs, then both sockets close.
  void CutNextResponseAfter(uint64_t bytes, std::function<void()> on_cut = nullptr);
  // (a') The first forwarded response longer than `bytes` (whichever request it answers) is cut
  // after `bytes` bytes: `on_cut` runs, then both sockets close. Shorter responses pass.
  void CutFirstResponseLongerThan(uint64_t bytes, std::function<void()> on_cut = nullptr);
  // (b) The next `count` requests get `status` with <Error><Code>code</Code>...</Error>.
  void FailNextRequests(int count, int status, const std::string& code);
  // (e) Per PutRecords entry, `fault(partition_key, data, n)` (data: decoded; n: the PutRecords
  // entries seen before it, 0-based) returns "" to pass it or the ErrorCode to fail it with.
  // Null: off.
  using KinesisEntryFault = std::function<std::string(const std::string& partition_key,
                                                      const std::string& data, uint64_t n)>;
  void SetKinesisEntryFaults(KinesisEntryFault fault);
  // (f) The next `count` requests get `status` with {"__type": type, "message": message}.
  void FailNextRequestsJson(int count, int status, const std::string& type,
                            const std::string& message);
  // Forwards one request at a time (true): moto 5.2's Kinesis Shard.put_record "is not safe for
  // concurrency" (each record's sequence number is the last one + 1, unlocked, so concurrent
  // PutRecords overwrite each other's records); clients may still send requests at once.
  void SetSerialized(bool serialized) { serialized_ = serialized; }
  // (c) Closes (true) or reopens (false) the listening socket on the same port; returns once
  // done.
  void SetRefusing(bool refusing);
  // (d) Requests are read but never answered while set.
  void SetHanging(bool hanging) { hanging_ = hanging; }

  std::vector<ProxiedRequest> Requests() const;
  int cuts_done() const { return cuts_done_; }
  int failures_left() const;
  // (e) PutRecords entries seen, and failed by the proxy.
  uint64_t kinesis_entries_seen() const { return kinesis_seen_; }
  uint64_t kinesis_entries_failed() const { return kinesis_failed_; }

 private:
  void AcceptLoop();
  void Serve(int client);
  bool Listen();
  void Answer(int client, ProxiedRequest& request, int status, const std::string& body,
              const std::string& content_type = "application/xml");
  // (e): reads the whole PutRecords request, forwards what passes, merges the answers.
  void ServeKinesisPutRecords(int client, ProxiedRequest request, const KinesisEntryFault& fault);
  void Relay(int client, int upstream, uint64_t cut_after, std::function<void()> on_cut,
             bool sticky = false);

  const int upstream_port_;
  int port_ = 0;
  int listen_fd_ = -1;  // accept thread only (after construction)
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> hanging_{false};
  std::atomic<bool> serialized_{false};
  std::mutex upstream_mutex_;  // held while forwarding when serialized_
  std::atomic<int> cuts_done_{0};

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool refusing_ = false;                // guarded by mutex_: what is asked
  bool refusing_applied_ = false;        // guarded by mutex_: what the accept thread did
  uint64_t cut_after_ = 0;               // guarded by mutex_; 0: no cut armed
  std::function<void()> on_cut_;         // guarded by mutex_
  uint64_t sticky_cut_after_ = 0;        // guarded by mutex_; 0: none armed
  std::function<void()> sticky_on_cut_;  // guarded by mutex_
  std::atomic<bool> sticky_fired_{false};
  int fail_count_ = 0;               // guarded by mutex_
  int fail_status_ = 500;            // guarded by mutex_
  std::string fail_code_;            // guarded by mutex_
  bool fail_json_ = false;           // guarded by mutex_
  std::string fail_message_;         // guarded by mutex_
  KinesisEntryFault kinesis_fault_;  // guarded by mutex_
  std::atomic<uint64_t> kinesis_seen_{0};
  std::atomic<uint64_t> kinesis_failed_{0};
  std::vector<ProxiedRequest> requests_;  // guarded by mutex_
  std::vector<std::thread> connections_;  // guarded by mutex_
  std::thread acceptor_;
};

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_H_
