// The GRPO objective (src/train/grpo_loss.h) proved three independent ways:
//  1. hand-computed advantages and losses (numbers worked out in the comments), including the all-equal group;
//  2. central finite differences of the loss for dlp/dent, for every variant;
//  3. end to end against PyTorch (tools/torch_ref/gen_grpo_fixtures.py, float64 autograd through the HF-named
//     reference model): Model::forward -> grpo_loss -> Model::backward match the loss, dlp/dent and every
//     parameter gradient of tests/fixtures/grpo/*.safetensors.
// Plus validate() and the bad-input errors.
#include "core/check.h"
#include "formats/safetensors.h"
#include "model/transformer.h"
#include "train/grpo_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace r1;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

// ---- 1. hand-computed -----------------------------------------------------------------------------------------
TEST(GroupAdvantages, SampleStdByHand) {
  // r = [1, 0, 0, 1]: mean 0.5, deviations ±0.5, sample variance (4 · 0.25) / 3 = 1/3, std = 0.5773503.
  auto a = group_advantages({1, 0, 0, 1}, 4, true, 0.f);
  const double s = std::sqrt(1.0 / 3.0), want = 0.5 / s;  // 0.8660254
  EXPECT_NEAR(a[0], want, 1e-6);
  EXPECT_NEAR(a[1], -want, 1e-6);
  EXPECT_NEAR(a[2], -want, 1e-6);
  EXPECT_NEAR(a[3], want, 1e-6);
  // with eps: 0.5 / (0.5773503 + 0.1) = 0.7390567
  a = group_advantages({1, 0, 0, 1}, 4, true, 0.1f);
  EXPECT_NEAR(a[0], 0.5 / (s + 0.1), 1e-6);
  // r = [2, 0, 1, 1]: mean 1, deviations [1, -1, 0, 0], sample var 2/3, std 0.8164966 -> [1.2247449, -1.2247449, 0, 0]
  a = group_advantages({2, 0, 1, 1}, 4, true, 0.f);
  EXPECT_NEAR(a[0], 1.2247449, 1e-6);
  EXPECT_NEAR(a[1], -1.2247449, 1e-6);
  EXPECT_EQ(a[2], 0.f);
  EXPECT_EQ(a[3], 0.f);
  // std_norm off (Dr. GRPO): just r − mean.  [1, 0, 0.2, 1]: mean 0.55 -> [0.45, −0.55, −0.35, 0.45]
  a = group_advantages({1, 0, 0.2f, 1}, 4, false, 1e-6f);
  EXPECT_NEAR(a[0], 0.45, 1e-6);
  EXPECT_NEAR(a[1], -0.55, 1e-6);
  EXPECT_NEAR(a[2], -0.35, 1e-6);
  EXPECT_NEAR(a[3], 0.45, 1e-6);
}

TEST(GroupAdvantages, GroupsAreIndependentAndAllEqualGroupIsExactlyZero) {
  // Two groups of 4 laid out one after the other; the second has equal rewards -> exactly 0 (not 0/eps noise).
  auto a = group_advantages({1, 0, 0, 1, 3, 3, 3, 3}, 4, true, 1e-6f);
  EXPECT_NEAR(a[0], 0.5 / (std::sqrt(1.0 / 3.0) + 1e-6), 1e-6);
  for (int i = 4; i < 8; i++) EXPECT_EQ(a[i], 0.f) << i;
  // Equal rewards whose float mean is not exact (0.1 has no binary form; G = 3, 5, 7): still exactly 0, even with
  // eps = 0 where a rounding residue d / sd would otherwise be an O(1) garbage advantage.
  for (int G : {3, 5, 7, 16}) {
    for (float v : {0.1f, 0.7f, 1.f / 3.f, -2.3f}) {
      auto z = group_advantages(std::vector<float>(G, v), G, true, 0.f);
      for (int i = 0; i < G; i++) EXPECT_EQ(z[i], 0.f) << "G=" << G << " v=" << v;
    }
  }
  // G = 1: no std, no signal
  auto one = group_advantages({5, -2}, 1, true, 1e-6f);
  EXPECT_EQ(one[0], 0.f);
  EXPECT_EQ(one[1], 0.f);
}

