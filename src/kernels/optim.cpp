// The CPU backend's optimizer updates (kernels.h "optimizer updates"): elementwise loops over both cores.
#include "kernels/cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace r1::cpu {

namespace {
// One block of AdamW (kernels.h AdamWStep), its own loop: the decay below is a separate loop, so every decayed
// weight is rounded before the update reads it, as with a decay pass over all parameters first.
inline void adamw_block(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, step_size = s.step_size, sbc2 = s.sbc2, gs = s.grad_scale;
#pragma omp simd
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * gs;  // exact when gs = 1
    m[i] = b1 * m[i] + (1.f - b1) * gi;
    v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
    float denom = std::sqrt(v[i]) / sbc2 + eps;
    p[i] -= step_size * m[i] / denom;
  }
}
inline void scale_block(float* x, float s, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) x[i] *= s;
}
}  // namespace

// In blocks of 4096 parameters: a block's weight decay, then its update, while the block is in cache (one pass over
// the parameters in memory instead of two).
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
  constexpr size_t kBlock = 1 << 12;
  const size_t nb = (n + kBlock - 1) / kBlock;
  const auto* r0 = s.decay_ranges;
  const auto* r1 = r0 + (s.decay != 1.f ? s.n_decay_ranges : 0);
#pragma omp parallel for schedule(static)
  for (size_t b = 0; b < nb; b++) {
    const size_t lo = b * kBlock, hi = std::min(n, lo + kBlock);
    // the first range ending after lo, then each one starting before hi
    for (auto* r = std::upper_bound(r0, r1, lo, [](size_t x, const auto& q) { return x < q.second; });
         r != r1 && r->first < hi; r++) {
      const size_t a = std::max(lo, r->first), e = std::min(hi, r->second);
      scale_block(p + a, s.decay, e - a);
    }
    adamw_block(p + lo, m + lo, v + lo, g + lo, hi - lo, s);
  }
}

void sgd_update(float* p, float* m, const float* g, size_t n, float lr, float momentum, bool first) {
  if (momentum > 0) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
      m[i] = first ? g[i] : momentum * m[i] + g[i];
      p[i] -= lr * m[i];
    }
  } else {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
  }
}

void scale_inplace(float* x, float s, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++) x[i] *= s;
}

// Summed in fixed chunks, then the chunks in order: the same bits whatever the thread count. Inside a chunk,
// kLanes running sums (element i goes to lane i mod kLanes) added together at the end in a fixed tree: the loop
// vectorises (one dependent add per kLanes elements instead of one per element, 4x faster here).
double sum_squares(const float* x, size_t n) {
  constexpr size_t kChunk = 1 << 14, kLanes = 16;
  const size_t nc = (n + kChunk - 1) / kChunk;
  std::vector<double> part(nc, 0.0);
#pragma omp parallel for schedule(static)
  for (size_t c = 0; c < nc; c++) {
    const size_t lo = c * kChunk, hi = std::min(n, (c + 1) * kChunk);
    double lane[kLanes] = {};
    size_t i = lo;
    for (; i + kLanes <= hi; i += kLanes)
      for (size_t j = 0; j < kLanes; j++) lane[j] += (double)x[i + j] * x[i + j];
    for (size_t j = 0; i < hi; i++, j++) lane[j] += (double)x[i] * x[i];
    for (size_t w = kLanes / 2; w > 0; w /= 2)
      for (size_t j = 0; j < w; j++) lane[j] += lane[j + w];
    part[c] = lane[0];
  }
  double s = 0;
  for (double v : part) s += v;
  return s;
}

}  // namespace r1::cpu
