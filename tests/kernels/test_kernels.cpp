// Kernel checks: (1) every layer's backward against central finite differences in double precision;
// (2) every fast fp32 kernel against its scalar reference (kernels/reference.cpp).
#include "kernels/kernels.h"
#include "core/bits.h"
#include "core/rng.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace r1;
using Vec = std::vector<double>;

static Vec randn(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  Vec v(n);
  for (auto& x : v) x = r.normal() * scale;
  return v;
}
static double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

// Checks the analytic gradient `grad` of scalar f with respect to `x` by central differences.
static void expect_fd(const char* what, Vec& x, const Vec& grad, const std::function<double()>& f,
                      double h = 1e-6, double tol = 1e-6) {
  ASSERT_EQ(x.size(), grad.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); i++) {
    double old = x[i];
    x[i] = old + h;
    double fp = f();
    x[i] = old - h;
    double fm = f();
    x[i] = old;
    double num = (fp - fm) / (2 * h);
    double err = std::fabs(num - grad[i]) / std::max(1.0, std::fabs(num));
    worst = std::max(worst, err);
    EXPECT_LT(err, tol) << what << " index " << i << " numeric " << num << " analytic " << grad[i];
    if (err >= tol) return;
  }
  (void)worst;
}

TEST(FiniteDiff, Matmul) {
  int M = 3, N = 4, K = 5;
  Vec a = randn(M * K, 1), w = randn(N * K, 2), b = randn(N, 3), R = randn(M * N, 4), out(M * N);
  auto f = [&]() { matmul_forward(out.data(), a.data(), w.data(), b.data(), M, N, K); return dot(out, R); };
  Vec da(M * K), dw(N * K, 0.0), db(N, 0.0);
  matmul_backward(da.data(), dw.data(), db.data(), R.data(), a.data(), w.data(), M, N, K);
  expect_fd("matmul da", a, da, f);
  expect_fd("matmul dw", w, dw, f);
  expect_fd("matmul db", b, db, f);
}

TEST(FiniteDiff, RMSNorm) {
  int N = 3, C = 6;
  Vec x = randn(N * C, 5), w = randn(C, 6), R = randn(N * C, 7), out(N * C), rstd(N);
  auto f = [&]() { rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f); return dot(out, R); };
  f();
  Vec dx(N * C), dw(C, 0.0);
  rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C, false);
  expect_fd("rmsnorm dx", x, dx, f);
  expect_fd("rmsnorm dw", w, dw, f);
}

TEST(FiniteDiff, HeadRMSNorm) {
  int N = 2, NHd = 3, HS = 4, stride = 14;  // heads in the first 12 columns of 14-wide rows
  Vec x = randn(N * stride, 8), w = randn(HS, 9), R = randn(N * stride, 10), out(N * stride, 0.0), rstd(N * NHd);
  for (int n = 0; n < N; n++) R[n * stride + 12] = R[n * stride + 13] = 0;  // columns outside the heads don't count
  auto f = [&]() {
    head_rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, NHd, HS, stride, 1e-5f);
    return dot(out, R);
  };
  f();
  Vec dx(N * stride, 0.0), dw(HS, 0.0);
  head_rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, NHd, HS, stride);
  expect_fd("head_rmsnorm dx", x, dx, f);
  expect_fd("head_rmsnorm dw", w, dw, f);
}

TEST(FiniteDiff, Rope) {
  int N = 4, heads = 2, HS = 8, stride = 16, maxp = 10;
  Vec table(2 * maxp * HS / 2);
  rope_table(table.data(), maxp, HS, 10000.0);
  std::vector<int> pos = {0, 3, 7, 9};
  Vec x = randn(N * stride, 11), R = randn(N * stride, 12), y;
  auto f = [&]() {
    y = x;
    rope_forward(y.data(), pos.data(), table.data(), maxp, N, heads, HS, stride);
    return dot(y, R);
  };
  Vec dx = R;
  rope_backward(dx.data(), pos.data(), table.data(), maxp, N, heads, HS, stride);
  expect_fd("rope dx", x, dx, f);
  // position 0 is the identity
  y = x;
  rope_forward(y.data(), pos.data(), table.data(), maxp, N, heads, HS, stride);
  for (int i = 0; i < stride; i++) EXPECT_DOUBLE_EQ(y[i], x[i]);
}

