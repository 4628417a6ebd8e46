#include "model/transformer.h"
#include "core/check.h"
#include "core/rng.h"
#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace r1 {

// ---- parameter layout -----------------------------------------------------------------------------------------
// Block order: wte, then per layer [ln1_w, wqkv, bqkv?, q_norm?, k_norm?, wo, ln2_w, wgu, wd], lnf_w, then the head:
// lm_head? (Head::LM, untied) or score (Head::Score: no lm_head whatever tie_word_embeddings says).
std::vector<TensorSpec> tensor_specs(const ModelConfig& c) {
  std::vector<TensorSpec> s;
  size_t off = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    TensorSpec t;
    t.name = name;
    t.shape = shape;
    t.offset = off;
    t.numel = 1;
    for (auto d : shape) t.numel *= (size_t)d;
    t.matrix = shape.size() == 2;
    off += t.numel;
    s.push_back(t);
  };
  const int64_t C = c.C, QD = c.QD(), KVD = c.KVD(), FF = c.FF, HS = c.HS;
  add("model.embed_tokens.weight", {c.V, C});
  for (int l = 0; l < c.L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {C});
    add(p + "self_attn.q_proj.weight", {QD, C});
    add(p + "self_attn.k_proj.weight", {KVD, C});
    add(p + "self_attn.v_proj.weight", {KVD, C});
    if (c.qkv_bias) {
      add(p + "self_attn.q_proj.bias", {QD});
      add(p + "self_attn.k_proj.bias", {KVD});
      add(p + "self_attn.v_proj.bias", {KVD});
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {HS});
      add(p + "self_attn.k_norm.weight", {HS});
    }
    add(p + "self_attn.o_proj.weight", {C, QD});
    add(p + "post_attention_layernorm.weight", {C});
    add(p + "mlp.gate_proj.weight", {FF, C});
    add(p + "mlp.up_proj.weight", {FF, C});
    add(p + "mlp.down_proj.weight", {C, FF});
  }
  add("model.norm.weight", {C});
  if (c.head == Head::Score) add("score.weight", {1, C});
  else if (!c.tied) add("lm_head.weight", {c.V, C});
  return s;
}

size_t param_count(const ModelConfig& c) {
  auto s = tensor_specs(c);
  return s.back().offset + s.back().numel;
}

Weights bind_weights(const ModelConfig& c, float* base) {
  const std::vector<TensorSpec> s = tensor_specs(c);
  std::vector<float*> at(s.size());
  for (size_t i = 0; i < s.size(); i++) at[i] = base + s[i].offset;
  return bind_weights(c, at);
}

Weights bind_weights(const ModelConfig& c, const std::vector<float*>& at) {
  Weights w;
  size_t i = 0;
  auto take = [&](size_t parts) {  // the next field: `parts` adjacent tensors of tensor_specs' order
    R1_ASSERT(i + parts <= at.size());
    float* r = at[i];
    i += parts;
    return r;
  };
  w.wte = take(1);
  w.layers.resize(c.L);
  for (int l = 0; l < c.L; l++) {
    LayerWeights& lw = w.layers[l];
    lw.ln1_w = take(1);
    lw.wqkv = take(3);  // q, k, v rows are consecutive: the three HF tensors are adjacent in the block
    lw.bqkv = c.qkv_bias ? take(3) : nullptr;
    lw.q_norm = c.qk_norm ? take(1) : nullptr;
    lw.k_norm = c.qk_norm ? take(1) : nullptr;
    lw.wo = take(1);
    lw.ln2_w = take(1);
    lw.wgu = take(2);  // gate then up, adjacent
    lw.wd = take(1);
  }
  w.lnf_w = take(1);
  if (c.head == Head::Score) {
    w.lm_head = nullptr;
    w.score = take(1);
  } else {
    w.lm_head = c.tied ? w.wte : take(1);
    w.score = nullptr;
  }
  R1_ASSERT(i == at.size());
  return w;
}

// ---- model ----------------------------------------------------------------------------------------------------
Model::Model(const ModelConfig& c, NoParams) : cfg(c) {
  precision_ = default_precision();
  specs = tensor_specs(cfg);
  n_params = param_count(cfg);
  rope.resize((size_t)2 * cfg.max_pos * (cfg.HS / 2));
  rope_table(rope.data(), cfg.max_pos, cfg.HS, cfg.rope_theta);
}

Model::Model(const ModelConfig& c) : Model(c, NoParams{}) {
  params_mem.assign(n_params, 0.f);
  w = bind_weights(cfg, params_mem.data());
}

