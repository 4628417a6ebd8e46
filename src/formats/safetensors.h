// Reader and writer for the safetensors format (huggingface/safetensors; spec in shared/refs/formats/README.md):
//   8 bytes little-endian u64 N | N bytes JSON header (starts with '{', may be padded with spaces) | data section.
// The reader memory-maps the file and validates everything before any tensor is touched: header length, JSON
// syntax, no duplicate keys, the fields of every entry (dtype, shape, data_offsets), nbytes == numel * dtype size,
// and that the tensors tile the data section exactly (no overlaps, no holes, nothing past the end).
// Every problem throws one r1::Error naming the file, the tensor and the field.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mmap.h"
#include "formats/dtype.h"

namespace r1 {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t offset = 0, nbytes = 0;  // offset within the data section
  int64_t numel() const;
};

std::string shape_str(const std::vector<int64_t>& shape);  // "[2, 3]"

class SafeTensorsFile {
 public:
  explicit SafeTensorsFile(const std::string& path);  // mmap + full validation; throws r1::Error naming path + field
  // Parses a safetensors image held in memory (copied); `name` stands in for the path in error messages.
  static SafeTensorsFile from_memory(const void* bytes, size_t size, const std::string& name);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file (data offset) order
  const TensorInfo* find(const std::string& name) const;               // nullptr if absent
  const uint8_t* data(const TensorInfo& t) const { return data_ + t.offset; }  // raw little-endian bytes
  std::vector<float> read_f32(const std::string& name) const;  // converts any float/int dtype; error if absent
  void read_f32_into(const std::string& name, float* dst, size_t numel) const;  // error if numel differs
  std::vector<int64_t> read_i64(const std::string& name) const;  // from I64/I32/I16/I8/U8/BOOL
  // Drops this process's pages of tensor t's bytes (FileBytes::release): read tensor by tensor, a checkpoint then
  // holds about one tensor's pages at a time instead of the whole file. The bytes stay readable.
  void release(const TensorInfo& t) const { bytes_.release(data(t), t.nbytes); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  const std::string& path() const { return path_; }

 private:
  SafeTensorsFile() = default;
  void parse(const uint8_t* bytes, size_t size);
  const TensorInfo& get(const std::string& name) const;  // throws naming the file if absent

  std::string path_;
  FileBytes bytes_;  // the mapped file or a copy (shared, so the object is movable)
  const uint8_t* data_ = nullptr;      // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A Hugging Face checkpoint folder: model.safetensors, or model.safetensors.index.json + shards (weight_map).
// `dir` may also be a single .safetensors file. Every shard is opened (and validated) up front.
// A tensor named in the index must be in the shard the index names; a tensor in two shards is an error.
// Tensors present in a shard but not named in the index are still found.
class SafeTensorsCheckpoint {
 public:
  explicit SafeTensorsCheckpoint(const std::string& dir);
  std::vector<std::string> names() const;                 // every tensor name across shards, sorted
  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  void read_f32_into(const std::string& name, float* dst, size_t numel) const;
  std::vector<float> read_f32(const std::string& name) const;
  std::string file_of(const std::string& name) const;      // shard path (for error messages); throws if absent
  const SafeTensorsFile& shard_of(const std::string& name) const;  // for raw access via data(); throws if absent
  void release(const std::string& name) const;  // SafeTensorsFile::release of that tensor; throws if absent
  const std::string& dir() const { return dir_; }

  // Parses and validates model.safetensors.index.json only (no shard is opened): tensor name -> shard file name.
  static std::map<std::string, std::string> read_index(const std::string& index_path);

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafeTensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;  // name -> (file index, info)
};

struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype;       // dtype of `data`
  const void* data;  // numel * dtype_size(dtype) bytes, row-major
};

// Writes atomically (core/io.h atomic_write). Float tensors with F32 source are stored as `float_dtype`
// (F32, BF16 or F16, rounded to nearest even); all other tensors are stored as they are. Data is laid out and
// the header is written in the given order; the header is padded with spaces to a multiple of 8 bytes.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       DType float_dtype = DType::F32, const std::map<std::string, std::string>& metadata = {});

}  // namespace r1
