// The Bradley-Terry reward-model loss (train/rm_loss.h): values worked by hand, its stability far from zero, and
// its gradients against central finite differences.
#include "core/check.h"
#include "train/rm_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace r1;

static const double kLog2 = 0.69314718055994531;

TEST(RmLoss, EqualRewardsGiveLog2) {
  float rc = 0.7f, rr = 0.7f, drc, drr;
  double loss = bt_loss(&drc, &drr, &rc, &rr, nullptr, 1, 0.0, 1.0);
  EXPECT_NEAR(loss, kLog2, 1e-15);  // −log σ(0)
  EXPECT_FLOAT_EQ(drc, -0.5f);      // −σ(−0)
  EXPECT_FLOAT_EQ(drr, 0.5f);
}

TEST(RmLoss, WorkedByHand) {
  // rc − rr = 1: loss = log(1 + e^−1) = 0.31326168751822286, ∂/∂rc = −σ(−1) = −1/(1 + e) = −0.2689414213699951
  float rc = 1.f, rr = 0.f, drc, drr;
  EXPECT_NEAR(bt_loss(&drc, &drr, &rc, &rr, nullptr, 1, 0.0, 1.0), 0.31326168751822286, 1e-15);
  EXPECT_NEAR(drc, -0.2689414213699951, 1e-7);
  EXPECT_NEAR(drr, 0.2689414213699951, 1e-7);
  // a margin of 1 takes the difference back to 0: log 2
  float m = 1.f;
  EXPECT_NEAR(bt_loss(&drc, &drr, &rc, &rr, &m, 1, 0.0, 1.0), kLog2, 1e-15);
  // centering: rc = rr = 1, center 0.5: log 2 + 0.5·(1 + 1)² = log 2 + 2; ∂/∂rc = −0.5 + 2·0.5·2 = 1.5, ∂/∂rr = 2.5
  float one = 1.f;
  EXPECT_NEAR(bt_loss(&drc, &drr, &one, &one, nullptr, 1, 0.5, 1.0), kLog2 + 2, 1e-15);
  EXPECT_FLOAT_EQ(drc, 1.5f);
  EXPECT_FLOAT_EQ(drr, 2.5f);
}

TEST(RmLoss, DenominatorIsTheMiniBatchPairCount) {
  // two pairs of one shard, denom 4 (the mini-batch has 4 pairs): (log 2 + log 2) / 4, gradients / 4
  std::vector<float> rc = {0.f, 2.f}, rr = {0.f, 2.f}, drc(2), drr(2);
  EXPECT_NEAR(bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), nullptr, 2, 0.0, 4.0), kLog2 / 2, 1e-15);
  EXPECT_FLOAT_EQ(drc[0], -0.125f);
  EXPECT_FLOAT_EQ(drr[1], 0.125f);
  // the shard sums: two shards of one pair each with denom 2 give the loss of one call over both
  double a = bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), nullptr, 1, 0.1, 2.0);
  double b = bt_loss(drc.data(), drr.data(), rc.data() + 1, rr.data() + 1, nullptr, 1, 0.1, 2.0);
  EXPECT_NEAR(a + b, bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), nullptr, 2, 0.1, 2.0), 1e-15);
}

TEST(RmLoss, StableFarFromZero) {
  // rc − rr = 200: −log σ(200) = log(1 + e^−200) ≈ e^−200, not 0 and not NaN; the gradient ≈ −e^−200
  float rc = 100.f, rr = -100.f, drc, drr;
  double loss = bt_loss(&drc, &drr, &rc, &rr, nullptr, 1, 0.0, 1.0);
  EXPECT_GT(loss, 0.0);
  EXPECT_NEAR(loss / std::exp(-200.0), 1.0, 1e-12);
  EXPECT_LE(drc, 0.f);
  EXPECT_TRUE(std::isfinite(drc) && std::isfinite(drr));
  // rc − rr = −200: the loss is 200 and ∂/∂rc = −1 exactly (no overflow in e^200)
  loss = bt_loss(&drc, &drr, &rr, &rc, nullptr, 1, 0.0, 1.0);
  EXPECT_DOUBLE_EQ(loss, 200.0);
  EXPECT_EQ(drc, -1.f);
  EXPECT_EQ(drr, 1.f);
}

TEST(RmLoss, FiniteDifferences) {
  // values and step exact in float, so the loss (double) sees exactly the perturbed inputs
  std::vector<float> rc = {0.375f, -1.25f, 2.5f}, rr = {0.125f, 0.75f, 3.0f}, m = {0.5f, -0.25f, 0.f};
  const double center = 0.1, denom = 3;
  std::vector<float> drc(3), drr(3), scratch1(3), scratch2(3);
  bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), m.data(), 3, center, denom);
  const float h = 1.f / 1024;
  auto f = [&]() { return bt_loss(scratch1.data(), scratch2.data(), rc.data(), rr.data(), m.data(), 3, center, denom); };
  for (auto [x, g, what] : {std::tuple{&rc, &drc, "rc"}, std::tuple{&rr, &drr, "rr"}})
    for (int p = 0; p < 3; p++) {
      float old = (*x)[p];
      (*x)[p] = old + h;
      double fp = f();
      (*x)[p] = old - h;
      double fm = f();
      (*x)[p] = old;
      EXPECT_NEAR((*g)[p], (fp - fm) / (2.0 * h), 1e-5) << what << " " << p;
    }
}

TEST(RmLoss, BadDenominatorIsAnError) {
  float rc = 0.f, rr = 0.f, drc, drr;
  EXPECT_THROW(bt_loss(&drc, &drr, &rc, &rr, nullptr, 1, 0.0, 0.0), Error);
}
