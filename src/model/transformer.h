// The decoder-only transformer (Llama 3 / Qwen2 / Qwen3), with a hand-written backward pass.
//
// The model is a log-prob machine: forward() takes token ids and targets and returns, per position, the
// log-probability of the target under softmax(logits / temperature) and optionally the entropy; backward() takes
// ∂loss/∂logprob (and ∂loss/∂entropy) per position. Cross-entropy (pretraining, SFT) and the GRPO objective are
// both functions of those per-token numbers, so they share one exact backward pass, and the rollout engine's
// log-probs come from the same kernels.
//
// A reward model (config architectures *ForSequenceClassification, Head::Score) is the same body with a scalar
// score head instead of lm_head: forward_score() gives score.weight · (final-norm hidden state) at chosen rows,
// backward_score() takes ∂loss/∂score.
#pragma once
#include "core/aligned.h"
#include "core/precision.h"
#include "kernels/kernels.h"
#include "model/config.h"
#include "model/lora.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace r1 {

enum class DType;
class SafeTensorsCheckpoint;

// One block holds every parameter and another every gradient; the same struct type views both. (The AdamW
// moments are separate vectors in the same layout: train/optim.h.)
struct LayerWeights {
  float* ln1_w;   // [C]        model.layers.{l}.input_layernorm.weight
  float* wqkv;    // [QKV, C]   q_proj.weight rows [0,QD), k_proj.weight rows [QD,QD+KVD), v_proj.weight after
  float* bqkv;    // [QKV]      q/k/v_proj.bias (Qwen2, Llama with attention_bias), else nullptr
  float* q_norm;  // [HS]       self_attn.q_norm.weight (Qwen3), else nullptr
  float* k_norm;  // [HS]       self_attn.k_norm.weight (Qwen3), else nullptr
  float* wo;      // [C, QD]    self_attn.o_proj.weight
  float* ln2_w;   // [C]        post_attention_layernorm.weight
  float* wgu;     // [2FF, C]   mlp.gate_proj.weight rows [0,FF), mlp.up_proj.weight rows [FF,2FF)
  float* wd;      // [C, FF]    mlp.down_proj.weight
};
struct Weights {
  float* wte;                        // [V, C]  model.embed_tokens.weight
  std::vector<LayerWeights> layers;  // [L]
  float* lnf_w;                      // [C]     model.norm.weight
  float* lm_head;                    // [V, C]  lm_head.weight; == wte when tie_word_embeddings; nullptr (Score)
  float* score;                      // [1, C]  score.weight (Head::Score), else nullptr
};

// A Hugging Face tensor and where it lives in the block.
struct TensorSpec {
  std::string name;            // transformers' name
  std::vector<int64_t> shape;  // as transformers stores it
  size_t offset = 0;           // floats from the start of the block
  size_t numel = 0;
  bool matrix = false;         // 2-D (weight decay applies by default)
};

std::vector<TensorSpec> tensor_specs(const ModelConfig& cfg);
size_t param_count(const ModelConfig& cfg);
Weights bind_weights(const ModelConfig& cfg, float* base);
// The same over any placement: at[i] is where tensor_specs(cfg)[i] lives (nullptr: not held); a fused matrix or
// bias (q|k|v, gate|up) is at its first part's address, the parts adjacent.
Weights bind_weights(const ModelConfig& cfg, const std::vector<float*>& at);

// How Model::load reads a checkpoint.
struct LoadOptions {
  // For the commands that only run the model (generate, eval, sample, logprobs). In bf16 precision
  // (default_precision() when loading) a causal LM is loaded without an fp32 copy of its weight matrices: each is
  // read from the file straight into its bf16 copy (Bf16Matmul::set_bf16, forward layout only), params_mem holds
  // only the vectors (norm weights, biases), and the embedding is kept as the checkpoint's bf16 table (widened
  // exactly on lookup; an F32/F16 embedding stays fp32 in params_mem). F32/F16 matrices are rounded to bf16 on the
  // way in, as bf16 mode rounds them at every product anyway, so the model computes the same bits as a normal load
  // in bf16 (tested). Such a model cannot be trained, saved or changed (Model::inference_only: those calls throw).
  // In fp32, or for a reward model (Head::Score), the load is the normal one.
  bool inference_only = false;
};