static void attention_fd(int Tq, int Tk) {
  int NH = 4, NKV = 2, HS = 3, qs = 13, kvs = 7, os = 12;  // odd strides catch indexing errors
  Vec q = randn(Tq * qs, 13), k = randn(Tk * kvs, 14), v = randn(Tk * kvs, 15), R = randn(Tq * os, 16);
  Vec out(Tq * os, 0.0), probs(NH * Tq * Tk);
  auto f = [&]() {
    attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), Tq, Tk, NH, NKV, HS, qs, kvs, os);
    return dot(out, R);
  };
  f();
  Vec dq(Tq * qs, 0.0), dk(Tk * kvs, 0.0), dv(Tk * kvs, 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), R.data(), probs.data(), q.data(), k.data(), v.data(), Tq, Tk,
                     NH, NKV, HS, qs, kvs, os);
  // columns outside the heads carry no gradient: zero them in the analytic result where the kernel doesn't write
  for (int t = 0; t < Tq; t++) dq[t * qs + 12] = 0;
  for (int s = 0; s < Tk; s++) dk[s * kvs + 6] = dv[s * kvs + 6] = 0;
  expect_fd("attention dq", q, dq, f);
  expect_fd("attention dk", k, dk, f);
  expect_fd("attention dv", v, dv, f);
}
TEST(FiniteDiff, AttentionTraining) { attention_fd(5, 5); }
TEST(FiniteDiff, AttentionAppendToCache) { attention_fd(2, 6); }

TEST(FiniteDiff, SwiGLU) {
  int N = 3, FF = 5;
  Vec gu = randn(N * 2 * FF, 17, 2.0), R = randn(N * FF, 18), h(N * FF);
  auto f = [&]() { swiglu_forward(h.data(), gu.data(), N, FF); return dot(h, R); };
  Vec dgu(N * 2 * FF);
  swiglu_backward(dgu.data(), R.data(), gu.data(), N, FF);
  expect_fd("swiglu", gu, dgu, f);
}

TEST(FiniteDiff, Embedding) {
  int N = 5, C = 3, V = 4;
  std::vector<int> ids = {1, 3, 1, 0, 1};
  Vec wte = randn(V * C, 19), R = randn(N * C, 20), out(N * C);
  auto f = [&]() { embedding_forward(out.data(), ids.data(), wte.data(), N, C); return dot(out, R); };
  Vec d(V * C, 0.0);
  embedding_backward(d.data(), R.data(), ids.data(), N, C);
  expect_fd("embedding", wte, d, f);
}

TEST(FiniteDiff, LogprobAndEntropyWithTemperature) {
  int N = 4, V = 7;
  float temp = 0.7f;
  std::vector<int> tg = {2, -1, 6, 0};
  Vec z = randn(N * V, 21, 2.0), a = randn(N, 22), b = randn(N, 23), lp(N), ent(N), lse(N);
  auto f = [&]() {
    logprob_forward(lp.data(), ent.data(), lse.data(), z.data(), tg.data(), N, V, temp);
    return dot(lp, a) + dot(ent, b);
  };
  f();
  Vec g = z;
  logprob_backward(g.data(), a.data(), b.data(), lse.data(), ent.data(), tg.data(), N, V, temp);
  expect_fd("logprob+entropy", z, g, f);
  // masked row: zero
  EXPECT_EQ(lp[1], 0.0);
  for (int j = 0; j < V; j++) EXPECT_EQ(g[V + j], 0.0);
}

// ---- fast fp32 kernels against the scalar references -------------------------------------------------------------
static std::vector<float> frandn(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = (float)r.normal();
  return v;
}
static void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++) ASSERT_NEAR(a[i], b[i], tol * std::max(1.f, std::fabs(b[i]))) << what << " " << i;
}

TEST(FastVsReference, Matmul) {
  int M = 37, N = 53, K = 129;
  auto a = frandn(M * K, 1), w = frandn(N * K, 2), b = frandn(N, 3), d = frandn(M * N, 4);
  std::vector<float> o1(M * N), o2(M * N);
  matmul_forward(o1.data(), a.data(), w.data(), b.data(), M, N, K);
  ref::matmul_forward(o2.data(), a.data(), w.data(), b.data(), M, N, K);
  expect_close(o1, o2, 1e-4f, "forward");
  std::vector<float> da1(M * K), dw1(N * K, 0.5f), db1(N, 0.25f), da2(M * K), dw2(N * K, 0.5f), db2(N, 0.25f);
  matmul_backward(da1.data(), dw1.data(), db1.data(), d.data(), a.data(), w.data(), M, N, K);
  ref::matmul_backward(da2.data(), dw2.data(), db2.data(), d.data(), a.data(), w.data(), M, N, K);
  expect_close(da1, da2, 1e-4f, "da");
  expect_close(dw1, dw2, 1e-4f, "dw (accumulated)");
  expect_close(db1, db2, 1e-4f, "db (accumulated)");
}

