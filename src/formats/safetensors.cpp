#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/io.h"

namespace r1 {

using json = nlohmann::json;

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit (DoS guard)

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses JSON, rejecting duplicate keys in any object (nlohmann would silently keep the last one).
json parse_json_no_duplicates(const char* begin, const char* end, const std::string& what) {
  std::vector<std::unique_ptr<std::set<std::string>>> stack;  // one entry per open container (null for arrays)
  std::string dup;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start: stack.emplace_back(new std::set<std::string>()); break;
      case json::parse_event_t::array_start: stack.emplace_back(nullptr); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key:
        if (!stack.empty() && stack.back() && !stack.back()->insert(parsed.get<std::string>()).second && dup.empty())
          dup = parsed.get<std::string>();
        break;
      default: break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(begin, end, cb);
  } catch (const json::exception& e) {
    fail(what, ": not valid JSON (", e.what(), ")");
  }
  R1_CHECK(dup.empty(), what, ": duplicate key '", dup, "'");
  return j;
}

bool mul_overflow(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

}  // namespace

SafeTensorsFile::SafeTensorsFile(const std::string& path) : path_(path), bytes_(FileBytes::map(path)) {
  parse(bytes_.data(), bytes_.size());
}

SafeTensorsFile SafeTensorsFile::from_memory(const void* bytes, size_t size, const std::string& name) {
  SafeTensorsFile f;
  f.path_ = name;
  f.bytes_ = FileBytes::copy(bytes, size);
  f.parse(f.bytes_.data(), f.bytes_.size());
  return f;
}

void SafeTensorsFile::parse(const uint8_t* bytes, size_t size) {
  const std::string& p = path_;
  R1_CHECK(size >= 8, p, ": truncated safetensors file: ", size,
           " bytes, expected at least 8 (the header length field)");
  const uint64_t n = read_u64_le(bytes);
  R1_CHECK(n <= size - 8, p, ": header length ", n, " goes past end of file (file is ", size, " bytes)");
  R1_CHECK(n <= kMaxHeader, p, ": header length ", n, " exceeds the limit of ", kMaxHeader, " bytes");
  R1_CHECK(n >= 2 && bytes[8] == '{', p, ": header must be a JSON object starting with '{'");
  const char* hb = reinterpret_cast<const char*>(bytes + 8);
  json h = parse_json_no_duplicates(hb, hb + n, p + ": header");
  R1_CHECK(h.is_object(), p, ": header is not a JSON object");

  data_ = bytes + 8 + n;
  const uint64_t data_size = size - 8 - n;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      R1_CHECK(v.is_object(), p, ": field '__metadata__' must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        R1_CHECK(m.value().is_string(), p, ": field '__metadata__': value of '", m.key(), "' must be a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = p + ": tensor '" + name + "'";
    R1_CHECK(v.is_object(), where, ": entry must be an object with dtype, shape, data_offsets");
    for (auto f = v.begin(); f != v.end(); ++f)
      R1_CHECK(f.key() == "dtype" || f.key() == "shape" || f.key() == "data_offsets", where, ": unknown field '",
               f.key(), "' (expected dtype, shape, data_offsets)");
    TensorInfo t;
    t.name = name;

    auto dt = v.find("dtype");
    R1_CHECK(dt != v.end(), where, ": missing field 'dtype'");
    R1_CHECK(dt->is_string(), where, ": field 'dtype' must be a string");
    R1_CHECK(parse_dtype(dt->get<std::string>(), &t.dtype), where, ": field 'dtype': unsupported dtype '",
             dt->get<std::string>(), "' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");

    auto sh = v.find("shape");
    R1_CHECK(sh != v.end(), where, ": missing field 'shape'");
    R1_CHECK(sh->is_array(), where, ": field 'shape' must be an array of non-negative integers");
    uint64_t numel = 1;
    for (const json& d : *sh) {
      R1_CHECK(d.is_number_integer(), where, ": field 'shape' must contain integers, got ", d.dump());
      R1_CHECK(d.is_number_unsigned(), where, ": field 'shape' has negative dimension ", d.dump());
      uint64_t dim = d.get<uint64_t>();
      R1_CHECK(dim < (uint64_t(1) << 48), where, ": field 'shape': dimension ", dim, " is too large");
      R1_CHECK(!mul_overflow(numel, dim, &numel) && numel <= uint64_t(INT64_MAX), where,
               ": field 'shape': element count overflows");
      t.shape.push_back(int64_t(dim));
    }
    uint64_t nbytes = 0;
    R1_CHECK(!mul_overflow(numel, dtype_size(t.dtype), &nbytes), where, ": field 'shape': byte size overflows");

    auto off = v.find("data_offsets");
    R1_CHECK(off != v.end(), where, ": missing field 'data_offsets'");
    R1_CHECK(off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() && (*off)[1].is_number_unsigned(),
             where, ": field 'data_offsets' must be [begin, end] with non-negative integers, got ", off->dump());
    const uint64_t b = (*off)[0].get<uint64_t>(), e = (*off)[1].get<uint64_t>();
    R1_CHECK(b <= e, where, ": field 'data_offsets' [", b, ", ", e, "]: begin is after end");
    R1_CHECK(e <= data_size, where, ": field 'data_offsets' [", b, ", ", e, "] goes past end of data section (",
             data_size, " bytes)");
    R1_CHECK(e - b == nbytes, where, ": field 'data_offsets' [", b, ", ", e, "] spans ", e - b, " bytes but shape ",
             shape_str(t.shape), " of ", dtype_name(t.dtype), " needs ", nbytes, " bytes");
    t.offset = size_t(b);
    t.nbytes = size_t(nbytes);
    tensors_.push_back(std::move(t));
  }

  // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
  std::stable_sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.nbytes < b.nbytes;
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo& t : tensors_) {
    R1_CHECK(t.offset >= pos, p, ": tensor '", t.name, "': field 'data_offsets' [", t.offset, ", ",
             t.offset + t.nbytes, "] overlaps tensor '", prev ? prev->name : "", "' (which ends at ", pos, ")");
    R1_CHECK(t.offset == pos, p, ": tensor '", t.name, "': field 'data_offsets' begins at ", t.offset,
             " leaving a hole after byte ", pos, " of the data section (the spec forbids holes)");
    pos = t.offset + t.nbytes;
    prev = &t;
  }
  R1_CHECK(pos == data_size, p, ": data section is ", data_size, " bytes but tensors cover only ", pos,
           " (the spec forbids trailing bytes)");
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const TensorInfo* SafeTensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafeTensorsFile::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  R1_CHECK(t, path_, ": no tensor named '", name, "'");
  return *t;
}

