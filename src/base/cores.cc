#include "base/cores.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace snapdelta {
namespace {

// The first line of a file, or "" when it cannot be read.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool ParseInt(std::string_view text, int64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

// The path of this process's cgroup in `controller`'s hierarchy (v1), or in the unified one
// (v2, controller ""), from /proc/self/cgroup; "" when it has none.
std::string CgroupPath(std::string_view controller) {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    // hierarchy-ID:controller-list:path
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string_view controllers(line.data() + first + 1, second - first - 1);
    bool match = controller.empty() ? controllers.empty() : false;
    for (size_t begin = 0; !controller.empty() && begin <= controllers.size();) {
      size_t comma = std::min(controllers.find(',', begin), controllers.size());
      if (controllers.substr(begin, comma - begin) == controller) match = true;
      begin = comma + 1;
    }
    if (match) return line.substr(second + 1);
  }
  return "";
}

// The cgroup CPU quota in whole cores, 0 for none: the process's own cgroup's file, else the
// hierarchy's root (a container sees its own cgroup as the root).
int CgroupCores() {
  const std::string unified = CgroupPath("");
  for (const std::string& dir : {"/sys/fs/cgroup" + unified, std::string("/sys/fs/cgroup")}) {
    std::string cpu_max = FirstLine(dir + "/cpu.max");
    if (!cpu_max.empty()) return CoresOfCpuMax(cpu_max);
  }
  const std::string v1 = CgroupPath("cpu");
  for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
    for (const std::string& dir : {mount + v1, std::string(mount)}) {
      int64_t quota = 0, period = 0;
      if (ParseInt(FirstLine(dir + "/cpu.cfs_quota_us"), &quota) &&
          ParseInt(FirstLine(dir + "/cpu.cfs_period_us"), &period)) {
        return CoresOfCfsQuota(quota, period);
      }
    }
  }
  return 0;
}

}  // namespace

int CoresOfCfsQuota(int64_t quota_us, int64_t period_us) {
  if (quota_us <= 0 || period_us <= 0) return 0;
  return static_cast<int>(std::min<int64_t>((quota_us + period_us - 1) / period_us, 1 << 20));
}

int CoresOfCpuMax(std::string_view cpu_max) {
  while (!cpu_max.empty() && (cpu_max.back() == '\n' || cpu_max.back() == ' ')) {
    cpu_max.remove_suffix(1);
  }
  size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return 0;
  int64_t quota = 0, period = 0;
  if (!ParseInt(cpu_max.substr(0, space), &quota) ||
      !ParseInt(cpu_max.substr(space + 1), &period)) {
    return 0;  // "max PERIOD": no limit
  }
  return CoresOfCfsQuota(quota, period);
}

int UsableCores() {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  const int quota = CgroupCores();
  if (quota > 0) cores = std::min(cores, quota);
  return std::max(cores, 1);
}

}  // namespace snapdelta