// Packed weights (inference): every row count a generate() call uses, with and without bias, odd shapes included.
TEST(FastVsReference, PackedMatmul) {
  for (auto [N, K] : {std::pair{53, 129}, std::pair{256, 128}, std::pair{1000, 96}}) {
    auto w = frandn((size_t)N * K, 5), b = frandn(N, 6);
    PackedMatmul pm(w.data(), N, K);
    for (int M : {1, 3, 8, 64, 67}) {
      for (bool bias : {false, true}) {
        auto a = frandn((size_t)M * K, 7 + M);
        std::vector<float> o1((size_t)M * N, -7.f), o2((size_t)M * N);
        pm.forward(o1.data(), a.data(), bias ? b.data() : nullptr, M);
        ref::matmul_forward(o2.data(), a.data(), w.data(), bias ? b.data() : nullptr, M, N, K);
        expect_close(o1, o2, 1e-4f, "packed forward");
      }
    }
  }
}

// Weights rounded to bf16 values (a bf16 checkpoint's), as bit patterns and as the fp32 values they stand for.
static void bf16_weights(std::vector<float>& w, std::vector<uint16_t>& bits) {
  bits.resize(w.size());
  for (size_t i = 0; i < w.size(); i++) {  // truncation: the upper half of the fp32 pattern is a bf16 value
    bits[i] = (uint16_t)(f32_bits(w[i]) >> 16);
    w[i] = bf16_bits_to_f32(bits[i]);
  }
}

TEST(FastVsReference, MatmulBf16Weights) {
  // K through the kernel's 64-element steps, its 32-element step and the K % 32 tail (129, 16, 5, 96, 40),
  // any N, 1-9 activation rows
  for (auto [N, K] : {std::pair{53, 129}, std::pair{64, 16}, std::pair{7, 5}, std::pair{1000, 96}, std::pair{3, 40}}) {
    auto w = frandn((size_t)N * K, 11);
    std::vector<uint16_t> wb;
    bf16_weights(w, wb);
    auto b = frandn(N, 12);
    for (int M : {1, 2, 3, 4, 5, 9}) {
      for (bool bias : {false, true}) {
        auto a = frandn((size_t)M * K, 13 + M);
        std::vector<float> o1((size_t)M * N, -7.f), o2((size_t)M * N), o3((size_t)M * N);
        matmul_forward_bf16w(o1.data(), a.data(), wb.data(), bias ? b.data() : nullptr, M, N, K);
        ref::matmul_forward_bf16w(o2.data(), a.data(), wb.data(), bias ? b.data() : nullptr, M, N, K);
        ref::matmul_forward(o3.data(), a.data(), w.data(), bias ? b.data() : nullptr, M, N, K);
        expect_close(o1, o2, 1e-4f, "bf16-weight forward vs its reference");
        // the widened weights are exactly the fp32 values: the fp32 product in double is the same number
        for (size_t i = 0; i < o2.size(); i++) ASSERT_EQ(o2[i], o3[i]) << i;
      }
    }
  }
}

TEST(FastVsReference, PackedMatmulUsesBf16OnlyForBf16Values) {
  const int N = 300, K = 72;
  auto w = frandn((size_t)N * K, 21);
  PackedMatmul fp(w.data(), N, K);
  EXPECT_FALSE(fp.bf16_weights());  // random fp32 values are not bf16 values: no lossy copy is made
  std::vector<uint16_t> wb;
  bf16_weights(w, wb);
  PackedMatmul bf(w.data(), N, K);
  EXPECT_TRUE(bf.bf16_weights());
  auto b = frandn(N, 22);
  for (int M : {1, 2, 3, 4, 8}) {
    auto a = frandn((size_t)M * K, 23 + M);
    std::vector<float> o1((size_t)M * N), o2((size_t)M * N);
    bf.forward(o1.data(), a.data(), b.data(), M);
    ref::matmul_forward(o2.data(), a.data(), w.data(), b.data(), M, N, K);
    expect_close(o1, o2, 1e-4f, "packed forward, bf16 weights");
  }
}

TEST(FastVsReference, RMSNorm) {
  int N = 9, C = 100;
  auto x = frandn(N * C, 5), w = frandn(C, 6);
  std::vector<float> o1(N * C), o2(N * C), r1(N), r2(N);
  rmsnorm_forward(o1.data(), r1.data(), x.data(), w.data(), N, C, 1e-6f);
  ref::rmsnorm_forward(o2.data(), r2.data(), x.data(), w.data(), N, C, 1e-6f);
  expect_close(o1, o2, 1e-5f, "rmsnorm");
}

