#include "publish/kinesis_writer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <span>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "publish/ack_window.h"

namespace snapdelta {
namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
  uint64_t seq = 0;
  std::string id;
  KinesisRecord record;
  std::string last_error;  // of the last failed attempt, for messages
};

size_t Bytes(const Entry& entry) {
  return entry.record.partition_key.size() + entry.record.data.size();
}

// Per-entry error codes worth resending (the documented ones, and KMS throttling).
bool RetryableEntry(const std::string& code) {
  return KinesisClient::IsThrottling(code) || code == "InternalFailure" ||
         code == "ServiceUnavailable";
}

std::string Event(const Entry& entry) {
  return "event " + entry.id + " (seq " + std::to_string(entry.seq) + ")";
}

class KinesisWriter final : public StreamWriter {
 public:
  KinesisWriter(std::shared_ptr<KinesisClient> client, std::string stream,
                const KinesisStreamOptions& options)
      : client_(std::move(client)), stream_(std::move(stream)), options_(options) {}

  ~KinesisWriter() override {
    Abort();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_.notify_all();
    for (std::thread& sender : senders_) sender.join();
  }

  Status Begin(const ImportIdentity& import, uint64_t acked) override {
    (void)import;
    std::unique_lock<std::mutex> lock(mu_);
    if (in_import_) {
      return InvalidArgumentError(Name() +
                                  ": Begin while an import is being published; Finish "
                                  "or Abort it first");
    }
    changed_.wait(lock, [&] { return active_ == 0; });
    window_.Reset(acked);
    begin_acked_ = acked;
    error_ = Status::OK();
    ready_.clear();
    ready_bytes_ = 0;
    held_.clear();
    pending_records_ = pending_bytes_ = 0;
    flushing_ = false;
    last_progress_ = Clock::now();
    in_import_ = true;
    while (senders_.size() < static_cast<size_t>(std::max(1, options_.senders))) {
      senders_.emplace_back([this] { SenderLoop(); });
    }
    return Status::OK();
  }

  Status SendBatch(std::span<const StreamMessage> messages) override {
    for (const StreamMessage& message : messages) RETURN_IF_ERROR(SendOne(message));
    return Status::OK();
  }

  uint64_t Acked() override { return window_.position(); }

