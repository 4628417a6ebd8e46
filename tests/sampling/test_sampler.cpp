// Samplers against hand-computed distributions (llama.cpp test-sampling style), an independent double-precision
// reference on large vocabularies, chi-square goodness of fit of the draws, determinism and stop strings.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/check.h"
#include "sampling/sampler.h"

using namespace r1;

namespace {

using Dist = std::vector<std::pair<int, float>>;
const float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> log_probs(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

SamplingParams params(float T = 1.0f, int k = 0, float top_p = 1.0f, float min_p = 0.0f) {
  SamplingParams p;
  p.temperature = T;
  p.top_k = k;
  p.top_p = top_p;
  p.min_p = min_p;
  return p;
}

void expect_dist(const std::vector<float>& logits, const SamplingParams& p, const Dist& want, float tol = 1e-6f) {
  const Dist got = filtered_distribution(logits.data(), static_cast<int>(logits.size()), p);
  ASSERT_EQ(got.size(), want.size()) << "T=" << p.temperature << " k=" << p.top_k << " top_p=" << p.top_p
                                     << " min_p=" << p.min_p;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "rank " << i;
    EXPECT_NEAR(got[i].second, want[i].second, tol) << "rank " << i << " token " << want[i].first;
  }
}

// Independent reference: double precision softmax, full stable sort, filters applied literally as documented.
Dist reference_dist(const std::vector<float>& l, const SamplingParams& p) {
  const int V = static_cast<int>(l.size());
  double m = -1e300;
  for (float x : l) m = std::max(m, static_cast<double>(x));
  std::vector<double> pr(V);
  double s = 0;
  for (int i = 0; i < V; ++i) {
    const double z = (static_cast<double>(l[i]) - m) / p.temperature;
    s += pr[i] = z < -87.0 ? 0.0 : std::exp(z);  // documented underflow: weights below e^-87 of the max are 0
  }
  for (double& x : pr) x /= s;
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return pr[a] > pr[b]; });
  size_t n = V;
  if (p.top_k > 0 && p.top_k < V) n = p.top_k;
  double mass = 0;
  for (size_t i = 0; i < n; ++i) mass += pr[order[i]];
  if (p.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < n; ++i) {
      cum += pr[order[i]] / mass;
      if (cum >= p.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  const double pmax = pr[order[0]];
  Dist out;
  double z = 0;
  for (size_t i = 0; i < n; ++i)
    if (pr[order[i]] >= p.min_p * pmax && pr[order[i]] > 0) z += pr[order[i]];
  for (size_t i = 0; i < n; ++i)
    if (pr[order[i]] >= p.min_p * pmax && pr[order[i]] > 0)
      out.emplace_back(order[i], static_cast<float>(pr[order[i]] / z));
  return out;
}

std::vector<float> normal_logits(int V, double sigma, uint64_t seed) {
  Rng g(seed);
  std::vector<float> l(V);
  for (float& x : l) x = static_cast<float>(g.normal() * sigma);
  return l;
}

// 99.9% quantiles of chi-square with df = 1..20.
double chi2_crit_999(int df) {
  static const double q[] = {10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588,
                             31.264, 32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315};
  R1_CHECK(df >= 1 && df <= 20, "df out of table");
  return q[df - 1];
}

// Draws `n` tokens and returns the chi-square statistic against `target` (token -> probability); tokens outside
// the target count as a failure.
double chi_square(const std::vector<float>& l, const SamplingParams& p, const Dist& target, int n, uint64_t seed,
                  int* outside) {
  Rng rng(seed);
  std::vector<float> scratch;
  std::vector<int> count(l.size(), 0);
  for (int i = 0; i < n; ++i) count[sample_token(l.data(), static_cast<int>(l.size()), p, rng, scratch).token]++;
  double chi = 0;
  int seen = 0;
  for (auto& [tok, prob] : target) {
    const double e = prob * n;
    chi += (count[tok] - e) * (count[tok] - e) / e;
    seen += count[tok];
  }
  *outside = n - seen;
  return chi;
}

template <class F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected r1::Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const std::vector<double> kProbs = {0.1, 0.2, 0.3, 0.4};

}  // namespace