TEST(FastVsReference, AttentionAllShapes) {
  for (auto [Tq, Tk] : {std::pair{7, 7}, std::pair{1, 9}, std::pair{3, 10}}) {
    int NH = 6, NKV = 2, HS = 16, qs = NH * HS + 2 * NKV * HS, kvs = qs, os = NH * HS;
    auto q = frandn(Tq * qs, 7), kv = frandn(Tk * kvs, 8);
    std::vector<float> o1(Tq * os), o2(Tq * os), probs(NH * Tq * Tk);
    attention_forward(o1.data(), probs.data(), q.data(), kv.data() + NH * HS, kv.data() + NH * HS + NKV * HS, Tq, Tk,
                      NH, NKV, HS, qs, kvs, os);
    ref::attention_forward(o2.data(), q.data(), kv.data() + NH * HS, kv.data() + NH * HS + NKV * HS, Tq, Tk, NH, NKV,
                           HS, qs, kvs, os);
    expect_close(o1, o2, 1e-5f, "attention");
    // and without saving probs (inference path)
    attention_forward(o1.data(), (float*)nullptr, q.data(), kv.data() + NH * HS, kv.data() + NH * HS + NKV * HS, Tq, Tk, NH,
                      NKV, HS, qs, kvs, os, false);
    expect_close(o1, o2, 1e-5f, "attention (no probs, serial)");
  }
}

// bf16 mode's row form: against the double reference, and every row's bits equal to the same row computed alone
// (Tq = 1 over its own keys), as the rollout engine computes it; head sizes with and without a 16-lane tail.
TEST(FastVsReference, AttentionRowFormMatchesReferenceAndRowsAlone) {
  for (int HS : {16, 24, 64}) {
    for (auto [Tq, Tk] : {std::pair{1, 1}, std::pair{13, 13}, std::pair{5, 37}, std::pair{40, 40}}) {
      int NH = 4, NKV = 2, qs = NH * HS + 2 * NKV * HS, kvs = qs, os = NH * HS;
      auto q = frandn(Tq * qs, 41 + HS), kv = frandn(Tk * kvs, 42 + Tk);
      for (auto& x : q) x *= 3.f;  // peaked softmax rows as well as flat ones
      const float *k = kv.data() + NH * HS, *v = kv.data() + NH * HS + NKV * HS;
      std::vector<float> o1(Tq * os), o2(Tq * os), probs(NH * Tq * Tk);
      attention_forward(o1.data(), probs.data(), q.data(), k, v, Tq, Tk, NH, NKV, HS, qs, kvs, os, true, true);
      ref::attention_forward(o2.data(), q.data(), k, v, Tq, Tk, NH, NKV, HS, qs, kvs, os);
      expect_close(o1, o2, 1e-5f, "row-form attention");
      for (int h = 0; h < NH; h++)
        for (int t = 0; t < Tq; t++) {
          double sum = 0;
          for (int s = 0; s < Tk; s++) sum += probs[((size_t)h * Tq + t) * Tk + s];
          ASSERT_NEAR(sum, 1.0, 1e-5) << "probs row " << t << " head " << h;
        }
      for (int t = 0; t < Tq; t++) {
        std::vector<float> alone(os);
        const int n = Tk - Tq + t + 1;
        attention_forward(alone.data(), (float*)nullptr, q.data() + (size_t)t * qs, k, v, 1, n, NH, NKV, HS, qs, kvs, os,
                          false, true);
        for (int c = 0; c < os; c++)
          ASSERT_EQ(f32_bits(alone[c]), f32_bits(o1[(size_t)t * os + c]))
              << "row " << t << " col " << c << " HS " << HS << " Tq " << Tq << " Tk " << Tk;
      }
    }
  }
}

TEST(FastVsReference, Logprob) {
  int N = 5, V = 1000;
  auto z = frandn(N * V, 9);
  std::vector<int> tg = {0, 999, 5, -1, 17};
  std::vector<float> lp1(N), e1(N), lse(N), lp2(N), e2(N);
  logprob_forward(lp1.data(), e1.data(), lse.data(), z.data(), tg.data(), N, V, 0.6f);
  ref::logprob_forward(lp2.data(), e2.data(), z.data(), tg.data(), N, V, 0.6f);
  expect_close(lp1, lp2, 1e-5f, "lp");
  expect_close(e1, e2, 1e-5f, "entropy");
}

