// Model configuration, read from and written to a Hugging Face config.json.
// One decoder-only family covers Llama 3.x, Qwen2/Qwen2.5 (q/k/v bias) and Qwen3 (per-head q/k RMSNorm,
// explicit head_dim).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace r1 {

enum class Arch { Llama, Qwen2, Qwen3 };
// What sits on the final norm: the language-model head (*ForCausalLM: lm_head, token log-probs) or a scalar score
// head (*ForSequenceClassification with num_labels = 1: score.weight, one reward per sequence).
enum class Head { LM, Score };

struct ModelConfig {
  Arch arch = Arch::Llama;
  Head head = Head::LM;  // architectures: *ForCausalLM (LM) or *ForSequenceClassification with one label (Score)
  int V = 0;            // vocab_size
  int C = 0;            // hidden_size
  int L = 0;            // num_hidden_layers
  int NH = 0;           // num_attention_heads
  int NKV = 0;          // num_key_value_heads
  int HS = 0;           // head_dim (config "head_dim", else C / NH)
  int FF = 0;           // intermediate_size
  int max_pos = 0;      // max_position_embeddings
  float eps = 1e-6f;    // rms_norm_eps
  double rope_theta = 10000.0;
  bool tied = false;    // tie_word_embeddings
  bool qkv_bias = false;  // Qwen2: true; Llama: attention_bias
  bool qk_norm = false;   // Qwen3
  int bos_id = -1, eos_id = -1;
  nlohmann::json raw;   // the original config.json, kept so that writing preserves unknown fields

  int QD() const { return NH * HS; }          // query width
  int KVD() const { return NKV * HS; }        // key (or value) width
  int QKV() const { return QD() + 2 * KVD(); }

  // Parses config.json content; `origin` names the file in errors.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  static ModelConfig load(const std::string& path);  // a config.json path
  nlohmann::json to_json() const;                   // transformers-loadable config
  std::string arch_name() const;                    // "llama", "qwen2", "qwen3"
  std::string architecture() const;                 // "Qwen2ForCausalLM", "Qwen2ForSequenceClassification", ...
  // A small config for tests and the built-in tiny models.
  static ModelConfig tiny(Arch arch, int V, int C, int L, int NH, int NKV, int FF, int max_pos = 256);
};

}  // namespace r1