// A 4-sequence batch with round ratios. old_lp = −1 and lp = −1 + ln ρ, so ρ is exactly the chosen value (up to
// float rounding of lp, ~1e-7). Advantages are set directly (+1, −1, −1, +1). ε = 0.2 both sides.
//   seq 0, A=+1, ρ = [1.1, 1.5]      -> surrogate [1.1, 1.2 (clipped high)]   token losses [−1.1, −1.2]
//   seq 1, A=−1, ρ = [0.5]           -> min(−0.5, −0.8) = −0.8 (clipped low)  token loss   [0.8]
//   seq 2, A=−1, ρ = [1.5, 0.9, 1.0] -> min(−1.5, −1.2) = −1.5 (NOT clipped: ρ > 1+ε with A < 0 keeps the gradient)
//                                        token losses [1.5, 0.9, 1.0]
//   seq 3, A=+1, ρ = [0.5, 1.0]      -> min(0.5, 0.8) = 0.5 (unclipped)       token losses [−0.5, −1.0]
// Sums per sequence: −2.3, 0.8, 3.4, −1.5 (total 0.4 over 8 tokens); means: −1.15, 0.8, 1.1333333, −0.75.
struct HandBatch {
  std::vector<float> lp, old_lp, ref_lp, ent;
  std::vector<SeqSpan> seqs;
  int N = 0;
  HandBatch() {
    const std::vector<std::vector<double>> rho = {{1.1, 1.5}, {0.5}, {1.5, 0.9, 1.0}, {0.5, 1.0}};
    const float A[4] = {1, -1, -1, 1};
    int off = 1;  // one unscored position before each sequence
    for (int i = 0; i < 4; i++) {
      SeqSpan s;
      s.offset = off;
      s.length = (int)rho[i].size();
      s.advantage = A[i];
      seqs.push_back(s);
      off += s.length + 1;
    }
    N = off;
    lp.assign(N, 0.f), old_lp.assign(N, 0.f), ref_lp.assign(N, 0.f), ent.assign(N, 0.f);
    for (int i = 0; i < 4; i++)
      for (int t = 0; t < seqs[i].length; t++) {
        int n = seqs[i].offset + t;
        old_lp[n] = -1.f;
        lp[n] = (float)(-1.0 + std::log(rho[i][t]));
        ref_lp[n] = lp[n] - 0.1f * (t + 1);  // x = lp − ref = 0.1, 0.2, 0.3
        ent[n] = 0.5f + 0.25f * t;
      }
  }
  GrpoLossResult run(const GrpoConfig& c, std::vector<float>* dlp = nullptr, std::vector<float>* dent = nullptr,
                     int nseq = 0, long ntok = 0) {
    std::vector<float> g(N, 7.f), h(N, 7.f);  // 7: checks that everything outside spans is overwritten with 0
    auto r = grpo_loss(c, lp.data(), old_lp.data(), ref_lp.data(), ent.data(), seqs, N, g.data(), h.data(), nseq, ntok);
    if (dlp) *dlp = g;
    if (dent) *dent = h;
    return r;
  }
};

static GrpoConfig no_kl() {
  GrpoConfig c;
  c.beta = 0;
  return c;
}

TEST(GrpoLossByHand, ThreeAggregations) {
  HandBatch hb;
  const double tol = 2e-6;  // lp is float: ρ carries ~1e-7 relative error
  GrpoConfig c = no_kl();
  std::vector<float> dlp, dent;
  auto r = hb.run(c, &dlp, &dent);
  EXPECT_NEAR(r.loss, (-1.15 + 0.8 + 3.4 / 3 - 0.75) / 4, tol);  // 0.0083333
  EXPECT_EQ(r.tokens, 8);
  EXPECT_NEAR(r.clip_frac_high, 1.0 / 8, 1e-12);  // seq 0 token 1
  EXPECT_NEAR(r.clip_frac_low, 1.0 / 8, 1e-12);   // seq 1 token 0
  EXPECT_NEAR(r.ratio_mean, (1.1 + 1.5 + 0.5 + 1.5 + 0.9 + 1.0 + 0.5 + 1.0) / 8, tol);
  EXPECT_NEAR(r.ratio_max, 1.5, tol);
  // dℓ/dlp = −ρA on unclipped tokens, 0 on clipped ones, times the weight 1/(|o_i| · 4)
  const auto& s = hb.seqs;
  EXPECT_NEAR(dlp[s[0].offset + 0], -1.1 / 8, tol);
  EXPECT_EQ(dlp[s[0].offset + 1], 0.f);
  EXPECT_EQ(dlp[s[1].offset + 0], 0.f);
  EXPECT_NEAR(dlp[s[2].offset + 0], 1.5 / 12, tol);
  EXPECT_NEAR(dlp[s[2].offset + 1], 0.9 / 12, tol);
  EXPECT_NEAR(dlp[s[2].offset + 2], 1.0 / 12, tol);
  EXPECT_NEAR(dlp[s[3].offset + 0], -0.5 / 8, tol);
  EXPECT_NEAR(dlp[s[3].offset + 1], -1.0 / 8, tol);
  for (int i = 0; i < 4; i++) EXPECT_EQ(dlp[s[i].offset - 1], 0.f) << "unscored position";
  for (float v : dent) EXPECT_EQ(v, 0.f);

  c.loss_agg = "token-mean";  // 0.4 / 8
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, 0.05, tol);
  EXPECT_NEAR(dlp[s[2].offset + 0], 1.5 / 8, tol);
  c.loss_agg = "seq-mean-token-sum-norm";  // 0.4 / (4 · longest 3)
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, 0.4 / 12, tol);
  EXPECT_NEAR(dlp[s[0].offset + 0], -1.1 / 12, tol);
  c.max_len = 10;  // 0.4 / (4 · 10)
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, 0.01, tol);
  EXPECT_NEAR(dlp[s[3].offset + 1], -1.0 / 40, tol);

  // clip-higher (0.2, 0.28): seq 0 token 1 (1.5) is still above 1.28 -> surrogate 1.28; nothing else changes
  c = no_kl();
  c.clip_eps_high = 0.28f;
  r = hb.run(c);
  EXPECT_NEAR(r.loss, ((-1.1 - 1.28) / 2 + 0.8 + 3.4 / 3 - 0.75) / 4, tol);
  // ...and ε_high = 0.6 frees it: ρ = 1.5 < 1.6
  c.clip_eps_high = 0.6f;
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, ((-1.1 - 1.5) / 2 + 0.8 + 3.4 / 3 - 0.75) / 4, tol);
  EXPECT_NEAR(dlp[s[0].offset + 1], -1.5 / 8, tol);
  EXPECT_EQ(r.clip_frac_high, 0.0);
}

