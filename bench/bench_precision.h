// Shared by the benchmark programs (bench_train_step, bench_generate, bench_grpo): the bf16 matmul ceiling they
// print and the --precision argument they take.
#pragma once
#include "core/precision.h"
#include "core/rng.h"
#include "kernels/kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace r1::bench {

// GFLOP/s of the best of 5 r1::Bf16Matmul products n x n x n (activation rounding included): the bf16 ceiling.
inline double bf16_ceiling(int n) {
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
