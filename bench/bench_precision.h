// Shared by the benchmark programs (bench_train_step, bench_generate, bench_grpo): the bf16 matmul ceiling they
// print and the --precision argument they take.
#pragma once
#include "core/aligned.h"
#include "core/precision.h"
#include "core/rng.h"
#include "kernels/kernels.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace r1::bench {

// GFLOP/s of the best of 5 r1::Bf16Matmul products n x n x n (activation rounding included; r1's AMX kernel where
// this CPU has AMX, kernels/amx_rows.cpp).
inline double bf16matmul_gflops(int n) {
  std::vector<float> a((size_t)n * n), w((size_t)n * n), c((size_t)n * n);
  Rng r(11);
  for (auto& x : a) x = (float)r.uniform() - 0.5f;
  for (auto& x : w) x = (float)r.uniform() - 0.5f;
  Bf16Matmul bm(n, n, false);
  bm.set(w.data());
  bm.forward(c.data(), a.data(), nullptr, n);
  double best = 1e30;
  for (int i = 0; i < 5; i++) {
    auto t0 = std::chrono::steady_clock::now();
    bm.forward(c.data(), a.data(), nullptr, n);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * n * n * n / best / 1e9;
}

// GFLOP/s of the best of 5 of oneDNN's own bf16 matmul n x n x n (bf16 operands already rounded, 64-byte aligned
// as core/aligned.h keeps them, weights in the layout oneDNN prefers for 64 rows as Bf16Matmul packs them, fp32
// result).
inline double onednn_bf16_gflops(int n) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  engine e(engine::kind::cpu, 0);
  stream s(e);
  AlignedArray<uint16_t> a, w;
  AlignedArray<float> c;
  std::fill_n(a.get((size_t)n * n), (size_t)n * n, (uint16_t)0x3F80);  // 1.0
  std::fill_n(w.get((size_t)n * n), (size_t)n * n, (uint16_t)0x3F00);  // 0.5
  auto wpd = matmul::primitive_desc(matmul::desc(memory::desc({64, n}, dt::bf16, tag::ab),
                                                 memory::desc({n, n}, dt::bf16, tag::any),
                                                 memory::desc({64, n}, dt::f32, tag::ab)),
                                    e);
  auto pd = matmul::primitive_desc(matmul::desc(memory::desc({n, n}, dt::bf16, tag::ab), wpd.weights_desc(),
                                                memory::desc({n, n}, dt::f32, tag::ab)),
                                   e);
  memory wp(wpd.weights_desc(), e), wu({{n, n}, dt::bf16, tag::ab}, e, w.get((size_t)n * n));
  reorder(wu, wp).execute(s, wu, wp);
  memory am({{n, n}, dt::bf16, tag::ab}, e, a.get((size_t)n * n)), cm({{n, n}, dt::f32, tag::ab}, e, c.get((size_t)n * n));
  matmul mm(pd);
  double best = 1e30;
  for (int i = 0; i < 6; i++) {
    auto t0 = std::chrono::steady_clock::now();
    mm.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_DST, cm}});
    s.wait();
    if (i > 0) best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * n * n * n / best / 1e9;
}

// The bf16 ceiling: the faster of r1::Bf16Matmul and oneDNN's own matmul on n x n x n, both printed.
inline double bf16_ceiling(int n) {
  const double r1 = bf16matmul_gflops(n), dnnl = onednn_bf16_gflops(n);
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