TEST(GrpoLossByHand, NormalisersForMiniBatches) {
  HandBatch hb;
  GrpoConfig c = no_kl();
  // the whole batch has 8 sequences / 16 tokens, this mini-batch half of them: the loss halves
  EXPECT_NEAR(hb.run(c, nullptr, nullptr, 8).loss, (-1.15 + 0.8 + 3.4 / 3 - 0.75) / 8, 2e-6);
  c.loss_agg = "token-mean";
  EXPECT_NEAR(hb.run(c, nullptr, nullptr, 0, 16).loss, 0.4 / 16, 2e-6);
  c.loss_agg = "seq-mean-token-sum-norm";
  EXPECT_NEAR(hb.run(c, nullptr, nullptr, 8).loss, 0.4 / (8 * 3), 2e-6);
}

TEST(GrpoLossByHand, KlEstimatorsAndEntropy) {
  HandBatch hb;
  // x = lp − ref = 0.1, 0.2, 0.3 by token index; per-sequence mean of D, then mean over the 4 sequences.
  auto seqmean = [&](const std::function<double(double)>& D) {
    double tot = 0;
    for (const auto& s : hb.seqs) {
      double m = 0;
      for (int t = 0; t < s.length; t++) m += D((double)hb.lp[s.offset + t] - hb.ref_lp[s.offset + t]);
      tot += m / s.length;
    }
    return tot / 4;
  };
  const double sur = (-1.15 + 0.8 + 3.4 / 3 - 0.75) / 4;
  GrpoConfig c;
  c.beta = 0.1f;
  std::vector<float> dlp, dent;
  c.kl_estimator = "k3";
  auto r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, sur + 0.1 * seqmean([](double x) { return std::exp(-x) + x - 1; }), 2e-6);
  // KL mean over counted tokens: x = 0.1 on 4 tokens, 0.2 on 3, 0.3 on 1
  EXPECT_NEAR(r.kl_mean, (4 * (std::exp(-0.1) - 0.9) + 3 * (std::exp(-0.2) - 0.8) + (std::exp(-0.3) - 0.7)) / 8, 1e-6);
  // a clipped token keeps only the KL gradient β (1 − e^(−x)) / (|o| · 4): seq 0 token 1 has x = 0.2
  EXPECT_NEAR(dlp[hb.seqs[0].offset + 1], 0.1 * (1 - std::exp(-0.2)) / 8, 1e-7);
  c.kl_estimator = "k2";
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, sur + 0.1 * seqmean([](double x) { return 0.5 * x * x; }), 2e-6);
  EXPECT_NEAR(dlp[hb.seqs[0].offset + 1], 0.1 * 0.2 / 8, 1e-7);
  c.kl_estimator = "k1";
  r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, sur + 0.1 * seqmean([](double x) { return x; }), 2e-6);
  EXPECT_NEAR(dlp[hb.seqs[0].offset + 1], 0.1 / 8, 1e-7);

  // entropy bonus: ℓ −= c·H; H = 0.5, 0.75, 1.0 by token index; dent = −c / (|o| · 4)
  c = no_kl();
  c.entropy_coef = 0.05f;
  r = hb.run(c, &dlp, &dent);
  double hmean = 0;
  for (const auto& s : hb.seqs) {
    double m = 0;
    for (int t = 0; t < s.length; t++) m += 0.5 + 0.25 * t;
    hmean += m / s.length;
  }
  EXPECT_NEAR(r.loss, sur - 0.05 * hmean / 4, 2e-6);
  EXPECT_NEAR(r.entropy_mean, (4 * 0.5 + 3 * 0.75 + 1.0) / 8, 1e-7);
  EXPECT_NEAR(dent[hb.seqs[2].offset + 2], -0.05 / 12, 1e-9);
  EXPECT_NEAR(dent[hb.seqs[1].offset], -0.05 / 4, 1e-9);
  EXPECT_EQ(dent[0], 0.f);
}