// ---------------------------------------------------------------- filters, hand-computed

TEST(Filters, NoneKeepsEverything) {
  const auto l = log_probs(kProbs);
  expect_dist(l, params(), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}});
}

TEST(Filters, TopK) {
  const auto l = log_probs(kProbs);
  expect_dist(l, params(1, 1), {{3, 1.0f}});
  expect_dist(l, params(1, 3), {{3, 0.4f / 0.9f}, {2, 0.3f / 0.9f}, {1, 0.2f / 0.9f}});
  expect_dist(l, params(1, 4), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}});
  expect_dist(l, params(1, 100), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}});
}

TEST(Filters, TopP) {
  const auto l = log_probs(kProbs);
  expect_dist(l, params(1, 0, 0.35f), {{3, 1.0f}});
  expect_dist(l, params(1, 0, 0.65f), {{3, 4.0f / 7}, {2, 3.0f / 7}});
  expect_dist(l, params(1, 0, 0.75f), {{3, 4.0f / 9}, {2, 3.0f / 9}, {1, 2.0f / 9}});
  expect_dist(l, params(1, 0, 0.95f), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}});
}

TEST(Filters, MinP) {
  const auto l = log_probs(kProbs);
  // keep prob >= min_p * 0.4
  expect_dist(l, params(1, 0, 1, 0.24f), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}});  // >= 0.096
  expect_dist(l, params(1, 0, 1, 0.3f), {{3, 4.0f / 9}, {2, 3.0f / 9}, {1, 2.0f / 9}});  // >= 0.12
  expect_dist(l, params(1, 0, 1, 0.55f), {{3, 4.0f / 7}, {2, 3.0f / 7}});                 // >= 0.22
  expect_dist(l, params(1, 0, 1, 0.76f), {{3, 1.0f}});                                    // >= 0.304
  expect_dist(l, params(1, 0, 1, 1.0f), {{3, 1.0f}});
}

TEST(Filters, Temperature) {
  const auto l = log_probs(kProbs);
  // T = 0.5 squares the probabilities: 1, 4, 9, 16 over 30.
  expect_dist(l, params(0.5f), {{3, 16.0f / 30}, {2, 9.0f / 30}, {1, 4.0f / 30}, {0, 1.0f / 30}});
  // T = 2 takes square roots.
  const double s = std::sqrt(0.1) + std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.4);
  expect_dist(l, params(2.0f), {{3, float(std::sqrt(0.4) / s)}, {2, float(std::sqrt(0.3) / s)},
                                {1, float(std::sqrt(0.2) / s)}, {0, float(std::sqrt(0.1) / s)}});
  // Temperature comes before top-p: at T = 0.5, 16/30 >= 0.5 alone; 16/30 + 9/30 covers 0.6.
  expect_dist(l, params(0.5f, 0, 0.5f), {{3, 1.0f}});
  expect_dist(l, params(0.5f, 0, 0.6f), {{3, 16.0f / 25}, {2, 9.0f / 25}});
}

TEST(Filters, OrderTopKThenTopPThenMinP) {
  const auto l = log_probs(kProbs);
  // top-p alone at 0.55 needs 0.4 + 0.3; after top-k = 2 the renormalised 4/7 = 0.571 already covers it.
  expect_dist(l, params(1, 0, 0.55f), {{3, 4.0f / 7}, {2, 3.0f / 7}});
  expect_dist(l, params(1, 2, 0.55f), {{3, 1.0f}});
  // top-k 3 -> {4,3,2}/9; top-p 0.6 -> 4/9 + 3/9; min-p 0.8 drops 3/7 < 0.8 * 4/7.
  expect_dist(l, params(1, 3, 0.6f), {{3, 4.0f / 7}, {2, 3.0f / 7}});
  expect_dist(l, params(1, 3, 0.6f, 0.8f), {{3, 1.0f}});
  expect_dist(l, params(1, 3, 0.6f, 0.7f), {{3, 4.0f / 7}, {2, 3.0f / 7}});
}