std::vector<float> SafeTensorsFile::read_f32(const std::string& name) const {
  const TensorInfo& t = get(name);
  std::vector<float> out(size_t(t.numel()));
  convert_to_f32(t.dtype, data(t), out.data(), out.size());
  return out;
}

void SafeTensorsFile::read_f32_into(const std::string& name, float* dst, size_t numel) const {
  const TensorInfo& t = get(name);
  R1_CHECK(size_t(t.numel()) == numel, path_, ": tensor '", name, "' has ", t.numel(), " elements (shape ",
           shape_str(t.shape), "), expected ", numel);
  convert_to_f32(t.dtype, data(t), dst, numel);
}

std::vector<int64_t> SafeTensorsFile::read_i64(const std::string& name) const {
  const TensorInfo& t = get(name);
  const size_t n = size_t(t.numel());
  std::vector<int64_t> out(n);
  const uint8_t* s = data(t);
  auto conv = [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, s + i * sizeof(T), sizeof(T));
      out[i] = int64_t(v);
    }
  };
  switch (t.dtype) {
    case DType::I64: conv(int64_t(0)); break;
    case DType::I32: conv(int32_t(0)); break;
    case DType::I16: conv(int16_t(0)); break;
    case DType::I8: conv(int8_t(0)); break;
    case DType::U8: case DType::BOOL: conv(uint8_t(0)); break;
    default:
      fail(path_, ": tensor '", name, "' has dtype ", dtype_name(t.dtype),
           ", expected an integer dtype (I64, I32, I16, I8, U8, BOOL)");
  }
  return out;
}

// ---------------- checkpoint folder ----------------

std::map<std::string, std::string> SafeTensorsCheckpoint::read_index(const std::string& index_path) {
  const std::string text = read_file(index_path);
  json j = parse_json_no_duplicates(text.data(), text.data() + text.size(), index_path);
  R1_CHECK(j.is_object(), index_path, ": not a JSON object");
  auto wm = j.find("weight_map");
  R1_CHECK(wm != j.end(), index_path, ": missing field 'weight_map'");
  R1_CHECK(wm->is_object(), index_path, ": field 'weight_map' must be an object of tensor name -> shard file");
  std::map<std::string, std::string> out;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    R1_CHECK(it.value().is_string(), index_path, ": field 'weight_map': entry '", it.key(),
             "' must be a shard file name (string)");
    const std::string shard = it.value().get<std::string>();
    // Shards live in the checkpoint folder: no absolute paths, no "..".
    R1_CHECK(!shard.empty() && shard[0] != '/' && shard.find("..") == std::string::npos, index_path,
             ": field 'weight_map': entry '", it.key(), "' names shard '", shard,
             "', expected a file name inside the checkpoint folder");
    out[it.key()] = shard;
  }
  R1_CHECK(!out.empty(), index_path, ": field 'weight_map' is empty");
  return out;
}

