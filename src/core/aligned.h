// A heap array aligned to 64 bytes (one cache line, one AVX-512 register). oneDNN's AMX kernels read a source that
// is not 64-byte aligned 15-30% slower on this machine (bench/bench_kernels_bf16.cpp: bf16 2048^3 on 2 threads,
// 1527 GFLOP/s aligned, 1127 at an offset of 16 bytes; same kernel, same sums), and std::vector's blocks start 16
// bytes past a page.
#pragma once
#include "core/check.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace r1 {

template <class T>
class AlignedArray {
 public:
  static constexpr size_t kAlign = 64;
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
    const size_t bytes = (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    p_.reset(static_cast<T*>(std::aligned_alloc(kAlign, bytes)));
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