TEST(GrpoLossByHand, SequenceRatioGspo) {
  HandBatch hb;
  GrpoConfig c = no_kl();
  c.ratio_level = "sequence";
  std::vector<float> dlp;
  auto r = hb.run(c, &dlp);
  // s_i = geometric mean of the token ratios:
  //   seq 0: sqrt(1.1 · 1.5) = 1.2845233 > 1.2, A=+1 -> clipped, surrogate 1.2, gradient 0
  //   seq 1: 0.5, A=−1 -> min(−0.5, −0.8) = −0.8 clipped, gradient 0
  //   seq 2: (1.5 · 0.9 · 1.0)^(1/3) = 1.1052, A=−1 -> −1.1052 (inside the range)
  //   seq 3: sqrt(0.5) = 0.7071068, A=+1 -> min(0.7071, 0.8) = 0.7071 (unclipped)
  const double s2 = std::cbrt(1.35), s3 = std::sqrt(0.5);
  EXPECT_NEAR(r.loss, (-1.2 + 0.8 + s2 - s3) / 4, 2e-6);
  // d(−s A)/dlp_t = −A s / |o|; the sequence loss has weight 1/4
  for (int t = 0; t < 2; t++) EXPECT_EQ(dlp[hb.seqs[0].offset + t], 0.f);
  EXPECT_EQ(dlp[hb.seqs[1].offset], 0.f);
  for (int t = 0; t < 3; t++) EXPECT_NEAR(dlp[hb.seqs[2].offset + t], s2 / 3 / 4, 1e-7);
  for (int t = 0; t < 2; t++) EXPECT_NEAR(dlp[hb.seqs[3].offset + t], -s3 / 2 / 4, 1e-7);
  EXPECT_NEAR(r.clip_frac_high, 2.0 / 8, 1e-12);  // both tokens of seq 0
  EXPECT_NEAR(r.clip_frac_low, 1.0 / 8, 1e-12);
}

TEST(GrpoLossByHand, MaskTruncated) {
  HandBatch hb;
  hb.seqs[2].truncated = true;  // the 3-token sequence (the longest) is dropped from the loss
  GrpoConfig c = no_kl();
  std::vector<float> dlp;
  auto r = hb.run(c, &dlp);
  EXPECT_NEAR(r.loss, (-1.15 + 0.8 + 3.4 / 3 - 0.75) / 4, 2e-6) << "mask_truncated=false keeps it";
  c.mask_truncated = true;
  r = hb.run(c, &dlp);
  // seq-mean-token-mean: the masked sequence adds 0 but still counts in the sequence mean (num_seqs_norm <= 0 is
  // seqs.size(), the TRL convention: a truncated sample does not change the weight of the others)
  EXPECT_NEAR(r.loss, (-1.15 + 0.8 - 0.75) / 4, 2e-6);
  EXPECT_EQ(r.tokens, 5);
  for (int t = 0; t < 3; t++) EXPECT_EQ(dlp[hb.seqs[2].offset + t], 0.f);
  c.loss_agg = "token-mean";  // over the 5 counted tokens
  EXPECT_NEAR(hb.run(c).loss, (-2.3 + 0.8 - 1.5) / 5, 2e-6);
  // Dr. GRPO: batch size × the longest completion in the batch (3, the truncated one: the normaliser is a
  // constant of the batch, it does not shrink because a sample is masked)
  c.loss_agg = "seq-mean-token-sum-norm";
  EXPECT_NEAR(hb.run(c).loss, (-2.3 + 0.8 - 1.5) / (4 * 3), 2e-6);
  // everything masked: loss 0, no gradient, no NaN
  for (auto& s : hb.seqs) s.truncated = true;
  r = hb.run(c, &dlp);
  EXPECT_EQ(r.loss, 0.0);
  EXPECT_EQ(r.tokens, 0);
  for (float v : dlp) EXPECT_EQ(v, 0.f);
}

// All rewards equal -> Â = 0 for every sample -> the surrogate and its gradient vanish; what is left is β·KL
// (and the entropy bonus). With β = 0 the loss is exactly 0 and no gradient flows: this is the "loss is 0" that
// TRL/verl users see for groups whose G samples all pass or all fail (dynamic sampling drops such groups).
// The other "loss is 0" they see is in the first inner iteration, where π_θ = π_old (ρ = 1) so the surrogate is
// −mean(Â) ≈ 0 because advantages sum to 0 within a group, while its gradient (−Â ∂lp) is not zero.
TEST(GrpoLossByHand, AllEqualGroupLeavesOnlyKl) {
  HandBatch hb;
  auto adv = group_advantages({0.5f, 0.5f, 0.5f, 0.5f}, 4, true, 1e-6f);
  for (int i = 0; i < 4; i++) hb.seqs[i].advantage = adv[i];
  GrpoConfig c;
  c.beta = 0.04f;
  std::vector<float> dlp;
  auto r = hb.run(c, &dlp);
  double kl = 0;
  for (const auto& s : hb.seqs) {
    double m = 0;
    for (int t = 0; t < s.length; t++) {
      double x = 0.1 * (t + 1);
      m += std::exp(-x) + x - 1;
      EXPECT_NEAR(dlp[s.offset + t], 0.04 * (1 - std::exp(-x)) / (s.length * 4), 1e-8);
    }
    kl += m / s.length;
  }
  EXPECT_NEAR(r.loss, 0.04 * kl / 4, 1e-8);
  c.beta = 0;
  r = hb.run(c, &dlp);
  EXPECT_EQ(r.loss, 0.0);
  for (float v : dlp) EXPECT_EQ(v, 0.f);

  // ρ = 1 everywhere, advantages [+a, −a, −a, +a], equal lengths: loss −mean(Â) = 0, gradient ±a/(|o|·4) ≠ 0
  HandBatch eq;
  for (int i = 0; i < 4; i++) {
    eq.seqs[i].length = 1;
    eq.old_lp[eq.seqs[i].offset] = eq.lp[eq.seqs[i].offset];
  }
  auto a = group_advantages({1, 0, 0, 1}, 4, true, 1e-6f);
  for (int i = 0; i < 4; i++) eq.seqs[i].advantage = a[i];
  r = eq.run(c, &dlp);
  EXPECT_NEAR(r.loss, 0.0, 1e-7);
  EXPECT_NEAR(dlp[eq.seqs[0].offset], -a[0] / 4, 1e-7);
  EXPECT_NEAR(dlp[eq.seqs[1].offset], a[0] / 4, 1e-7);
}

