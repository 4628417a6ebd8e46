// Bit-level views of floats, shared by the formats (dtype conversions) and the kernels (bf16 weights).
#pragma once
#include <cstdint>
#include <cstring>

namespace r1 {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
// A bf16 bit pattern widened to the fp32 value it stands for (exact: bf16 is fp32's upper half).
inline float bf16_bits_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }
// fp32 rounded to the nearest bf16, ties to even (overflow gives Inf; NaN stays a quiet NaN with its sign).
inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}
// f rounded to bf16 and widened back: the value a bf16 product reads.
inline float round_bf16(float f) { return bf16_bits_to_f32(f32_to_bf16_bits(f)); }

}  // namespace r1
