// GGUF reader: GGUFFile maps (or copies) a file image and validates it completely (see gguf.h).
#include "formats/gguf.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "formats/dtype.h"
#include "formats/gguf_impl.h"

namespace r1 {

using namespace gguf_detail;

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

GGUFFile::GGUFFile(const std::string& path) : path_(path), bytes_(FileBytes::map(path)) {
  parse(bytes_.data(), bytes_.size());
}

GGUFFile GGUFFile::from_memory(const void* bytes, size_t size, const std::string& name) {
  GGUFFile f;
  f.path_ = name;
  f.bytes_ = FileBytes::copy(bytes, size);
  f.parse(f.bytes_.data(), f.bytes_.size());
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

}  // namespace r1