void Model::check_trainable(const char* what) const {
  R1_CHECK(!inference_only_, what, ": this ", cfg.arch_name(), " model was loaded for inference only (",
           "LoadOptions::inference_only in bf16: its weight matrices exist only as bf16 copies, with no fp32 ",
           "parameters to train, save or change); load it with Model::load(dir) to train or save it");
}

void Model::embed(float* x, const int* ids, int N) const {
  if (!wte_bf16_.empty()) embedding_forward_bf16(x, ids, wte_bf16_.data(), N, cfg.C);
  else embedding_forward(x, ids, w.wte, N, cfg.C);
}

void Model::init_random(uint64_t seed, float std) {
  check_trainable("init_random");
  bf16_stale_ = true;
  Rng rng(seed);
  for (auto& s : specs) {
    float* p = params_mem.data() + s.offset;
    bool norm = s.name.find("norm") != std::string::npos;
    bool bias = s.name.size() > 5 && s.name.compare(s.name.size() - 5, 5, ".bias") == 0;
    for (size_t i = 0; i < s.numel; i++) p[i] = norm ? 1.f : bias ? 0.f : (float)(rng.normal() * std);
  }
}

void Model::ensure_grads() {
  if (grads_mem.size() != n_params) {
    grads_mem.assign(n_params, 0.f);
    g = bind_weights(cfg, grads_mem.data());
  }
}

void Model::zero_grad() {
  check_trainable("zero_grad");
  if (lora_) {
    std::fill(lora_->grads.begin(), lora_->grads.end(), 0.f);
    return;
  }
  ensure_grads();
  std::memset(grads_mem.data(), 0, sizeof(float) * n_params);
}

void Model::ensure_activations(int N, const std::vector<PackedSeq>& seqs) {
  Activations& a = act_;
  const size_t C = cfg.C, L = cfg.L, QKV = cfg.QKV(), QD = cfg.QD(), FF = cfg.FF;
  const size_t V = cfg.head == Head::Score ? 0 : cfg.V;  // a score model has no [N, V] logits
  const size_t NH = cfg.NH, NKV = cfg.NKV;
  const bool qkn = cfg.qk_norm;
  // validate the layout: sequences tile [0, N) in order; a prefix is an earlier sequence without a prefix
  R1_CHECK(N > 0 && !seqs.empty(), "forward: empty batch");
  size_t probs_total = 0;
  int next = 0;
  a.probs_off.resize(seqs.size());
  a.pos.resize(N);
  for (size_t s = 0; s < seqs.size(); s++) {
    const PackedSeq& q = seqs[s];
    R1_CHECK(q.off == next && q.len > 0, "forward: sequence ", s, " must start at row ", next,
             " with at least one row (got off ", q.off, ", len ", q.len, ")");
    int plen = 0;
    if (q.prefix >= 0) {
      R1_CHECK(q.prefix < (int)s && seqs[q.prefix].prefix < 0, "forward: sequence ", s, "'s prefix ", q.prefix,
               " must be an earlier sequence without a prefix of its own");
      plen = seqs[q.prefix].len;
    }
    R1_CHECK(plen + q.len <= cfg.max_pos, "sequence length ", plen + q.len, " exceeds max_position_embeddings ",
             cfg.max_pos);
    for (int j = 0; j < q.len; j++) a.pos[q.off + j] = plen + j;
    a.probs_off[s] = probs_total;
    probs_total += NH * (size_t)q.len * (size_t)(plen + q.len);
    next += q.len;
  }
  R1_CHECK(next == N, "forward: the sequences cover ", next, " rows of ", N);
  a.seqs = seqs;
  a.N = N;
  const size_t n = (size_t)N;
  size_t per_layer = n * C /*ln1*/ + n /*rstd1*/ + (qkn ? n * QKV + n * (NH + NKV) : 0) + n * QKV + probs_total +
                     n * QD + n * C /*xmid*/ + n * C /*ln2*/ + n + n * 2 * FF + n * FF;
  size_t total = (L + 1) * n * C + L * per_layer + n * C + n + n * V + 3 * n +
                 /*backward scratch*/ n * C * 2 + n * QKV + n * QD + n * 2 * FF + n * FF;
  // every buffer starts on a 64-byte line (core/aligned.h): at most 16 floats of padding per buffer
  const size_t n_buffers = (L + 1) + L * 12 + 12;
  total += 16 * n_buffers;
  if (a.mem.size() < total) {  // grow only, with headroom: GRPO batches change shape every step, and a fresh block
    a.mem.reset();             // costs a page fault per 4 KB. Half again up to 1 GB, an eighth above (big models)
    a.mem.assign_zero(total + (total * sizeof(float) < (1ull << 30) ? total / 2 : total / 8));
  }
  float* p = a.mem.data();
  auto take = [&](size_t k) {
    float* r = p;
    p += (k + 15) / 16 * 16;
    return r;
  };
  a.x.assign(L + 1, nullptr);
  for (size_t l = 0; l <= L; l++) a.x[l] = take(n * C);
  a.ln1.assign(L, nullptr); a.rstd1.assign(L, nullptr); a.qkv_pre.assign(L, nullptr); a.qkrstd.assign(L, nullptr);
  a.qkv.assign(L, nullptr); a.probs.assign(L, nullptr); a.atty.assign(L, nullptr); a.xmid.assign(L, nullptr);
  a.ln2.assign(L, nullptr); a.rstd2.assign(L, nullptr); a.gu.assign(L, nullptr); a.h.assign(L, nullptr);
  for (size_t l = 0; l < L; l++) {
    a.ln1[l] = take(n * C);
    a.rstd1[l] = take(n);
    if (qkn) {
      a.qkv_pre[l] = take(n * QKV);
      a.qkrstd[l] = take(n * (NH + NKV));
    }
    a.qkv[l] = take(n * QKV);
    a.probs[l] = take(probs_total);
    a.atty[l] = take(n * QD);
    a.xmid[l] = take(n * C);
    a.ln2[l] = take(n * C);
    a.rstd2[l] = take(n);
    a.gu[l] = take(n * 2 * FF);
    a.h[l] = take(n * FF);
  }
  a.lnf = take(n * C);
  a.rstdf = take(n);
  a.logits = V ? take(n * V) : nullptr;
  a.lp = take(n);
  a.ent = take(n);
  a.lse = take(n);
  a.dres = take(n * C);
  a.dln = take(n * C);
  a.dqkv = take(n * QKV);
  a.datt = take(n * QD);
  a.dgu = take(n * 2 * FF);
  a.dh = take(n * FF);
  R1_ASSERT((size_t)(p - a.mem.data()) <= total);
  a.ids.resize(N);
  a.targets.resize(N);
}