// How the N rows of a packed batch attend to each other. Sequence s owns rows [off, off + len) and attends causally
// within them. With prefix = p (an earlier sequence that has no prefix of its own), its rows first attend to all of
// sequence p's rows and its positions continue after them (row j of s is at position seqs[p].len + j). GRPO packs
// the G samples of one prompt as one prefix (the prompt) and G continuations, so the prompt is computed, and
// back-propagated, once per group instead of G times, and no row is padding. Sequences tile [0, N) in order.
struct PackedSeq {
  int off = 0, len = 0;  // rows [off, off + len)
  int prefix = -1;       // index of this sequence's shared prefix in the list, or -1
};

// Activations for one packed batch, in one block that grows when a batch needs more and is reused otherwise.
struct Activations {
  int N = 0;                    // rows of the current batch
  std::vector<PackedSeq> seqs;  // the current batch's layout ((B, T) batches: B sequences of T rows)
  std::vector<size_t> probs_off;  // [S] where sequence s's attention probabilities start inside probs[l]
  AlignedArray<float> mem;      // the block the views below point into, 64-byte aligned
  std::vector<float> kv, dkv;           // [Tk, 2*KVD] gathered prefix+own keys/values of one continuation
  std::vector<int> ids, targets, pos;  // [N]
  // per layer l (views into mem):
  std::vector<float*> x;        // [L+1][N, C]   residual stream entering layer l (x[L] enters the final norm)
  std::vector<float*> ln1;      // [L][N, C]
  std::vector<float*> rstd1;    // [L][N]
  std::vector<float*> qkv_pre;  // [L][N, QKV]  projections before q/k norm (Qwen3 only)
  std::vector<float*> qkrstd;   // [L][N, NH+NKV] (Qwen3 only)
  std::vector<float*> qkv;      // [L][N, QKV]  after q/k norm and rotary
  std::vector<float*> probs;    // [L][Σ_s NH·len_s·(prefix len_s + len_s)]  per sequence [NH, len, Tk]
  std::vector<float*> atty;     // [L][N, QD]
  std::vector<float*> xmid;     // [L][N, C]    residual after attention
  std::vector<float*> ln2;      // [L][N, C]
  std::vector<float*> rstd2;    // [L][N]
  std::vector<float*> gu;       // [L][N, 2FF]
  std::vector<float*> h;        // [L][N, FF]
  float *lnf, *rstdf, *logits, *lp, *ent, *lse;  // [N,C] [N] [N,V] [N] [N] [N]; logits nullptr (Head::Score)
  std::vector<float> scores;    // [S] forward_score's results: score.weight · lnf[score_rows[s]]
  std::vector<int> score_rows;  // [S] the rows forward_score scored
  // backward scratch
  float *dres, *dln, *dqkv, *datt, *dgu, *dh;    // [N,C] [N,C] [N,QKV] [N,QD] [N,2FF] [N,FF]
};

