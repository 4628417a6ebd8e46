// GGUF writer: GGUFWriter validates the metadata and tensors, then streams header and data (see gguf.h).
#include "formats/gguf.h"

#include <algorithm>
#include <functional>
#include <set>

#include "core/check.h"
#include "core/io.h"
#include "formats/dtype.h"
#include "formats/gguf_impl.h"

namespace r1 {

using namespace gguf_detail;

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