// Gathers the keys/values a continuation sees, its prefix's rows then its own, into kv [Tk, 2*KVD] (k then v).
static void gather_kv(float* kv, const float* qkv, const PackedSeq& pre, const PackedSeq& own, int QD, int KVD,
                      int QKV) {
  int r = 0;
  for (const PackedSeq* s : {&pre, &own})
    for (int j = 0; j < s->len; j++, r++)
      std::memcpy(kv + (size_t)r * 2 * KVD, qkv + (size_t)(s->off + j) * QKV + QD, sizeof(float) * 2 * KVD);
}

// ---- precision -------------------------------------------------------------------------------------------------
void Model::set_precision(Precision p) {
  if (p == precision_) return;
  check_trainable(p == Precision::FP32 ? "set_precision(fp32)" : "set_precision");
  precision_ = p;
  bf16_layers_.clear();
  bf16_head_.reset();
  bf16_stale_ = true;
}

void Model::sync_precision() const {
  if (precision_ != Precision::BF16 || !bf16_stale_) return;
  check_trainable("params_changed()");  // its bf16 copies are the weights: nothing to rewrite them from
  if (bf16_layers_.empty()) {
    const int C = cfg.C, QKV = cfg.QKV(), QD = cfg.QD(), FF = cfg.FF;
    bf16_layers_.reserve(cfg.L);
    for (int l = 0; l < cfg.L; l++)
      bf16_layers_.push_back(Bf16Layer{Bf16Matmul(QKV, C, true), Bf16Matmul(C, QD, true), Bf16Matmul(2 * FF, C, true),
                                       Bf16Matmul(C, FF, true)});
    if (cfg.head == Head::LM) bf16_head_ = std::make_unique<Bf16Matmul>(cfg.V, C, true);
  }
  for (int l = 0; l < cfg.L; l++) {
    const LayerWeights& lw = w.layers[l];
    Bf16Layer& b = bf16_layers_[l];
    b.qkv.set(lw.wqkv);
    b.o.set(lw.wo);
    b.gu.set(lw.wgu);
    b.down.set(lw.wd);
  }
  if (bf16_head_) bf16_head_->set(w.lm_head);
  bf16_stale_ = false;
}

void Model::mm_forward(const Bf16Matmul* b, float* out, const float* a, const float* wt, const float* bias, int M, int N,
                       int K) {
  if (b) b->forward(out, a, bias, M);
  else matmul_forward(out, a, wt, bias, M, N, K);
}

