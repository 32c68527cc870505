#include "pipeline/lease_keeper.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "test_util.h"

namespace snapdelta {
namespace {

std::string Host() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

TEST(LeaseOwner, RecognizesOnlyAFinishedLocalProcessAsDead) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(IsDeadLocalOwner(Host() + ":" + std::to_string(child) + ":42"));
  EXPECT_FALSE(IsDeadLocalOwner(MakeOwnerId()));    // this process
  EXPECT_FALSE(IsDeadLocalOwner(Host() + ":1:7"));  // init is alive
  EXPECT_FALSE(IsDeadLocalOwner("some-other-host:" + std::to_string(child) + ":42"));
  EXPECT_FALSE(IsDeadLocalOwner("w1"));
  EXPECT_FALSE(IsDeadLocalOwner(Host() + ":notapid:1"));
  EXPECT_NE(MakeOwnerId(), MakeOwnerId());
}

TEST(LeaseKeeper, RenewsWhileHeldAndReportsALostLease) {
  testing::ScratchDir dir;
  auto registry = OpenSqliteRegistry(dir.File("registry.db"));
  ASSERT_TRUE(registry.ok());
  constexpr int64_t kTtlMs = 300;
  StatusOr<Lease> lease = (*registry)->AcquireLease("acme", "orders", "w1", kTtlMs);
  ASSERT_TRUE(lease.ok());
  LeaseKeeper keeper(registry->get(), *lease, kTtlMs);
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * kTtlMs));  // three lifetimes
  EXPECT_FALSE(keeper.lost().load());
  EXPECT_GT(keeper.lease().expires_at_ms, lease->expires_at_ms);
  EXPECT_EQ((*registry)->AcquireLease("acme", "orders", "w2", kTtlMs).status().code(),
            StatusCode::kUnavailable);
  ASSERT_TRUE((*registry)->TakeOverLease("acme", "orders", "w2", kTtlMs, "w1").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs));
  EXPECT_TRUE(keeper.lost().load());
}

}  // namespace
}  // namespace snapdelta
