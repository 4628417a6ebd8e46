// Kernel-level measurements behind the bf16 path's design choices (README "bf16 speed"; issue 16), as markdown:
//  1. oneDNN's bf16 matmul (AMX here) with a 64-byte aligned source against one 16 bytes past alignment (what a
//     std::vector block gives): why core/aligned.h holds the activations and Bf16Matmul's scratch;
//  2. the weight-gradient product dW = dout^T · a reading dout transposed (tag ba) against reading a row-major copy
//     of dout^T: why matmul_backward_weight_bf16 transposes first;
//  3. attention in bf16 mode's row form (kernels.h attention_forward, row_form = true): 8 heads over 160 rows (a
//     training forward) and one decoded row over 160 keys, next to the fp32 matrix-product form;
//  4. a decode step's weight products (the decode benchmark's 32 matrices, from memory) at 1, 8 and 64 rows through
//     r1::Bf16Matmul (r1's AMX kernel) and through oneDNN's own matmul on the same packed weights, against the bf16
//     ceiling measured in the same run.
// Best of several runs each, one thread and all threads. The attention part uses only kernels.h, so the same file
// builds against older commits for a before/after comparison.
// Usage: bench_kernels_bf16
#include "kernels/kernels.h"
#include "bench_precision.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <random>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

using r1::bench::best_seconds;
using r1::bench::fill_bf16;

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

// 4. A decode step's weight products: the 32 matrices of the decode benchmark's model (8 layers of qkv 2048 x 1024,
// o 1024 x 1024, gate|up 5632 x 1024, down 1024 x 2816; 189 MB in bf16, so read from memory, not cache) at M rows,
// through r1::Bf16Matmul (r1's AMX kernel, kernels/amx_rows.cpp) and through oneDNN's own matmul on the same packed
// layout (what Bf16Matmul ran before), alternated, median of 7 passes each; GB/s of weights read and GFLOP/s
// against the bf16 ceiling measured here (the faster of the two on 2048^3).
static void decode_products(engine& e, stream& s) {
  const int shapes[4][2] = {{2048, 1024}, {1024, 1024}, {5632, 1024}, {1024, 2816}};  // {N, K}
  struct Mat {
    int N, K;
    std::unique_ptr<r1::Bf16Matmul> r1;
    memory packed;
  };
  std::vector<Mat> mats;
  double params = 0;
  for (int l = 0; l < 8; l++)
    for (auto& sh : shapes) {
      const int N = sh[0], K = sh[1];
      std::vector<float> w((size_t)N * K);
      std::mt19937 g(100 + l);
      std::normal_distribution<float> nd(0.f, 0.02f);
      for (auto& x : w) x = nd(g);
      std::vector<uint16_t> wb((size_t)N * K);
      r1::round_to_bf16(wb.data(), w.data(), wb.size());
      Mat m{N, K, std::make_unique<r1::Bf16Matmul>(N, K, false), memory()};
      m.r1->set_bf16(wb.data());
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({64, K}, dt::bf16, tag::ab),
                                                    memory::desc({K, N}, dt::bf16, tag::any),
                                                    memory::desc({64, N}, dt::f32, tag::ab)),
                                       e);
      m.packed = memory(pd.weights_desc(), e);
      memory src({{K, N}, dt::bf16, tag::ba}, e, wb.data());
      reorder(src, m.packed).execute(s, src, m.packed);
      s.wait();
      params += (double)N * K;
      mats.push_back(std::move(m));
    }
  const double bytes = 2 * params, ceiling = r1::bench::bf16_ceiling(2048);
  std::printf("\n## a decode step's weight products (32 matrices, %.0f MB in bf16), median of 7 passes\n\n", bytes / 1e6);
  std::printf("| rows | kernel | ms per pass | weight GB/s | GFLOP/s | of the bf16 ceiling |\n|---|---|---|---|---|---|\n");
  for (int M : {1, 8, 64}) {
    std::vector<float> a((size_t)M * 2816), out((size_t)M * 5632);
    std::vector<uint16_t> ab(a.size());
    std::mt19937 g(5);
    std::normal_distribution<float> nd;
    for (auto& x : a) x = nd(g);
    r1::round_to_bf16(ab.data(), a.data(), a.size());
    std::vector<std::unique_ptr<matmul>> prims;
    for (auto& m : mats) {
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({M, m.K}, dt::bf16, tag::ab), m.packed.get_desc(),
                                                    memory::desc({M, m.N}, dt::f32, tag::ab)),
                                       e);
      prims.push_back(std::make_unique<matmul>(pd));
    }
    auto pass = [&](int which) {
      auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < mats.size(); i++) {
        Mat& m = mats[i];
        if (which == 0) {
          m.r1->forward(out.data(), a.data(), nullptr, M);
        } else {
          memory sm({{M, m.K}, dt::bf16, tag::ab}, e, ab.data()), dm({{M, m.N}, dt::f32, tag::ab}, e, out.data());
          prims[i]->execute(s, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, m.packed}, {DNNL_ARG_DST, dm}});
          s.wait();
        }
      }
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<double> t[2];
    pass(0), pass(1);
    for (int r = 0; r < 7; r++)
      for (int which : {0, 1}) t[which].push_back(pass(which));
    for (int which : {0, 1}) {
      std::sort(t[which].begin(), t[which].end());
      const double med = t[which][3];
      std::printf("| %d | %s | %.2f | %.1f | %.0f | %.0f%% |\n", M,
                  which == 0 ? ("r1::Bf16Matmul (" + mats[0].r1->kernel() + ")").c_str() : "oneDNN's own matmul",
                  med * 1e3, bytes / med / 1e9, 2.0 * M * params / med / 1e9, 100 * 2.0 * M * params / med / 1e9 / ceiling);
    }
  }
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
                r1::bench::onednn_bf16_gflops(2048, 2048, 2048, 0));
    std::printf("| bf16 matmul 2048^3, source at +16 bytes | %d | %.0f |\n", th,
                r1::bench::onednn_bf16_gflops(2048, 2048, 2048, 16));
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
  decode_products(e, s);
  return 0;
}
