// Internals shared by the GGUF reader (gguf_read.cpp), writer (gguf_write.cpp) and value code (gguf.cpp).
#pragma once
#include "formats/gguf.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {
namespace gguf_detail {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxKeyLen = 65535;   // spec: keys at most 2^16-1 bytes
constexpr uint64_t kMaxNameLen = 64;     // spec: tensor names at most 64 bytes
constexpr uint32_t kMaxDims = 4;         // ggml's GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;        // nested arrays (guards the recursion)

struct TypeTraits {
  const char* name;
  int64_t block;
  size_t size;
};

// Block sizes and bytes per block of each ggml type (ggml's type_traits); nullptr = unknown/removed.
const TypeTraits* ggml_traits(uint32_t t);

// Bytes of a scalar metadata value; 0 for STRING and ARRAY.
inline size_t scalar_size(GGUFType t) {
  switch (t) {
    case GGUFType::U8: case GGUFType::I8: case GGUFType::BOOL: return 1;
    case GGUFType::U16: case GGUFType::I16: return 2;
    case GGUFType::U32: case GGUFType::I32: case GGUFType::F32: return 4;
    case GGUFType::U64: case GGUFType::I64: case GGUFType::F64: return 8;
    default: return 0;  // STRING, ARRAY
  }
}

inline uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}
inline void put_le(std::string& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
inline uint64_t align_up(uint64_t x, uint64_t a) { return x + (a - x % a) % a; }

}  // namespace gguf_detail
}  // namespace r1
