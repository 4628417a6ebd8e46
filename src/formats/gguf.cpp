#include "formats/gguf.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "core/check.h"
#include "core/io.h"
#include "formats/dtype.h"

namespace r1 {

namespace {

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

// Block sizes and bytes per block of each ggml type (ggml's type_traits); name nullptr = unknown/removed.
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

size_t scalar_size(GGUFType t) {
  switch (t) {
    case GGUFType::U8: case GGUFType::I8: case GGUFType::BOOL: return 1;
    case GGUFType::U16: case GGUFType::I16: return 2;
    case GGUFType::U32: case GGUFType::I32: case GGUFType::F32: return 4;
    case GGUFType::U64: case GGUFType::I64: case GGUFType::F64: return 8;
    default: return 0;  // STRING, ARRAY
  }
}
bool is_int(GGUFType t) {
  return t == GGUFType::U8 || t == GGUFType::I8 || t == GGUFType::U16 || t == GGUFType::I16 ||
         t == GGUFType::U32 || t == GGUFType::I32 || t == GGUFType::U64 || t == GGUFType::I64;
}
bool is_signed(GGUFType t) {
  return t == GGUFType::I8 || t == GGUFType::I16 || t == GGUFType::I32 || t == GGUFType::I64;
}
bool is_float(GGUFType t) { return t == GGUFType::F32 || t == GGUFType::F64; }

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}
void put_le(std::string& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
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
uint64_t align_up(uint64_t x, uint64_t a) { return x + (a - x % a) % a; }

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

// ---------------- reader ----------------

// Bounds-checked cursor over the file image; every read names the file, the byte offset and the item.
class GGUFParser {
 public:
  GGUFParser(const std::string& path, const uint8_t* p, size_t n) : path_(path), p_(p), n_(n) {}
  size_t pos = 0;

  void need(uint64_t k, const std::string& what) {
    R1_CHECK(k <= n_ - pos, path_, ": ", what, " at byte ", pos, ": needs ", k, " bytes but only ", n_ - pos,
             " remain (file is ", n_, " bytes; truncated?)");
  }
  uint64_t uint(size_t k, const std::string& what) {
    need(k, what);
    uint64_t v = load_le(p_ + pos, k);
    pos += k;
    return v;
  }
  std::string string(const std::string& what, uint64_t max_len) {
    const size_t at = pos;
    const uint64_t len = uint(8, what + " length");
    R1_CHECK(len <= n_ - pos, path_, ": ", what, " at byte ", at, ": string length ", len,
             " goes past end of file (", n_ - pos, " bytes remain)");
    R1_CHECK(len <= max_len, path_, ": ", what, " at byte ", at, ": string length ", len, " exceeds the limit of ",
             max_len);
    std::string s(reinterpret_cast<const char*>(p_ + pos), size_t(len));
    pos += size_t(len);
    return s;
  }
  GGUFType type(const std::string& what) {
    const size_t at = pos;
    const uint64_t t = uint(4, what + " type");
    R1_CHECK(t <= 12, path_, ": ", what, " at byte ", at, ": unknown value type ", t, " (expected 0..12)");
    return GGUFType(t);
  }

  GGUFValue value(GGUFType t, const std::string& what, int depth) {
    GGUFValue v;
    v.type_ = t;
    if (t == GGUFType::STRING) {
      v.str_ = string(what, UINT64_MAX);
      return v;
    }
    if (t != GGUFType::ARRAY) {
      const size_t at = pos;
      v.bits_ = uint(scalar_size(t), what);
      R1_CHECK(t != GGUFType::BOOL || v.bits_ <= 1, path_, ": ", what, " at byte ", at, ": bool value ", v.bits_,
               " (expected 0 or 1)");
      return v;
    }
    R1_CHECK(depth < kMaxArrayDepth, path_, ": ", what, " at byte ", pos, ": arrays nested deeper than ",
             kMaxArrayDepth);
    const GGUFType et = type(what + " array element");
    const size_t at = pos;
    const uint64_t len = uint(8, what + " array length");
    // Every element takes at least this many bytes, so a length beyond remaining/min is certainly bogus.
    const uint64_t min_elem = et == GGUFType::STRING ? 8 : et == GGUFType::ARRAY ? 12 : scalar_size(et);
    R1_CHECK(len <= (n_ - pos) / min_elem, path_, ": ", what, " at byte ", at, ": array of ", len, " ",
             gguf_type_name(et), " elements goes past end of file (", n_ - pos, " bytes remain)");
    v.elem_ = et;
    v.count_ = size_t(len);
    if (et == GGUFType::STRING) {
      v.strs_.reserve(v.count_);
      for (size_t i = 0; i < v.count_; ++i) v.strs_.push_back(string(str(what, "[", i, "]"), UINT64_MAX));
    } else if (et == GGUFType::ARRAY) {
      for (size_t i = 0; i < v.count_; ++i) v.vals_.push_back(value(et, str(what, "[", i, "]"), depth + 1));
    } else {
      const size_t nb = v.count_ * scalar_size(et);
      v.raw_.assign(p_ + pos, p_ + pos + nb);
      if (et == GGUFType::BOOL)
        for (size_t i = 0; i < v.count_; ++i)
          R1_CHECK(v.raw_[i] <= 1, path_, ": ", what, "[", i, "] at byte ", pos + i, ": bool value ",
                   int(v.raw_[i]), " (expected 0 or 1)");
      pos += nb;
    }
    return v;
  }

 private:
  const std::string& path_;
  const uint8_t* p_;
  size_t n_;
};

GGUFFile::GGUFFile(const std::string& path) : path_(path) {
  auto mf = std::make_shared<MappedFile>(path);
  owner_ = mf;
  parse(mf->data, mf->size);
}

GGUFFile GGUFFile::from_memory(const void* bytes, size_t size, const std::string& name) {
  GGUFFile f;
  f.path_ = name;
  auto buf = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(bytes),
                                                    static_cast<const uint8_t*>(bytes) + size);
  f.owner_ = buf;
  f.parse(buf->data(), buf->size());
  return f;
}

void GGUFFile::parse(const uint8_t* bytes, size_t size) {
  const std::string& p = path_;
  R1_CHECK(size >= 4 && std::memcmp(bytes, "GGUF", 4) == 0, p, ": not a GGUF file (bad magic: expected \"GGUF\")");
  GGUFParser c(p, bytes, size);
  c.pos = 4;
  version_ = uint32_t(c.uint(4, "header field 'version'"));
  R1_CHECK(version_ != 0x03000000u && version_ != 0x02000000u, p,
           ": big-endian GGUF files are not supported (version field reads ", version_, ")");
  R1_CHECK(version_ == 2 || version_ == 3, p, ": header field 'version' is ", version_, ", expected 2 or 3");
  const uint64_t n_tensors = c.uint(8, "header field 'tensor_count'");
  const uint64_t n_kv = c.uint(8, "header field 'metadata_kv_count'");
  // A key-value pair takes at least 14 bytes (8 length + >= 1 key byte + 4 type + >= 1 value byte) and a tensor
  // info at least 24 (8 length + 4 n_dims + 4 type + 8 offset), so larger counts cannot fit in the file.
  R1_CHECK(n_kv <= size / 13, p, ": header field 'metadata_kv_count' is ", n_kv, ", impossible for a ", size,
           "-byte file");
  R1_CHECK(n_tensors <= size / 24, p, ": header field 'tensor_count' is ", n_tensors, ", impossible for a ", size,
           "-byte file");

  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t at = c.pos;
    std::string key = c.string(str("metadata key #", i), kMaxKeyLen);
    R1_CHECK(!key.empty(), p, ": metadata key #", i, " at byte ", at, " is empty");
    R1_CHECK(!kv_index_.count(key), p, ": duplicate metadata key '", key, "' at byte ", at);
    const std::string what = "metadata key '" + key + "'";
    GGUFType t = c.type(what + " value");
    GGUFValue v = c.value(t, what, 0);
    kv_index_[key] = kvs_.size();
    kvs_.emplace_back(std::move(key), std::move(v));
  }