TEST(Filters, TiesKeepLowerIds) {
  const std::vector<float> l = {1, 2, 2, 2, 0};
  const double e = std::exp(1.0);
  const double tie = e * e / (3 * e * e + e + 1);  // 0.2855
  EXPECT_NEAR(tie, 0.2855, 1e-4);
  expect_dist(l, params(1, 1), {{1, 1.0f}});
  expect_dist(l, params(1, 2), {{1, 0.5f}, {2, 0.5f}});
  expect_dist(l, params(1, 0, 0.2f), {{1, 1.0f}});
  expect_dist(l, params(1, 0, 0.3f), {{1, 0.5f}, {2, 0.5f}});
  expect_dist(l, params(1, 0, 0.6f), {{1, 1.0f / 3}, {2, 1.0f / 3}, {3, 1.0f / 3}});
}

TEST(Filters, MaskedTokensNeverKept) {
  const std::vector<float> l = {kNegInf, 0, 0, kNegInf};
  expect_dist(l, params(), {{1, 0.5f}, {2, 0.5f}});
  expect_dist(l, params(1, 3), {{1, 0.5f}, {2, 0.5f}});
  Rng rng(3);
  std::vector<float> scratch;
  for (int i = 0; i < 2000; ++i) {
    const int t = sample_token(l.data(), 4, params(), rng, scratch).token;
    ASSERT_TRUE(t == 1 || t == 2) << t;
  }
}

TEST(Filters, Greedy) {
  const std::vector<float> l = {0, 3, 3, 1};
  Rng rng(1);
  std::vector<float> scratch;
  SamplingParams g;
  g.greedy = true;
  EXPECT_EQ(sample_token(l.data(), 4, g, rng, scratch).token, 1);  // ties -> lowest id
  EXPECT_EQ(sample_token(l.data(), 4, params(0.0f), rng, scratch).token, 1);
  expect_dist(l, g, {{1, 1.0f}});
  const std::vector<float> last = {0, 1, 2, 5};
  EXPECT_EQ(sample_token(last.data(), 4, g, rng, scratch).token, 3);
  // Greedy consumes no random numbers.
  Rng a(9), b(9);
  sample_token(l.data(), 4, g, a, scratch);
  EXPECT_EQ(a.next_u64(), b.next_u64());
}

// Large vocabularies: compare against the double-precision reference (this exercises the candidate threshold
// search, nth_element and the weighted quickselect, which tiny rows never reach).
TEST(Filters, MatchesReferenceOnLargeVocab) {
  struct Case {
    int V;
    double sigma;
    SamplingParams p;
  };
  const std::vector<Case> cases = {
      {152064, 3.0, params(1, 50)},           {152064, 3.0, params(0.6f, 0, 0.95f)},
      {152064, 3.0, params(1, 0, 1, 0.05f)},  {152064, 1.0, params(1, 0, 0.9f)},
      {152064, 1.0, params(1, 20000)},        {152064, 3.0, params(0.7f, 1000, 0.9f, 0.01f)},
      {50000, 0.5, params(1, 0, 0.999f)},     {50000, 8.0, params(1.3f, 40, 0.8f)},
      {50000, 2.0, params(1, 30, 1, 0.2f)},   {50000, 2.0, params(1, 0, 0.5f, 1e-6f)},
      {1000, 20.0, params(1, 0, 0.99f)},      {33, 1.0, params(1, 7, 0.7f)},
      {50000, 0.5, params(1, 0, 1, 0.2f)},    {50000, 1.0, params(1, 3000, 0.95f)},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    const auto l = normal_logits(c.V, c.sigma, seed++);
    const Dist want = reference_dist(l, c.p);
    const Dist got = filtered_distribution(l.data(), c.V, c.p);
    ASSERT_EQ(got.size(), want.size()) << "V=" << c.V << " sigma=" << c.sigma << " k=" << c.p.top_k
                                       << " top_p=" << c.p.top_p << " min_p=" << c.p.min_p;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].first, want[i].first) << "rank " << i;
      ASSERT_NEAR(got[i].second, want[i].second, 1e-6f + 1e-5f * want[i].second) << "rank " << i;
    }
  }
}

