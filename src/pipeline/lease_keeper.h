// LeaseKeeper: renews a held lease every third of its time to live on a background thread,
// while a worker imports. When a renewal fails (the lease expired or was taken over), or the
// registry stays unreachable until the lease would have expired, it sets lost() and stops
// renewing; the worker must then not commit (the registry would refuse anyway,
// by fencing token).
#ifndef SNAPDELTA_PIPELINE_LEASE_KEEPER_H_
#define SNAPDELTA_PIPELINE_LEASE_KEEPER_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "snapdelta/registry.h"

namespace snapdelta {

// A lease owner id: "<host>:<pid>:<random>", unique per call.
std::string MakeOwnerId();

// True when `owner` names a process on this host that no longer exists (a worker killed while
// holding a lease). False when unsure (another host, unparsable, or the process is alive).
bool IsDeadLocalOwner(const std::string& owner);

// AcquireLease, and when the table's holder is a dead local process, TakeOverLease from it, so a
// rerun after a crash does not wait for the dead worker's lease to expire.
StatusOr<Lease> AcquireOrTakeOver(Registry* registry, const std::string& tenant,
                                  const std::string& table, const std::string& owner,
                                  int64_t ttl_ms);

class LeaseKeeper {
 public:
  LeaseKeeper(Registry* registry, Lease lease, int64_t ttl_ms);
  ~LeaseKeeper();  // stops the thread
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  const std::atomic<bool>& lost() const { return lost_; }
  // A copy of the lease as last renewed.
  Lease lease() const;

 private:
  void Loop();

  Registry* registry_;
  const int64_t ttl_ms_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Lease lease_;        // guarded by mutex_
  bool stop_ = false;  // guarded by mutex_
  std::atomic<bool> lost_{false};
  std::thread thread_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PIPELINE_LEASE_KEEPER_H_