// ---- 2. finite differences ------------------------------------------------------------------------------------
// Random batch (3 groups of 4, lengths 1..9, one truncated), random old/ref/entropy. For every variant and every
// scored position n, the central difference (L(lp+δ⁺) − L(lp−δ⁻)) / (δ⁺ + δ⁻) with δ = 1e-3 is compared with
// dlp[n] (same for ent/dent). δ± are the exact float steps actually taken, and L is accumulated in double, so the
// only errors are the O(δ²) truncation (≲ 1e-8 here) and the float storage of dlp (6e-8 relative):
// tolerance 2e-8 + 1e-5 |g|. Positions within 4δ of a kink (a clip bound, or the ±20 KL clamp) are skipped
// (at most a few; the test asserts that ≥ 90% are checked). Two tokens sit far outside the ±20 clamp, where the
// KL term is constant, so their KL gradient must be 0.
struct FdCase {
  const char* name;
  std::function<void(GrpoConfig&)> set;
  int nseq = 0;
  long ntok = 0;
};

TEST(GrpoLossFiniteDifferences, EveryVariant) {
  std::mt19937 rng(1234);
  std::normal_distribution<double> nd(0, 1);
  std::uniform_real_distribution<double> ud(0, 1);
  std::vector<SeqSpan> seqs;
  int off = 0;
  for (int i = 0; i < 12; i++) {
    SeqSpan s;
    s.offset = off + 1;
    s.length = 1 + (int)(ud(rng) * 9);
    s.truncated = i == 5;
    seqs.push_back(s);
    off = s.offset + s.length;
  }
  const int N = off + 2;
  std::vector<float> rewards;
  for (int i = 0; i < 12; i++) rewards.push_back((float)std::floor(ud(rng) * 3) / 2);
  std::vector<float> lp(N), old_lp(N), ref_lp(N), ent(N);
  for (int n = 0; n < N; n++) {
    lp[n] = (float)(-0.2 - 2 * ud(rng));
    old_lp[n] = (float)(lp[n] + 0.3 * nd(rng));
    ref_lp[n] = (float)(lp[n] + 0.5 * nd(rng));
    ent[n] = (float)(3 * ud(rng));
  }
  ref_lp[seqs[3].offset] = lp[seqs[3].offset] + 25.f;   // x = −25: clamped
  ref_lp[seqs[7].offset] = lp[seqs[7].offset] - 30.f;   // x = +30: clamped

  std::vector<FdCase> cases = {
      {"grpo k3", [](GrpoConfig& c) { c.beta = 0.05f; }},
      {"beta 0", [](GrpoConfig& c) { c.beta = 0; }},
      {"k1", [](GrpoConfig& c) { c.beta = 0.05f, c.kl_estimator = "k1"; }},
      {"k2", [](GrpoConfig& c) { c.beta = 0.05f, c.kl_estimator = "k2"; }},
      {"dapo token-mean clip-higher", [](GrpoConfig& c) { c.loss_agg = "token-mean", c.clip_eps_high = 0.28f; }},
      {"dr grpo", [](GrpoConfig& c) { c.loss_agg = "seq-mean-token-sum-norm", c.std_norm = false; }},
      {"dr grpo max_len", [](GrpoConfig& c) { c.loss_agg = "seq-mean-token-sum-norm", c.max_len = 12; }},
      {"gspo", [](GrpoConfig& c) { c.ratio_level = "sequence"; }},
      {"gspo token-mean k2", [](GrpoConfig& c) { c.ratio_level = "sequence", c.loss_agg = "token-mean", c.kl_estimator = "k2"; }},
      {"entropy", [](GrpoConfig& c) { c.entropy_coef = 0.03f; }},
      {"mask truncated", [](GrpoConfig& c) { c.mask_truncated = true, c.beta = 0.02f; }},
      {"mini-batch normalisers", [](GrpoConfig& c) { c.entropy_coef = 0.01f; }, 40, 0},
      {"mini-batch token-mean", [](GrpoConfig& c) { c.loss_agg = "token-mean"; }, 0, 500},
  };
  for (const auto& fc : cases) {
    GrpoConfig c;
    fc.set(c);
    c.validate();
    auto adv = group_advantages(rewards, 4, c.std_norm, c.adv_eps);
    for (int i = 0; i < 12; i++) seqs[i].advantage = adv[i];
    std::vector<float> dlp(N), dent(N);
    auto loss_at = [&]() {  // at the current (perturbed) lp and ent
      std::vector<float> g(N), h(N);
      return grpo_loss(c, lp.data(), old_lp.data(), ref_lp.data(), ent.data(), seqs, N, g.data(), h.data(), fc.nseq,
                       fc.ntok)
          .loss;
    };
    grpo_loss(c, lp.data(), old_lp.data(), ref_lp.data(), ent.data(), seqs, N, dlp.data(), dent.data(), fc.nseq, fc.ntok);
    const double lo = std::log(1.0 - c.clip_eps_low), hi = std::log(1.0 + c.clip_eps_high), h = 1e-3;
    int checked = 0, skipped = 0, nonzero = 0;
    for (int n = 0; n < N; n++) {
      // distance of the relevant log-ratio from the clip bounds (sequence: the mean moves by h/|o|)
      const SeqSpan* sp = nullptr;
      for (const auto& s : seqs)
        if (n >= s.offset && n < s.offset + s.length) sp = &s;
      if (sp) {
        double logr = (double)lp[n] - old_lp[n];
        if (c.ratio_level == "sequence") {
          logr = 0;
          for (int t = 0; t < sp->length; t++) logr += (double)lp[sp->offset + t] - old_lp[sp->offset + t];
          logr /= sp->length;
        }
        double x = std::fabs((double)lp[n] - ref_lp[n]);
        if (std::fabs(logr - lo) < 4 * h || std::fabs(logr - hi) < 4 * h || std::fabs(x - 20) < 4 * h) {
          skipped++;
          continue;
        }
      }
      for (int which = 0; which < 2; which++) {
        std::vector<float>& v = which == 0 ? lp : ent;
        const float* g = which == 0 ? dlp.data() : dent.data();
        const float v0 = v[n];
        v[n] = (float)(v0 + h);
        const double dp = (double)v[n] - v0;
        const double Lp = loss_at();
        v[n] = (float)(v0 - h);
        const double dm = (double)v0 - v[n];
        const double Lm = loss_at();
        v[n] = v0;
        const double fd = (Lp - Lm) / (dp + dm);
        EXPECT_NEAR(g[n], fd, 2e-8 + 1e-5 * std::fabs(fd))
            << fc.name << ": d/d" << (which ? "ent" : "lp") << "[" << n << "]" << (sp ? "" : " (unscored)");
        if (g[n] != 0) nonzero++;
      }
      checked++;
    }
    EXPECT_GE(checked, 0.9 * (checked + skipped)) << fc.name;
    EXPECT_GT(nonzero, 20) << fc.name;
  }
}