// Many random rows (mostly small, every 20th up to 16k tokens), including integer logits (exact ties) and -inf entries, with random filter settings.
TEST(Filters, MatchesReferenceRandomRows) {
  Rng g(2024);
  for (int c = 0; c < 3000; ++c) {
    const int V = c % 20 == 0 ? 1000 + static_cast<int>(g.below(15000)) : 1 + static_cast<int>(g.below(300));
    std::vector<float> l(V);
    const bool ints = g.below(2) == 0;
    for (float& x : l) x = ints ? static_cast<float>(g.below(6)) : static_cast<float>(g.normal() * (0.1 + 4 * g.uniform()));
    if (V > 1 && g.below(3) == 0) l[g.below(V)] = kNegInf;
    SamplingParams p;
    p.temperature = static_cast<float>(0.2 + 1.5 * g.uniform());
    if (g.below(2)) p.top_k = static_cast<int>(g.below(g.below(2) ? 60 : V + 5));
    if (g.below(2)) p.top_p = static_cast<float>(0.05 + 0.95 * g.uniform());
    if (g.below(3) == 0) p.min_p = static_cast<float>(0.5 * g.uniform());
    const Dist want = reference_dist(l, p);
    const Dist got = filtered_distribution(l.data(), V, p);
    ASSERT_EQ(got.size(), want.size()) << "case " << c << " V=" << V << " k=" << p.top_k << " top_p=" << p.top_p
                                       << " min_p=" << p.min_p;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].first, want[i].first) << "case " << c << " rank " << i;
      ASSERT_NEAR(got[i].second, want[i].second, 1e-6f + 1e-5f * want[i].second) << "case " << c;
    }
  }
}

// ---------------------------------------------------------------- log-probs

TEST(LogProb, HandComputed) {
  const std::vector<float> l = {1, 2, 3};
  const double s = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  EXPECT_NEAR(token_logprob(l.data(), 3, 0, 2.0f), 0.5 - std::log(s), 1e-6);
  EXPECT_NEAR(token_logprob(l.data(), 3, 2, 1.0f), 3 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), 1e-6);
  EXPECT_EQ(token_logprob(l.data(), 3, 1, 0.0f), token_logprob(l.data(), 3, 1, 1.0f));  // T = 0 means 1
  const std::vector<float> masked = {kNegInf, 0, 0};
  EXPECT_NEAR(token_logprob(masked.data(), 3, 1, 0.7f), std::log(0.5), 1e-6);
  EXPECT_EQ(token_logprob(masked.data(), 3, 0, 0.7f), kNegInf);
}

TEST(LogProb, IsBeforeTruncationAfterTemperature) {
  const auto l = log_probs(kProbs);
  Rng rng(5);
  std::vector<float> scratch;
  // top-k 1 always yields token 3; its log-prob is that of the T = 0.5 distribution (16/30), not log 1.
  const SampleResult r = sample_token(l.data(), 4, params(0.5f, 1), rng, scratch);
  EXPECT_EQ(r.token, 3);
  EXPECT_NEAR(r.logprob, std::log(16.0 / 30), 1e-6);
  // top-p 0.65 at T = 1: kept {3, 2}, log-probs still log 0.4 / log 0.3.
  for (int i = 0; i < 50; ++i) {
    const SampleResult q = sample_token(l.data(), 4, params(1, 0, 0.65f), rng, scratch);
    ASSERT_TRUE(q.token == 3 || q.token == 2);
    EXPECT_NEAR(q.logprob, std::log(q.token == 3 ? 0.4 : 0.3), 1e-6);
  }
}