void Model::mm_backward(const Bf16Matmul* b, float* da, float* dw, float* dbias, const float* dout, const float* a,
                        const float* wt, int M, int N, int K) {
  if (!b) return matmul_backward(da, dw, dbias, dout, a, wt, M, N, K);
  b->backward(da, dw, dbias, dout, a, M);
}

void Model::forward(const int* ids, const int* targets, int B, int T, float temperature, bool want_entropy) {
  std::vector<PackedSeq> seqs(B);
  for (int b = 0; b < B; b++) seqs[b] = {b * T, T, -1};
  forward(ids, targets, B * T, seqs, temperature, want_entropy);
}

void Model::forward(const int* ids, const int* targets, int N, const std::vector<PackedSeq>& seqs, float temperature,
                    bool want_entropy) {
  check_head(Head::LM, "forward()");
  forward_body(ids, targets, N, seqs);
  temperature_ = temperature;
  have_entropy_ = want_entropy;
  Activations& a = act_;
  mm_forward(bf16_head_.get(), a.logits, a.lnf, w.lm_head, nullptr, N, cfg.V, cfg.C);
  float* ent = want_entropy ? a.ent : nullptr;
  if (precision_ == Precision::BF16)  // a vectorised exp (fp32 keeps std::exp, bit for bit)
    logprob_forward_vexp(a.lp, ent, a.lse, a.logits, a.targets.data(), N, cfg.V, temperature);
  else
    logprob_forward(a.lp, ent, a.lse, a.logits, a.targets.data(), N, cfg.V, temperature);
}