  if (const GGUFValue* a = find("general.alignment")) {
    R1_CHECK(a->type() == GGUFType::U32, p, ": metadata key 'general.alignment' must be u32, got ", a->describe());
    alignment_ = a->as_u64();
    R1_CHECK(alignment_ >= 8 && alignment_ % 8 == 0 && (alignment_ & (alignment_ - 1)) == 0 &&
                 alignment_ <= (uint64_t(1) << 30),
             p, ": metadata key 'general.alignment' is ", alignment_, ", expected a power of two multiple of 8");
  }

  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const size_t at = c.pos;
    GGUFTensorInfo t;
    t.name = c.string(str("tensor #", i, " name"), kMaxNameLen);
    R1_CHECK(!tensor_index_.count(t.name), p, ": duplicate tensor name '", t.name, "' at byte ", at);
    const std::string what = "tensor '" + t.name + "'";
    const uint64_t nd = c.uint(4, what + " n_dimensions");
    R1_CHECK(nd <= kMaxDims, p, ": ", what, ": n_dimensions is ", nd, ", expected at most ", kMaxDims);
    uint64_t numel = 1;
    for (uint64_t d = 0; d < nd; ++d) {
      const uint64_t ne = c.uint(8, what + " dimension");
      R1_CHECK(ne <= uint64_t(INT64_MAX) && !__builtin_mul_overflow(numel, ne, &numel) &&
                   numel <= uint64_t(INT64_MAX),
               p, ": ", what, ": dimensions overflow (ne[", d, "] = ", ne, ")");
      t.ne.push_back(int64_t(ne));
    }
    const size_t type_at = c.pos;
    const uint64_t ty = c.uint(4, what + " type");
    const TypeTraits* tr = ggml_traits(uint32_t(ty));
    R1_CHECK(ty < 40 && tr, p, ": ", what, " at byte ", type_at, ": unknown ggml type ", ty);
    t.type = GGMLType(ty);
    R1_CHECK(t.ne.empty() || t.ne[0] % tr->block == 0, p, ": ", what, ": ne[0] = ", t.ne.empty() ? 0 : t.ne[0],
             " is not a multiple of the ", tr->name, " block size ", tr->block);
    R1_CHECK(numel / uint64_t(tr->block) <= SIZE_MAX / tr->size, p, ": ", what, ": byte size overflows");
    t.nbytes = size_t(numel / uint64_t(tr->block)) * tr->size;
    t.offset = c.uint(8, what + " offset");
    R1_CHECK(t.offset % alignment_ == 0, p, ": ", what, ": data offset ", t.offset,
             " is not a multiple of the alignment ", alignment_);
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  data_offset_ = size_t(align_up(c.pos, alignment_));
  if (tensors_.empty()) return;  // vocab-only files may end right after the metadata, without padding
  R1_CHECK(data_offset_ <= size, p, ": tensor data section starts at byte ", data_offset_,
           " (after alignment padding), past end of file (", size, " bytes)");
  const uint64_t data_size = size - data_offset_;
  for (GGUFTensorInfo& t : tensors_) {
    R1_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset, p, ": tensor '", t.name, "': data [",
             t.offset, ", ", t.offset + t.nbytes, ") goes past end of the data section (", data_size, " bytes)");
    t.data = bytes + data_offset_ + t.offset;
  }
  std::vector<const GGUFTensorInfo*> order;
  for (const auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->nbytes < b->nbytes;
  });
  for (size_t i = 1; i < order.size(); ++i)
    R1_CHECK(order[i]->offset >= order[i - 1]->offset + order[i - 1]->nbytes, p, ": tensor '", order[i]->name,
             "': data at offset ", order[i]->offset, " overlaps tensor '", order[i - 1]->name, "' [",
             order[i - 1]->offset, ", ", order[i - 1]->offset + order[i - 1]->nbytes, ")");
}

