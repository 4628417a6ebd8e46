// e^x for x <= 0 by a polynomial the compiler vectorises (the CPU backend's softmaxes: the sampler's row and, in
// bf16 mode, attention's; std::exp runs one element at a time). Internal to src/kernels.
#pragma once
#include <cstdint>
#include <cstring>

namespace r1::cpu {

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

}  // namespace r1::cpu
