#include "pipeline/lease_keeper.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>

namespace snapdelta {
namespace {

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "host";
  return host;
}

}  // namespace

std::string MakeOwnerId() {
  static std::mt19937_64 random{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  return HostName() + ":" + std::to_string(::getpid()) + ":" + std::to_string(random());
}

bool IsDeadLocalOwner(const std::string& owner) {
  size_t last = owner.rfind(':');
  if (last == std::string::npos || last == 0) return false;
  size_t middle = owner.rfind(':', last - 1);
  if (middle == std::string::npos) return false;
  if (owner.substr(0, middle) != HostName()) return false;
  std::string pid_text = owner.substr(middle + 1, last - middle - 1);
  char* end = nullptr;
  long pid = std::strtol(pid_text.c_str(), &end, 10);
  if (pid_text.empty() || *end != '\0' || pid <= 0) return false;
  if (pid == ::getpid()) return false;  // our own process: alive by definition
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

StatusOr<Lease> AcquireOrTakeOver(Registry* registry, const std::string& tenant,
                                  const std::string& table, const std::string& owner,
                                  int64_t ttl_ms) {
  StatusOr<Lease> lease = registry->AcquireLease(tenant, table, owner, ttl_ms);
  if (lease.status().code() != StatusCode::kUnavailable) return lease;
  ASSIGN_OR_RETURN(std::optional<Lease> held, registry->GetLease(tenant, table));
  if (!held || !IsDeadLocalOwner(held->owner)) return lease;
  return registry->TakeOverLease(tenant, table, owner, ttl_ms, held->owner);
}

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
  // Until when the lease surely holds, by this machine's steady clock: a grant or renewal
  // lasts ttl from a moment after the call began, whatever the registry's clock says.
  auto valid_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ttl_ms_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(ttl_ms_ / 3), [this] { return stop_; });
    if (stop_) break;
    Lease renewed = lease_;
    lock.unlock();
    const auto asked = std::chrono::steady_clock::now();
    Status status = registry_->RenewLease(&renewed, ttl_ms_);
    lock.lock();
    if (status.ok()) {
      lease_ = renewed;
      valid_until = asked + std::chrono::milliseconds(ttl_ms_);
    } else if (status.code() == StatusCode::kAborted ||
               std::chrono::steady_clock::now() >= valid_until) {
      // Lost, or unknown past its expiry (the registry unreachable): the import must stop
      // before its commit, which the registry would refuse anyway.
      lost_ = true;
      break;
    }  // other errors (a busy or restarting database): try again at the next tick
  }
}

}  // namespace snapdelta
