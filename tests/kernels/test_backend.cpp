// The backend seam (kernels/backend.h): a second table installed with set_backend() receives every float call of
// kernels.h, and the double-precision calls stay on the CPU.
#include "kernels/backend.h"
#include "core/rng.h"

#include <gtest/gtest.h>

#include <vector>

using namespace r1;

namespace {
int g_rms = 0, g_mm = 0, g_softmax = 0, g_adam = 0, g_pack = 0, g_score = 0;

// The CPU backend with a counter in front of a few entries: what a second backend looks like from above.
Backend counting_backend() {
  Backend b = cpu_backend();
  b.name = "counting";
  b.layers.rmsnorm_forward = [](float* out, float* rstd, const float* x, const float* w, int N, int C, float eps) {
    g_rms++;
    cpu_backend().layers.rmsnorm_forward(out, rstd, x, w, N, C, eps);
  };
  b.layers.matmul_forward = [](float* out, const float* a, const float* w, const float* bias, int M, int N, int K) {
    g_mm++;
    cpu_backend().layers.matmul_forward(out, a, w, bias, M, N, K);
  };
  b.layers.score_forward = [](float* out, const float* h, const int* rows, const float* w, int S, int C) {
    g_score++;
    cpu_backend().layers.score_forward(out, h, rows, w, S, C);
  };
  b.softmax_row_sum = [](float* w, const float* l, int V, float m, float T) {
    g_softmax++;
    return cpu_backend().softmax_row_sum(w, l, V, m, T);
  };
  b.adamw_update = [](float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
    g_adam++;
    cpu_backend().adamw_update(p, m, v, g, n, s);
  };
  b.pack_matmul = [](const float* w, int N, int K) {
    g_pack++;
    return cpu_backend().pack_matmul(w, N, K);
  };
  return b;
}
}  // namespace

TEST(Backend, SecondTableReceivesTheFloatCallsAndGivesTheSameResults) {
  std::vector<float> x(4 * 8), w(8, 1.f), o1(4 * 8), o2(4 * 8), r(4);
  Rng rng(1);
  for (auto& v : x) v = (float)rng.normal();
  rmsnorm_forward(o1.data(), r.data(), x.data(), w.data(), 4, 8, 1e-6f);
  EXPECT_STREQ(active_backend().name, "cpu");
  static const Backend counting = counting_backend();
  set_backend(&counting);
  EXPECT_STREQ(active_backend().name, "counting");
  rmsnorm_forward(o2.data(), r.data(), x.data(), w.data(), 4, 8, 1e-6f);
  std::vector<float> mo(4 * 8);
  matmul_forward(mo.data(), x.data(), x.data(), nullptr, 4, 4, 8);
  EXPECT_GT(softmax_row_sum(nullptr, x.data(), 8, row_max(x.data(), 8), 1.f), 0.0);
  std::vector<float> m(8), v(8);
  adamw_update(w.data(), m.data(), v.data(), x.data(), 8, AdamWStep{0.9f, 0.95f, 1e-8f, 1e-3f, 1.f});
  PackedMatmul pm(x.data(), 4, 8);
  pm.forward(mo.data(), x.data(), nullptr, 4);
  std::vector<int> rows = {3, 0};
  std::vector<float> sc(2);
  score_forward(sc.data(), x.data(), rows.data(), w.data(), 2, 8);
  // double precision stays on the CPU's own table
  std::vector<double> xd(x.begin(), x.end()), wd(8, 1.0), od(4 * 8), rd(4);
  rmsnorm_forward(od.data(), rd.data(), xd.data(), wd.data(), 4, 8, 1e-6f);
  set_backend(nullptr);
  EXPECT_STREQ(active_backend().name, "cpu");
  EXPECT_EQ(o1, o2);
  EXPECT_EQ(g_rms, 1);
  EXPECT_EQ(g_mm, 1);
  EXPECT_EQ(g_softmax, 1);
  EXPECT_EQ(g_adam, 1);
  EXPECT_EQ(g_pack, 1);
  EXPECT_EQ(g_score, 1);
}
