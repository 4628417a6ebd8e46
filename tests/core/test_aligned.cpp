// core/aligned.h: where blocks start, and that a large block asks for (and here gets) transparent huge pages.
#include "core/aligned.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

using namespace r1;

namespace {
// AnonHugePages (kB) of the mapping that holds address p, from /proc/self/smaps; -1 when not found.
long huge_kb_at(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  const uintptr_t a = (uintptr_t)p;
  bool in = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (line.find('-') != std::string::npos && (head >> std::hex >> lo >> dash >> hi) && dash == '-') {
      in = a >= lo && a < hi;
      continue;
    }
    if (in && line.rfind("AnonHugePages:", 0) == 0) return std::stol(line.substr(14));
  }
  return -1;
}
std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return s;
}
}  // namespace

TEST(Aligned, SmallBlocksStartOnALineLargeOnes2MiB) {
  AlignedArray<float> small, large;
  EXPECT_EQ((uintptr_t)small.get(1000) % 64, 0u);
  EXPECT_EQ((uintptr_t)large.get(size_t(5) << 20) % (size_t(2) << 20), 0u);  // 20 MB
  BlockVector<float> v(size_t(5) << 20, 1.f);                                    // 20 MB
  EXPECT_EQ((uintptr_t)v.data() % (size_t(2) << 20), 0u);
  EXPECT_EQ(v[12345], 1.f);
  BlockVector<float> w = v;  // copies keep working through the allocator
  EXPECT_EQ(w.size(), v.size());
  EXPECT_EQ((uintptr_t)w.data() % (size_t(2) << 20), 0u);
}

TEST(Aligned, LargeBlocksGetHugePagesWhereTheKernelOffersThem) {
  const std::string mode = thp_mode();
  if (mode.find("[never]") != std::string::npos || mode.empty())
    GTEST_SKIP() << "transparent huge pages are off here (" << (mode.empty() ? "no sysfs entry" : mode) << ")";
  AlignedArray<float> a;
  float* p = a.get(size_t(8) << 20);  // 32 MB
  for (size_t i = 0; i < (size_t(8) << 20); i += 1024) p[i] = 1.f;  // first touch after the madvise
  const long kb = huge_kb_at(p);
  ASSERT_GE(kb, 0) << "the block's mapping is not in /proc/self/smaps";
  // with memory fragmented the kernel may give fewer; none at all means the hint was not given
  EXPECT_GT(kb, 0) << "no huge pages in a 32 MB block marked MADV_HUGEPAGE (THP mode: " << mode << ")";
}
