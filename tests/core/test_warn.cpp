// A warning that fires on many steps is printed once, then counted per window (core/warn.h).
#include "core/warn.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace r1;

TEST(RepeatedWarning, PrintedOnceThenCounted) {
  testing::internal::CaptureStderr();
  RepeatedWarning w("[grpo]", "entropy below 0.05", 10);
  for (long s = 1; s <= 25; s++) w.step(s, s >= 3 && s % 2 == 1, "mean entropy 0.01 is below 0.05");
  w.flush();
  const std::string out = testing::internal::GetCapturedStderr();
  // first firing at step 3 in full, then steps 4-13 (fired at 5, 7, 9, 11, 13: 5 of 10), then 14-23 (5 of 10),
  // then the flushed window 24-25 (25: 1 of 2)
  EXPECT_NE(out.find("[grpo] warning: step 3: mean entropy 0.01 is below 0.05; repeats are counted"), std::string::npos) << out;
  EXPECT_NE(out.find("entropy below 0.05 on 5 of the last 10 steps"), std::string::npos) << out;
  EXPECT_NE(out.find("entropy below 0.05 on 1 of the last 2 steps"), std::string::npos) << out;
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_LE(lines, 8u) << out;  // not one line per step
  EXPECT_EQ(w.total(), 12);
}

TEST(RepeatedWarning, SilentWhenItNeverFires) {
  testing::internal::CaptureStderr();
  RepeatedWarning w("[grpo]", "KL above 1", 5);
  for (long s = 1; s <= 20; s++) w.step(s, false, "x");
  w.flush();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(w.total(), 0);
}