class Model {
 public:
  explicit Model(const ModelConfig& cfg);  // parameters zero; call init_random or load
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) = default;

  ModelConfig cfg;
  std::vector<TensorSpec> specs;
  size_t n_params = 0;
  // [n_params] each; grads allocated on first backward. A model loaded inference_only holds only the tensors it
  // keeps in fp32 in params_mem (w's matrices are nullptr there) and never has gradients.
  BlockVector<float> params_mem, grads_mem;  // core/aligned.h: huge pages for large blocks
  Weights w, g;
  std::vector<float> rope;  // [2, max_pos, HS/2] cos then sin

  // Normal(0, std) for matrices and embeddings, ones for norm weights, zeros for biases.
  void init_random(uint64_t seed, float std = 0.02f);

  // Reads a Hugging Face folder (config.json + model.safetensors or sharded index). F32/BF16/F16 tensors.
  // The file's pages are released tensor by tensor (FileBytes::release): at most about one tensor's pages are
  // resident at a time, not the whole file.
  static Model load(const std::string& dir, const LoadOptions& opt = {});
  // Writes config.json and model.safetensors (F32 or BF16), both atomically. Creates the folder.
  void save(const std::string& dir, DType dtype) const;
  void save(const std::string& dir) const;

  // Training forward over a (B, T) batch. ids/targets: [B*T]; a target < 0 marks a position that is not scored.
  // Returns nothing; act().lp[n] and act().ent[n] (when want_entropy) hold the per-position results and
  // act().logits the logits until backward() overwrites them.
  void forward(const int* ids, const int* targets, int B, int T, float temperature = 1.0f, bool want_entropy = false);
  // The same over a packed batch of N rows laid out by `seqs` (see PackedSeq). A (B, T) batch is B sequences of
  // T rows with no prefix.
  void forward(const int* ids, const int* targets, int N, const std::vector<PackedSeq>& seqs,
               float temperature = 1.0f, bool want_entropy = false);
  // dlp[N] = ∂loss/∂lp, dent[N] = ∂loss/∂entropy (nullptr when not needed). Accumulates into the gradients.
  void backward(const float* dlp, const float* dent = nullptr);
  // Sequence scores (Head::Score): act().scores[s] = score.weight · lnf[rows[s]] (the final-norm hidden state of row
  // rows[s], normally a sequence's last row), as transformers' *ForSequenceClassification with one label.
  void forward_score(const int* ids, int N, const std::vector<PackedSeq>& seqs, const std::vector<int>& rows);
  // dscores[S] = ∂loss/∂score; accumulates into the gradients (score.weight and the body).
  void backward_score(const float* dscores);
  void zero_grad();
  Activations& act() { return act_; }

  // Masked mean cross-entropy: forward, loss = −Σ mask·lp / Σ mask, and (if do_backward) its backward.
  // targets < 0 count as masked.
  float cross_entropy_step(const int* ids, const int* targets, int B, int T, bool do_backward);

  float* params() {  // (may be written: the bf16 copies are rewritten at the next forward)
    check_trainable("params()");
    bf16_stale_ = true;
    return params_mem.data();
  }
  float* grads() { return grads_mem.data(); }

  // ---- precision (core/precision.h) ----
  // BF16: every matrix product of forward/backward reads a bf16 copy of its weight (kernels.h Bf16Matmul: inputs
  // rounded to bf16, fp32 sums), and so does the rollout engine (model/infer.h), through the same objects, so the
  // engine's log-probs equal the trainer's recomputation as in fp32. params stay fp32 (the master weights the
  // optimizer updates). The copies are rewritten lazily, at the next forward, after anything that may have changed
  // params: params(), optimizer_update, init_random, merge_lora, or params_changed() after a write
  // through params_mem or w. LoRA adapters' own small products stay fp32. A new Model takes default_precision().
  void set_precision(Precision p);
  Precision precision() const { return precision_; }
  void params_changed() { bf16_stale_ = true; }
  // The bf16 copies, brought up to date (empty / nullptr in fp32), for the rollout engine.
  struct Bf16Layer {
    Bf16Matmul qkv, o, gu, down;  // [QKV, C] [C, QD] [2FF, C] [C, FF]
  };
  const std::vector<Bf16Layer>& bf16_layers() const {
    sync_precision();
    return bf16_layers_;
  }
  const Bf16Matmul* bf16_head() const {  // [V, C] lm_head (Head::LM)
    sync_precision();
    return bf16_head_.get();
  }

  // ---- inference only (LoadOptions::inference_only) ----
  // True when the weight matrices exist only as bf16 copies: backward, trainable, params, save, merge_lora,
  // init_random, zero_grad and set_precision(FP32) throw an r1::Error saying so. Adapters may still be attached
  // (their fp32 products are separate) and run, not trained.
  bool inference_only() const { return inference_only_; }
  // x[N, C] = the embedding rows of ids (from the bf16 table of an inference-only model, else from w.wte).
  void embed(float* x, const int* ids, int N) const;

  // ---- LoRA (model/lora.h) ----
  // Attaches an adapter set (causal LMs only). From then on backward() computes gradients for the adapters only (the base is
  // frozen: no weight-gradient products, no base gradient block), and trainable() is the adapter block.
  void attach_lora(Lora lora);
  bool has_lora() const { return lora_ != nullptr; }
  Lora& lora() { return *lora_; }
  const Lora& lora() const { return *lora_; }
  // Off: forward() (and the rollout engine) compute the base model: GRPO's reference policy without a copy.
  void set_adapters_enabled(bool on) { adapters_on_ = on; }
  bool adapters_active() const { return lora_ && adapters_on_; }
  // GRPO's reference pass with adapters: on = the base (adapters off), or the base with the adapters'
  // ref_params when a reference update stored some; off = the policy again. No copy of the base either way.
  void set_reference_mode(bool on);
  // W += (alpha / r) B A for every adapted projection, then detaches the adapters.
  void merge_lora();
  // What an optimizer updates: the adapter block with LoRA, else every parameter.
  struct Trainable {
    float* params;
    float* grads;
    size_t n;
    const std::vector<TensorSpec>* specs;
  };
  Trainable trainable();
  // Frees the activation block (the next forward allocates it again), e.g. while the rollout engine needs the memory.
  void release_activations() {
    act_.mem.reset();
    lora_v_ = std::vector<float>();
    act_.N = 0;
  }
  // Bytes held for activations (the block, the adapters' saved products, attention gather buffers).
  size_t activation_bytes() const {
    return sizeof(float) * (act_.mem.capacity() + act_.kv.capacity() + act_.dkv.capacity() + lora_v_.capacity() +
                            lora_scratch_.capacity());
  }

 private:
  struct NoParams {};
  Model(const ModelConfig& cfg, NoParams);  // everything but the parameter block and w
  bool inference_only_ = false;
  std::vector<uint16_t> wte_bf16_;  // [V, C] inference only: the embedding as the checkpoint's bf16 bits
  void check_trainable(const char* what) const;  // throws for an inference-only model
  // LoadOptions::inference_only's load (model/checkpoint.cpp), after Model(cfg, NoParams) and the tensor checks
  void load_inference_only(const SafeTensorsCheckpoint& ck);
  Activations act_;
  std::unique_ptr<Lora> lora_;
  bool adapters_on_ = true;
  std::vector<float> lora_v_;        // [sites][N, r]  s · x A^T of every site (forward), for backward
  std::vector<float> lora_scratch_;  // [N, r]
  // The adapters of layer `layer` whose targets lie in [first, last] (one fused product's), forward / backward.
  void lora_sites_forward(float* y, int ldy, const float* x, int layer, LoraTarget first, LoraTarget last);
  void lora_sites_backward(float* dx, const float* dy, int ldy, const float* x, int layer, LoraTarget first,
                           LoraTarget last);
  float temperature_ = 1.f;
  bool have_entropy_ = false;
  Precision precision_ = Precision::FP32;
  // the bf16 copies: a cache of params, rewritten by sync_precision when stale (hence mutable)
  mutable bool bf16_stale_ = true;
  mutable std::vector<Bf16Layer> bf16_layers_;  // [L] in bf16
  mutable std::unique_ptr<Bf16Matmul> bf16_head_;
  void sync_precision() const;
  // One product of the model, in its precision: b is the weight's bf16 copy (nullptr in fp32).
  void mm_forward(const Bf16Matmul* b, float* out, const float* a, const float* w, const float* bias, int M, int N,
                  int K);
  void mm_backward(const Bf16Matmul* b, float* da, float* dw, float* dbias, const float* dout, const float* a,
                   const float* w, int M, int N, int K);
  const Bf16Layer* bl(int l) const { return bf16_layers_.empty() ? nullptr : &bf16_layers_[l]; }
  void ensure_activations(int N, const std::vector<PackedSeq>& seqs);
  void ensure_grads();
  // The body both heads share: ensure_activations, the ids, embedding -> layers -> final norm (act().lnf).
  void forward_body(const int* ids, const int* targets, int N, const std::vector<PackedSeq>& seqs);
  // Its backward, from act().dln = ∂loss/∂lnf down to the embedding; frozen: the base has no gradients (LoRA).
  void backward_body(bool frozen);
  // R1_CHECK that this model has head `want` for the call `what`.
  void check_head(Head want, const char* what) const;
};

// A reward model (Head::Score) with `lm`'s body: every parameter but lm_head copied, score.weight ~ Normal(0, std)
// from `seed` (init_random's generator). Its cfg.raw says *ForSequenceClassification, so save() writes a config
// transformers loads with AutoModelForSequenceClassification.
Model reward_model_from(const Model& lm, uint64_t seed, float std = 0.02f);

}  // namespace r1
