// The bytes of a whole file, read-only: memory-mapped from disk (MappedFile, core/io.h) or copied from memory.
// Copies share the bytes, so pointers into data() (the formats' tensor views) stay valid, and the owner stays
// movable, for as long as any copy lives.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace r1 {

class FileBytes {
 public:
  FileBytes() = default;
  static FileBytes map(const std::string& path);           // throws r1::Error naming the path
  static FileBytes copy(const void* bytes, size_t size);  // an owned copy of an image held in memory
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Drops this process's pages of the bytes [p, p + n) (rounded out to whole pages) from a mapped file: they stop
  // counting in its resident set and are read again from the file (the page cache) if touched later, so the bytes
  // stay valid. A loader calls it after each tensor so that a big checkpoint's pages do not pile up in peak RSS.
  // Nothing for a copy held in memory.
  void release(const uint8_t* p, size_t n) const;

 private:
  std::shared_ptr<const void> owner_;  // the MappedFile or the buffer
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace r1
