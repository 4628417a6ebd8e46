// GGUF types and metadata values; the reader is in gguf_read.cpp, the writer in gguf_write.cpp.
#include "formats/gguf.h"

#include <cstring>

#include "core/check.h"
#include "formats/gguf_impl.h"

namespace r1 {

using namespace gguf_detail;

namespace gguf_detail {

const TypeTraits* ggml_traits(uint32_t t) {
  static const TypeTraits table[40] = {
      {"F32", 1, 4},       {"F16", 1, 2},       {"Q4_0", 32, 18},     {"Q4_1", 32, 20},   {nullptr, 0, 0},
      {nullptr, 0, 0},     {"Q5_0", 32, 22},    {"Q5_1", 32, 24},     {"Q8_0", 32, 34},   {"Q8_1", 32, 36},
      {"Q2_K", 256, 84},   {"Q3_K", 256, 110},  {"Q4_K", 256, 144},   {"Q5_K", 256, 176}, {"Q6_K", 256, 210},
      {"Q8_K", 256, 292},  {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
      {"IQ4_NL", 32, 18},  {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136}, {"I8", 1, 1},
      {"I16", 1, 2},       {"I32", 1, 4},       {"I64", 1, 8},        {"F64", 1, 8},      {"IQ1_M", 256, 56},
      {"BF16", 1, 2},      {nullptr, 0, 0},     {nullptr, 0, 0},      {nullptr, 0, 0},    {"TQ1_0", 256, 54},
      {"TQ2_0", 256, 66},  {nullptr, 0, 0},     {nullptr, 0, 0},      {nullptr, 0, 0},    {"MXFP4", 32, 17},
  };
  return t < 40 && table[t].name ? &table[t] : nullptr;
}

}  // namespace gguf_detail

namespace {

bool is_int(GGUFType t) {
  return t == GGUFType::U8 || t == GGUFType::I8 || t == GGUFType::U16 || t == GGUFType::I16 ||
         t == GGUFType::U32 || t == GGUFType::I32 || t == GGUFType::U64 || t == GGUFType::I64;
}
bool is_signed(GGUFType t) {
  return t == GGUFType::I8 || t == GGUFType::I16 || t == GGUFType::I32 || t == GGUFType::I64;
}
bool is_float(GGUFType t) { return t == GGUFType::F32 || t == GGUFType::F64; }

int64_t sign_extend(uint64_t bits, size_t n) {
  if (n == 8) return int64_t(bits);
  const uint64_t m = uint64_t(1) << (8 * n - 1);
  return int64_t((bits ^ m) - m);
}
double float_of(GGUFType t, uint64_t bits) {
  if (t == GGUFType::F32) {
    uint32_t u = uint32_t(bits);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

}  // namespace

const char* gguf_type_name(GGUFType t) {
  static const char* names[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                "bool", "string", "array", "u64",   "i64", "f64"};
  uint32_t i = uint32_t(t);
  return i < 13 ? names[i] : "unknown";
}

bool ggml_type_known(uint32_t t) { return ggml_traits(t) != nullptr; }
const char* ggml_type_name(GGMLType t) {
  const TypeTraits* tr = ggml_traits(uint32_t(t));
  return tr ? tr->name : "unknown";
}
int64_t ggml_block_size(GGMLType t) {
  const TypeTraits* tr = ggml_traits(uint32_t(t));
  R1_CHECK(tr, "unknown ggml type ", uint32_t(t));
  return tr->block;
}
size_t ggml_type_size(GGMLType t) {
  const TypeTraits* tr = ggml_traits(uint32_t(t));
  R1_CHECK(tr, "unknown ggml type ", uint32_t(t));
  return tr->size;
}
size_t ggml_nbytes(GGMLType t, int64_t numel) {
  const int64_t b = ggml_block_size(t);
  R1_CHECK(numel >= 0 && numel % b == 0, "ggml type ", ggml_type_name(t), ": element count ", numel,
           " is not a multiple of the block size ", b);
  return size_t(numel / b) * ggml_type_size(t);
}

// ---------------- GGUFValue ----------------

#define R1_GGUF_SCALAR(fn, T, TYPE, EXPR)                       \
  GGUFValue GGUFValue::fn(T v) {                                \
    GGUFValue x;                                                \
    x.type_ = GGUFType::TYPE;                                   \
    x.bits_ = EXPR;                                             \
    return x;                                                   \
  }
R1_GGUF_SCALAR(u8, uint8_t, U8, v)
R1_GGUF_SCALAR(i8, int8_t, I8, uint8_t(v))
R1_GGUF_SCALAR(u16, uint16_t, U16, v)
R1_GGUF_SCALAR(i16, int16_t, I16, uint16_t(v))
R1_GGUF_SCALAR(u32, uint32_t, U32, v)
R1_GGUF_SCALAR(i32, int32_t, I32, uint32_t(v))
R1_GGUF_SCALAR(u64, uint64_t, U64, v)
R1_GGUF_SCALAR(i64, int64_t, I64, uint64_t(v))
R1_GGUF_SCALAR(boolean, bool, BOOL, v ? 1 : 0)
#undef R1_GGUF_SCALAR

GGUFValue GGUFValue::f32(float v) {
  GGUFValue x;
  x.type_ = GGUFType::F32;
  uint32_t u;
  std::memcpy(&u, &v, 4);
  x.bits_ = u;
  return x;
}
GGUFValue GGUFValue::f64(double v) {
  GGUFValue x;
  x.type_ = GGUFType::F64;
  std::memcpy(&x.bits_, &v, 8);
  return x;
}
GGUFValue GGUFValue::string(std::string v) {
  GGUFValue x;
  x.type_ = GGUFType::STRING;
  x.str_ = std::move(v);
  return x;
}
GGUFValue GGUFValue::strings(std::vector<std::string> v) {
  GGUFValue x;
  x.type_ = GGUFType::ARRAY;
  x.elem_ = GGUFType::STRING;
  x.count_ = v.size();
  x.strs_ = std::move(v);
  return x;
}
GGUFValue GGUFValue::array_f64(GGUFType elem, const std::vector<double>& v) {
  R1_CHECK(is_float(elem), "GGUFValue::array_f64: element type ", gguf_type_name(elem), " is not f32/f64");
  GGUFValue x;
  x.type_ = GGUFType::ARRAY;
  x.elem_ = elem;
  x.count_ = v.size();
  std::string buf;
  for (double d : v) {
    uint64_t bits = elem == GGUFType::F32 ? GGUFValue::f32(float(d)).bits_ : GGUFValue::f64(d).bits_;
    put_le(buf, bits, scalar_size(elem));
  }
  x.raw_.assign(buf.begin(), buf.end());
  return x;
}
GGUFValue GGUFValue::array_i64(GGUFType elem, const std::vector<int64_t>& v) {
  R1_CHECK(is_int(elem) || elem == GGUFType::BOOL, "GGUFValue::array_i64: element type ", gguf_type_name(elem),
           " is not an integer type");
  GGUFValue x;
  x.type_ = GGUFType::ARRAY;
  x.elem_ = elem;
  x.count_ = v.size();
  const size_t n = scalar_size(elem);
  std::string buf;
  for (int64_t i : v) {
    if (n < 8) {
      const bool ok = elem == GGUFType::BOOL ? (i == 0 || i == 1)
                      : is_signed(elem)      ? sign_extend(uint64_t(i) & ((uint64_t(1) << (8 * n)) - 1), n) == i
                                             : (i >= 0 && uint64_t(i) < (uint64_t(1) << (8 * n)));
      R1_CHECK(ok, "GGUFValue::array_i64: value ", i, " does not fit ", gguf_type_name(elem));
    } else if (elem == GGUFType::U64) {
      R1_CHECK(i >= 0, "GGUFValue::array_i64: negative value ", i, " for u64");
    }
    put_le(buf, uint64_t(i), n);
  }
  x.raw_.assign(buf.begin(), buf.end());
  return x;
}
GGUFValue GGUFValue::array_u64(GGUFType elem, const std::vector<uint64_t>& v) {
  if (elem == GGUFType::U64) {
    GGUFValue x;
    x.type_ = GGUFType::ARRAY;
    x.elem_ = elem;
    x.count_ = v.size();
    std::string buf;
    for (uint64_t u : v) put_le(buf, u, 8);
    x.raw_.assign(buf.begin(), buf.end());
    return x;
  }
  std::vector<int64_t> s;
  for (uint64_t u : v) {
    R1_CHECK(u <= uint64_t(INT64_MAX), "GGUFValue::array_u64: value ", u, " does not fit ", gguf_type_name(elem));
    s.push_back(int64_t(u));
  }
  return array_i64(elem, s);
}
GGUFValue GGUFValue::arrays(GGUFType elem, std::vector<GGUFValue> v) {
  GGUFValue x;
  x.type_ = GGUFType::ARRAY;
  x.elem_ = elem;
  x.count_ = v.size();
  if (elem == GGUFType::STRING) {
    for (auto& s : v) x.strs_.push_back(s.as_string("GGUFValue::arrays element"));
    return x;
  }
  if (elem == GGUFType::ARRAY) {
    for (auto& s : v) R1_CHECK(s.type() == GGUFType::ARRAY, "GGUFValue::arrays: element is not an array");
    x.vals_ = std::move(v);
    return x;
  }
  std::string buf;
  for (auto& s : v) {
    R1_CHECK(s.type() == elem, "GGUFValue::arrays: element of type ", gguf_type_name(s.type()), " in array of ",
             gguf_type_name(elem));
    put_le(buf, s.bits_, scalar_size(elem));
  }
  x.raw_.assign(buf.begin(), buf.end());
  return x;
}

size_t GGUFValue::size() const { return type_ == GGUFType::ARRAY ? count_ : 1; }

std::string GGUFValue::describe() const {
  if (type_ != GGUFType::ARRAY) return gguf_type_name(type_);
  return str("array[", gguf_type_name(elem_), "; ", count_, "]");
}

namespace {
// Integer value of `bits` of integer type t, as signed (want_signed) or unsigned; throws if it does not fit.
uint64_t int_value(GGUFType t, uint64_t bits, bool want_signed, const std::string& what) {
  if (is_signed(t)) {
    int64_t v = sign_extend(bits, scalar_size(t));
    R1_CHECK(want_signed || v >= 0, what, ": value ", v, " is negative, expected a non-negative integer");
    return uint64_t(v);
  }
  R1_CHECK(!want_signed || bits <= uint64_t(INT64_MAX), what, ": value ", bits, " does not fit in int64");
  return bits;
}
}  // namespace

uint64_t GGUFValue::as_u64(const std::string& what) const {
  R1_CHECK(is_int(type_), what, ": expected an integer, got ", describe());
  return int_value(type_, bits_, false, what);
}
int64_t GGUFValue::as_i64(const std::string& what) const {
  R1_CHECK(is_int(type_), what, ": expected an integer, got ", describe());
  return int64_t(int_value(type_, bits_, true, what));
}
double GGUFValue::as_f64(const std::string& what) const {
  R1_CHECK(is_float(type_), what, ": expected f32 or f64, got ", describe());
  return float_of(type_, bits_);
}
bool GGUFValue::as_bool(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::BOOL, what, ": expected bool, got ", describe());
  return bits_ != 0;
}
const std::string& GGUFValue::as_string(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::STRING, what, ": expected string, got ", describe());
  return str_;
}
const std::vector<std::string>& GGUFValue::as_strings(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::ARRAY && elem_ == GGUFType::STRING, what, ": expected array of strings, got ",
           describe());
  return strs_;
}
std::vector<int64_t> GGUFValue::as_i64_array(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::ARRAY && is_int(elem_), what, ": expected array of integers, got ", describe());
  const size_t n = scalar_size(elem_);
  std::vector<int64_t> out(count_);
  for (size_t i = 0; i < count_; ++i)
    out[i] = int64_t(int_value(elem_, load_le(raw_.data() + i * n, n), true, str(what, "[", i, "]")));
  return out;
}
std::vector<uint64_t> GGUFValue::as_u64_array(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::ARRAY && is_int(elem_), what, ": expected array of integers, got ", describe());
  const size_t n = scalar_size(elem_);
  std::vector<uint64_t> out(count_);
  for (size_t i = 0; i < count_; ++i)
    out[i] = int_value(elem_, load_le(raw_.data() + i * n, n), false, str(what, "[", i, "]"));
  return out;
}
std::vector<double> GGUFValue::as_f64_array(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::ARRAY && is_float(elem_), what, ": expected array of f32/f64, got ", describe());
  const size_t n = scalar_size(elem_);
  std::vector<double> out(count_);
  for (size_t i = 0; i < count_; ++i) out[i] = float_of(elem_, load_le(raw_.data() + i * n, n));
  return out;
}
std::vector<float> GGUFValue::as_f32_array(const std::string& what) const {
  std::vector<double> d = as_f64_array(what);
  return std::vector<float>(d.begin(), d.end());
}
const std::vector<GGUFValue>& GGUFValue::as_arrays(const std::string& what) const {
  R1_CHECK(type_ == GGUFType::ARRAY && elem_ == GGUFType::ARRAY, what, ": expected array of arrays, got ",
           describe());
  return vals_;
}

bool GGUFValue::operator==(const GGUFValue& o) const {
  if (type_ != o.type_) return false;
  if (type_ != GGUFType::ARRAY) return bits_ == o.bits_ && str_ == o.str_;
  return elem_ == o.elem_ && count_ == o.count_ && raw_ == o.raw_ && strs_ == o.strs_ && vals_ == o.vals_;
}

}  // namespace r1
