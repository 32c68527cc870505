// UsableCores: the cores of the affinity mask, bounded by a cgroup CPU quota, which sizes the
// default worker and publisher thread counts; and the quota files' parsing.
#include "base/cores.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace snapdelta {
namespace {

TEST(Cores, CgroupQuotasAreWholeCoresRoundedUp) {
  EXPECT_EQ(CoresOfCpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CoresOfCpuMax("150000 100000"), 2);  // docker --cpus 1.5
  EXPECT_EQ(CoresOfCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresOfCpuMax("max 100000\n"), 0);  // no limit
  EXPECT_EQ(CoresOfCpuMax(""), 0);
  EXPECT_EQ(CoresOfCpuMax("garbage"), 0);
  EXPECT_EQ(CoresOfCpuMax("100000 0"), 0);
  EXPECT_EQ(CoresOfCfsQuota(-1, 100000), 0);  // cgroup v1: no limit
  EXPECT_EQ(CoresOfCfsQuota(400000, 100000), 4);
  EXPECT_EQ(CoresOfCfsQuota(1, 100000), 1);
}

TEST(Cores, UsableCoresFollowTheAffinityMask) {
  const int all = UsableCores();
  EXPECT_GE(all, 1);
  EXPECT_LE(all, static_cast<int>(std::thread::hardware_concurrency()));
  // Pinned to one CPU (as `taskset -c N` would), the process can use one core.
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(saved), &saved), 0);
  int first = 0;
  while (first < CPU_SETSIZE && !CPU_ISSET(first, &saved)) ++first;
  ASSERT_LT(first, CPU_SETSIZE);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof(one), &one), 0);
  const int pinned = UsableCores();
  ASSERT_EQ(::sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(pinned, 1);
  EXPECT_EQ(UsableCores(), all);
}

}  // namespace
}  // namespace snapdelta
