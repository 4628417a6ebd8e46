#include "model/kv_cache.h"
#include "core/check.h"

#include <unistd.h>

#include <cstring>

namespace r1 {

size_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

size_t KVCache::bytes_needed(const ModelConfig& cfg, int n_slots, int max_len, KVDtype dt) {
  return (size_t)cfg.L * (size_t)n_slots * 2 * (size_t)max_len * (size_t)cfg.KVD() * (dt == KVDtype::BF16 ? 2 : 4);
}

static std::string mib(size_t b) { return str((b + (1 << 20) - 1) >> 20, " MiB"); }

KVCache::KVCache(const ModelConfig& cfg, int n_slots, int max_len, size_t budget_bytes, KVDtype dt) {
  R1_CHECK(dt != KVDtype::Auto, "KV cache: kv_dtype auto must be resolved to f32 or bf16 first");
  R1_CHECK(n_slots > 0, "KV cache: the number of sequence slots must be > 0, got ", n_slots);
  R1_CHECK(max_len > 0, "KV cache: the maximum sequence length must be > 0, got ", max_len);
  R1_CHECK(max_len <= cfg.max_pos, "KV cache: maximum sequence length ", max_len,
           " (prompt + max new tokens) exceeds the model's max_position_embeddings ", cfg.max_pos);
  size_t need = bytes_needed(cfg, n_slots, max_len, dt);
  size_t budget = budget_bytes;
  if (budget == 0) budget = (size_t)(kDefaultKVMemoryFraction * (double)physical_memory_bytes());
  R1_CHECK(need <= budget, "KV cache needs ", mib(need), " (", cfg.L, " layers x ", n_slots, " sequences x ", max_len,
           " positions x ", cfg.KVD(), " K/V width x 2 (K and V) x ", dt == KVDtype::BF16 ? 2 : 4, " bytes = ", need, " bytes) but the budget is ",
           mib(budget), " (", budget, " bytes", budget_bytes == 0 ? ", half of physical memory" : "",
           "); lower the batch size (max live sequences), the prompt length or max new tokens, or raise the budget");
  n_layers_ = cfg.L;
  n_slots_ = n_slots;
  max_len_ = max_len;
  kvd_ = cfg.KVD();
  hs_ = cfg.HS;
  dtype_ = dt;
  esize_ = dt == KVDtype::BF16 ? 2 : 4;
  slot_elems_ = (size_t)max_len * kvd_;
  bytes_ = need;
  // Uninitialised on purpose: only positions below len() are ever read, and untouched pages cost nothing.
  mem_.reset(new float[need / sizeof(float) + 16]);
  base_ = (char*)mem_.get();
  len_.assign(n_slots, 0);
}

void KVCache::set_len(int s, int n) {
  R1_CHECK(s >= 0 && s < n_slots_, "KV cache: slot ", s, " out of range [0, ", n_slots_, ")");
  R1_CHECK(n >= 0 && n <= max_len_, "KV cache: length ", n, " out of range [0, ", max_len_, "]");
  len_[s] = n;
}

void KVCache::copy_prefix(int dst, int src, int n) {
  R1_CHECK(dst >= 0 && dst < n_slots_ && src >= 0 && src < n_slots_, "KV cache: copy_prefix slots ", src, " -> ", dst,
           " out of range [0, ", n_slots_, ")");
  R1_CHECK(n >= 0 && n <= len_[src], "KV cache: copy_prefix of ", n, " positions but slot ", src, " holds ", len_[src]);
  if (dst != src) {
    const size_t bytes = (size_t)n * hs_ * esize_;  // one head's first n positions
    for (int l = 0; l < n_layers_; l++)
      for (size_t kv = 0; kv < 2; kv++)  // K then V
        for (int j = 0; j < kvd_ / hs_; j++) {  // each kv head
          const size_t at = kv * slot_elems_ + (size_t)j * head_stride();
          std::memcpy(elem(block_offset(l, dst) + at), elem(block_offset(l, src) + at), bytes);
        }
  }
  len_[dst] = n;
}

}  // namespace r1
