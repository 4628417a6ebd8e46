#include "model/infer.h"
#include "core/bits.h"
#include "core/check.h"
#include "kernels/kernels.h"

#include <omp.h>

#include <cstring>

namespace r1 {

Inference::Inference(const Model& model, KVCache& cache, bool pack_weights, bool row_invariant)
    : m_(model), cache_(cache), row_invariant_(row_invariant) {
  R1_CHECK(model.cfg.head == Head::LM, "Inference: this model is a reward model (", model.cfg.architecture(),
           "): it scores sequences (Model::forward_score) and cannot generate tokens; generation needs a causal LM");
  R1_CHECK(cache.kvd() == model.cfg.KVD(), "Inference: the KV cache width ", cache.kvd(),
           " does not match the model's num_key_value_heads * head_dim = ", model.cfg.KVD());
  const ModelConfig& c = model.cfg;
  const bool lora = model.adapters_active();
  if (model.precision() == Precision::BF16) {
    // The trainer's own bf16 copies and kernels (its rows do not depend on the batch): the same products, the same
    // bits. Adapters stay separate fp32 products, as in the trainer.
    bf16_ = &model.bf16_layers();
    bf16_head_ = model.bf16_head();
    lora_unmerged_ = lora;
    return;
  }
  lora_unmerged_ = lora && !pack_weights;
  if (pack_weights) {
    // With adapters, the matrix a layer's products read: the base's, or a merged copy W + s·B A.
    auto matrix = [&](int l, const float* w, size_t rows, size_t cols, LoraTarget first, LoraTarget last) {
      if (!lora) return w;
      const Lora& lo = model.lora();
      std::vector<float>* mw = nullptr;
      for (int t = (int)first; t <= (int)last; t++) {
        const LoraSite* st = lo.site(l, (LoraTarget)t);
        if (!st) continue;
        if (!mw) {
          merged_.emplace_back(w, w + rows * cols);
          mw = &merged_.back();
        }
        lora_merge_into(mw->data(), lo.params.data(), *st, lo.cfg.r, lo.cfg.scale());
      }
      return mw ? (const float*)mw->data() : w;
    };
    merged_.reserve((size_t)c.L * 4);  // no reallocation: the packed objects keep pointers into it
    for (int l = 0; l < c.L; l++) {
      const LayerWeights& lw = model.w.layers[l];
      packed_.push_back(LayerPacked{
          PackedMatmul(matrix(l, lw.wqkv, c.QKV(), c.C, LoraTarget::Q, LoraTarget::V), c.QKV(), c.C),
          PackedMatmul(matrix(l, lw.wo, c.C, c.QD(), LoraTarget::O, LoraTarget::O), c.C, c.QD()),
          PackedMatmul(matrix(l, lw.wgu, 2 * (size_t)c.FF, c.C, LoraTarget::Gate, LoraTarget::Up), 2 * c.FF, c.C),
          PackedMatmul(matrix(l, lw.wd, c.C, c.FF, LoraTarget::Down, LoraTarget::Down), c.C, c.FF)});
    }
    head_ = std::make_unique<PackedMatmul>(model.w.lm_head, c.V, c.C);
  }
}

// Without packing, the adapters' share of one fused product as Model::forward adds it (lora_forward):
// u = s · x A^T, y += u B^T.
void Inference::lora_add(float* y, int ldy, const float* x, int N, int layer, LoraTarget first, LoraTarget last) {
  if (!lora_unmerged_) return;
  const Lora& lo = m_.lora();
  const int r = lo.cfg.r;
  for (int t = (int)first; t <= (int)last; t++) {
    const LoraSite* st = lo.site(layer, (LoraTarget)t);
    if (!st) continue;
    lora_u_.resize((size_t)N * r);
    lora_forward(y, ldy, lora_u_.data(), x, lo.params.data(), *st, N, r, lo.cfg.scale());
  }
}

int Inference::bf16_matrices() const {
  int n = head_ && head_->bf16_weights();
  for (const auto& p : packed_) n += p.qkv.bf16_weights() + p.o.bf16_weights() + p.gu.bf16_weights() + p.down.bf16_weights();
  return n;
}

void Inference::ensure(int rows, int logit_rows) {
  const ModelConfig& c = m_.cfg;
  if (rows > cap_rows_) {
    size_t N = rows;
    x_.resize(N * c.C);
    ln_.resize(N * c.C);
    qkv_.resize(N * c.QKV());
    att_.resize(N * c.QD());
    tmp_.resize(N * c.C);
    gu_.resize(N * 2 * (size_t)c.FF);
    h_.resize(N * c.FF);
    ids_.resize(N);
    pos_.resize(N);
    cap_rows_ = rows;
  }
  if (logit_rows > cap_logit_rows_) {
    fin_.resize((size_t)logit_rows * c.C);
    logits_.resize((size_t)logit_rows * c.V);
    cap_logit_rows_ = logit_rows;
  }
}

// The new rows' keys and values into each sequence's cache (a bf16 cache rounds them as it stores them).
void Inference::store_kv(int l, const std::vector<InferSeq>& seqs, const float* qkv) {
  const ModelConfig& c = m_.cfg;
  const int QKV = c.QKV(), QD = c.QD(), KVD = c.KVD(), HS = c.HS;
  const bool kv16 = cache_.dtype() == KVDtype::BF16;
  const size_t hstride = cache_.head_stride();
  for (size_t s = 0; s < seqs.size(); s++) {
    const InferSeq& q = seqs[s];
    const int len = cache_.len(q.slot), r0 = row0_[s];
    for (int t = 0; t < q.n; t++) {
      const float* row = qkv + (size_t)(r0 + t) * QKV;
      for (int j = 0; j < c.NKV; j++) {  // head-major: kv head j's values at position len + t
        const size_t at = (size_t)j * hstride + (size_t)(len + t) * HS;
        const float *kr = row + QD + (size_t)j * HS, *vr = row + QD + KVD + (size_t)j * HS;
        if (kv16) {  // (inline: a kernel call per head row costs more than its 64 values)
          uint16_t *kd = cache_.k16(l, q.slot) + at, *vd = cache_.v16(l, q.slot) + at;
          for (int i = 0; i < HS; i++) kd[i] = f32_to_bf16_bits(kr[i]), vd[i] = f32_to_bf16_bits(vr[i]);
        } else {
          std::memcpy(cache_.k(l, q.slot) + at, kr, sizeof(float) * HS);
          std::memcpy(cache_.v(l, q.slot) + at, vr, sizeof(float) * HS);
        }
      }
    }
  }
}

const float* Inference::forward(const std::vector<InferSeq>& seqs, bool all_logits) {
  const ModelConfig& c = m_.cfg;
  const int S = (int)seqs.size();
  R1_CHECK(S > 0, "Inference::forward: no sequences");
  const int C = c.C, QKV = c.QKV(), QD = c.QD(), KVD = c.KVD(), FF = c.FF, V = c.V;
  const int NH = c.NH, NKV = c.NKV, HS = c.HS;

  // Row layout: sequence s owns rows [row0[s], row0[s] + n_s).
  row0_.assign(S + 1, 0);
  for (int s = 0; s < S; s++) {
    const InferSeq& q = seqs[s];
    R1_CHECK(q.slot >= 0 && q.slot < cache_.n_slots(), "Inference::forward: slot ", q.slot, " out of range [0, ",
             cache_.n_slots(), ")");
    R1_CHECK(q.n >= 1, "Inference::forward: sequence ", s, " adds ", q.n, " tokens (need >= 1)");
    R1_CHECK(cache_.len(q.slot) + q.n <= cache_.max_len(), "Inference::forward: slot ", q.slot, " holds ",
             cache_.len(q.slot), " positions; adding ", q.n, " exceeds the planned maximum length ", cache_.max_len());
    for (int t = 0; t < s; t++) R1_CHECK(seqs[t].slot != q.slot, "Inference::forward: slot ", q.slot, " appears twice");
    row0_[s + 1] = row0_[s] + q.n;
  }
  const int N = row0_[S];
  ensure(N, all_logits ? N : S);
  for (int s = 0; s < S; s++) {
    const InferSeq& q = seqs[s];
    int base = cache_.len(q.slot);
    for (int t = 0; t < q.n; t++) {
      int id = q.ids[t];
      R1_CHECK(id >= 0 && id < V, "token id ", id, " (sequence ", s, ", new token ", t,
               ") is outside the vocabulary [0, ", V, ")");
      ids_[row0_[s] + t] = id;
      pos_[row0_[s] + t] = base + t;
    }
  }
  rows += N;
  calls++;

  if (bf16_) bf16_ = &m_.bf16_layers();  // rewrites the copies if the weights changed since
  const Weights& w = m_.w;
  float *x = x_.data(), *ln = ln_.data(), *qkv = qkv_.data(), *att = att_.data(), *tmp = tmp_.data();
  float *gu = gu_.data(), *h = h_.data();
  const float* rope = m_.rope.data();

  m_.embed(x, ids_.data(), N);  // w.wte, or an inference-only model's bf16 table
  for (int l = 0; l < c.L; l++) {
    const LayerWeights& lw = w.layers[l];
    LayerPacked* pk = packed_.empty() ? nullptr : &packed_[l];
    const Model::Bf16Layer* bl = bf16_ ? &(*bf16_)[l] : nullptr;
    rmsnorm_forward(ln, (float*)nullptr, x, lw.ln1_w, N, C, c.eps);
    if (bl) bl->qkv.forward(qkv, ln, lw.bqkv, N);
    else if (pk) pk->qkv.forward(qkv, ln, lw.bqkv, N, row_invariant_);
    else matmul_forward(qkv, ln, lw.wqkv, lw.bqkv, N, QKV, C);
    lora_add(qkv, QKV, ln, N, l, LoraTarget::Q, LoraTarget::V);
    if (c.qk_norm) {  // in place: allowed at inference
      head_rmsnorm_forward(qkv, (float*)nullptr, qkv, lw.q_norm, N, NH, HS, QKV, c.eps);
      head_rmsnorm_forward(qkv + QD, (float*)nullptr, qkv + QD, lw.k_norm, N, NKV, HS, QKV, c.eps);
    }
    rope_forward(qkv, pos_.data(), rope, c.max_pos, N, NH, HS, QKV);
    rope_forward(qkv + QD, pos_.data(), rope, c.max_pos, N, NKV, HS, QKV);
    if (bl) round_to_bf16_values(qkv + QD, N, 2 * KVD, QKV);  // bf16 mode: as the trainer's forward
    store_kv(l, seqs, qkv);  // append the new keys/values to each sequence's cache ...
    const bool kv16 = cache_.dtype() == KVDtype::BF16;
    // ... then attend against the whole cache, spread over every thread (a head's arithmetic is the same whichever
    // task runs it): one task per (sequence, key/value head), its query heads one after the other, so that the
    // second reads the keys and values from cache (decoding, reading the cache from memory is most of attention's
    // time); one task per (sequence, query head) when there are too few of those to keep every thread busy.
    const int rep = NH / NKV;
    auto attend = [&](int s, int h) {
      const InferSeq& q = seqs[s];
      const int Tk = cache_.len(q.slot) + q.n, r0 = row0_[s];
      const size_t kv_off = (size_t)(h / rep) * cache_.head_stride();
      float* out = att + (size_t)r0 * QD + (size_t)h * HS;
      const float* qs = qkv + (size_t)r0 * QKV + (size_t)h * HS;
      if (kv16)
        attention_forward_kv_bf16(out, qs, cache_.k16(l, q.slot) + kv_off, cache_.v16(l, q.slot) + kv_off, q.n, Tk, 1,
                                  1, HS, QKV, HS, QD, false);
      else
        attention_forward(out, (float*)nullptr, qs, cache_.k(l, q.slot) + kv_off, cache_.v(l, q.slot) + kv_off, q.n,
                          Tk, 1, 1, HS, QKV, HS, QD, false, bf16_ != nullptr);
    };
    const int per_task = S * NKV >= 4 * omp_get_max_threads() ? rep : 1, tasks = S * NH / per_task;
#pragma omp parallel for schedule(dynamic, 1) if (tasks > 1)
    for (int i = 0; i < tasks; i++)
      for (int j = 0; j < per_task; j++) {
        const int hi = i * per_task + j;  // (sequence, query head), query heads of one kv head adjacent
        attend(hi / NH, hi % NH);
      }
    if (bl) bl->o.forward(tmp, att, nullptr, N);
    else if (pk) pk->o.forward(tmp, att, nullptr, N, row_invariant_);
    else matmul_forward(tmp, att, lw.wo, nullptr, N, C, QD);
    lora_add(tmp, C, att, N, l, LoraTarget::O, LoraTarget::O);
    add_inplace(x, tmp, (size_t)N * C);  // x + o_proj(att): same sum as the training forward's xmid
    rmsnorm_forward(ln, (float*)nullptr, x, lw.ln2_w, N, C, c.eps);
    if (bl) bl->gu.forward(gu, ln, nullptr, N);
    else if (pk) pk->gu.forward(gu, ln, nullptr, N, row_invariant_);
    else matmul_forward(gu, ln, lw.wgu, nullptr, N, 2 * FF, C);
    lora_add(gu, 2 * FF, ln, N, l, LoraTarget::Gate, LoraTarget::Up);
    if (bl) swiglu_forward_vexp(h, gu, N, FF);  // bf16 mode: as the trainer's forward
    else swiglu_forward(h, gu, N, FF);
    if (bl) bl->down.forward(tmp, h, nullptr, N);
    else if (pk) pk->down.forward(tmp, h, nullptr, N, row_invariant_);
    else matmul_forward(tmp, h, lw.wd, nullptr, N, C, FF);
    lora_add(tmp, C, h, N, l, LoraTarget::Down, LoraTarget::Down);
    add_inplace(x, tmp, (size_t)N * C);
  }
  for (int s = 0; s < S; s++) cache_.set_len(seqs[s].slot, cache_.len(seqs[s].slot) + seqs[s].n);

  int R = all_logits ? N : S;
  float* fin = fin_.data();
  if (all_logits) {
    rmsnorm_forward(fin, (float*)nullptr, x, w.lnf_w, N, C, c.eps);
  } else {
    for (int s = 0; s < S; s++) std::memcpy(ln + (size_t)s * C, x + (size_t)(row0_[s + 1] - 1) * C, sizeof(float) * C);
    rmsnorm_forward(fin, (float*)nullptr, ln, w.lnf_w, S, C, c.eps);
  }
  if (bf16_head_) bf16_head_->forward(logits_.data(), fin, nullptr, R);
  else if (head_) head_->forward(logits_.data(), fin, nullptr, R, row_invariant_);
  else matmul_forward(logits_.data(), fin, w.lm_head, nullptr, R, V, C);
  return logits_.data();
}

}  // namespace r1
