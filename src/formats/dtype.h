// Element types of stored tensors and conversions between them.
// Names follow safetensors ("F32", "BF16", ...). Half-precision conversions are exact IEEE semantics:
// round to nearest, ties to even; NaN stays NaN (quieted), infinities and subnormals are preserved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType t);              // bytes per element
const char* dtype_name(DType t);         // safetensors spelling: "F32", "BF16", "BOOL", ...
bool parse_dtype(const std::string& s, DType* out);  // false if `s` is not one of the names above

float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);           // round to nearest even; NaN stays NaN
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);            // IEEE binary16, subnormals, round to nearest even, overflow -> Inf

// Bulk conversions (vectorised with AVX-512 / F16C where the build enables them; same results as the scalar ones).
void bf16_to_f32(const uint16_t* src, float* dst, size_t n);
void f32_to_bf16(const float* src, uint16_t* dst, size_t n);
void f16_to_f32(const uint16_t* src, float* dst, size_t n);
void f32_to_f16(const float* src, uint16_t* dst, size_t n);

// Converts n elements of any dtype (floats, F64, integers, BOOL as 0/1) to float. `src` need not be aligned.
void convert_to_f32(DType t, const void* src, float* dst, size_t n);
// Converts n floats to F32, F16 or BF16 (throws r1::Error for other dtypes).
void convert_from_f32(DType t, const float* src, void* dst, size_t n);

}  // namespace r1