TEST(LogProb, GreedyReportsTemperatureOne) {
  const std::vector<float> l = {0, 3, 3, 1};
  const double want = 3 - std::log(1 + 2 * std::exp(3.0) + std::exp(1.0));
  Rng rng(1);
  std::vector<float> scratch;
  SamplingParams g = params(0.5f);
  g.greedy = true;
  EXPECT_NEAR(sample_token(l.data(), 4, g, rng, scratch).logprob, want, 1e-6);
  EXPECT_NEAR(sample_token(l.data(), 4, params(0.0f), rng, scratch).logprob, want, 1e-6);
}

TEST(LogProb, LargeVocabAgainstDoubleAndBitIdenticalToSampler) {
  const int V = 152064;
  auto l = normal_logits(V, 4.0, 77);
  for (int i = 0; i < V; i += 97) l[i] = kNegInf;  // masked entries
  for (float T : {1.0f, 0.6f, 1.7f}) {
    double m = -1e300;
    for (float x : l) m = std::max(m, double(x));
    double s = 0;
    for (float x : l) s += std::exp((double(x) - m) / T);
    for (int tok : {1, 500, 152000, 77777}) {
      const double ref = (double(l[tok]) - m) / T - std::log(s);
      EXPECT_NEAR(token_logprob(l.data(), V, tok, T), ref, 2e-6 + 1e-6 * std::fabs(ref)) << "T=" << T;
    }
    Rng rng(11);
    std::vector<float> scratch;
    for (const SamplingParams& p : {params(T), params(T, 40), params(T, 0, 0.9f), params(T, 0, 1, 0.1f)})
      for (int i = 0; i < 5; ++i) {
        const SampleResult r = sample_token(l.data(), V, p, rng, scratch);
        ASSERT_NE(l[r.token], kNegInf);
        EXPECT_EQ(r.logprob, token_logprob(l.data(), V, r.token, T));  // exactly the trainer-facing definition
      }
  }
}

// ---------------------------------------------------------------- draws: chi-square goodness of fit

TEST(Draws, ChiSquareSmallRows) {
  const auto l = log_probs(kProbs);
  struct Case {
    SamplingParams p;
    Dist target;  // hand-computed
  };
  const std::vector<Case> cases = {
      {params(), {{3, 0.4f}, {2, 0.3f}, {1, 0.2f}, {0, 0.1f}}},
      {params(0.5f), {{3, 16.0f / 30}, {2, 9.0f / 30}, {1, 4.0f / 30}, {0, 1.0f / 30}}},
      {params(1, 3), {{3, 4.0f / 9}, {2, 3.0f / 9}, {1, 2.0f / 9}}},
      {params(1, 0, 0.65f), {{3, 4.0f / 7}, {2, 3.0f / 7}}},
      {params(1, 0, 1, 0.3f), {{3, 4.0f / 9}, {2, 3.0f / 9}, {1, 2.0f / 9}}},
  };
  uint64_t seed = 1234;
  for (const Case& c : cases) {
    int outside = 0;
    const double chi = chi_square(l, c.p, c.target, 200000, seed++, &outside);
    EXPECT_EQ(outside, 0);
    EXPECT_LT(chi, chi2_crit_999(static_cast<int>(c.target.size()) - 1))
        << "T=" << c.p.temperature << " k=" << c.p.top_k << " top_p=" << c.p.top_p << " min_p=" << c.p.min_p;
  }
  // Ties: {1, 2, 2, 2, 0} at top-p 0.6 keeps ids 1..3 uniformly.
  const std::vector<float> ties = {1, 2, 2, 2, 0};
  int outside = 0;
  const double chi = chi_square(ties, params(1, 0, 0.6f), {{1, 1.0f / 3}, {2, 1.0f / 3}, {3, 1.0f / 3}}, 200000,
                                99, &outside);
  EXPECT_EQ(outside, 0);
  EXPECT_LT(chi, chi2_crit_999(2));
}