void Model::forward_body(const int* ids, const int* targets, int N, const std::vector<PackedSeq>& seqs) {
  sync_precision();
  ensure_activations(N, seqs);
  Activations& a = act_;
  const int C = cfg.C, QKV = cfg.QKV(), QD = cfg.QD(), FF = cfg.FF, V = cfg.V, KVD = cfg.KVD();
  const int NH = cfg.NH, NKV = cfg.NKV, HS = cfg.HS;
  for (int n = 0; n < N; n++) {
    R1_CHECK(ids[n] >= 0 && ids[n] < V, "token id ", ids[n], " at position ", n, " is outside the vocabulary [0, ", V, ")");
    a.ids[n] = ids[n];
    if (!targets) continue;  // the score head has none
    R1_CHECK(targets[n] < V, "target id ", targets[n], " at position ", n, " is outside the vocabulary [0, ", V, ")");
    a.targets[n] = targets[n];
  }
  if (lora_) {
    lora_v_.resize(lora_->sites.size() * (size_t)N * lora_->cfg.r);
    lora_scratch_.resize((size_t)N * lora_->cfg.r);
  }

  embed(a.x[0], a.ids.data(), N);
  for (int l = 0; l < cfg.L; l++) {
    const LayerWeights& lw = w.layers[l];
    const Bf16Layer* b = bl(l);
    // attention block: x -> rmsnorm -> qkv (+bias) -> [q/k norm] -> rotary -> attention -> o_proj -> + x
    rmsnorm_forward(a.ln1[l], a.rstd1[l], a.x[l], lw.ln1_w, N, C, cfg.eps);
    if (cfg.qk_norm) {
      mm_forward(b ? &b->qkv : nullptr, a.qkv_pre[l], a.ln1[l], lw.wqkv, lw.bqkv, N, QKV, C);
      lora_sites_forward(a.qkv_pre[l], QKV, a.ln1[l], l, LoraTarget::Q, LoraTarget::V);
      std::memcpy(a.qkv[l], a.qkv_pre[l], sizeof(float) * (size_t)N * QKV);  // v columns pass through
      head_rmsnorm_forward(a.qkv[l], a.qkrstd[l], a.qkv_pre[l], lw.q_norm, N, NH, HS, QKV, cfg.eps);
      // k heads: rstd stored after the NH q entries of each row -> use a separate region per row layout [N, NKV]
      head_rmsnorm_forward(a.qkv[l] + QD, a.qkrstd[l] + (size_t)N * NH, a.qkv_pre[l] + QD, lw.k_norm, N, NKV, HS, QKV,
                           cfg.eps);
    } else {
      mm_forward(b ? &b->qkv : nullptr, a.qkv[l], a.ln1[l], lw.wqkv, lw.bqkv, N, QKV, C);
      lora_sites_forward(a.qkv[l], QKV, a.ln1[l], l, LoraTarget::Q, LoraTarget::V);
    }
    rope_forward(a.qkv[l], a.pos.data(), rope.data(), cfg.max_pos, N, NH, HS, QKV);
    rope_forward(a.qkv[l] + QD, a.pos.data(), rope.data(), cfg.max_pos, N, NKV, HS, QKV);
    // bf16: keys and values rounded to bf16 values (autocast's bf16 attention inputs; the engine's KV cache then
    // holds them exactly in bf16). Their gradient passes through the rounding unchanged, as through autocast's cast.
    if (precision_ == Precision::BF16) round_to_bf16_values(a.qkv[l] + QD, N, 2 * KVD, QKV);
    // attention per sequence; a continuation attends to its prefix's keys/values, gathered in front of its own
    // (bf16: row by row, as the rollout engine computes it; see attention_forward's row_form)
    const bool rows = precision_ == Precision::BF16;
    for (size_t s = 0; s < a.seqs.size(); s++) {
      const PackedSeq& q = a.seqs[s];
      const float* qs = a.qkv[l] + (size_t)q.off * QKV;
      float* out = a.atty[l] + (size_t)q.off * QD;
      float* probs = a.probs[l] + a.probs_off[s];
      if (q.prefix < 0) {
        attention_forward(out, probs, qs, qs + QD, qs + QD + KVD, q.len, q.len, NH, NKV, HS, QKV, QKV, QD, true, rows);
      } else {
        const PackedSeq& pre = a.seqs[q.prefix];
        int Tk = pre.len + q.len;
        a.kv.resize((size_t)Tk * 2 * KVD);
        gather_kv(a.kv.data(), a.qkv[l], pre, q, QD, KVD, QKV);
        attention_forward(out, probs, qs, a.kv.data(), a.kv.data() + KVD, q.len, Tk, NH, NKV, HS, QKV, 2 * KVD, QD, true,
                          rows);
      }
    }
    mm_forward(b ? &b->o : nullptr, a.xmid[l], a.atty[l], lw.wo, nullptr, N, C, QD);
    lora_sites_forward(a.xmid[l], C, a.atty[l], l, LoraTarget::O, LoraTarget::O);
    add_inplace(a.xmid[l], a.x[l], (size_t)N * C);
    // MLP block: xmid -> rmsnorm -> [gate|up] -> silu(gate)*up -> down -> + xmid
    rmsnorm_forward(a.ln2[l], a.rstd2[l], a.xmid[l], lw.ln2_w, N, C, cfg.eps);
    mm_forward(b ? &b->gu : nullptr, a.gu[l], a.ln2[l], lw.wgu, nullptr, N, 2 * FF, C);
    lora_sites_forward(a.gu[l], 2 * FF, a.ln2[l], l, LoraTarget::Gate, LoraTarget::Up);
    if (precision_ == Precision::BF16) swiglu_forward_vexp(a.h[l], a.gu[l], N, FF);  // as the engine in bf16 mode
    else swiglu_forward(a.h[l], a.gu[l], N, FF);
    mm_forward(b ? &b->down : nullptr, a.x[l + 1], a.h[l], lw.wd, nullptr, N, C, FF);
    lora_sites_forward(a.x[l + 1], C, a.h[l], l, LoraTarget::Down, LoraTarget::Down);
    add_inplace(a.x[l + 1], a.xmid[l], (size_t)N * C);
  }
  rmsnorm_forward(a.lnf, a.rstdf, a.x[cfg.L], w.lnf_w, N, C, cfg.eps);
}

void Model::backward(const float* dlp, const float* dent) {
  check_head(Head::LM, "backward()");
  check_trainable("backward()");
  // With adapters the base is frozen: no base gradient block, no weight-gradient products (nullptr below).
  const bool frozen = lora_ != nullptr;
  R1_CHECK(!frozen || adapters_on_, "backward() with the adapters switched off: nothing would be trained");
  if (!frozen) ensure_grads();
  Activations& a = act_;
  R1_CHECK(a.N > 0, "backward() called before forward()");
  R1_CHECK(!dent || have_entropy_, "backward() with an entropy gradient needs forward(..., want_entropy=true)");
  const int N = a.N, C = cfg.C, V = cfg.V;
  // logits -> lp/ent (in place: logits become dlogits)
  if (precision_ == Precision::BF16)
    logprob_backward_vexp(a.logits, dlp, dent, a.lse, a.ent, a.targets.data(), N, V, temperature_);
  else
    logprob_backward(a.logits, dlp, dent, a.lse, a.ent, a.targets.data(), N, V, temperature_);
  // logits = lnf · lm_head^T
  mm_backward(bf16_head_.get(), a.dln, frozen ? nullptr : g.lm_head, nullptr, a.logits, a.lnf, w.lm_head, N, V, C);
  backward_body(frozen);
}

