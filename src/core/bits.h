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

}  // namespace r1