// Larger rows reach the other draw paths (whole-row walk with block sums; kept set of more than 4096 tokens
// masked over the row). Tokens are grouped into 16 bins of roughly equal target mass.
TEST(Draws, ChiSquareLargeRowsBinned) {
  const int V = 6000, n = 16000;
  const auto l = normal_logits(V, 1.0, 4242);
  for (const SamplingParams& p : {params(), params(1, 0, 0.99f), params(1, 0, 1, 0.01f), params(0.8f, 300)}) {
    const Dist target = reference_dist(l, p);
    std::vector<int> bin_of(V, -1);
    std::vector<double> bin_p;
    double cum = 0;
    for (auto& [tok, prob] : target) {
      const int b = std::min(15, static_cast<int>(cum * 16));
      if (b >= static_cast<int>(bin_p.size())) bin_p.resize(b + 1, 0.0);
      bin_of[tok] = b;
      bin_p[b] += prob;
      cum += prob;
    }
    Rng rng(8);
    std::vector<float> scratch;
    std::vector<int> count(bin_p.size(), 0);
    for (int i = 0; i < n; ++i) {
      const int t = sample_token(l.data(), V, p, rng, scratch).token;
      ASSERT_GE(bin_of[t], 0) << "drew token " << t << " outside the kept set";
      count[bin_of[t]]++;
    }
    double chi = 0;
    for (size_t b = 0; b < bin_p.size(); ++b) chi += (count[b] - bin_p[b] * n) * (count[b] - bin_p[b] * n) / (bin_p[b] * n);
    EXPECT_LT(chi, chi2_crit_999(static_cast<int>(bin_p.size()) - 1)) << "k=" << p.top_k << " top_p=" << p.top_p;
  }
}

// The whole-row walk (no filter) and the kept-set walk (a filter that keeps everything) are two implementations
// of the same inverse CDF in id order: same u, same token.
TEST(Draws, TwoWalksAgree) {
  const int V = 6000;
  const auto l = normal_logits(V, 1.0, 31);
  std::vector<float> scratch;
  for (uint64_t s = 0; s < 300; ++s) {
    Rng a(s), b(s);
    const int ta = sample_token(l.data(), V, params(), a, scratch).token;
    const int tb = sample_token(l.data(), V, params(1, 0, 1, 1e-30f), b, scratch).token;
    ASSERT_EQ(ta, tb) << "seed " << s;
  }
}

// ---------------------------------------------------------------- determinism and seeds

TEST(Determinism, SameSeedSameTokens) {
  const int V = 5000;
  const auto l = normal_logits(V, 2.0, 5);
  for (const SamplingParams& p : {params(), params(0.6f, 0, 0.95f), params(1, 20)}) {
    Rng a(seed_for(42, 3, 7)), b(seed_for(42, 3, 7));
    std::vector<float> sa, sb;
    for (int i = 0; i < 300; ++i) ASSERT_EQ(sample_token(l.data(), V, p, a, sa).token, sample_token(l.data(), V, p, b, sb).token);
  }
}

