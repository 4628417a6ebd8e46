// Key/value cache for inference: per layer, per sequence slot, K and V as [NKV, max_len, HS] blocks, head-major: a
// head's keys are one contiguous run (attention_forward reads them with kv_stride = HS), which the hardware
// prefetcher follows; rows KVD apart it did not, and decoding, attention's time is mostly these reads (one decoded
// row over 64 keys from memory: 4.0 us strided, 2.1 us contiguous, one core, throwaway harness). In fp32 or, with
// kv_dtype bf16, as bf16 (half the memory; keys and values stored as bf16 bits, attention_forward_kv_bf16 reads
// them). The whole cache is planned and allocated once, from the number of slots and the longest sequence, so a
// run that cannot fit fails before any work with a message that names the sizes. Pages are committed lazily by
// the OS as positions are written.
#pragma once
#include "core/precision.h"
#include "model/config.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <memory>
#include <vector>

namespace r1 {

// Physical memory of this machine in bytes (sysconf); 0 if unknown.
size_t physical_memory_bytes();
// Default KV-cache budget: this fraction of physical memory.
constexpr double kDefaultKVMemoryFraction = 0.5;

class KVCache {
 public:
  // Bytes a cache of n_slots sequences of up to max_len positions needs (K and V, every layer, 4 or 2 bytes each).
  static size_t bytes_needed(const ModelConfig& cfg, int n_slots, int max_len, KVDtype dt = KVDtype::F32);

  // Throws r1::Error (naming slots, max_len, layers, KV width and both byte counts) when bytes_needed exceeds
  // budget_bytes; budget_bytes == 0 means kDefaultKVMemoryFraction of physical memory. Also checks
  // max_len <= max_position_embeddings.
  KVCache(const ModelConfig& cfg, int n_slots, int max_len, size_t budget_bytes = 0, KVDtype dt = KVDtype::F32);

  int n_slots() const { return n_slots_; }
  int max_len() const { return max_len_; }
  int kvd() const { return kvd_; }
  size_t bytes() const { return bytes_; }

  KVDtype dtype() const { return dtype_; }
  // [NKV, max_len, HS] blocks of layer l, slot s: fp32 (dtype F32) or bf16 bit patterns (dtype BF16); kv head j's
  // keys start head_stride() elements after head j - 1's, position t's HS values t * HS elements into them.
  float* k(int l, int s) { return (float*)elem(block_offset(l, s)); }
  float* v(int l, int s) { return (float*)elem(block_offset(l, s) + slot_elems_); }
  const float* k(int l, int s) const { return (const float*)elem(block_offset(l, s)); }
  const float* v(int l, int s) const { return (const float*)elem(block_offset(l, s) + slot_elems_); }
  uint16_t* k16(int l, int s) { return (uint16_t*)elem(block_offset(l, s)); }
  uint16_t* v16(int l, int s) { return (uint16_t*)elem(block_offset(l, s) + slot_elems_); }

  size_t head_stride() const { return (size_t)max_len_ * hs_; }

  // Number of valid positions in slot s (positions 0..len-1 hold K/V).
  int len(int s) const { return len_[s]; }
  void set_len(int s, int n);
  // Copies positions [0, n) of every layer's K and V from slot src into slot dst and sets len(dst) = n.
  void copy_prefix(int dst, int src, int n);

 private:
  size_t block_offset(int l, int s) const { return ((size_t)l * n_slots_ + s) * 2 * slot_elems_; }  // elements
  char* elem(size_t i) const { return base_ + i * esize_; }
  int n_layers_ = 0, n_slots_ = 0, max_len_ = 0, kvd_ = 0, hs_ = 0;
  KVDtype dtype_ = KVDtype::F32;
  size_t esize_ = 4;  // bytes per element
  size_t slot_elems_ = 0, bytes_ = 0;
  std::unique_ptr<float[]> mem_;
  char* base_ = nullptr;
  std::vector<int> len_;
};

}  // namespace r1