void Model::backward_body(bool frozen) {
  Activations& a = act_;
  const int N = a.N, C = cfg.C, QKV = cfg.QKV(), QD = cfg.QD(), FF = cfg.FF, KVD = cfg.KVD();
  const int NH = cfg.NH, NKV = cfg.NKV, HS = cfg.HS;
  // lnf = rmsnorm(x[L])
  rmsnorm_backward(a.dres, frozen ? nullptr : g.lnf_w, a.dln, a.x[cfg.L], w.lnf_w, a.rstdf, N, C, false);

  for (int l = cfg.L - 1; l >= 0; l--) {
    const LayerWeights& lw = w.layers[l];
    LayerWeights lg = frozen ? LayerWeights{} : g.layers[l];  // all nullptr when frozen
    const Bf16Layer* b = bl(l);
    // x[l+1] = xmid + down(h): dres is ∂/∂x[l+1] and stays as the residual part of ∂/∂xmid
    mm_backward(b ? &b->down : nullptr, a.dh, lg.wd, nullptr, a.dres, a.h[l], lw.wd, N, C, FF);
    lora_sites_backward(a.dh, a.dres, C, a.h[l], l, LoraTarget::Down, LoraTarget::Down);
    // h = silu(gate)*up
    swiglu_backward(a.dgu, a.dh, a.gu[l], N, FF);
    // gu = ln2 · wgu^T
    mm_backward(b ? &b->gu : nullptr, a.dln, lg.wgu, nullptr, a.dgu, a.ln2[l], lw.wgu, N, 2 * FF, C);
    lora_sites_backward(a.dln, a.dgu, 2 * FF, a.ln2[l], l, LoraTarget::Gate, LoraTarget::Up);
    // ln2 = rmsnorm(xmid): add into dres -> ∂/∂xmid
    rmsnorm_backward(a.dres, lg.ln2_w, a.dln, a.xmid[l], lw.ln2_w, a.rstd2[l], N, C, true);
    // xmid = x[l] + atty · wo^T
    mm_backward(b ? &b->o : nullptr, a.datt, lg.wo, nullptr, a.dres, a.atty[l], lw.wo, N, C, QD);
    lora_sites_backward(a.datt, a.dres, C, a.atty[l], l, LoraTarget::O, LoraTarget::O);
    // attention per sequence -> ∂/∂(q, k, v) after rotary. A prefix comes before its continuations: its own
    // backward overwrites its rows' ∂k/∂v, then each continuation adds what flows into the prefix's keys/values.
    for (size_t s = 0; s < a.seqs.size(); s++) {
      const PackedSeq& q = a.seqs[s];
      const size_t o = (size_t)q.off * QKV;
      const float* qs = a.qkv[l] + o;
      float* dqs = a.dqkv + o;
      const float* dout = a.datt + (size_t)q.off * QD;
      const float* probs = a.probs[l] + a.probs_off[s];
      if (q.prefix < 0) {
        attention_backward(dqs, dqs + QD, dqs + QD + KVD, dout, probs, qs, qs + QD, qs + QD + KVD, q.len, q.len, NH,
                           NKV, HS, QKV, QKV, QD);
      } else {
        const PackedSeq& pre = a.seqs[q.prefix];
        int Tk = pre.len + q.len;
        a.kv.resize((size_t)Tk * 2 * KVD);
        a.dkv.resize((size_t)Tk * 2 * KVD);
        gather_kv(a.kv.data(), a.qkv[l], pre, q, QD, KVD, QKV);
        float* dkv = a.dkv.data();
        attention_backward(dqs, dkv, dkv + KVD, dout, probs, qs, a.kv.data(), a.kv.data() + KVD, q.len, Tk, NH, NKV,
                           HS, QKV, 2 * KVD, QD);
        for (int j = 0; j < pre.len; j++) {  // into the shared prefix's rows
          float* d = a.dqkv + (size_t)(pre.off + j) * QKV + QD;
          const float* src = dkv + (size_t)j * 2 * KVD;
          for (int i = 0; i < 2 * KVD; i++) d[i] += src[i];
        }
        for (int j = 0; j < q.len; j++)  // own rows
          std::memcpy(a.dqkv + (size_t)(q.off + j) * QKV + QD, dkv + (size_t)(pre.len + j) * 2 * KVD,
                      sizeof(float) * 2 * KVD);
      }
    }
    // rotary
    rope_backward(a.dqkv, a.pos.data(), rope.data(), cfg.max_pos, N, NH, HS, QKV);
    rope_backward(a.dqkv + QD, a.pos.data(), rope.data(), cfg.max_pos, N, NKV, HS, QKV);
    // q/k norm (in place on the q and k columns)
    if (cfg.qk_norm) {
      head_rmsnorm_backward(a.dqkv, lg.q_norm, a.dqkv, a.qkv_pre[l], lw.q_norm, a.qkrstd[l], N, NH, HS, QKV);
      head_rmsnorm_backward(a.dqkv + QD, lg.k_norm, a.dqkv + QD, a.qkv_pre[l] + QD, lw.k_norm,
                            a.qkrstd[l] + (size_t)N * NH, N, NKV, HS, QKV);
    }
    // qkv = ln1 · wqkv^T + bqkv
    mm_backward(b ? &b->qkv : nullptr, a.dln, lg.wqkv, lg.bqkv, a.dqkv, a.ln1[l], lw.wqkv, N, QKV, C);
    lora_sites_backward(a.dln, a.dqkv, QKV, a.ln1[l], l, LoraTarget::Q, LoraTarget::V);
    // ln1 = rmsnorm(x[l]): add into dres -> ∂/∂x[l]
    rmsnorm_backward(a.dres, lg.ln1_w, a.dln, a.x[l], lw.ln1_w, a.rstd1[l], N, C, true);
  }
  // x[0] = wte[ids]
  if (!frozen) embedding_backward(g.wte, a.dres, a.ids.data(), N, C);
}