int64_t GGUFTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}
std::vector<int64_t> GGUFTensorInfo::shape() const { return std::vector<int64_t>(ne.rbegin(), ne.rend()); }

const GGUFValue* GGUFFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].second;
}
const GGUFValue& GGUFFile::get(const std::string& key) const {
  const GGUFValue* v = find(key);
  R1_CHECK(v, path_, ": missing metadata key '", key, "'");
  return *v;
}
namespace {
std::string what_key(const std::string& path, const std::string& key) { return path + ": metadata key '" + key + "'"; }
}  // namespace
std::string GGUFFile::get_string(const std::string& key) const { return get(key).as_string(what_key(path_, key)); }
uint64_t GGUFFile::get_u64(const std::string& key) const { return get(key).as_u64(what_key(path_, key)); }
int64_t GGUFFile::get_i64(const std::string& key) const { return get(key).as_i64(what_key(path_, key)); }
double GGUFFile::get_f64(const std::string& key) const { return get(key).as_f64(what_key(path_, key)); }
bool GGUFFile::get_bool(const std::string& key) const { return get(key).as_bool(what_key(path_, key)); }
const std::vector<std::string>& GGUFFile::get_strings(const std::string& key) const {
  return get(key).as_strings(what_key(path_, key));
}
std::vector<int64_t> GGUFFile::get_i64_array(const std::string& key) const {
  return get(key).as_i64_array(what_key(path_, key));
}
std::vector<float> GGUFFile::get_f32_array(const std::string& key) const {
  return get(key).as_f32_array(what_key(path_, key));
}