TEST(Determinism, SeedForSeparatesStreams) {
  EXPECT_EQ(seed_for(1, 2, 3), seed_for(1, 2, 3));
  std::vector<uint64_t> seeds;
  for (uint64_t base : {0ull, 1ull})
    for (uint64_t p = 0; p < 40; ++p)
      for (uint64_t s = 0; s < 40; ++s) seeds.push_back(seed_for(base, p, s));
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(std::unique(seeds.begin(), seeds.end()), seeds.end());
  EXPECT_NE(seed_for(0, 1, 0), seed_for(0, 0, 1));  // prompt and sample index are not interchangeable
  // Different streams give different token sequences.
  const auto l = normal_logits(1000, 1.0, 6);
  std::vector<float> scratch;
  auto run = [&](uint64_t seed) {
    Rng r(seed);
    std::vector<int> t;
    for (int i = 0; i < 20; ++i) t.push_back(sample_token(l.data(), 1000, params(), r, scratch).token);
    return t;
  };
  EXPECT_NE(run(seed_for(9, 0, 0)), run(seed_for(9, 0, 1)));
  EXPECT_NE(run(seed_for(9, 0, 0)), run(seed_for(9, 1, 0)));
  EXPECT_NE(run(seed_for(9, 0, 0)), run(seed_for(10, 0, 0)));
}

// A sequence's tokens do not depend on what else is sampled in between (shared scratch, thread-local buffers)
// nor on the thread that samples it.
TEST(Determinism, IndependentOfBatchAndThreads) {
  const int V = 3000, S = 8, steps = 50;
  std::vector<std::vector<float>> rows;
  for (int s = 0; s < S; ++s) rows.push_back(normal_logits(V, 2.0, 1000 + s));
  const SamplingParams p = params(0.8f, 50, 0.9f);
  auto alone = [&](int s) {
    Rng r(seed_for(7, s, 0));
    std::vector<float> scratch;
    std::vector<int> t;
    for (int i = 0; i < steps; ++i) t.push_back(sample_token(rows[s].data(), V, p, r, scratch).token);
    return t;
  };
  std::vector<std::vector<int>> interleaved(S), threaded(S);
  {
    std::vector<Rng> rngs;
    for (int s = 0; s < S; ++s) rngs.emplace_back(seed_for(7, s, 0));
    std::vector<float> scratch;
    for (int i = 0; i < steps; ++i)
      for (int s = S - 1; s >= 0; --s) interleaved[s].push_back(sample_token(rows[s].data(), V, p, rngs[s], scratch).token);
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int s = 0; s < S; ++s) threaded[s] = alone(s);
  for (int s = 0; s < S; ++s) {
    const auto a = alone(s);
    EXPECT_EQ(a, interleaved[s]) << "sequence " << s;
    EXPECT_EQ(a, threaded[s]) << "sequence " << s;
  }
}

// ---------------------------------------------------------------- bad input

TEST(BadInput, ParamsAndRows) {
  const std::vector<float> l = {0, 1, 2};
  Rng rng(1);
  std::vector<float> sc;
  auto run = [&](SamplingParams p) { sample_token(l.data(), 3, p, rng, sc); };
  expect_error([&] { run(params(-1.0f)); }, "temperature");
  expect_error([&] { run(params(std::nanf(""))); }, "temperature");
  expect_error([&] { run(params(std::numeric_limits<float>::infinity())); }, "temperature");
  expect_error([&] { run(params(1, -1)); }, "top_k");
  expect_error([&] { run(params(1, 0, 0.0f)); }, "top_p");
  expect_error([&] { run(params(1, 0, 1.5f)); }, "top_p");
  expect_error([&] { run(params(1, 0, std::nanf(""))); }, "top_p");
  expect_error([&] { run(params(1, 0, 1, -0.1f)); }, "min_p");
  expect_error([&] { run(params(1, 0, 1, 1.1f)); }, "min_p");
  expect_error([&] { sample_token(nullptr, 3, params(), rng, sc); }, "null");
  expect_error([&] { sample_token(l.data(), 0, params(), rng, sc); }, "vocabulary size");
  expect_error([&] { filtered_distribution(l.data(), -2, params()); }, "vocabulary size");
  expect_error([&] { token_logprob(l.data(), 3, 3, 1.0f); }, "out of range");
  expect_error([&] { token_logprob(l.data(), 3, -1, 1.0f); }, "out of range");
  expect_error([&] { token_logprob(l.data(), 3, 0, -2.0f); }, "temperature");
}