// ---- the score head (reward models) ------------------------------------------------------------------------------
void Model::check_head(Head want, const char* what) const {
  if (cfg.head == want) return;
  if (want == Head::LM)
    fail(what, ": this model is a reward model (", cfg.architecture(),
         "): it scores sequences, it does not give token log-probs; use forward_score/backward_score");
  fail(what, ": this model is a causal language model (", cfg.architecture(),
       "): it gives token log-probs and has no score head; load a *ForSequenceClassification checkpoint or make one "
       "with reward_model_from");
}

void Model::forward_score(const int* ids, int N, const std::vector<PackedSeq>& seqs, const std::vector<int>& rows) {
  check_head(Head::Score, "forward_score()");
  R1_CHECK(!rows.empty(), "forward_score(): no rows to score");
  for (size_t s = 0; s < rows.size(); s++)
    R1_CHECK(rows[s] >= 0 && rows[s] < N, "forward_score(): score row ", s, " is row ", rows[s],
             ", outside the batch's rows [0, ", N, ")");
  forward_body(ids, nullptr, N, seqs);
  Activations& a = act_;
  a.score_rows = rows;
  a.scores.resize(rows.size());
  score_forward(a.scores.data(), a.lnf, a.score_rows.data(), w.score, (int)rows.size(), cfg.C);
}

void Model::backward_score(const float* dscores) {
  check_head(Head::Score, "backward_score()");
  check_trainable("backward_score()");
  Activations& a = act_;
  R1_CHECK(a.N > 0 && !a.score_rows.empty(), "backward_score() called before forward_score()");
  R1_ASSERT(lora_ == nullptr);
  ensure_grads();
  // score_s = score · lnf[rows[s]]: dln is zero but at the scored rows
  score_backward(a.dln, g.score, dscores, a.lnf, a.score_rows.data(), w.score, (int)a.score_rows.size(), a.N, cfg.C);
  backward_body(false);
}

Model reward_model_from(const Model& lm, uint64_t seed, float std) {
  R1_CHECK(lm.cfg.head == Head::LM, "reward_model_from: the model is already a reward model (",
           lm.cfg.architecture(), ")");
  R1_CHECK(!lm.has_lora(), "reward_model_from: the model has LoRA adapters attached; merge them first (merge_lora)");
  R1_CHECK(!lm.inference_only(), "reward_model_from: the model was loaded for inference only (no fp32 parameters to ",
           "copy); load it with Model::load(dir)");
  ModelConfig c = lm.cfg;
  c.head = Head::Score;
  c.raw = c.to_json();  // architectures *ForSequenceClassification, one label, a pad id
  Model rm(c);
  for (const TensorSpec& s : rm.specs) {
    if (s.name == "score.weight") {
      Rng rng(seed);
      for (size_t i = 0; i < s.numel; i++) rm.params_mem[s.offset + i] = (float)(rng.normal() * std);
      continue;
    }
    auto it = std::find_if(lm.specs.begin(), lm.specs.end(), [&](const TensorSpec& t) { return t.name == s.name; });
    R1_ASSERT(it != lm.specs.end() && it->numel == s.numel);
    std::memcpy(rm.params_mem.data() + s.offset, lm.params_mem.data() + it->offset, sizeof(float) * s.numel);
  }
  return rm;
}

