// The score head's kernels (reward models): score_forward / score_backward against central finite differences in
// double precision and the fast fp32 table against the scalar reference (kernels/reference.cpp).
#include "kernels/kernels.h"
#include "core/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace r1;

template <class F>
static std::vector<F> randn(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<F> v(n);
  for (auto& x : v) x = (F)r.normal();
  return v;
}

// S = 5 entries over N = 6 rows of C = 7; row 4 is scored twice (its gradient is the sum), rows 1 and 5 never.
static const int S = 5, N = 6, C = 7;
static const std::vector<int> kRows = {2, 4, 0, 4, 3};

TEST(ScoreKernel, FiniteDifferencesInDouble) {
  std::vector<double> h = randn<double>(N * C, 1), w = randn<double>(C, 2), R = randn<double>(S, 3), sc(S);
  auto f = [&]() {
    score_forward(sc.data(), h.data(), kRows.data(), w.data(), S, C);
    double v = 0;
    for (int s = 0; s < S; s++) v += sc[s] * R[s];
    return v;
  };
  std::vector<double> dh(N * C, 123.0), dw(C, 0.5);  // dh overwritten, dw accumulated
  score_backward(dh.data(), dw.data(), R.data(), h.data(), kRows.data(), w.data(), S, N, C);
  for (auto& v : dw) v -= 0.5;
  auto check = [&](std::vector<double>& x, const std::vector<double>& grad, const char* what) {
    for (size_t i = 0; i < x.size(); i++) {
      double old = x[i], eps = 1e-6;
      x[i] = old + eps;
      double fp = f();
      x[i] = old - eps;
      double fm = f();
      x[i] = old;
      double num = (fp - fm) / (2 * eps);
      ASSERT_NEAR(grad[i], num, 1e-7 * std::max(1.0, std::fabs(num))) << what << " index " << i;
    }
  };
  check(h, dh, "dh");
  check(w, dw, "dw");
  for (int n : {1, 5})  // rows no entry names: exactly zero
    for (int i = 0; i < C; i++) EXPECT_EQ(dh[(size_t)n * C + i], 0.0);
  // the score itself: w · h[row]
  f();
  double want = 0;
  for (int i = 0; i < C; i++) want += w[i] * h[(size_t)kRows[2] * C + i];
  EXPECT_NEAR(sc[2], want, 1e-12);
}

TEST(ScoreKernel, FastVsReference) {
  const int Nb = 37, Cb = 1029, Sb = 9;  // odd width: the SIMD tail
  std::vector<int> rows = {36, 0, 5, 5, 17, 20, 36, 1, 9};
  auto h = randn<float>((size_t)Nb * Cb, 4), w = randn<float>(Cb, 5), d = randn<float>(Sb, 6);
  std::vector<float> s1(Sb), s2(Sb);
  score_forward(s1.data(), h.data(), rows.data(), w.data(), Sb, Cb);
  ref::score_forward(s2.data(), h.data(), rows.data(), w.data(), Sb, Cb);
  for (int s = 0; s < Sb; s++) EXPECT_NEAR(s1[s], s2[s], 1e-4f * std::max(1.f, std::fabs(s2[s]))) << s;
  std::vector<float> dh1((size_t)Nb * Cb, 7.f), dh2((size_t)Nb * Cb, -7.f), dw1(Cb, 0.25f), dw2(Cb, 0.25f);
  score_backward(dh1.data(), dw1.data(), d.data(), h.data(), rows.data(), w.data(), Sb, Nb, Cb);
  ref::score_backward(dh2.data(), dw2.data(), d.data(), h.data(), rows.data(), w.data(), Sb, Nb, Cb);
  for (size_t i = 0; i < dh1.size(); i++) ASSERT_NEAR(dh1[i], dh2[i], 1e-5f * std::max(1.f, std::fabs(dh2[i]))) << i;
  for (int i = 0; i < Cb; i++) ASSERT_NEAR(dw1[i], dw2[i], 1e-5f * std::max(1.f, std::fabs(dw2[i]))) << i;
  // an unscored row is exactly zero; a row scored twice holds both entries' gradients
  for (int i = 0; i < Cb; i++) EXPECT_EQ(dh1[(size_t)2 * Cb + i], 0.f);
  EXPECT_NEAR(dh1[(size_t)5 * Cb + 3], (d[2] + d[3]) * w[3], 1e-5f);
}
