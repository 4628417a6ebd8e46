// GGUF export and import of a Model, in the layout llama.cpp's convert_hf_to_gguf.py writes, so that llama.cpp
// (and ollama) run the exported file and r1.cpp reads llama.cpp's files back.
//
// Architectures: Llama -> "llama", Qwen2 -> "qwen2", Qwen3 -> "qwen3" (per-head blk.N.attn_q_norm / attn_k_norm).
// Tensor names (HF -> GGUF):
//   model.embed_tokens.weight -> token_embd.weight            model.norm.weight -> output_norm.weight
//   lm_head.weight -> output.weight (omitted when tied)        layers.N.input_layernorm -> blk.N.attn_norm
//   self_attn.{q,k,v}_proj.{weight,bias} -> blk.N.attn_{q,k,v}.{weight,bias}
//   self_attn.o_proj -> blk.N.attn_output                      self_attn.{q,k}_norm -> blk.N.attn_{q,k}_norm
//   post_attention_layernorm -> blk.N.ffn_norm                 mlp.{gate,up,down}_proj -> blk.N.ffn_{gate,up,down}
// GGUF dims are the torch shape reversed (ne[0] fastest): q_proj [QD, C] is stored with ne = {C, QD}.
//
// Rotary layout: Hugging Face Llama checkpoints rotate halves (dims i and i+HS/2 form a pair); llama.cpp's "llama"
// architecture uses GGML's normal rope on adjacent pairs (2i, 2i+1). convert_hf_to_gguf.py therefore permutes the
// rows of q_proj/k_proj (weights and biases) per head, and export_gguf does the same:
//   GGUF row  h*HS + 2*i + j  =  HF row  h*HS + j*(HS/2) + i      (i < HS/2, j in {0,1}; heads NH for q, NKV for k)
// load_gguf_model undoes it. qwen2/qwen3 use NEOX rope (the HF layout), so nothing is permuted for them.
//
// Matrices are stored as the requested dtype (F32/F16/BF16, round to nearest even); 1-D tensors (norms, biases)
// always as F32, as llama.cpp's converter does.
#pragma once
#include "core/check.h"
#include "formats/dtype.h"
#include "formats/gguf.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"  // only the inline helpers below use it; r1_model itself does not link r1_tokenizer

#include <string>
#include <utility>
#include <vector>