// ---- 3. against PyTorch ---------------------------------------------------------------------------------------
// Tolerances (measured worst cases are printed by the test; each bound is ~5-10× the worst observed):
//   lp, entropy vs torch float64: 2e-6 abs — the float32 forward (logits to ~1e-6)
//   loss: 1e-6 abs + 1e-5 rel; dlp, dent: 1e-7 abs + 1e-4 rel — computed from those float lp
//   parameter gradients: 1e-6 abs + 1e-3 rel on each element (float32 backward over ~50 tokens), and the same
//   relative bound on each of the four cosine projections and the norm of a sketched tensor.
struct Worst {
  double v = 0;
  std::string where;
  void add(double r, const std::string& w) {
    if (r > v) v = r, where = w;
  }
};

static void compare(const float* got, const std::vector<float>& want, double atol, double rtol, const std::string& what,
                    Worst* w) {
  for (size_t i = 0; i < want.size(); i++) {
    double r = std::fabs((double)got[i] - want[i]) / (atol + rtol * std::fabs(want[i]));
    w->add(r, what);
    ASSERT_LE(r, 1.0) << what << "[" << i << "]: got " << got[i] << " want " << want[i];
  }
}

class GrpoVsTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(GrpoVsTorch, LossDlpAndEveryGradient) {
  const std::string path = fixture(std::string("grpo/") + GetParam() + ".safetensors");
  SafeTensorsFile f(path);
  const auto& meta = f.metadata();
  Model m = Model::load(fixture(meta.at("model")));
  GrpoConfig c;
  c.beta = f.read_f32("cfg_beta")[0];
  c.clip_eps_low = f.read_f32("cfg_clip_eps_low")[0];
  c.clip_eps_high = f.read_f32("cfg_clip_eps_high")[0];
  c.adv_eps = f.read_f32("cfg_adv_eps")[0];
  c.entropy_coef = f.read_f32("cfg_entropy_coef")[0];
  c.max_len = (int)f.read_i64("cfg_max_len")[0];
  c.std_norm = f.read_i64("cfg_std_norm")[0] != 0;
  c.mask_truncated = f.read_i64("cfg_mask_truncated")[0] != 0;
  c.kl_estimator = meta.at("kl_estimator");
  c.loss_agg = meta.at("loss_agg");
  c.ratio_level = meta.at("ratio_level");
  c.validate();