const GGUFTensorInfo* GGUFFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> GGUFFile::read_f32(const std::string& name) const {
  const GGUFTensorInfo* t = find_tensor(name);
  R1_CHECK(t, path_, ": no tensor named '", name, "'");
  std::vector<float> out(size_t(t->numel()));
  read_f32_into(name, out.data(), out.size());
  return out;
}

void GGUFFile::read_f32_into(const std::string& name, float* dst, size_t numel) const {
  const GGUFTensorInfo* t = find_tensor(name);
  R1_CHECK(t, path_, ": no tensor named '", name, "'");
  R1_CHECK(size_t(t->numel()) == numel, path_, ": tensor '", name, "' has ", t->numel(), " elements, expected ",
           numel);
  switch (t->type) {
    case GGMLType::F32: convert_to_f32(DType::F32, t->data, dst, numel); return;
    case GGMLType::F16: convert_to_f32(DType::F16, t->data, dst, numel); return;
    case GGMLType::BF16: convert_to_f32(DType::BF16, t->data, dst, numel); return;
    case GGMLType::Q8_0:
      // Blocks of 32: f16 scale d, then 32 int8 q; x = d * q.
      for (size_t b = 0; b < numel / 32; ++b) {
        const uint8_t* blk = t->data + b * 34;
        const float d = f16_to_f32(uint16_t(blk[0] | (blk[1] << 8)));
        for (int i = 0; i < 32; ++i) dst[b * 32 + i] = d * float(int8_t(blk[2 + i]));
      }
      return;
    default:
      fail(path_, ": tensor '", name, "' has type ", ggml_type_name(t->type),
           "; read_f32 supports F32, F16, BF16 and Q8_0");
  }
}

// ---------------- writer ----------------

void write_value(std::string& out, const GGUFValue& v) {
  if (v.type_ == GGUFType::STRING) {
    put_le(out, v.str_.size(), 8);
    out += v.str_;
  } else if (v.type_ != GGUFType::ARRAY) {
    put_le(out, v.bits_, scalar_size(v.type_));
  } else {
    put_le(out, uint32_t(v.elem_), 4);
    put_le(out, v.count_, 8);
    if (v.elem_ == GGUFType::STRING) {
      for (const auto& s : v.strs_) {
        put_le(out, s.size(), 8);
        out += s;
      }
    } else if (v.elem_ == GGUFType::ARRAY) {
      for (const auto& e : v.vals_) write_value(out, e);  // each element: its own element type, length, values
    } else {
      out.append(reinterpret_cast<const char*>(v.raw_.data()), v.raw_.size());
    }
  }
}