// bf16 mode's log-prob head: e^x from the vectorised polynomial. Forward against the double-precision reference,
// backward (lp and entropy gradients, and lp alone) against the double instantiation of the std::exp kernel, on a
// ragged row length with logits spread wide enough that some weights fall below the polynomial's -87 cut-off.
TEST(FastVsReference, LogprobVectorisedExp) {
  const int N = 6, V = 1003;
  const float temp = 0.6f;
  auto z = frandn((size_t)N * V, 31);
  for (size_t i = 0; i < z.size(); i++) z[i] *= (i / V) % 2 ? 40.f : 2.f;
  std::vector<int> tg = {0, 1002, 5, -1, 17, 500};
  std::vector<float> lp1(N), e1(N), lse1(N), lp2(N), e2(N);
  logprob_forward_vexp(lp1.data(), e1.data(), lse1.data(), z.data(), tg.data(), N, V, temp);
  ref::logprob_forward(lp2.data(), e2.data(), z.data(), tg.data(), N, V, temp);
  for (int n = 0; n < N; n++) {
    EXPECT_NEAR(lp1[n], lp2[n], 2e-6 * (1 + std::fabs(lp2[n]))) << "row " << n;
    EXPECT_NEAR(e1[n], e2[n], 2e-6 * (1 + std::fabs(e2[n]))) << "row " << n;
  }
  std::vector<double> zd(z.begin(), z.end()), lpd(N), ed(N), lsed(N);
  logprob_forward(lpd.data(), ed.data(), lsed.data(), zd.data(), tg.data(), N, V, temp);
  auto a = frandn(N, 32), b = frandn(N, 33);
  for (bool with_entropy : {true, false}) {
    std::vector<float> g = z;
    std::vector<double> gd = zd, ad(a.begin(), a.end()), bd(b.begin(), b.end());
    logprob_backward_vexp(g.data(), a.data(), with_entropy ? b.data() : nullptr, lse1.data(), e1.data(), tg.data(), N,
                          V, temp);
    logprob_backward(gd.data(), ad.data(), with_entropy ? bd.data() : nullptr, lsed.data(), ed.data(), tg.data(), N, V,
                     temp);
    for (size_t i = 0; i < g.size(); i++)
      ASSERT_NEAR(g[i], gd[i], 1e-6 * (std::fabs(a[i / V]) + std::fabs(b[i / V]) * 20)) << "i " << i << " entropy " << with_entropy;
  }
}

// The float path switches to oneDNN products for Tq >= 8; check it, forward and backward, against the double
// loop path (itself checked by finite differences above).
TEST(FastVsReference, AttentionMatrixFormForwardBackward) {
  for (auto [Tq, Tk] : {std::pair{8, 8}, std::pair{33, 33}, std::pair{12, 40}}) {
    int NH = 4, NKV = 2, HS = 16, qs = NH * HS + 5, kvs = NKV * HS + 3, os = NH * HS + 1;
    auto qf = frandn(Tq * qs, 31), kf = frandn(Tk * kvs, 32), vf = frandn(Tk * kvs, 33), df = frandn(Tq * os, 34);
    std::vector<double> qd(qf.begin(), qf.end()), kd(kf.begin(), kf.end()), vd(vf.begin(), vf.end()), dd(df.begin(), df.end());
    std::vector<float> of(Tq * os, 0.f), pf(NH * Tq * Tk), dqf(Tq * qs, 0.f), dkf(Tk * kvs, 0.f), dvf(Tk * kvs, 0.f);
    std::vector<double> od(Tq * os, 0.0), pd(NH * Tq * Tk), dqd(Tq * qs, 0.0), dkd(Tk * kvs, 0.0), dvd(Tk * kvs, 0.0);
    attention_forward(of.data(), pf.data(), qf.data(), kf.data(), vf.data(), Tq, Tk, NH, NKV, HS, qs, kvs, os);
    attention_forward(od.data(), pd.data(), qd.data(), kd.data(), vd.data(), Tq, Tk, NH, NKV, HS, qs, kvs, os);
    attention_backward(dqf.data(), dkf.data(), dvf.data(), df.data(), pf.data(), qf.data(), kf.data(), vf.data(), Tq,
                       Tk, NH, NKV, HS, qs, kvs, os);
    attention_backward(dqd.data(), dkd.data(), dvd.data(), dd.data(), pd.data(), qd.data(), kd.data(), vd.data(), Tq,
                       Tk, NH, NKV, HS, qs, kvs, os);
    auto cmp = [&](const std::vector<float>& a, const std::vector<double>& b, int rows, int stride, int width,
                   const char* what) {
      for (int r = 0; r < rows; r++)
        for (int c = 0; c < width; c++)
          ASSERT_NEAR(a[r * stride + c], b[r * stride + c], 2e-5 * std::max(1.0, std::fabs(b[r * stride + c])))
              << what << " row " << r << " col " << c << " (Tq " << Tq << ", Tk " << Tk << ")";
    };
    cmp(of, od, Tq, os, NH * HS, "out");
    cmp(dqf, dqd, Tq, qs, NH * HS, "dq");
    cmp(dkf, dkd, Tk, kvs, NKV * HS, "dk");
    cmp(dvf, dvd, Tk, kvs, NKV * HS, "dv");
    // inference path (no saved probs) gives the same output
    std::vector<float> o2(Tq * os, 0.f);
    attention_forward(o2.data(), (float*)nullptr, qf.data(), kf.data(), vf.data(), Tq, Tk, NH, NKV, HS, qs, kvs, os, false);
    cmp(o2, od, Tq, os, NH * HS, "out (no probs)");
  }
}