  Status Finish() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!in_import_) return InvalidArgumentError(Name() + ": Finish without Begin");
    flushing_ = true;
    work_.notify_all();
    changed_.wait(lock, [&] { return pending_records_ == 0 || !error_.ok(); });
    if (!error_.ok()) {
      DropQueuedLocked();
      changed_.wait(lock, [&] { return active_ == 0; });
    }
    in_import_ = false;
    return error_;
  }

  void Abort() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!in_import_) return;
    if (error_.ok()) error_ = AbortedError(Name() + ": the import's publishing was aborted");
    DropQueuedLocked();
    changed_.notify_all();
    changed_.wait(lock, [&] { return active_ == 0; });
    in_import_ = false;
  }

 private:
  Status SendOne(const StreamMessage& message) {
    if (!message.value.has_value()) {
      return InvalidArgumentError(Name() + ": event " + std::string(message.id) +
                                  " is a tombstone (no value); Kinesis records need data "
                                  "(tombstones are for Kafka only)");
    }
    auto entry = std::make_unique<Entry>();
    entry->seq = message.seq;
    entry->id = std::string(message.id);
    entry->record.partition_key = KinesisPartitionKey(message.key);
    entry->record.data = std::string(*message.value);
    const size_t bytes = Bytes(*entry);
    if (bytes > KinesisClient::kMaxRecordBytes) {
      return InvalidArgumentError(Name() + ": " + Event(*entry) + " has " + std::to_string(bytes) +
                                  " bytes of partition key and data; a "
                                  "Kinesis record may have at most " +
                                  std::to_string(KinesisClient::kMaxRecordBytes));
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (!in_import_) return InvalidArgumentError(Name() + ": Send outside Begin and Finish");
    if (!error_.ok()) return error_;
    if (message.seq <= begin_acked_) return Status::OK();  // acknowledged before
    if (pending_records_ >= options_.max_pending_records ||
        pending_bytes_ + bytes > options_.max_pending_bytes) {
      ++send_waiting_;
      work_.notify_all();  // no lingering while Send waits
      changed_.wait(lock, [&] {
        return !error_.ok() || pending_records_ == 0 ||
               (pending_records_ < options_.max_pending_records &&
                pending_bytes_ + bytes <= options_.max_pending_bytes);
      });
      --send_waiting_;
      if (!error_.ok()) return error_;
    }
    window_.Sent(entry->seq);
    ++pending_records_;
    pending_bytes_ += bytes;
    // The ordering guard: a key with an unresolved record holds the later ones.
    auto [held, fresh] = held_.try_emplace(entry->record.partition_key);
    if (!fresh) {
      held->second.push_back(std::move(entry));
    } else {
      PushReadyLocked(std::move(entry));
    }
    return Status::OK();
  }

  std::string Name() const { return "kinesis stream " + stream_; }

  void PushReadyLocked(std::unique_ptr<Entry> entry) {
    if (ready_.empty()) ready_since_ = Clock::now();
    ready_bytes_ += Bytes(*entry);
    ready_.push_back(std::move(entry));
    work_.notify_one();
  }

  // An entry acknowledged or given up: it leaves the pending counts and the next held entry of
  // its key (if any) is queued.
  void ResolvedLocked(const Entry& entry) {
    --pending_records_;
    pending_bytes_ -= Bytes(entry);
    auto held = held_.find(entry.record.partition_key);
    if (held == held_.end()) return;
    if (held->second.empty()) {
      held_.erase(held);
      return;
    }
    std::unique_ptr<Entry> next = std::move(held->second.front());
    held->second.pop_front();
    if (error_.ok()) {
      PushReadyLocked(std::move(next));
    } else {
      window_.Failed(next->seq);
      ResolvedLocked(*next);
    }
  }

  void FailLocked(const Status& status) {
    if (error_.ok()) error_ = status;
    DropQueuedLocked();
  }

  // After a failure: what is queued or held is never sent.
  void DropQueuedLocked() {
    for (const auto& entry : ready_) {
      window_.Failed(entry->seq);
      --pending_records_;
      pending_bytes_ -= Bytes(*entry);
    }
    ready_.clear();
    ready_bytes_ = 0;
    for (auto& [key, held] : held_) {
      for (const auto& entry : held) {
        window_.Failed(entry->seq);
        --pending_records_;
        pending_bytes_ -= Bytes(*entry);
      }
      held.clear();
    }
    changed_.notify_all();
  }

  // Waits for a batch to send; false when the writer stops.
  bool NextBatch(std::unique_lock<std::mutex>& lock, std::vector<std::unique_ptr<Entry>>* batch) {
    for (;;) {
      if (stopping_) return false;
      const Clock::time_point now = Clock::now();
      const int allowed = std::max(1, std::max(1, options_.senders) >> throttle_level_);
      if (ready_.empty() || active_ >= allowed) {
        work_.wait(lock);
      } else if (now < pause_until_) {
        work_.wait_until(lock, pause_until_);
      } else if (ready_.size() < options_.max_batch_records &&
                 ready_bytes_ < options_.max_batch_bytes && !flushing_ && send_waiting_ == 0 &&
                 now < ready_since_ + options_.linger) {
        work_.wait_until(lock, ready_since_ + options_.linger);
      } else {
        break;
      }
    }
    size_t bytes = 0;
    while (!ready_.empty() && batch->size() < options_.max_batch_records &&
           (batch->empty() || bytes + Bytes(*ready_.front()) <= options_.max_batch_bytes)) {
      bytes += Bytes(*ready_.front());
      batch->push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
    ready_bytes_ -= bytes;
    ready_since_ = Clock::now();
    ++active_;
    if (!ready_.empty()) work_.notify_one();
    return true;
  }

  void SenderLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      std::vector<std::unique_ptr<Entry>> batch;
      if (!NextBatch(lock, &batch)) return;
      lock.unlock();
      std::vector<KinesisRecord> records;
      records.reserve(batch.size());
      for (auto& entry : batch) records.push_back(std::move(entry->record));
      StatusOr<PutRecordsResult> result = client_->PutRecords(stream_, records);
      for (size_t i = 0; i < batch.size(); ++i) batch[i]->record = std::move(records[i]);
      lock.lock();
      --active_;
      Outcome(std::move(batch), result);
      changed_.notify_all();
      work_.notify_all();
    }
  }

  // Applies the answer to `batch`. REQUIRES: mu_ held.
  void Outcome(std::vector<std::unique_ptr<Entry>> batch,
               const StatusOr<PutRecordsResult>& result) {
    std::vector<std::unique_ptr<Entry>> retry;
    std::string reason;
    if (!result.ok()) {
      const StatusCode code = result.status().code();
      if (code != StatusCode::kResourceExhausted && code != StatusCode::kUnavailable) {
        const size_t others = batch.size() - 1;
        FailLocked(Status(code, Name() + ": PutRecords of " + Event(*batch[0]) +
                                    (others > 0 ? " and " + std::to_string(others) + " more" : "") +
                                    " failed: " + result.status().message()));
        for (const auto& entry : batch) GiveUpLocked(*entry);
        return;
      }
      reason = result.status().message();
      retry = std::move(batch);
    } else {
      for (size_t i = 0; i < batch.size(); ++i) {
        Entry& entry = *batch[i];
        const std::string& code = result->error_codes[i];
        if (result->ok(i)) {
          window_.Acked(entry.seq);
          last_progress_ = Clock::now();
          ResolvedLocked(entry);
        } else if (RetryableEntry(code)) {
          entry.last_error = code + ": " + result->error_messages[i];
          if (reason.empty()) reason = Event(entry) + ": " + entry.last_error;
          retry.push_back(std::move(batch[i]));
        } else {
          FailLocked(InvalidArgumentError(Name() + ": " + Event(entry) + " was refused: " + code +
                                          ": " + result->error_messages[i]));
          GiveUpLocked(entry);
        }
      }
    }
    if (retry.empty()) {
      if (throttle_level_ > 0) --throttle_level_;
      return;
    }
    const Clock::time_point now = Clock::now();
    if (error_.ok() && now - last_progress_ > options_.give_up_after) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - last_progress_);
      FailLocked(ResourceExhaustedError(
          Name() + ": no record acknowledged for " + std::to_string(seconds.count()) +
          " s while PutRecords kept failing (last: " + reason + "; " + Event(*retry[0]) +
          " is among those not delivered); the stream may need more shards"));
    }
    if (!error_.ok()) {  // failed or aborted meanwhile: not resent
      for (const auto& entry : retry) GiveUpLocked(*entry);
      return;
    }
    // Resent first, in their order, before anything queued later.
    for (auto it = retry.rbegin(); it != retry.rend(); ++it) {
      ready_bytes_ += Bytes(**it);
      ready_.push_front(std::move(*it));
    }
    throttle_level_ = std::min(throttle_level_ + 1, 16);
    const int64_t ceiling =
        std::min<int64_t>(options_.max_backoff.count(), options_.base_backoff.count()
                                                            << std::min(throttle_level_ - 1, 20));
    thread_local std::mt19937_64 random(std::random_device{}());
    const std::chrono::milliseconds delay(
        std::uniform_int_distribution<int64_t>(ceiling / 2, std::max<int64_t>(ceiling, 0))(random));
    pause_until_ = std::max(pause_until_, now + delay);
  }

  void GiveUpLocked(const Entry& entry) {
    window_.Failed(entry.seq);
    ResolvedLocked(entry);
  }

  const std::shared_ptr<KinesisClient> client_;
  const std::string stream_;
  const KinesisStreamOptions options_;
  AckWindow window_;

  std::mutex mu_;
  std::condition_variable work_;     // senders: something to send, a pause over, stopping
  std::condition_variable changed_;  // Send, Finish, Abort: records resolved, requests done
  bool in_import_ = false;
  bool flushing_ = false;  // Finish was called: no lingering
  bool stopping_ = false;
  int send_waiting_ = 0;  // Send is blocked on the bound: no lingering
  uint64_t begin_acked_ = 0;
  Status error_;  // the import's first failure
  std::deque<std::unique_ptr<Entry>> ready_;
  size_t ready_bytes_ = 0;
  Clock::time_point ready_since_;
  // Keys with a record queued or in flight, each with the later records of the key, held.
  std::unordered_map<std::string, std::deque<std::unique_ptr<Entry>>> held_;
  size_t pending_records_ = 0;  // queued, held and in flight
  size_t pending_bytes_ = 0;
  int active_ = 0;  // requests in flight
  int throttle_level_ = 0;
  Clock::time_point pause_until_;
  Clock::time_point last_progress_;
  std::vector<std::thread> senders_;
};

}  // namespace

std::unique_ptr<StreamWriter> NewKinesisWriter(std::shared_ptr<KinesisClient> client,
                                               std::string stream,
                                               const KinesisStreamOptions& options) {
  return std::make_unique<KinesisWriter>(std::move(client), std::move(stream), options);
}

}  // namespace snapdelta
