// The reward-hacking watch of GRPO (train/grpo_step.h StepWarnings): a model reward (reward_model, judge) that
// rises while the rule-based accuracy falls over the window warns, once in full and then counted; a model reward
// that rises with accuracy, or a run without a model reward, does not.
#include "train/grpo.h"
#include "train/grpo_step.h"

#include <gtest/gtest.h>

using namespace r1;
using nlohmann::json;

static json rec(double rm, double acc, const char* key = "reward/reward_model/mean") {
  return {{"entropy", 1.0}, {"ratio_max", 1.0}, {"zero_std_frac", 0.0}, {"accuracy", acc}, {key, rm}};
}

TEST(GrpoHackingWatch, FiresWhenTheModelRewardRisesAndAccuracyFalls) {
  GrpoRecipe r;
  r.warn_hacking_window = 4;
  r.warn_hacking_accuracy_drop = 0.05f;
  grpo::StepWarnings w(r);
  // steps 1-4: rm 0, 0, 1, 1 (halves 0 -> 1); accuracy 0.9, 0.9, 0.8, 0.8 (drop 0.1 >= 0.05): fires at step 4
  const double rm[] = {0, 0, 1, 1, 2}, acc[] = {0.9, 0.9, 0.8, 0.8, 0.7};
  for (int i = 0; i < 3; i++) w.check(i + 1, rec(rm[i], acc[i]), false);
  EXPECT_EQ(w.hacking_steps(), 0);  // the window is not full yet
  w.check(4, rec(rm[3], acc[3]), false);
  EXPECT_EQ(w.hacking_steps(), 1);
  w.check(5, rec(rm[4], acc[4]), false);  // window 0,1,1,2 vs 0.9,0.8,0.8,0.7: still
  EXPECT_EQ(w.hacking_steps(), 2);
  w.flush();
}

TEST(GrpoHackingWatch, QuietWhenAccuracyHoldsOrNoModelReward) {
  GrpoRecipe r;
  r.warn_hacking_window = 4;
  grpo::StepWarnings up(r), small(r), none(r), judge(r);
  for (int i = 0; i < 8; i++) {
    up.check(i + 1, rec(i, 0.5 + 0.05 * i), false);                      // both rise
    small.check(i + 1, rec(i, 0.9 - 0.001 * i), false);                  // accuracy falls by less than 0.02
    none.check(i + 1, {{"entropy", 1.0}, {"ratio_max", 1.0}, {"zero_std_frac", 0.0}, {"accuracy", 0.9 - 0.1 * i}}, false);
    judge.check(i + 1, rec(i, 0.9 - 0.1 * i, "reward/judge/mean"), false);  // the judge's reward is watched too
  }
  EXPECT_EQ(up.hacking_steps(), 0);
  EXPECT_EQ(small.hacking_steps(), 0);
  EXPECT_EQ(none.hacking_steps(), 0);
  EXPECT_EQ(judge.hacking_steps(), 5);  // steps 4..8
}