TEST(FastVsReference, Rope) {
  const int N = 7, NH = 3, HS = 16, stride = NH * HS + 5, max_pos = 64;
  const double theta = 10000.0;
  auto x = frandn((size_t)N * stride, 21), y = x;
  std::vector<int> pos = {0, 1, 5, 17, 33, 62, 63};
  std::vector<float> table((size_t)2 * max_pos * (HS / 2));
  rope_table(table.data(), max_pos, HS, theta);
  rope_forward(x.data(), pos.data(), table.data(), max_pos, N, NH, HS, stride);
  ref::rope_forward(y.data(), pos.data(), N, NH, HS, stride, theta);
  // the table's inverse frequencies are float32 (as transformers computes them): angles agree to ~1e-7 relative
  expect_close(x, y, 2e-5f, "rope");
}

TEST(FastVsReference, SwiGLU) {
  const int N = 5, FF = 77;
  auto gu = frandn((size_t)N * 2 * FF, 22);
  std::vector<float> h1((size_t)N * FF), h2((size_t)N * FF);
  swiglu_forward(h1.data(), gu.data(), N, FF);
  ref::swiglu_forward(h2.data(), gu.data(), N, FF);
  expect_close(h1, h2, 1e-6f, "swiglu");
}

// bf16 mode's SwiGLU (vectorised exp): relative error against the double reference over a wide range of gates,
// the ends included (e^x overflowing for a very negative gate gives -0, as the exact value rounds to).
TEST(FastVsReference, SwiGLUVectorisedExp) {
  const int N = 7, FF = 203;  // a ragged 16-lane tail
  auto gu = frandn((size_t)N * 2 * FF, 24);
  for (size_t i = 0; i < gu.size(); i++) gu[i] *= (i % 3 == 0) ? 12.f : 2.f;
  const float ends[] = {-120.f, -89.f, -87.5f, -30.f, -1e-3f, 0.f, 1e-3f, 30.f, 87.5f, 89.f, 120.f};
  for (int j = 0; j < 11; j++) gu[j] = ends[j];
  std::vector<float> h1((size_t)N * FF), h2((size_t)N * FF);
  swiglu_forward_vexp(h1.data(), gu.data(), N, FF);
  ref::swiglu_forward(h2.data(), gu.data(), N, FF);
  for (size_t i = 0; i < h1.size(); i++)
    ASSERT_NEAR(h1[i], h2[i], 1e-6 * std::fabs(h2[i]) + 1e-30) << "h " << i << " gate " << gu[(i / FF) * 2 * FF + i % FF];
}

TEST(FastVsReference, Embedding) {
  const int N = 9, C = 33, V = 20;
  auto wte = frandn((size_t)V * C, 23);
  std::vector<int> ids = {0, 19, 3, 3, 7, 12, 0, 5, 18};
  std::vector<float> o1((size_t)N * C), o2((size_t)N * C);
  embedding_forward(o1.data(), ids.data(), wte.data(), N, C);
  ref::embedding_forward(o2.data(), ids.data(), wte.data(), N, C);
  EXPECT_EQ(o1, o2);  // a copy: exact
}