// ---- LoRA ------------------------------------------------------------------------------------------------------
void Model::attach_lora(Lora lora) {
  R1_CHECK(cfg.head == Head::LM, "attach_lora: this model is a reward model (", cfg.architecture(),
           "); LoRA adapters are for causal language models only");
  R1_CHECK(!lora.sites.empty() && lora.sites.size() == (size_t)cfg.L * lora.sites_per_layer(),
           "attach_lora: the adapters do not match this model's ", cfg.L, " layers");
  for (const LoraSite& st : lora.sites) R1_CHECK(st.layer < cfg.L, "attach_lora: adapter for layer ", st.layer, " of ", cfg.L);
  lora.grads.assign(lora.n, 0.f);
  lora_ = std::make_unique<Lora>(std::move(lora));
  adapters_on_ = true;
  grads_mem.clear();  // the base is frozen from now on
  grads_mem.shrink_to_fit();
  g = Weights{};
}

void Model::lora_sites_forward(float* y, int ldy, const float* x, int layer, LoraTarget first, LoraTarget last) {
  if (!lora_ || !adapters_on_) return;
  const Lora& lo = *lora_;
  const int N = act_.N, r = lo.cfg.r;
  for (int t = (int)first; t <= (int)last; t++) {
    const LoraSite* st = lo.site(layer, (LoraTarget)t);
    if (!st) continue;
    float* v = lora_v_.data() + (size_t)(st - lo.sites.data()) * N * r;
    lora_forward(y, ldy, v, x, lo.params.data(), *st, N, r, lo.cfg.scale());
  }
}

void Model::lora_sites_backward(float* dx, const float* dy, int ldy, const float* x, int layer, LoraTarget first,
                                LoraTarget last) {
  if (!lora_) return;
  Lora& lo = *lora_;
  const int N = act_.N, r = lo.cfg.r;
  for (int t = (int)first; t <= (int)last; t++) {
    const LoraSite* st = lo.site(layer, (LoraTarget)t);
    if (!st) continue;
    const float* v = lora_v_.data() + (size_t)(st - lo.sites.data()) * N * r;
    lora_backward(dx, lo.grads.data(), lora_scratch_.data(), dy, ldy, v, x, lo.params.data(), *st, N, r,
                  lo.cfg.scale());
  }
}

void Model::set_reference_mode(bool on) {
  R1_CHECK(lora_, "set_reference_mode: no adapters attached");
  if (lora_->ref_params.empty()) {
    adapters_on_ = !on;
    return;
  }
  R1_CHECK(lora_->ref_params.size() == lora_->n, "set_reference_mode: reference adapters of the wrong size");
  std::swap(lora_->params, lora_->ref_params);  // on and off each swap: the policy's adapters come back
}

void Model::merge_lora() {
  R1_CHECK(lora_, "merge_lora: no adapters attached");
  check_trainable("merge_lora");
  bf16_stale_ = true;
  const Lora& lo = *lora_;
  for (const LoraSite& st : lo.sites) {
    const LayerWeights& lw = w.layers[st.layer];
    float* W = nullptr;
    switch (st.target) {
      case LoraTarget::Q: case LoraTarget::K: case LoraTarget::V: W = lw.wqkv; break;
      case LoraTarget::O: W = lw.wo; break;
      case LoraTarget::Gate: case LoraTarget::Up: W = lw.wgu; break;
      case LoraTarget::Down: W = lw.wd; break;
    }
    lora_merge_into(W, lo.params.data(), st, lo.cfg.r, lo.cfg.scale());
  }
  lora_.reset();
  adapters_on_ = true;
}

Model::Trainable Model::trainable() {
  check_trainable("trainable()");
  if (lora_) return {lora_->params.data(), lora_->grads.data(), lora_->n, &lora_->specs};
  ensure_grads();
  return {params_mem.data(), grads_mem.data(), n_params, &specs};
}

float Model::cross_entropy_step(const int* ids, const int* targets, int B, int T, bool do_backward) {
  forward(ids, targets, B, T, 1.0f, false);
  const int N = B * T;
  double cnt = 0, sum = 0;
  for (int n = 0; n < N; n++)
    if (targets[n] >= 0) {
      cnt += 1;
      sum += act_.lp[n];
    }
  R1_CHECK(cnt > 0, "cross_entropy_step: every target is masked");
  if (do_backward) {
    std::vector<float> dlp(N);
    for (int n = 0; n < N; n++) dlp[n] = targets[n] >= 0 ? (float)(-1.0 / cnt) : 0.f;
    backward(dlp.data());
  }
  return (float)(-sum / cnt);
}

}  // namespace r1
