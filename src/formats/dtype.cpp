#include "formats/dtype.h"
#include "core/bits.h"
#include "core/check.h"

#include <cstring>
#if defined(__AVX512F__)
// GCC 12 reports a false "may be used uninitialized" inside its own AVX-512 headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace r1 {

namespace {
// Unaligned element loads (tensor data in a file need not be aligned).
template <class T> inline T load(const void* p, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const uint8_t*>(p) + i * sizeof(T), sizeof(T));
  return v;
}
template <class T> inline void store(void* p, size_t i, T v) {
  std::memcpy(static_cast<uint8_t*>(p) + i * sizeof(T), &v, sizeof(T));
}
// Bulk conversions are single-threaded: they are memory-bound (one AVX-512 core moves ~7 GB/s here), and on
// a busy 2-core machine an OpenMP split measured 2x slower. Callers may parallelise across tensors.
template <class F> void for_chunks(size_t n, F f) { f(size_t(0), n); }
}  // namespace

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* out) {
  static const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                              DType::I32, DType::I16, DType::I8,   DType::U8,  DType::BOOL};
  for (DType t : all) {
    if (s == dtype_name(t)) { *out = t; return true; }
  }
  return false;
}

// ---- scalar conversions ----

float bf16_to_f32(uint16_t h) { return bf16_bits_to_f32(h); }

uint16_t f32_to_bf16(float f) { return f32_to_bf16_bits(f); }

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return f32_from_bits(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));  // Inf / quiet NaN
  if (e == 0) {
    float v = float(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t x = f32_bits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {
    if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // quiet NaN
    return uint16_t(sign | 0x7c00u);
  }
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // >= 65520 rounds to Inf
  if (ax >= 0x38800000u) {                                  // normal half: rebias exponent, round 23 -> 10 bits
    uint32_t r = ax - 0x38000000u;
    r += 0xfffu + ((r >> 13) & 1u);
    return uint16_t(sign | (r >> 13));
  }
  // Subnormal half (or zero): adding 0.5f puts the value's 2^-24 units in the low mantissa bits, and the FPU
  // rounds to nearest even. A result of 0x400 is the smallest normal, which is the correct encoding.
  float v = f32_from_bits(ax) + 0.5f;
  return uint16_t(sign | (f32_bits(v) - 0x3f000000u));
}

// ---- bulk conversions ----

void bf16_to_f32(const uint16_t* src, float* dst, size_t n) {
  for_chunks(n, [&](size_t b, size_t e) {
    size_t i = b;
#if defined(__AVX512F__)
    for (; i + 16 <= e; i += 16) {
      __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
      _mm512_storeu_si512(dst + i, _mm512_slli_epi32(v, 16));
    }
#endif
    for (; i < e; ++i) dst[i] = bf16_to_f32(load<uint16_t>(src, i));
  });
}

void f32_to_bf16(const float* src, uint16_t* dst, size_t n) {
  for_chunks(n, [&](size_t b, size_t e) {
    size_t i = b;
#if defined(__AVX512F__)
    // Integer rounding rather than VCVTNEPS2BF16, which flushes subnormals to zero.
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
    for (; i + 16 <= e; i += 16) {
      __m512 f = _mm512_loadu_ps(src + i);
      __m512i x = _mm512_castps_si512(f);
      __m512i hi = _mm512_srli_epi32(x, 16);
      __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(bias, _mm512_and_si512(hi, one))), 16);
      __mmask16 nan = _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q);
      r = _mm512_mask_or_epi32(r, nan, hi, quiet);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(r));
    }
#endif
    for (; i < e; ++i) store<uint16_t>(dst, i, f32_to_bf16(load<float>(src, i)));
  });
}

void f16_to_f32(const uint16_t* src, float* dst, size_t n) {
  for_chunks(n, [&](size_t b, size_t e) {
    size_t i = b;
#if defined(__AVX512F__)
    for (; i + 16 <= e; i += 16)
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
#endif
    for (; i < e; ++i) store<float>(dst, i, f16_to_f32(load<uint16_t>(src, i)));
  });
}

void f32_to_f16(const float* src, uint16_t* dst, size_t n) {
  for_chunks(n, [&](size_t b, size_t e) {
    size_t i = b;
#if defined(__AVX512F__)
    for (; i + 16 <= e; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                          _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
    for (; i < e; ++i) store<uint16_t>(dst, i, f32_to_f16(load<float>(src, i)));
  });
}

namespace {
template <class T> void ints_to_f32(const void* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = float(load<T>(src, i));
}
}  // namespace

void convert_to_f32(DType t, const void* src, float* dst, size_t n) {
  switch (t) {
    case DType::F32: if (n) std::memcpy(dst, src, n * 4); return;
    case DType::F16: f16_to_f32(static_cast<const uint16_t*>(src), dst, n); return;
    case DType::BF16: bf16_to_f32(static_cast<const uint16_t*>(src), dst, n); return;
    case DType::F64: for (size_t i = 0; i < n; ++i) dst[i] = float(load<double>(src, i)); return;
    case DType::I64: ints_to_f32<int64_t>(src, dst, n); return;
    case DType::I32: ints_to_f32<int32_t>(src, dst, n); return;
    case DType::I16: ints_to_f32<int16_t>(src, dst, n); return;
    case DType::I8: ints_to_f32<int8_t>(src, dst, n); return;
    case DType::U8: ints_to_f32<uint8_t>(src, dst, n); return;
    case DType::BOOL:
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<const uint8_t*>(src)[i] ? 1.0f : 0.0f;
      return;
  }
  fail("convert_to_f32: unknown dtype");
}

void convert_from_f32(DType t, const float* src, void* dst, size_t n) {
  switch (t) {
    case DType::F32: if (n) std::memcpy(dst, src, n * 4); return;
    case DType::F16: f32_to_f16(src, static_cast<uint16_t*>(dst), n); return;
    case DType::BF16: f32_to_bf16(src, static_cast<uint16_t*>(dst), n); return;
    default: fail("convert_from_f32: cannot store floats as ", dtype_name(t), " (expected F32, F16 or BF16)");
  }
}

}  // namespace r1