// The sampler's softmax (kernels.h softmax_row_sum): weights and their sum against exp in double; masked entries
// (-inf) weigh 0; the sum does not depend on whether the weights are kept.
TEST(FastVsReference, SoftmaxRow) {
  for (int V : {1, 15, 16, 17, 1000, 2049}) {
    auto l = frandn((size_t)V, 24 + V);
    for (auto& x : l) x *= 3.f;
    if (V > 3) l[2] = -std::numeric_limits<float>::infinity();
    const float m = row_max(l.data(), V);
    EXPECT_EQ(m, *std::max_element(l.begin(), l.end()));
    for (float T : {1.0f, 0.6f}) {
      std::vector<float> w1((size_t)V), w2((size_t)V);
      const double s1 = softmax_row_sum(w1.data(), l.data(), V, m, T);
      const double s2 = ref::softmax_row_sum(w2.data(), l.data(), V, m, T);
      EXPECT_NEAR(s1, s2, 1e-6 * s2) << "V " << V << " T " << T;
      expect_close(w1, w2, 1e-6f, "softmax weights");
      EXPECT_EQ(softmax_row_sum(nullptr, l.data(), V, m, T), s1);  // bit-identical without storing
      if (V > 3) {
        EXPECT_EQ(w1[2], 0.0f);
      }
    }
  }
  std::vector<float> bad = {0.f, std::nanf(""), 1.f};
  EXPECT_TRUE(std::isnan(softmax_row_sum(nullptr, bad.data(), 3, row_max(bad.data(), 3), 1.f)));
}

// AdamW and SGD updates against a double-precision reference, several steps.
TEST(FastVsReference, OptimizerUpdates) {
  const size_t n = 1001;
  auto p1 = frandn(n, 25), g = frandn(n, 26);
  auto p2 = p1;
  std::vector<float> m1(n), v1(n), m2(n), v2(n);
  for (int t = 1; t <= 5; t++) {
    const double bc1 = 1.0 - std::pow(0.9, t), bc2 = 1.0 - std::pow(0.95, t);
    const AdamWStep s{0.9f, 0.95f, 1e-8f, (float)(1e-2 / bc1), (float)std::sqrt(bc2)};
    adamw_update(p1.data(), m1.data(), v1.data(), g.data(), n, s);
    ref::adamw_update(p2.data(), m2.data(), v2.data(), g.data(), n, s);
  }
  expect_close(p1, p2, 1e-5f, "adamw params");
  expect_close(m1, m2, 1e-5f, "adamw m");
  expect_close(v1, v2, 1e-5f, "adamw v");
  // SGD with momentum: m = g, then 0.5 m + g; p -= lr m
  std::vector<float> p(3, 1.f), m(3, 0.f), gg = {1.f, -2.f, 0.5f};
  sgd_update(p.data(), m.data(), gg.data(), 3, 0.1f, 0.5f, true);
  sgd_update(p.data(), m.data(), gg.data(), 3, 0.1f, 0.5f, false);
  EXPECT_FLOAT_EQ(p[0], 1.f - 0.1f * 1.f - 0.1f * 1.5f);
  EXPECT_FLOAT_EQ(p[1], 1.f + 0.1f * 2.f + 0.1f * 3.f);
  std::vector<float> x = {3.f, 4.f};
  EXPECT_DOUBLE_EQ(sum_squares(x.data(), 2), 25.0);
  // many chunks and a ragged tail, against a sequential long-double sum
  auto big = frandn((1 << 16) + 37, 27);
  long double want = 0;
  for (float f : big) want += (long double)f * f;
  EXPECT_NEAR(sum_squares(big.data(), big.size()), (double)want, 1e-12 * (double)want);
  scale_inplace(x.data(), 0.5f, 2);
  EXPECT_EQ(x, (std::vector<float>{1.5f, 2.f}));
}

// AdamW's grad_scale (the clipping coefficient, applied inside the update) gives the bits of scaling the gradients
// first and then updating with grad_scale 1, and matches the double reference.
TEST(FastVsReference, AdamWGradScaleEqualsScalingFirst) {
  const size_t n = 1003;
  auto p1 = frandn(n, 28), g = frandn(n, 29);
  auto p2 = p1, p3 = p1;
  std::vector<float> m1(n), v1(n), m2(n), v2(n), m3(n), v3(n);
  for (int t = 1; t <= 4; t++) {
    const double bc1 = 1.0 - std::pow(0.9, t), bc2 = 1.0 - std::pow(0.95, t);
    const float coef = 0.37f + 0.1f * t;
    AdamWStep s{0.9f, 0.95f, 1e-8f, (float)(1e-2 / bc1), (float)std::sqrt(bc2)};
    auto gs = g;
    scale_inplace(gs.data(), coef, n);
    adamw_update(p1.data(), m1.data(), v1.data(), gs.data(), n, s);
    s.grad_scale = coef;
    adamw_update(p2.data(), m2.data(), v2.data(), g.data(), n, s);
    ref::adamw_update(p3.data(), m3.data(), v3.data(), g.data(), n, s);
  }
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
  expect_close(p2, p3, 1e-5f, "adamw params, grad_scale");
  expect_close(m2, m3, 1e-5f, "adamw m, grad_scale");
}

