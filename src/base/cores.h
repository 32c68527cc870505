// UsableCores: how many cores this process can really run on, to size its pools of threads by
// (workers importing tables at once, publisher threads). std::thread::hardware_concurrency()
// counts the machine's CPUs: in a container limited to 2 CPUs on a 64-core host it says 64, and
// 64 imports at once, each with its own key table, run out of memory where 2 would not.
//
// The count is the CPUs of the process's affinity mask (taskset, cpusets), bounded by its
// cgroup's CPU quota (docker --cpus, a Kubernetes CPU limit; cgroup v2 cpu.max or v1
// cpu.cfs_quota_us / cpu.cfs_period_us), a fraction rounded up; at least 1.
#ifndef SNAPDELTA_BASE_CORES_H_
#define SNAPDELTA_BASE_CORES_H_

#include <cstdint>
#include <string_view>

namespace snapdelta {

int UsableCores();

// Whole cores of a cgroup v2 cpu.max file's content ("QUOTA PERIOD", or "max PERIOD" for no
// limit), rounded up; 0 when it sets no limit or cannot be read.
int CoresOfCpuMax(std::string_view cpu_max);
// The same for cgroup v1's quota and period in microseconds (quota -1: no limit).
int CoresOfCfsQuota(int64_t quota_us, int64_t period_us);

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_CORES_H_
