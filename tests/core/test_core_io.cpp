#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"

#include <gtest/gtest.h>
#include <unistd.h>

using namespace r1;

TEST(Core, CheckThrowsWithMessage) {
  try {
    R1_CHECK(1 + 1 == 3, "file.json: field 'x' expected ", 3, " got ", 2);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "file.json: field 'x' expected 3 got 2");
  }
}

TEST(Core, AtomicWriteReplacesAndLeavesNoTemp) {
  std::string dir = "/tmp/r1_core_test_" + std::to_string(::getpid());
  make_dirs(dir + "/a/b");
  std::string p = dir + "/a/b/f.txt";
  atomic_write(p, "one");
  atomic_write(p, "two");
  EXPECT_EQ(read_file(p), "two");
  EXPECT_FALSE(file_exists(p + ".tmp." + std::to_string(::getpid())));
  // A failing writer leaves the old content.
  EXPECT_THROW(atomic_write(p, [](FILE*) { fail("boom"); }), Error);
  EXPECT_EQ(read_file(p), "two");
  EXPECT_THROW(read_file(dir + "/missing"), Error);
}

TEST(Core, RngIsDeterministicAndUniform) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  Rng r(7);
  double s = 0;
  for (int i = 0; i < 100000; i++) s += r.uniform();
  EXPECT_NEAR(s / 100000, 0.5, 0.01);
}
