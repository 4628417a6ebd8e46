// The sampler's softmax over one logits row (kernels.h "softmax of one logits row"): a max, then exp weights and
// their sum in double over fixed lanes, so that the result is the same whatever the build's SIMD width.
#include "kernels/cpu.h"
#include "kernels/exp_poly.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace r1 {
namespace cpu {
namespace {

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
