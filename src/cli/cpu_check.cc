// Refuses to start on a CPU that lacks the instruction set the binary was compiled for
// (CMake's SNAPDELTA_ARCH), with a message naming what is missing, instead of dying of SIGILL
// somewhere later. Runs before the binary's other constructors, and is itself compiled for the
// x86-64 baseline so that it runs on any x86-64 CPU.
#if defined(SNAPDELTA_ARCH) && defined(__x86_64__) && defined(__GNUC__)

#include <unistd.h>

#include <cstdio>

namespace snapdelta::cli {
namespace {

__attribute__((constructor(101), target("arch=x86-64"))) void CheckCpu() {
  __builtin_cpu_init();
  const char* missing = nullptr;
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) missing = "AVX2";
  if (!__builtin_cpu_supports("bmi2")) missing = "BMI2";
  if (!__builtin_cpu_supports("fma")) missing = "FMA";
#elif defined(__AVX__)
  if (!__builtin_cpu_supports("avx")) missing = "AVX";
#elif defined(__SSE4_2__)
  if (!__builtin_cpu_supports("sse4.2")) missing = "SSE4.2";
#endif
  if (missing == nullptr) return;
  std::fprintf(stderr,
               "snapdelta: this binary is built for %s, and this CPU lacks %s; build it for "
               "this CPU with cmake -DSNAPDELTA_ARCH=x86-64 (or native)\n",
               SNAPDELTA_ARCH, missing);
  _exit(2);
}

}  // namespace
}  // namespace snapdelta::cli

#endif
