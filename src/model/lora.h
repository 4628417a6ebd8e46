// LoRA adapters (Hu et al. 2021) in PEFT's layout: a targeted projection y = x W^T (+ b) becomes
//   y = x W^T (+ b) + s · (x A^T) B^T,   s = alpha / r,   A [r, in] ("lora_A"), B [out, r] ("lora_B"),
// with W frozen. The model (transformer.h) holds at most one adapter set; its forward adds the adapter products
// after each targeted product and its backward then computes gradients only for A and B (input gradients still
// flow through W). The rollout engine (infer.h) multiplies by the merged matrices W + s·B A (lora_merge_into, once
// per generate call), so rollout and trainer log-probs agree to float rounding (tested within 1e-5), as they do
// without adapters. With the adapters switched off the model is its base: GRPO's reference policy.
//
// Files: `adapter_config.json` + `adapter_model.safetensors` with PEFT's tensor names
// (base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight ...), which PeftModel.from_pretrained loads.
#pragma once
#include "core/options.h"
#include "model/config.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct TensorSpec;

// The seven projections an adapter may target, in the order their adapters sit in the block.
enum class LoraTarget { Q, K, V, O, Gate, Up, Down };
constexpr int kLoraTargets = 7;
const char* lora_target_name(LoraTarget t);  // "q_proj", ..., "down_proj" (PEFT's target_modules names)

struct LoraConfig {
  int r = 0;            // rank; 0 = no adapters (full fine-tuning)
  float alpha = 16.0f;  // lora_alpha; the products are scaled by alpha / r
  float dropout = 0.0f; // lora_dropout: only 0 (a dropped-out forward is not the policy that sampled)
  // Projections to adapt: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj (short forms q k v o gate up
  // down), or all-linear for the seven.
  std::vector<std::string> targets = {"all-linear"};
  // default: PEFT's init_lora_weights=True (A ~ kaiming-uniform(a=√5): U(−1/√in, 1/√in); B = 0);
  // gaussian: PEFT's "gaussian" (A ~ N(0, 1/r); B = 0). Both start as the base model exactly.
  std::string init = "default";

  bool enabled() const { return r > 0; }
  float scale() const { return alpha / (float)r; }
  // `lora.r`, `lora.alpha`, ... (a recipe's `lora: {r: 16, alpha: 32, targets: [q, v]}`).
  void declare(OptionSet& o, const std::string& prefix = "lora");
  void check(const std::string& who) const;  // r >= 0, alpha > 0, dropout 0, known targets and init
  std::vector<LoraTarget> target_list() const;  // canonical, in block order, each once
};

// One targeted projection of one layer: where its adapter and its output columns are.
struct LoraSite {
  int layer = 0;
  LoraTarget target = LoraTarget::Q;
  int in = 0, out = 0;  // A [r, in], B [out, r]
  int col0 = 0;         // first output column inside the fused product (q/k/v in wqkv, gate/up in wgu)
  size_t a_off = 0, b_off = 0;  // floats from the start of the adapter block
};

class Lora {
 public:
  Lora() = default;
  // Adapters for a model of `mc`, zero-filled; call init().
  Lora(const LoraConfig& c, const ModelConfig& mc);

  LoraConfig cfg;
  std::vector<TensorSpec> specs;   // PEFT names, A then B per site, in block order
  std::vector<LoraSite> sites;     // [L * targets] layer-major, targets in LoraTarget order
  std::vector<float> params, grads;  // the adapter block and its gradient [n]
  // GRPO's reference policy with adapters: the base (empty) or the base with these adapters (a snapshot of
  // params taken at a reference update, ref_update_every): [0] or [n]. Model::set_reference_mode swaps them in.
  std::vector<float> ref_params;
  size_t n = 0;

  // default / gaussian init from `seed` (B = 0 either way).
  void init(uint64_t seed);
  // The sites of layer l in LoraTarget order, and the one of (l, t) (nullptr when t is not targeted).
  const LoraSite* site(int layer, LoraTarget t) const;
  int sites_per_layer() const { return per_layer_; }

  // adapter_config.json (PEFT's LoraConfig keys) + adapter_model.safetensors, both atomically.
  // base_model: written as base_model_name_or_path.
  void save(const std::string& dir, const std::string& base_model) const;
  // Reads a PEFT LoRA adapter folder for a model of `mc`: every adapter tensor must match a site of the
  // config (names, shapes); errors name the file, the field and what was expected.
  static Lora load(const std::string& dir, const ModelConfig& mc);
  nlohmann::json peft_config(const std::string& base_model) const;

 private:
  int per_layer_ = 0;
};

// One site's products (kernels.h gemm), used by Model::forward/backward and by Inference without packed weights.
// P: the adapter block, G: its gradient.
// Forward: v[N, r] = s · x[N, in] A^T (saved for backward); y[N, ldy] columns [col0, col0 + out) += v B^T.
void lora_forward(float* y, int ldy, float* v, const float* x, const float* P, const LoraSite& st, int N, int r,
                  float s);
// W[out rows from col0, in] += s · B A (the sum over r in double): merging one site into its (fused) matrix W.
void lora_merge_into(float* W, const float* P, const LoraSite& st, int r, float s);
// Backward: dB += dy^T v; du = s · dy B; dA += du^T x; dx[N, in] += du A. dy[N, ldy] as y; scratch [N, r].
void lora_backward(float* dx, float* G, float* scratch, const float* dy, int ldy, const float* v, const float* x,
                   const float* P, const LoraSite& st, int N, int r, float s);

}  // namespace r1