// AdamW's weight decay (applied inside the update, block by block) gives the bits of decaying the ranges with
// scale_inplace first and then updating without decay, and matches the double reference; ranges start and end
// inside blocks and across block edges (4096), the first at 0 and the last at n.
TEST(FastVsReference, AdamWDecayEqualsDecayingFirst) {
  const size_t n = 3 * 4096 + 123;
  const std::vector<std::pair<size_t, size_t>> ranges = {{0, 100}, {4000, 4200}, {5000, 9000}, {9001, 9002}, {12000, n}};
  auto p1 = frandn(n, 37), g = frandn(n, 38);
  auto p2 = p1, p3 = p1;
  std::vector<float> m1(n), v1(n), m2(n), v2(n), m3(n), v3(n);
  for (int t = 1; t <= 4; t++) {
    const double bc1 = 1.0 - std::pow(0.9, t), bc2 = 1.0 - std::pow(0.95, t);
    AdamWStep s{0.9f, 0.95f, 1e-8f, (float)(1e-2 / bc1), (float)std::sqrt(bc2), 0.8f};
    const float decay = 1.f - 1e-2f * 0.1f * t;
    for (auto [a, b] : ranges) scale_inplace(p1.data() + a, decay, b - a);
    adamw_update(p1.data(), m1.data(), v1.data(), g.data(), n, s);
    s.decay = decay;
    s.decay_ranges = ranges.data();
    s.n_decay_ranges = ranges.size();
    adamw_update(p2.data(), m2.data(), v2.data(), g.data(), n, s);
    ref::adamw_update(p3.data(), m3.data(), v3.data(), g.data(), n, s);
  }
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
  expect_close(p2, p3, 1e-5f, "adamw params, decay");
  // the decay reached the ranges and only them: an element outside moved by the update alone
  auto p4 = frandn(n, 37);
  std::vector<float> m4(n), v4(n);
  AdamWStep s{0.9f, 0.95f, 1e-8f, 0.f, 1.f};  // step size 0: only the decay moves p
  s.decay = 0.5f;
  s.decay_ranges = ranges.data();
  s.n_decay_ranges = ranges.size();
  const auto before = p4;
  adamw_update(p4.data(), m4.data(), v4.data(), g.data(), n, s);
  for (size_t i = 0; i < n; i++) {
    bool in = false;
    for (auto [a, b] : ranges) in = in || (i >= a && i < b);
    ASSERT_EQ(p4[i], in ? before[i] * 0.5f : before[i]) << i;
  }
}

// The float kernels give the same bits whatever the thread count (data-parallel training over MPI relies on it:
// a rank with one thread and a process with two must compute a shard's gradient identically).
TEST(ThreadCount, BackwardAndReductionsAreBitIdentical) {
  const int N = 150, C = 96, NH = 3, HS = 32;
  auto x = frandn((size_t)N * C, 31), w = frandn(C, 32), d = frandn((size_t)N * C, 33), hw = frandn(HS, 34);
  auto wm = frandn((size_t)64 * C, 35), dm = frandn((size_t)N * 64, 36);
  std::vector<float> rstd(N), hr((size_t)N * NH), out((size_t)N * C);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
  head_rmsnorm_forward(out.data(), hr.data(), x.data(), hw.data(), N, NH, HS, C, 1e-6f);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<float> dx((size_t)N * C), dw(C, 0.f), hdx((size_t)N * C), hdw(HS, 0.f), da((size_t)N * C),
        dwm((size_t)64 * C, 0.f);
    rmsnorm_backward(dx.data(), dw.data(), d.data(), x.data(), w.data(), rstd.data(), N, C);
    head_rmsnorm_backward(hdx.data(), hdw.data(), d.data(), x.data(), hw.data(), hr.data(), N, NH, HS, C);
    matmul_backward(da.data(), dwm.data(), nullptr, dm.data(), x.data(), wm.data(), N, 64, C);
    std::vector<float> all = dx;
    for (auto* v : {&dw, &hdx, &hdw, &da, &dwm}) all.insert(all.end(), v->begin(), v->end());
    all.push_back((float)sum_squares(all.data(), all.size()));
    return all;
  };
  const int maxt = omp_get_max_threads();
  const auto one = run(1), two = run(2), three = run(3);
  omp_set_num_threads(maxt);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}