  const int B = (int)f.find("ids")->shape[0], T = (int)f.find("ids")->shape[1], N = B * T;
  std::vector<int> ids, targets;
  for (auto v : f.read_i64("ids")) ids.push_back((int)v);
  for (auto v : f.read_i64("targets")) targets.push_back((int)v);
  const float temperature = f.read_f32("temperature")[0];
  auto old_lp = f.read_f32("old_lp"), ref_lp = f.read_f32("ref_lp"), rewards = f.read_f32("rewards");
  auto off = f.read_i64("span_offset"), len = f.read_i64("span_length"), tr = f.read_i64("span_truncated");

  const bool want_ent = c.entropy_coef != 0;
  m.forward(ids.data(), targets.data(), B, T, temperature, want_ent);
  Worst w_lp, w_loss, w_d, w_g;
  std::vector<float> lp(m.act().lp, m.act().lp + N), ent(N, 0.f);
  for (int n = 0; n < N; n++) {
    if (targets[n] < 0) lp[n] = 0;  // not scored: the fixture holds 0 there
    else if (want_ent) ent[n] = m.act().ent[n];
  }
  compare(lp.data(), f.read_f32("lp"), 1e-5, 0, "lp", &w_lp);
  if (want_ent) compare(ent.data(), f.read_f32("ent"), 1e-5, 0, "ent", &w_lp);

  auto adv = group_advantages(rewards, B, c.std_norm, c.adv_eps);
  compare(adv.data(), f.read_f32("advantages"), 1e-6, 1e-6, "advantages", &w_loss);
  std::vector<SeqSpan> seqs(B);
  for (int b = 0; b < B; b++) {
    seqs[b].offset = (int)off[b];
    seqs[b].length = (int)len[b];
    seqs[b].truncated = tr[b] != 0;
    seqs[b].advantage = adv[b];
  }
  std::vector<float> dlp(N), dent(N);
  auto res = grpo_loss(c, lp.data(), old_lp.data(), c.beta > 0 ? ref_lp.data() : nullptr,
                       want_ent ? ent.data() : nullptr, seqs, N, dlp.data(), want_ent ? dent.data() : nullptr);
  const float want_loss = f.read_f32("loss")[0];
  EXPECT_NEAR(res.loss, want_loss, 2e-7 + 2e-6 * std::fabs(want_loss));
  w_loss.add(std::fabs(res.loss - want_loss) / (2e-7 + 2e-6 * std::fabs(want_loss)), "loss");
  // the fixtures are built so that tokens are clipped on both sides
  EXPECT_GT(res.clip_frac_low, 0);
  EXPECT_GT(res.clip_frac_high, 0);
  compare(dlp.data(), f.read_f32("dlp"), 1e-8, 2e-5, "dlp", &w_d);
  if (want_ent) compare(dent.data(), f.read_f32("dent"), 1e-8, 2e-5, "dent", &w_d);

  m.zero_grad();
  m.backward(dlp.data(), want_ent ? dent.data() : nullptr);
  int full = 0, sketched = 0;
  for (const auto& s : m.specs) {
    const float* g = m.grads() + s.offset;
    if (f.find("grad." + s.name)) {
      auto want = f.read_f32("grad." + s.name);
      ASSERT_EQ(want.size(), s.numel) << s.name;
      compare(g, want, 1e-6, 1e-3, "grad " + s.name, &w_g);
      full++;
    } else {
      auto want = f.read_f32("sketch." + s.name);  // error naming the tensor if absent
      ASSERT_EQ(want.size(), 5u);
      std::vector<float> got(5);
      double norm = 0;
      for (size_t i = 0; i < s.numel; i++) norm += (double)g[i] * g[i];
      for (int k = 0; k < 4; k++) {
        double acc = 0;
        for (size_t i = 0; i < s.numel; i++) acc += (double)g[i] * std::cos(0.61803 * (double)(i + 1) * (k + 1));
        got[k] = (float)acc;
      }
      got[4] = (float)std::sqrt(norm);
      // projections can cancel: scale the absolute part by the tensor's gradient norm
      compare(got.data(), want, 1e-6 + 1e-4 * want[4], 1e-3, "sketch " + s.name, &w_g);
      sketched++;
    }
  }
  EXPECT_EQ(full + sketched, (int)m.specs.size());
  std::printf("[%s] worst/tol: lp %.3f (%s)  loss %.3f  dlp/dent %.3f (%s)  grads %.3f (%s); %d full, %d sketched\n",
              GetParam(), w_lp.v, w_lp.where.c_str(), w_loss.v, w_d.v, w_d.where.c_str(), w_g.v, w_g.where.c_str(), full,
              sketched);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GrpoVsTorch,
                         ::testing::Values("llama_grpo_k3", "llama_grpo_beta0", "llama_dapo_token_mean_clip_higher",
                                           "llama_dr_grpo", "llama_dr_grpo_max_len", "llama_gspo", "llama_k1",
                                           "llama_k2", "llama_entropy_t07", "llama_mask_truncated", "qwen2_grpo_k3",
                                           "qwen2_dapo_gspo_entropy"));

