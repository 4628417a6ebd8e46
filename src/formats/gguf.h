// GGUF (v2/v3, little-endian) container reader and writer. Spec: shared/refs/formats/gguf.md.
//
// Layout: "GGUF" | u32 version | u64 tensor_count | u64 kv_count | kv_count x (string key, u32 type, value)
//         | tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
//         | zero padding to ALIGNMENT | tensor data (each tensor at an ALIGNMENT multiple of the data start).
// Strings are u64 length + bytes (no terminator). ALIGNMENT is the `general.alignment` key, default 32.
// Dimensions are in GGUF/ggml order: ne[0] is the fastest-varying (contiguous) one, i.e. the reverse of a
// row-major PyTorch shape. Use GGUFTensorInfo::shape() for the row-major view.
//
// Reading: GGUFFile memory-maps the file and validates it completely in the constructor (magic, version,
// counts against file size, every length in bounds, value and array types, bool values 0/1, duplicate keys and
// tensor names, alignment, tensor types and block sizes, tensor offsets aligned, in bounds and not overlapping).
// Any problem throws one r1::Error naming the file, the byte offset or key/tensor, and what was expected.
//
// Example:
//   GGUFFile f("vocab.gguf");
//   const std::vector<std::string>& toks = f.get_strings("tokenizer.ggml.tokens");
//   uint64_t bos = f.get_u64("tokenizer.ggml.bos_token_id");        // accepts any non-negative integer type
//   std::vector<float> w = f.read_f32("token_embd.weight");           // F32 / F16 / BF16 / Q8_0
//
// Writing:
//   GGUFWriter w;
//   w.set("general.architecture", GGUFValue::string("qwen2"));
//   w.set("qwen2.block_count", GGUFValue::u32(28));
//   w.add_tensor_f32("token_embd.weight", {hidden, vocab}, emb.data(), GGMLType::BF16);  // ne order
//   w.write("model.gguf");   // atomic (core/io.h atomic_write)
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/mmap.h"

namespace r1 {

// Metadata value types (gguf_metadata_value_type).
enum class GGUFType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12
};
const char* gguf_type_name(GGUFType t);  // "u8", ..., "string", "array"

// Tensor element types (ggml_type). All types the spec lists are known (with block sizes) so files holding
// them load; read_f32 converts F32, F16, BF16 and Q8_0.
enum class GGMLType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10, Q3_K = 11,
  Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20,
  IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39
};
bool ggml_type_known(uint32_t t);
const char* ggml_type_name(GGMLType t);     // "F32", "Q8_0", ...
int64_t ggml_block_size(GGMLType t);        // elements per block (1 for plain types, 32 for Q8_0, 256 for K-quants)
size_t ggml_type_size(GGMLType t);          // bytes per block
// Bytes for `numel` elements (numel must be a multiple of the block size).
size_t ggml_nbytes(GGMLType t, int64_t numel);

// One metadata value: a scalar, a string, or an array (of scalars, strings, or nested arrays).
// Numeric arrays are kept as packed little-endian bytes, so a 150k-entry score array costs 600 KB, not 150k objects.
class GGUFValue {
 public:
  GGUFValue() = default;
  // Constructors for the writer (and tests).
  static GGUFValue u8(uint8_t v);
  static GGUFValue i8(int8_t v);
  static GGUFValue u16(uint16_t v);
  static GGUFValue i16(int16_t v);
  static GGUFValue u32(uint32_t v);
  static GGUFValue i32(int32_t v);
  static GGUFValue u64(uint64_t v);
  static GGUFValue i64(int64_t v);
  static GGUFValue f32(float v);
  static GGUFValue f64(double v);
  static GGUFValue boolean(bool v);
  static GGUFValue string(std::string v);
  static GGUFValue strings(std::vector<std::string> v);
  // Array of numbers/bools: `elem` is the element type, values given as doubles / int64 (must fit the type).
  static GGUFValue array_f64(GGUFType elem, const std::vector<double>& v);
  static GGUFValue array_i64(GGUFType elem, const std::vector<int64_t>& v);
  static GGUFValue array_u64(GGUFType elem, const std::vector<uint64_t>& v);
  static GGUFValue arrays(GGUFType elem, std::vector<GGUFValue> v);  // array of values of type `elem` (nested)

  GGUFType type() const { return type_; }
  GGUFType array_type() const { return elem_; }  // element type; meaningful when type() == ARRAY
  size_t size() const;                            // array length (1 for scalars)

