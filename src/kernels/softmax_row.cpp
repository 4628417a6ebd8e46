// The sampler's softmax over one logits row (kernels.h "softmax of one logits row"): a max, then exp weights and
// their sum in double over fixed lanes, so that the result is the same whatever the build's SIMD width.
#include "kernels/cpu.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace r1 {
namespace cpu {
namespace {

// exp(x) for x <= 0 (including -inf), relative error ~2e-7; written so that GCC vectorises loops calling it.
// Returns 0 below -87 (weights under 1.6e-38 of the maximum).
inline float exp_nonpos(float x) {
  const float xc = x >= -87.0f ? x : -87.0f;  // NaN -> -87 here (safe int conversion), propagated below
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;  // 1.5 * 2^23: rounds to nearest integer
  const float nf = shifted - 12582912.0f;
  // r = x - n ln2, with ln2 split so that n * hi is exact.
  float r = xc - nf * 0.693145751953125f;
  r = r - nf * 1.42860682030941723e-6f;
  // Taylor series of exp on |r| <= ln2 / 2 to degree 7 (truncation error < 1e-8).
  float q = 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(nf) + 127) << 23;  // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -87.0f ? 0.0f : q * scale + (x - x);  // + (x - x): 0, or NaN for NaN input
}

// The weights are computed chunk by chunk into w (kStore) or a stack buffer, then summed in kSumLanes fixed lanes:
// both loops vectorise and the result does not depend on the build's SIMD width or on kStore.
template <bool kStore>
double row_sum(const float* l, int V, float m, float T, float* w) {
  constexpr int kChunk = 1024;  // multiple of kSumLanes
  float buf[kStore ? 1 : kChunk];
  double acc[kSumLanes] = {};
  for (int c = 0; c < V; c += kChunk) {
    const int len = std::min(kChunk, V - c);
    float* dst = kStore ? w + c : buf;
    const float* src = l + c;
    for (int i = 0; i < len; ++i) dst[i] = exp_nonpos((src[i] - m) / T);
    lane_accumulate(acc, dst, len);
  }
  double s = 0;
  for (int j = 0; j < kSumLanes; ++j) s += acc[j];
  return s;
}

}  // namespace

void lane_accumulate(double* acc, const float* x, int len) {
  int i = 0;
  for (; i + kSumLanes <= len; i += kSumLanes)
    for (int j = 0; j < kSumLanes; ++j) acc[j] += x[i + j];
  for (int j = 0; i + j < len; ++j) acc[j] += x[i + j];
}

float row_max(const float* l, int V) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int i = 0; i < V; ++i) m = l[i] > m ? l[i] : m;
  return m;
}

double softmax_row_sum(float* w, const float* l, int V, float m, float T) {
  return w ? row_sum<true>(l, V, m, T, w) : row_sum<false>(l, V, m, T, nullptr);
}

}  // namespace cpu
}  // namespace r1
