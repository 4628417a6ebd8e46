// Shared by the benchmark programs (bench_train_step, bench_generate, bench_grpo, bench_kernels_bf16): the bf16
// matmul ceiling they print, the timing and filling helpers behind it, and the --precision argument they take.
#pragma once
#include "core/precision.h"
#include "core/rng.h"
#include "kernels/kernels.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace r1::bench {

// Seconds of the fastest of `reps` calls of f after one warm-up call.
inline double best_seconds(int reps, const std::function<void()>& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// n values uniform in [-0.5, 0.5), truncated to bf16 bits.
inline void fill_bf16(uint16_t* p, size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (size_t i = 0; i < n; i++) {
    float f = u(g);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    p[i] = (uint16_t)(b >> 16);
  }
}

// GFLOP/s of the best of 5 r1::Bf16Matmul products n x n x n (activation rounding included; r1's AMX kernel where
// this CPU has AMX, kernels/amx_rows.cpp).
inline double bf16matmul_gflops(int n) {
  std::vector<float> a((size_t)n * n), w((size_t)n * n), c((size_t)n * n);
  Rng r(11);
  for (auto& x : a) x = (float)r.uniform() - 0.5f;
  for (auto& x : w) x = (float)r.uniform() - 0.5f;
  Bf16Matmul bm(n, n, false);
  bm.set(w.data());
  const double t = best_seconds(5, [&] { bm.forward(c.data(), a.data(), nullptr, n); });
  return 2.0 * n * n * n / t / 1e9;
}

// GFLOP/s of the best of 8 of oneDNN's own matmul dst[M, N] (f32) = src[M, K] (bf16, at `offset` bytes past a 4 KiB
// boundary) · W (bf16, in the layout oneDNN prefers for 64 rows, as Bf16Matmul packs it).
inline double onednn_bf16_gflops(int M, int K, int N, size_t offset = 0) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  engine e(engine::kind::cpu, 0);
  stream s(e);
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
  const double t = best_seconds(8, [&] {
    mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}});
    s.wait();
  });
  return 2.0 * M * N * K / t / 1e9;
}

// The bf16 ceiling: the faster of r1::Bf16Matmul and oneDNN's own matmul on n x n x n, both printed.
inline double bf16_ceiling(int n) {
  const double r1 = bf16matmul_gflops(n), dnnl = onednn_bf16_gflops(n, n, n);
  std::printf("bf16 matmul %dx%dx%d, fp32 sums: r1::Bf16Matmul %.1f GFLOP/s, oneDNN's own %.1f GFLOP/s; the bf16 "
              "ceiling below is the faster, %.1f\n",
              n, n, n, r1, dnnl, std::max(r1, dnnl));
  return std::max(r1, dnnl);
}

// --precision fp32 | bf16 | both into `out`; false (with the message printed) for anything else.
inline bool parse_precisions(const std::string& p, std::vector<Precision>& out) {
  if (p == "both") {
    out = {Precision::FP32, Precision::BF16};
    return true;
  }
  try {
    out = {parse_precision(p, "--precision")};
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s (or both)\n", e.what());
    return false;
  }
}

}  // namespace r1::bench