// ---- bad input ------------------------------------------------------------------------------------------------
static std::string validate_error(const std::function<void(GrpoConfig&)>& set) {
  GrpoConfig c;
  set(c);
  try {
    c.validate();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GrpoConfigValidate, RejectsEachBadFieldByName) {
  EXPECT_EQ(validate_error([](GrpoConfig&) {}), "(no error)");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Bad {
    const char* field;
    std::function<void(GrpoConfig&)> set;
  };
  std::vector<Bad> bad = {
      {"beta", [](GrpoConfig& c) { c.beta = -0.1f; }},
      {"beta", [=](GrpoConfig& c) { c.beta = nan; }},
      {"beta", [=](GrpoConfig& c) { c.beta = inf; }},
      {"kl_estimator", [](GrpoConfig& c) { c.kl_estimator = "k4"; }},
      {"kl_estimator", [](GrpoConfig& c) { c.kl_estimator = ""; }},
      {"clip_eps_low", [](GrpoConfig& c) { c.clip_eps_low = 1.0f; }},
      {"clip_eps_low", [](GrpoConfig& c) { c.clip_eps_low = -0.1f; }},
      {"clip_eps_low", [=](GrpoConfig& c) { c.clip_eps_low = nan; }},
      {"clip_eps_high", [](GrpoConfig& c) { c.clip_eps_high = -0.2f; }},
      {"clip_eps_high", [=](GrpoConfig& c) { c.clip_eps_high = nan; }},
      {"clip_eps_high", [=](GrpoConfig& c) { c.clip_eps_high = inf; }},
      {"loss_agg", [](GrpoConfig& c) { c.loss_agg = "seq-mean"; }},
      {"ratio_level", [](GrpoConfig& c) { c.ratio_level = "seq"; }},
      {"adv_eps", [](GrpoConfig& c) { c.adv_eps = -1e-6f; }},
      {"adv_eps", [=](GrpoConfig& c) { c.adv_eps = nan; }},
      {"max_len", [](GrpoConfig& c) { c.max_len = -1; }},
      {"entropy_coef", [=](GrpoConfig& c) { c.entropy_coef = nan; }},
      {"entropy_coef", [=](GrpoConfig& c) { c.entropy_coef = inf; }},
  };
  for (const auto& b : bad) {
    std::string e = validate_error(b.set);
    EXPECT_NE(e.find(std::string("grpo.") + b.field), std::string::npos) << b.field << ": " << e;
  }
}

static std::string loss_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GrpoLossBadInput, ClearErrors) {
  HandBatch hb;
  std::vector<float> g(hb.N);
  GrpoConfig c;  // beta 0.001 > 0
  std::string e = loss_error([&] {
    grpo_loss(c, hb.lp.data(), hb.old_lp.data(), nullptr, nullptr, hb.seqs, hb.N, g.data(), nullptr);
  });
  EXPECT_NE(e.find("reference log-probs"), std::string::npos) << e;
  c.beta = 0;
  c.entropy_coef = 0.01f;
  e = loss_error([&] { grpo_loss(c, hb.lp.data(), hb.old_lp.data(), nullptr, nullptr, hb.seqs, hb.N, g.data(), nullptr); });
  EXPECT_NE(e.find("entropies"), std::string::npos) << e;
  // a span past the end of the arrays must be an error, not an out-of-bounds read
  c.entropy_coef = 0;
  auto seqs = hb.seqs;
  seqs[3].length = 50;
  e = loss_error([&] { grpo_loss(c, hb.lp.data(), hb.old_lp.data(), nullptr, nullptr, seqs, hb.N, g.data(), nullptr); });
  EXPECT_NE(e.find("span"), std::string::npos) << e;
  seqs = hb.seqs;
  seqs[0].offset = -1;
  e = loss_error([&] { grpo_loss(c, hb.lp.data(), hb.old_lp.data(), nullptr, nullptr, seqs, hb.N, g.data(), nullptr); });
  EXPECT_NE(e.find("span"), std::string::npos) << e;

  e = loss_error([] { group_advantages({1, 2, 3}, 2, true, 1e-6f); });
  EXPECT_NE(e.find("groups of 2"), std::string::npos) << e;
  e = loss_error([] { group_advantages({1, 2}, 0, true, 1e-6f); });
  EXPECT_NE(e.find("group_advantages"), std::string::npos) << e;
  e = loss_error([] { group_advantages({1, std::nanf(""), 0, 1}, 4, true, 1e-6f); });
  EXPECT_NE(e.find("reward"), std::string::npos) << e;
}