SafeTensorsCheckpoint::SafeTensorsCheckpoint(const std::string& dir) : dir_(dir) {
  auto add_file = [&](const std::string& path) {
    files_.push_back(std::make_unique<SafeTensorsFile>(path));
    const size_t fi = files_.size() - 1;
    for (const TensorInfo& t : files_[fi]->tensors()) {
      auto [it, inserted] = where_.emplace(t.name, std::make_pair(fi, &t));
      R1_CHECK(inserted, dir_, ": tensor '", t.name, "' appears in two shards: ", files_[it->second.first]->path(),
               " and ", path);
    }
  };
  if (!is_directory(dir)) {
    R1_CHECK(file_exists(dir), dir, ": checkpoint folder or .safetensors file does not exist");
    add_file(dir);
    return;
  }
  const std::string index_path = path_join(dir, "model.safetensors.index.json");
  const std::string single = path_join(dir, "model.safetensors");
  if (!file_exists(index_path)) {
    R1_CHECK(file_exists(single), dir, ": no model.safetensors.index.json or model.safetensors in checkpoint folder");
    add_file(single);
    return;
  }
  const auto wm = read_index(index_path);
  std::map<std::string, size_t> shard_ids;
  for (const auto& [name, shard] : wm) {
    if (shard_ids.count(shard)) continue;
    const std::string sp = path_join(dir, shard);
    R1_CHECK(file_exists(sp), index_path, ": field 'weight_map': tensor '", name, "' is in shard '", shard,
             "', which does not exist (", sp, ")");
    add_file(sp);
    shard_ids[shard] = files_.size() - 1;
  }
  for (const auto& [name, shard] : wm) {
    const size_t want = shard_ids.at(shard);
    auto it = where_.find(name);
    R1_CHECK(it != where_.end() && it->second.first == want, index_path, ": field 'weight_map': tensor '", name,
             "' is listed in shard '", shard, "' but that shard has no such tensor",
             it != where_.end() ? " (it is in " + files_[it->second.first]->path() + ")" : std::string());
  }
}

std::vector<std::string> SafeTensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

const TensorInfo* SafeTensorsCheckpoint::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : it->second.second;
}

const SafeTensorsFile& SafeTensorsCheckpoint::shard_of(const std::string& name) const {
  auto it = where_.find(name);
  R1_CHECK(it != where_.end(), dir_, ": checkpoint has no tensor named '", name, "'");
  return *files_[it->second.first];
}

std::string SafeTensorsCheckpoint::file_of(const std::string& name) const { return shard_of(name).path(); }

void SafeTensorsCheckpoint::release(const std::string& name) const {
  const SafeTensorsFile& f = shard_of(name);
  f.release(*f.find(name));
}

void SafeTensorsCheckpoint::read_f32_into(const std::string& name, float* dst, size_t numel) const {
  shard_of(name).read_f32_into(name, dst, numel);
}

std::vector<float> SafeTensorsCheckpoint::read_f32(const std::string& name) const {
  return shard_of(name).read_f32(name);
}

// ---------------- writer ----------------

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors, DType float_dtype,
                       const std::map<std::string, std::string>& metadata) {
  R1_CHECK(float_dtype == DType::F32 || float_dtype == DType::BF16 || float_dtype == DType::F16, path,
           ": float_dtype ", dtype_name(float_dtype), " is not F32, BF16 or F16");
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  std::set<std::string> seen;
  std::vector<DType> stored(tensors.size());
  std::vector<size_t> numels(tensors.size());
  uint64_t pos = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    R1_CHECK(t.name != "__metadata__", path, ": tensor name '__metadata__' is reserved");
    R1_CHECK(seen.insert(t.name).second, path, ": duplicate tensor name '", t.name, "'");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      R1_CHECK(d >= 0, path, ": tensor '", t.name, "': negative dimension in shape ", shape_str(t.shape));
      R1_CHECK(!mul_overflow(n, uint64_t(d), &n), path, ": tensor '", t.name, "': element count overflows");
    }
    R1_CHECK(n == 0 || t.data, path, ": tensor '", t.name, "': data is null");
    stored[i] = t.dtype == DType::F32 ? float_dtype : t.dtype;
    numels[i] = size_t(n);
    const uint64_t nb = n * dtype_size(stored[i]);
    h[t.name] = {{"dtype", dtype_name(stored[i])}, {"shape", t.shape}, {"data_offsets", {pos, pos + nb}}};
    pos += nb;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  atomic_write(path, [&](FILE* f) {
    auto put = [&](const void* p, size_t n) {
      R1_CHECK(n == 0 || std::fwrite(p, 1, n, f) == n, path, ": short write");
    };
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
    put(len, 8);
    put(header.data(), header.size());
    std::vector<uint16_t> buf;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorToWrite& t = tensors[i];
      if (t.dtype == stored[i]) {
        put(t.data, numels[i] * dtype_size(t.dtype));
        continue;
      }
      const float* src = static_cast<const float*>(t.data);
      constexpr size_t kBlock = size_t(1) << 20;
      for (size_t b = 0; b < numels[i]; b += kBlock) {
        const size_t m = std::min(kBlock, numels[i] - b);
        buf.resize(m);
        convert_from_f32(stored[i], src + b, buf.data(), m);
        put(buf.data(), m * 2);
      }
    }
  });
}

}  // namespace r1
