// Half-precision conversions against hand-computed IEEE values (cross-checked with Python's struct 'e'),
// exhaustive round trips over all 65536 encodings, and bulk (vector) vs scalar paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "formats/dtype.h"

using namespace r1;

namespace {
float u2f(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
uint32_t f2u(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
}  // namespace

TEST(DType, NamesSizesParse) {
  DType t;
  EXPECT_TRUE(parse_dtype("BF16", &t)); EXPECT_EQ(t, DType::BF16);
  EXPECT_TRUE(parse_dtype("BOOL", &t)); EXPECT_EQ(t, DType::BOOL);
  EXPECT_FALSE(parse_dtype("bf16", &t));
  EXPECT_FALSE(parse_dtype("F8_E4M3", &t));
  EXPECT_STREQ(dtype_name(DType::I64), "I64");
  EXPECT_EQ(dtype_size(DType::F64), 8u); EXPECT_EQ(dtype_size(DType::BF16), 2u); EXPECT_EQ(dtype_size(DType::BOOL), 1u);
}

TEST(DType, Bf16HandValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(u2f(0x3F808000)), 0x3F80);  // tie, even stays down
  EXPECT_EQ(f32_to_bf16(u2f(0x3F818000)), 0x3F82);  // tie, odd rounds up to even
  EXPECT_EQ(f32_to_bf16(u2f(0x3F808001)), 0x3F81);  // above tie
  EXPECT_EQ(f32_to_bf16(u2f(0x3F807FFF)), 0x3F80);  // below tie
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(f32_to_bf16(u2f(0x7F7FFFFF)), 0x7F80);  // FLT_MAX rounds to Inf
  EXPECT_EQ(f32_to_bf16(u2f(0x7FC00000)), 0x7FC0);  // quiet NaN
  EXPECT_EQ(f32_to_bf16(u2f(0x7F800001)), 0x7FC0);  // NaN whose payload is only in the low bits stays NaN
  EXPECT_EQ(f32_to_bf16(u2f(0x00010000)), 0x0001);  // subnormal kept
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC1)));
}

TEST(DType, F16HandValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2E66);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie to even -> Inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);           // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);           // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);           // tie -> even (zero)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);           // tie between 1 and 2 units -> 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03FF);        // largest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.5f, -24)), 0x0400);        // rounds up into the normal range
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);    // tie -> even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3C02);    // tie -> even (up)
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(std::nanf("")) & 0x7E00, 0x7E00);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x83FF), -std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));
}

TEST(DType, ExhaustiveRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
    float b = bf16_to_f32(uint16_t(h));
    if (!std::isnan(b)) {
      ASSERT_EQ(f32_to_bf16(b), h) << std::hex << h;
    }
  }
}

// Bulk paths (AVX-512 / F16C when compiled in) must agree bit for bit with the scalar ones, including tails.
TEST(DType, BulkMatchesScalar) {
  std::mt19937 rng(7);
  const size_t n = 4099;
  std::vector<float> src(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = rng();
    if (i % 4 == 1) u = (u & 0x807FFFFF) | (uint32_t(100 + rng() % 40) << 23);  // around the f16 range
    if (i % 4 == 2) u &= 0x80FFFFFF;                                              // f32 subnormals / tiny
    src[i] = u2f(u);
  }
  src[0] = u2f(0x7F800001); src[3] = u2f(0xFFC12345); src[5] = std::numeric_limits<float>::infinity();
  src[7] = u2f(0x3F818000); src[9] = 65520.0f;
  std::vector<uint16_t> h(n), b(n);
  f32_to_f16(src.data(), h.data(), n);
  f32_to_bf16(src.data(), b.data(), n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(h[i], f32_to_f16(src[i])) << i << " " << std::hex << f2u(src[i]);
    ASSERT_EQ(b[i], f32_to_bf16(src[i])) << i << " " << std::hex << f2u(src[i]);
  }
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  std::vector<float> out(65536);
  f16_to_f32(all.data() + 1, out.data(), 65535);  // odd start: unaligned
  for (uint32_t i = 1; i < 65536; ++i) ASSERT_EQ(f2u(out[i - 1]), f2u(f16_to_f32(uint16_t(i)))) << i;
  bf16_to_f32(all.data(), out.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) ASSERT_EQ(f2u(out[i]), uint32_t(i) << 16);
}

TEST(DType, LargeBulk) {
  const size_t n = (size_t(1) << 21) + 13;
  std::vector<float> src(n);
  for (size_t i = 0; i < n; ++i) src[i] = float(i % 1000) * 0.37f - 100.0f;
  std::vector<uint16_t> b(n);
  f32_to_bf16(src.data(), b.data(), n);
  std::vector<float> back(n);
  bf16_to_f32(b.data(), back.data(), n);
  for (size_t i = 0; i < n; i += 9973) ASSERT_EQ(b[i], f32_to_bf16(src[i])) << i;
  EXPECT_EQ(b[n - 1], f32_to_bf16(src[n - 1]));
  EXPECT_EQ(back[n - 1], bf16_to_f32(b[n - 1]));
}

TEST(DType, ConvertToF32Ints) {
  const int64_t i64[] = {-3, 0, 1LL << 40};
  const int8_t i8[] = {-128, 127};
  const uint8_t u8[] = {255, 0};
  const double f64[] = {0.5, -1e300};
  float out[3];
  convert_to_f32(DType::I64, i64, out, 3);
  EXPECT_EQ(out[0], -3.0f); EXPECT_EQ(out[2], 1099511627776.0f);
  convert_to_f32(DType::I8, i8, out, 2);
  EXPECT_EQ(out[0], -128.0f); EXPECT_EQ(out[1], 127.0f);
  convert_to_f32(DType::U8, u8, out, 2);
  EXPECT_EQ(out[0], 255.0f);
  convert_to_f32(DType::F64, f64, out, 2);
  EXPECT_EQ(out[0], 0.5f); EXPECT_TRUE(std::isinf(out[1]));
}
