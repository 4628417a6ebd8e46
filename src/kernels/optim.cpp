// The CPU backend's optimizer updates (kernels.h "optimizer updates"): elementwise loops over both cores.
#include "kernels/cpu.h"

#include <cmath>

namespace r1::cpu {

void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, step_size = s.step_size, sbc2 = s.sbc2;
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1.f - b1) * g[i];
    v[i] = b2 * v[i] + (1.f - b2) * g[i] * g[i];
    float denom = std::sqrt(v[i]) / sbc2 + eps;
    p[i] -= step_size * m[i] / denom;
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

double sum_squares(const float* x, size_t n) {
  double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

}  // namespace r1::cpu
