#include "core/mmap.h"

#include "core/io.h"

#include <vector>

namespace r1 {

FileBytes FileBytes::map(const std::string& path) {
  auto mf = std::make_shared<MappedFile>(path);
  FileBytes b;
  b.data_ = mf->data;
  b.size_ = mf->size;
  b.owner_ = std::move(mf);
  return b;
}

FileBytes FileBytes::copy(const void* bytes, size_t size) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  auto buf = std::make_shared<std::vector<uint8_t>>(p, p + size);
  FileBytes b;
  b.data_ = buf->data();
  b.size_ = buf->size();
  b.owner_ = std::move(buf);
  return b;
}

}  // namespace r1