  // Typed access; `what` (file + key) prefixes the error if the type does not fit.
  // Integer getters accept any integer type whose value fits; float getters accept F32/F64.
  uint64_t as_u64(const std::string& what = "value") const;
  int64_t as_i64(const std::string& what = "value") const;
  double as_f64(const std::string& what = "value") const;
  bool as_bool(const std::string& what = "value") const;
  const std::string& as_string(const std::string& what = "value") const;
  const std::vector<std::string>& as_strings(const std::string& what = "value") const;  // string array
  std::vector<int64_t> as_i64_array(const std::string& what = "value") const;   // array of any integer type
  std::vector<uint64_t> as_u64_array(const std::string& what = "value") const;  // array of non-negative integers
  std::vector<double> as_f64_array(const std::string& what = "value") const;    // array of F32/F64
  std::vector<float> as_f32_array(const std::string& what = "value") const;     // array of F32/F64
  const std::vector<GGUFValue>& as_arrays(const std::string& what = "value") const;  // array of arrays
  std::string describe() const;  // "u32", "array[string; 50257]", ...

  bool operator==(const GGUFValue& o) const;

 private:
  friend class GGUFParser;
  friend void write_value(std::string& out, const GGUFValue& v);
  GGUFType type_ = GGUFType::U8;
  GGUFType elem_ = GGUFType::U8;
  uint64_t bits_ = 0;                   // scalar: raw little-endian bits, zero-extended
  std::string str_;                     // STRING
  std::vector<uint8_t> raw_;            // ARRAY of numbers/bools: packed elements
  std::vector<std::string> strs_;       // ARRAY of STRING
  std::vector<GGUFValue> vals_;         // ARRAY of ARRAY
  size_t count_ = 0;                    // ARRAY length
};

// Metadata key-value pairs in file order.
using GGUFMetadata = std::vector<std::pair<std::string, GGUFValue>>;

struct GGUFTensorInfo {
  std::string name;
  std::vector<int64_t> ne;     // GGUF order: ne[0] fastest
  GGMLType type = GGMLType::F32;
  uint64_t offset = 0;         // relative to the start of the tensor data section
  size_t nbytes = 0;
  const uint8_t* data = nullptr;  // points into the mapped file
  int64_t numel() const;
  std::vector<int64_t> shape() const;  // row-major (PyTorch) order: ne reversed
};

class GGUFFile {
 public:
  explicit GGUFFile(const std::string& path);  // mmap + full validation
  // Parses a GGUF image held in memory (copied); `name` stands in for the path in error messages.
  static GGUFFile from_memory(const void* bytes, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // file offset of the tensor data section

  // Metadata in file order.
  const GGUFMetadata& metadata() const { return kvs_; }
  const GGUFValue* find(const std::string& key) const;  // nullptr if absent
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const GGUFValue& get(const std::string& key) const;   // throws naming file + key if absent
  // Typed getters: throw naming file + key if absent or of the wrong type.
  std::string get_string(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  double get_f64(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  std::vector<int64_t> get_i64_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;

  const std::vector<GGUFTensorInfo>& tensors() const { return tensors_; }  // in header order
  const GGUFTensorInfo* find_tensor(const std::string& name) const;       // nullptr if absent
  std::vector<float> read_f32(const std::string& name) const;  // F32/F16/BF16/Q8_0; error otherwise / if absent
  void read_f32_into(const std::string& name, float* dst, size_t numel) const;  // error if numel differs

 private:
  GGUFFile() = default;
  void parse(const uint8_t* bytes, size_t size);
  std::string path_;
  FileBytes bytes_;  // the mapped file or a copy (shared, so the object is movable)
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  size_t data_offset_ = 0;
  GGUFMetadata kvs_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GGUFTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Tensor data pointers must stay valid until write().
class GGUFWriter {
 public:
  // Adds or replaces a key (order of first insertion is kept). `general.alignment` (u32) sets the alignment.
  void set(const std::string& key, GGUFValue v);
  // A tensor whose `data` is already in `type`'s encoding (ggml_nbytes(type, numel) bytes).
  void add_tensor(const std::string& name, std::vector<int64_t> ne, GGMLType type, const void* data);
  // An F32 tensor stored as `store_as` (F32, F16 or BF16; rounded to nearest even).
  void add_tensor_f32(const std::string& name, std::vector<int64_t> ne, const float* data,
                      GGMLType store_as = GGMLType::F32);
  void write(const std::string& path) const;  // atomic; throws r1::Error naming the path on bad input
  std::string serialize() const;              // the whole file image in memory (for small files / tests)

 private:
  struct T {
    std::string name;
    std::vector<int64_t> ne;
    GGMLType type;
    const void* data;
    bool from_f32;  // data is float and must be converted to `type`
  };
  uint64_t alignment(const std::string& where) const;
  std::string header(const std::string& where, std::vector<uint64_t>* offsets, uint64_t* align) const;
  void emit(const std::string& where, const std::function<void(const void*, size_t)>& put) const;
  GGUFMetadata kvs_;
  std::vector<T> tensors_;
};

}  // namespace r1