void GGUFWriter::set(const std::string& key, GGUFValue v) {
  for (auto& kv : kvs_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kvs_.emplace_back(key, std::move(v));
}

void GGUFWriter::add_tensor(const std::string& name, std::vector<int64_t> ne, GGMLType type, const void* data) {
  tensors_.push_back({name, std::move(ne), type, data, false});
}

void GGUFWriter::add_tensor_f32(const std::string& name, std::vector<int64_t> ne, const float* data,
                                GGMLType store_as) {
  R1_CHECK(store_as == GGMLType::F32 || store_as == GGMLType::F16 || store_as == GGMLType::BF16,
           "GGUFWriter: tensor '", name, "': store_as must be F32, F16 or BF16, got ", ggml_type_name(store_as));
  tensors_.push_back({name, std::move(ne), store_as, data, store_as != GGMLType::F32});
}

uint64_t GGUFWriter::alignment(const std::string& where) const {
  for (const auto& kv : kvs_)
    if (kv.first == "general.alignment") {
      R1_CHECK(kv.second.type() == GGUFType::U32, where, ": key 'general.alignment' must be u32");
      const uint64_t a = kv.second.as_u64();
      R1_CHECK(a >= 8 && a % 8 == 0 && (a & (a - 1)) == 0 && a <= (uint64_t(1) << 30), where,
               ": key 'general.alignment' is ", a, ", expected a power of two multiple of 8");
      return a;
    }
  return kDefaultAlignment;
}

std::string GGUFWriter::header(const std::string& where, std::vector<uint64_t>* offsets, uint64_t* align_out) const {
  const uint64_t align = alignment(where);
  if (align_out) *align_out = align;
  std::string out = "GGUF";
  put_le(out, 3, 4);
  put_le(out, tensors_.size(), 8);
  put_le(out, kvs_.size(), 8);
  for (const auto& [key, v] : kvs_) {
    R1_CHECK(!key.empty() && key.size() <= kMaxKeyLen, where, ": metadata key '", key.substr(0, 80),
             "' must be 1..", kMaxKeyLen, " bytes");
    put_le(out, key.size(), 8);
    out += key;
    put_le(out, uint32_t(v.type()), 4);
    write_value(out, v);
  }
  std::set<std::string> names;
  uint64_t pos = 0;
  for (const T& t : tensors_) {
    R1_CHECK(!t.name.empty() && t.name.size() <= kMaxNameLen, where, ": tensor name '", t.name,
             "' must be 1..", kMaxNameLen, " bytes");
    R1_CHECK(names.insert(t.name).second, where, ": duplicate tensor name '", t.name, "'");
    R1_CHECK(t.ne.size() <= kMaxDims, where, ": tensor '", t.name, "' has ", t.ne.size(), " dimensions, at most ",
             kMaxDims, " allowed");
    R1_CHECK(ggml_type_known(uint32_t(t.type)), where, ": tensor '", t.name, "': unknown ggml type ",
             uint32_t(t.type));
    int64_t numel = 1;
    for (int64_t d : t.ne) {
      R1_CHECK(d >= 0 && !__builtin_mul_overflow(numel, d, &numel), where, ": tensor '", t.name,
               "': bad dimension ", d);
    }
    R1_CHECK(t.ne.empty() || t.ne[0] % ggml_block_size(t.type) == 0, where, ": tensor '", t.name, "': ne[0] = ",
             t.ne.empty() ? 0 : t.ne[0], " is not a multiple of the block size ", ggml_block_size(t.type));
    R1_CHECK(numel == 0 || t.data, where, ": tensor '", t.name, "': data is null");
    put_le(out, t.name.size(), 8);
    out += t.name;
    put_le(out, t.ne.size(), 4);
    for (int64_t d : t.ne) put_le(out, uint64_t(d), 8);
    put_le(out, uint32_t(t.type), 4);
    put_le(out, pos, 8);
    if (offsets) offsets->push_back(pos);
    pos = align_up(pos + ggml_nbytes(t.type, numel), align);
  }
  out.append(align_up(out.size(), align) - out.size(), '\0');
  return out;
}

// Streams the whole file through `put`: header, then each tensor (converted from f32 in blocks where asked)
// followed by zero padding to the alignment.
void GGUFWriter::emit(const std::string& where, const std::function<void(const void*, size_t)>& put) const {
  std::vector<uint64_t> offsets;
  uint64_t align = 0;
  const std::string head = header(where, &offsets, &align);
  put(head.data(), head.size());
  static const char zeros[4096] = {};
  auto pad_to = [&](uint64_t& pos, uint64_t target) {
    while (pos < target) {
      const size_t k = size_t(std::min<uint64_t>(sizeof(zeros), target - pos));
      put(zeros, k);
      pos += k;
    }
  };
  uint64_t pos = 0;
  std::vector<uint16_t> buf;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const T& t = tensors_[i];
    pad_to(pos, offsets[i]);
    int64_t numel = 1;
    for (int64_t d : t.ne) numel *= d;
    const size_t nb = ggml_nbytes(t.type, numel);
    if (!t.from_f32) {
      put(t.data, nb);
    } else {
      const DType dt = t.type == GGMLType::BF16 ? DType::BF16 : DType::F16;
      constexpr size_t kBlock = size_t(1) << 20;
      for (size_t b = 0; b < size_t(numel); b += kBlock) {
        const size_t m = std::min(kBlock, size_t(numel) - b);
        buf.resize(m);
        convert_from_f32(dt, static_cast<const float*>(t.data) + b, buf.data(), m);
        put(buf.data(), m * 2);
      }
    }
    pos += nb;
  }
  pad_to(pos, align_up(pos, align));
}

void GGUFWriter::write(const std::string& path) const {
  header(path, nullptr, nullptr);  // validate before creating any file
  atomic_write(path, [&](FILE* f) {
    emit(path, [&](const void* p, size_t n) {
      R1_CHECK(n == 0 || std::fwrite(p, 1, n, f) == n, path, ": short write");
    });
  });
}

std::string GGUFWriter::serialize() const {
  std::string out;
  emit("GGUFWriter::serialize", [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

}  // namespace r1
