// A heap array aligned to 64 bytes (one cache line, one AVX-512 register). oneDNN's AMX kernels read a source that
// is not 64-byte aligned 15-30% slower on this machine (bench/bench_kernels_bf16.cpp: bf16 2048^3 on 2 threads,
// 1527 GFLOP/s aligned, 1127 at an offset of 16 bytes; same kernel, same sums), and std::vector's blocks start 16
// bytes past a page.
//
// Large blocks (>= 16 MiB: parameters, gradients, optimizer state, activations, the lm_head's buffers and copies)
// start on a 2 MiB boundary and are marked for transparent huge pages (madvise MADV_HUGEPAGE) before they are
// first touched. Linux here gives huge pages only to regions that ask ("madvise" mode), and with 4 KB pages the
// passes over hundreds of MB (AdamW, the bf16 copies' refresh, the lm_head's products) miss the TLB: the bf16
// training step at hidden 1024 ran ~10% faster with huge pages (bench_train_step). A block's last huge page may
// be only partly used, so smaller blocks (a layer's packed weights) keep 4 KB pages: from 4 MiB on, the bf16
// load of a 0.5B model (bench_load_rss) grew by 190 MB. A hint only: where the kernel declines, nothing changes.
#pragma once
#include "core/check.h"

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

namespace r1 {

// bytes (> 0) aligned to 64 bytes, or for a large block to 2 MiB and marked for huge pages; nullptr when out of
// memory; released with std::free.
inline void* allocate_block(size_t bytes) {
  constexpr size_t kHugeMin = size_t(16) << 20, kHuge = size_t(2) << 20, kLine = 64;
  if (bytes < kHugeMin) return std::aligned_alloc(kLine, (bytes + kLine - 1) / kLine * kLine);
  bytes = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
  if (p) madvise(p, bytes, MADV_HUGEPAGE);  // a hint: its failure changes nothing
  return p;
}

// std::vector's allocator on allocate_block, for the large float arrays a model and its optimizer keep.
template <class T>
struct BlockAllocator {
  using value_type = T;
  BlockAllocator() = default;
  template <class U>
  BlockAllocator(const BlockAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = allocate_block(n * sizeof(T) ? n * sizeof(T) : 1);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U>
  bool operator==(const BlockAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const BlockAllocator<U>&) const { return false; }
};
template <class T>
using BlockVector = std::vector<T, BlockAllocator<T>>;

template <class T>
class AlignedArray {
 public:
  // Room for n elements; the contents are not kept when it grows (scratch use).
  T* get(size_t n) {
    if (n > cap_) allocate(n);
    size_ = n;
    return p_.get();
  }
  // n zeros (a fresh block when it grows, the old one zeroed otherwise).
  void assign_zero(size_t n) {
    get(n);
    if (n) std::memset(p_.get(), 0, n * sizeof(T));
  }
  void reset() {
    p_.reset();
    cap_ = size_ = 0;
  }
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }

 private:
  void allocate(size_t n) {
    p_.reset();
    const size_t bytes = n * sizeof(T);
    p_.reset(static_cast<T*>(allocate_block(bytes)));
    R1_CHECK(p_ != nullptr, "out of memory: could not allocate ", bytes, " bytes");
    cap_ = n;
  }
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> p_;
  size_t cap_ = 0, size_ = 0;
};

}  // namespace r1