TEST(BadInput, NonFiniteLogits) {
  Rng rng(1);
  std::vector<float> sc;
  SamplingParams g;
  g.greedy = true;
  for (const SamplingParams& p : {params(), params(1, 5, 0.9f), g}) {
    std::vector<float> l(100, 0.5f);
    l[37] = std::nanf("");
    expect_error([&] { sample_token(l.data(), 100, p, rng, sc); }, "logits[37]");
    l[37] = std::numeric_limits<float>::infinity();
    expect_error([&] { sample_token(l.data(), 100, p, rng, sc); }, "logits[37]");
    std::vector<float> masked(100, kNegInf);
    expect_error([&] { sample_token(masked.data(), 100, p, rng, sc); }, "all 100 logits are -inf");
  }
  std::vector<float> l(10, 0.0f);
  l[9] = std::nanf("");
  expect_error([&] { token_logprob(l.data(), 10, 0, 1.0f); }, "logits[9]");
  expect_error([&] { filtered_distribution(l.data(), 10, params()); }, "logits[9]");
}

// ---------------------------------------------------------------- stop strings and tokens

TEST(Stop, StringAcrossTokenBoundaries) {
  StopMatcher m({"</answer>", "\n\nUser:"});
  EXPECT_FALSE(m.push("The answer is 4"));
  EXPECT_EQ(m.safe_len(), 15u);
  EXPECT_FALSE(m.push("</"));
  EXPECT_EQ(m.safe_len(), 15u);  // "</" may begin a stop string: hold it back
  EXPECT_FALSE(m.push("ans"));
  EXPECT_FALSE(m.push("wer"));
  EXPECT_TRUE(m.push("> and more"));
  EXPECT_EQ(m.stop_pos(), 15u);
  EXPECT_EQ(m.safe_len(), 15u);
  EXPECT_TRUE(m.push("x"));  // stays stopped, position unchanged
  EXPECT_EQ(m.stop_pos(), 15u);
  EXPECT_EQ(m.text(), "The answer is 4</answer> and morex");
}

TEST(Stop, OneByteTokensAndFalseStarts) {
  StopMatcher m({"xyz"});
  const std::string text = "axyxyyxxyz!";
  size_t fed = 0;
  for (char c : text) {
    const bool stop = m.push(std::string(1, c));
    ++fed;
    EXPECT_EQ(stop, fed >= 10) << fed;
  }
  EXPECT_EQ(m.stop_pos(), 7u);
}

TEST(Stop, EarliestStopWins) {
  StopMatcher m({"cd", "abcd"});
  EXPECT_FALSE(m.push("xxab"));
  EXPECT_EQ(m.safe_len(), 2u);
  EXPECT_TRUE(m.push("cd"));
  EXPECT_EQ(m.stop_pos(), 2u);  // "abcd" starts before "cd"
  StopMatcher one({"END"});
  EXPECT_TRUE(one.push("aEND bEND"));  // whole stop inside one piece
  EXPECT_EQ(one.stop_pos(), 1u);
}

TEST(Stop, NoStopsAndBadStops) {
  StopMatcher none({});
  EXPECT_FALSE(none.push("anything"));
  EXPECT_EQ(none.stop_pos(), std::string::npos);
  EXPECT_EQ(none.safe_len(), 8u);
  expect_error([] { StopMatcher bad({"ok", ""}); }, "stop string 1 is empty");
}

TEST(Stop, Tokens) {
  EXPECT_TRUE(is_stop_token(2, {151643, 2}));
  EXPECT_FALSE(is_stop_token(3, {151643, 2}));
  EXPECT_FALSE(is_stop_token(0, {}));
}