namespace r1 {

using GGUFMetadata = std::vector<std::pair<std::string, GGUFValue>>;

struct GGUFExportOptions {
  std::string name;           // general.name ("" -> "r1.cpp <arch>")
  std::string chat_template;  // tokenizer.chat_template when non-empty
  int pad_id = -1;            // tokenizer.ggml.padding_token_id when >= 0
};

// GGUF name of a Hugging Face tensor name of `cfg`'s model ("" if the name is not one of tensor_specs(cfg)).
std::string gguf_tensor_name(const std::string& hf_name);
// The llama-arch q/k row permutation (HF rotate-half -> GGML adjacent pairs) applied to `rows` rows of `cols`
// floats each (cols = 1 for a bias), `n_head` heads of rows/n_head rows. inverse=true undoes it.
void gguf_permute_rows(const float* src, float* dst, int64_t rows, int64_t cols, int n_head, bool inverse);

// Writes model + the given extra metadata (normally tokenizer.ggml.*; see gguf_tokenizer_metadata) as GGUF v3.
void export_gguf_with_metadata(const Model& m, const GGUFMetadata& extra, const std::string& path, DType dtype,
                               const GGUFExportOptions& opt = {});

// Reads a GGUF file written by export_gguf or by llama.cpp's converter (llama / qwen2 / qwen3, tensors F32, F16,
// BF16 or Q8_0) into a Model: config from the metadata, tensors converted to f32, the q/k permutation undone.
// Bad input (wrong architecture, missing or ill-typed key, missing / misshapen / unexpected tensor) throws one
// r1::Error naming the file and the key or tensor.
Model load_gguf_model(const std::string& path);

// A Hugging Face model folder (Model::load) or a .gguf file (load_gguf_model), chosen by the ".gguf" suffix.
Model load_any_model(const std::string& path);

// tokenizer.ggml.* keys for `tok`, as convert_hf_to_gguf.py writes them for a byte-level BPE ("gpt2") tokenizer:
// model, pre, tokens (padded with "[PAD<i>]" to n_vocab, holes likewise), token_type, merges, bos/eos ids
// (falling back to the model config's when the tokenizer has none) and add_bos_token.
inline GGUFMetadata gguf_tokenizer_metadata(const Tokenizer& tok, const ModelConfig& cfg, const std::string& where) {
  const int n = tok.vocab_size();
  R1_CHECK(n <= cfg.V, where, ": the tokenizer has ", n, " tokens but the model's vocab_size is ", cfg.V,
           "; a GGUF needs one embedding row per token");
  std::vector<std::string> tokens(cfg.V);
  std::vector<int64_t> types(cfg.V);
  for (int i = 0; i < cfg.V; ++i) {
    std::string s = i < n ? tok.token_string(i) : std::string();
    if (s.empty()) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = 5;  // llama.cpp UNUSED
    } else {
      tokens[i] = s;
      types[i] = tok.gguf_token_type(i);
    }
  }
  GGUFMetadata kv;
  kv.emplace_back("tokenizer.ggml.model", GGUFValue::string("gpt2"));
  kv.emplace_back("tokenizer.ggml.pre", GGUFValue::string(tok.gguf_pre()));
  kv.emplace_back("tokenizer.ggml.tokens", GGUFValue::strings(std::move(tokens)));
  kv.emplace_back("tokenizer.ggml.token_type", GGUFValue::array_i64(GGUFType::I32, types));
  kv.emplace_back("tokenizer.ggml.merges", GGUFValue::strings(tok.merges()));  // llama.cpp requires the key
  int bos = tok.bos_id() >= 0 ? tok.bos_id() : cfg.bos_id;
  int eos = tok.eos_id() >= 0 ? tok.eos_id() : cfg.eos_id;
  if (bos >= 0 && bos < cfg.V) kv.emplace_back("tokenizer.ggml.bos_token_id", GGUFValue::u32(uint32_t(bos)));
  if (eos >= 0 && eos < cfg.V) kv.emplace_back("tokenizer.ggml.eos_token_id", GGUFValue::u32(uint32_t(eos)));
  kv.emplace_back("tokenizer.ggml.add_bos_token", GGUFValue::boolean(tok.add_bos()));
  return kv;
}

// GGUF v3 with the model, its metadata and (when tok != nullptr) the tokenizer; with no tokenizer the file says
// tokenizer.ggml.model = "no_vocab" and keeps the config's bos/eos ids. dtype: F32, F16 or BF16.
inline void export_gguf(const Model& m, const Tokenizer* tok, const std::string& path, DType dtype,
                        const GGUFExportOptions& opt = {}) {
  GGUFMetadata kv;
  if (tok) kv = gguf_tokenizer_metadata(*tok, m.cfg, path);
  else {
    kv.emplace_back("tokenizer.ggml.model", GGUFValue::string("no_vocab"));
    // The config's ids, so that the model reads back with the same bos/eos (llama.cpp ignores them here).
    if (m.cfg.bos_id >= 0 && m.cfg.bos_id < m.cfg.V)
      kv.emplace_back("tokenizer.ggml.bos_token_id", GGUFValue::u32(uint32_t(m.cfg.bos_id)));
    if (m.cfg.eos_id >= 0 && m.cfg.eos_id < m.cfg.V)
      kv.emplace_back("tokenizer.ggml.eos_token_id", GGUFValue::u32(uint32_t(m.cfg.eos_id)));
  }
  export_gguf_with_metadata(m, kv, path, dtype, opt);
}

}  // namespace r1
