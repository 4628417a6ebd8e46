#include "core/mmap.h"

#include "core/io.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace r1 {

FileBytes FileBytes::map(const std::string& path) {
  auto mf = std::make_shared<MappedFile>(path);
  FileBytes b;
  b.data_ = mf->data;
  b.size_ = mf->size;
  b.owner_ = std::move(mf);
  b.mapped_ = true;
  return b;
}

void FileBytes::release(const uint8_t* p, size_t n) const {
  if (!mapped_ || n == 0 || p < data_ || p >= data_ + size_) return;
  static const uintptr_t page = (uintptr_t)::sysconf(_SC_PAGESIZE);
  const uintptr_t lo = (uintptr_t)p & ~(page - 1);  // the mapping starts on a page, so lo >= data_'s page
  const uintptr_t hi = std::min((uintptr_t)p + n, (uintptr_t)(data_ + size_));
  // MADV_DONTNEED on a read-only private file mapping only unmaps the pages: no data is lost (advice, so a
  // failure changes nothing but the memory held)
  ::madvise((void*)lo, hi - lo, MADV_DONTNEED);
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
