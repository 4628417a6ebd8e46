// Kernel-level measurements behind the bf16 path's design choices (README "bf16 speed"; issue 16), as markdown:
//  1. oneDNN's bf16 matmul (AMX here) with a 64-byte aligned source against one 16 bytes past alignment (what a
//     std::vector block gives): why core/aligned.h holds the activations and Bf16Matmul's scratch;
//  2. the weight-gradient product dW = dout^T · a reading dout transposed (tag ba) against reading a row-major copy
//     of dout^T: why matmul_backward_weight_bf16 transposes first;
//  3. attention in bf16 mode's row form (kernels.h attention_forward, row_form = true): 8 heads over 160 rows (a
//     training forward) and one decoded row over 160 keys, next to the fp32 matrix-product form.
// Best of several runs each, one thread and all threads. The attention part uses only kernels.h, so the same file
// builds against older commits for a before/after comparison.
// Usage: bench_kernels_bf16
#include "kernels/kernels.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static double best_seconds(int reps, const std::function<void()>& f) {
  f();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

static void fill_bf16(uint16_t* p, size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (size_t i = 0; i < n; i++) {
    float f = u(g);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    p[i] = (uint16_t)(b >> 16);
  }
}

// GFLOP/s of dst[M, N] (f32) = src[M, K] (bf16, at `offset` bytes past a 4 KiB boundary) · W (bf16, packed).
static double matmul_gflops(engine& e, stream& s, int M, int K, int N, size_t offset) {
  auto wpd = matmul::primitive_desc(matmul::desc(memory::desc({64, K}, dt::bf16, tag::ab),
                                                 memory::desc({K, N}, dt::bf16, tag::any),
                                                 memory::desc({64, N}, dt::f32, tag::ab)),
                                    e);
  auto pd = matmul::primitive_desc(matmul::desc(memory::desc({M, K}, dt::bf16, tag::ab), wpd.weights_desc(),
                                                memory::desc({M, N}, dt::f32, tag::ab)),
                                   e);
  std::vector<char> src((size_t)M * K * 2 + 8192), dst((size_t)M * N * 4 + 8192);
  char* sp = src.data() + (4096 - (uintptr_t)src.data() % 4096) + offset;
  char* dp = dst.data() + (4096 - (uintptr_t)dst.data() % 4096);
  fill_bf16((uint16_t*)sp, (size_t)M * K, 1);
  memory a(pd.src_desc(), e, sp), w(wpd.weights_desc(), e), d(pd.dst_desc(), e, dp);
  fill_bf16((uint16_t*)w.get_data_handle(), wpd.weights_desc().get_size() / 2, 2);
  matmul mm(pd);
  double t = best_seconds(8, [&] {
    mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}});
    s.wait();
  });
  return 2.0 * M * N * K / t / 1e9;
}

// GFLOP/s of dW[N, K] += dout^T[N, M] · a[M, K] with dout^T read as dout [M, N] (tag ba) or as a row-major copy.
static double weight_grad_gflops(engine& e, stream& s, int N, int M, int K, bool transposed_source) {
  primitive_attr attr;
  post_ops po;
  po.append_sum(1.f);
  attr.set_post_ops(po);
  auto pd = matmul::primitive_desc(matmul::desc(memory::desc({N, M}, dt::bf16, transposed_source ? tag::ba : tag::ab),
                                                memory::desc({M, K}, dt::bf16, tag::ab),
                                                memory::desc({N, K}, dt::f32, tag::ab)),
                                   attr, e);
  memory a(pd.src_desc(), e), w(pd.weights_desc(), e), d(pd.dst_desc(), e);
  fill_bf16((uint16_t*)a.get_data_handle(), (size_t)N * M, 3);
  fill_bf16((uint16_t*)w.get_data_handle(), (size_t)M * K, 4);
  std::memset(d.get_data_handle(), 0, (size_t)N * K * 4);
  matmul mm(pd);
  double t = best_seconds(6, [&] {
    mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}});
    s.wait();
  });
  return 2.0 * M * N * K / t / 1e9;
}

int main() {
  engine e(engine::kind::cpu, 0);
  stream s(e);
  const int maxt = omp_get_max_threads();
  std::vector<int> threads = {1};
  if (maxt > 1) threads.push_back(maxt);

  std::printf("## bf16 kernels (best of several runs)\n\n");
  std::printf("| measurement | threads | GFLOP/s |\n|---|---|---|\n");
  for (int th : threads) {
    omp_set_num_threads(th);
    std::printf("| bf16 matmul 2048^3, source 64-byte aligned | %d | %.0f |\n", th,
                matmul_gflops(e, s, 2048, 2048, 2048, 0));
    std::printf("| bf16 matmul 2048^3, source at +16 bytes | %d | %.0f |\n", th,
                matmul_gflops(e, s, 2048, 2048, 2048, 16));
    std::printf("| weight gradient 5504x1024x1024, dout read transposed (tag ba) | %d | %.0f |\n", th,
                weight_grad_gflops(e, s, 5504, 1024, 1024, true));
    std::printf("| weight gradient 5504x1024x1024, dout^T row-major | %d | %.0f |\n", th,
                weight_grad_gflops(e, s, 5504, 1024, 1024, false));
  }

  // attention: one sequence of T rows, 8 heads (4 kv heads), head size 64, q|k|v rows of one qkv buffer
  const int NH = 8, NKV = 4, HS = 64, T = 160, qs = NH * HS + 2 * NKV * HS;
  std::vector<float> q((size_t)T * qs), out((size_t)T * NH * HS), probs((size_t)NH * T * T);
  std::mt19937 g(7);
  std::normal_distribution<float> nd;
  for (auto& x : q) x = nd(g);
  const float *k = q.data() + NH * HS, *v = k + NKV * HS;
  omp_set_num_threads(1);
  std::printf("\n## attention, one core (8 heads, 4 kv heads, head size 64)\n\n");
  std::printf("| form | shape | GFLOP/s |\n|---|---|---|\n");
  const double rows_flops = 4.0 * NH * HS * T * (T + 1) / 2;
  for (bool row_form : {false, true}) {
    double t = best_seconds(20, [&] {
      r1::attention_forward(out.data(), probs.data(), q.data(), k, v, T, T, NH, NKV, HS, qs, qs, NH * HS, false,
                            row_form);
    });
    std::printf("| %s | %d rows, probabilities saved | %.1f |\n",
                row_form ? "row form (bf16 mode)" : "matrix products (fp32 mode)", T, rows_flops / t / 1e9);
  }
  double t = best_seconds(200, [&] {
    for (int h = 0; h < NH; h++)
      r1::attention_forward(out.data() + h * HS, (float*)nullptr, q.data() + (size_t)(T - 1) * qs + h * HS,
                            k + (h / 2) * HS, v + (h / 2) * HS, 1, T, 1, 1, HS, qs, qs, NH * HS, false, true);
  });
  std::printf("| row form (bf16 mode), one decoded row per head | %d keys | %.1f |\n", T, 4.0 * NH * HS * T / t / 1e9);
  omp_set_num_threads(maxt);
  return 0;
}
