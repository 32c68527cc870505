#include "pipeline/lease_keeper.h"

#include <chrono>

namespace snapdelta {

LeaseKeeper::LeaseKeeper(Registry* registry, Lease lease, int64_t ttl_ms)
    : registry_(registry), ttl_ms_(ttl_ms), lease_(std::move(lease)) {
  thread_ = std::thread([this] { Loop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Lease LeaseKeeper::lease() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lease_;
}

void LeaseKeeper::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(ttl_ms_ / 3), [this] { return stop_; });
    if (stop_) break;
    Lease renewed = lease_;
    lock.unlock();
    Status status = registry_->RenewLease(&renewed, ttl_ms_);
    lock.lock();
    if (status.ok()) {
      lease_ = renewed;
    } else if (status.code() == StatusCode::kAborted) {
      lost_ = true;
      break;
    }  // other errors (a busy database): try again at the next tick
  }
}

}  // namespace snapdelta
