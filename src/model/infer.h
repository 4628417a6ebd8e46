// Inference forward with a KV cache, for many sequences at once. Each call appends n_i new tokens to each
// sequence (prefill: a whole prompt; decode: one token) and returns logits. The layers run the SAME kernels as
// Model::forward (rmsnorm_forward, the matrix products over every new row of every sequence stacked together,
// head_rmsnorm_forward, rope_forward at each row's absolute position, attention_forward with Tq = n_i against
// Tk = cached + n_i keys, swiglu_forward, add_inplace), so its logits equal the training forward's up to the
// summation order of the matrix products (oneDNN's matmul over packed weights here, sgemm in training; tested
// within 1e-5 on log-probs).
#pragma once
#include "model/kv_cache.h"
#include "model/transformer.h"
#include "kernels/kernels.h"

#include <memory>

#include <vector>

namespace r1 {

struct InferSeq {
  int slot;        // KV-cache slot; the new tokens go to positions cache.len(slot) ...
  const int* ids;  // [n] new token ids
  int n;           // >= 1
};

class Inference {
 public:
  // pack_weights: reorder every weight matrix once into oneDNN's preferred blocked layout (kernels.h PackedMatmul)
  // for the life of this object, which must then not outlive a change of the model's weights. Costs a copy of
  // the matrices; decode at batch > 1 gains the most. false: matmul_forward on the model's own weights.
  // row_invariant: every product takes the packed path (PackedMatmul::forward), so that a row's logits do not
  // depend on the other rows of the call (GenConfig::batch_invariant).
  Inference(const Model& model, KVCache& cache, bool pack_weights = true, bool row_invariant = false);
  // Whether the packed products are available (oneDNN has a fast kernel for them here): without them the rows are
  // not batch-invariant.
  // In bf16 (the model's precision) the products are the trainer's bf16 ones, batch-invariant by construction.
  bool packed() const { return bf16_ || (head_ && head_->packed()); }

  // Runs the new tokens of every sequence through the model, writes their K/V into the cache and advances
  // cache.len(slot) by n. Returns logits [seqs.size(), V] of each sequence's last new token, or [Σ n_i, V]
  // (sequence-major) when all_logits. The pointer stays valid until the next call.
  // A slot may appear at most once per call.
  const float* forward(const std::vector<InferSeq>& seqs, bool all_logits = false);

  // Rows (tokens) run through the layers and forward calls so far.
  long long rows = 0, calls = 0;

  const Model& model() const { return m_; }
  // Weight matrices whose entries are all bf16 values (a bf16 checkpoint's), multiplied from a bf16 copy when a
  // call has fewer than 4 rows (PackedMatmul::bf16_weights): decoding one or two sequences reads half the bytes.
  int bf16_matrices() const;
  KVCache& cache() { return cache_; }

 private:
  const Model& m_;
  KVCache& cache_;
  bool row_invariant_ = false;
  int cap_rows_ = 0, cap_logit_rows_ = 0;
  std::vector<float> x_, ln_, qkv_, att_, tmp_, gu_, h_, fin_, logits_;
  std::vector<int> ids_, pos_, row0_;
  struct LayerPacked {
    PackedMatmul qkv, o, gu, down;
  };
  std::vector<LayerPacked> packed_;  // [L] when packing
  // Adapters (when the model's are active). Packing: each adapted matrix is packed merged, W + s·B A, so that a
  // decode step costs what the base's does; merged_ keeps those matrices for the products that read them
  // directly (a few rows). Without packing: the adapter products are added after each base product (lora_add).
  std::vector<std::vector<float>> merged_;
  bool lora_unmerged_ = false;
  std::vector<float> lora_u_;  // [N, r]
  void lora_add(float* y, int ldy, const float* x, int N, int layer, LoraTarget first, LoraTarget last);
  std::unique_ptr<PackedMatmul> head_;
  const std::vector<Model::Bf16Layer>* bf16_ = nullptr;  // the model's bf16 copies (precision bf16), else nullptr
  const Bf16Matmul* bf16_head_ = nullptr;
  void ensure(int rows, int logit_rows);
  void store_kv(int l, const std::vector<InferSeq>& seqs, const float* qkv);
};

}  // namespace r1
