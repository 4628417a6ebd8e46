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
#include "formats/dtype.h"
#include "formats/gguf.h"
#include "model/transformer.h"

#include <string>
#include <utility>
#include <vector>

namespace r1 {

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

// Writes the model and its metadata as GGUF v3, with `tokenizer` as the tokenizer.ggml.* keys (from
// gguf_tokenizer_metadata in tokenizer/tokenizer_gguf.h). tokenizer == nullptr: no tokenizer; the file says
// tokenizer.ggml.model = "no_vocab" and keeps the config's bos/eos ids. dtype: F32, F16 or BF16.
void export_gguf(const Model& m, const GGUFMetadata* tokenizer, const std::string& path, DType dtype,
                 const GGUFExportOptions& opt = {});

// Reads a GGUF file written by export_gguf or by llama.cpp's converter (llama / qwen2 / qwen3, tensors F32, F16,
// BF16 or Q8_0) into a Model: config from the metadata, tensors converted to f32, the q/k permutation undone.
// Bad input (wrong architecture, missing or ill-typed key, missing / misshapen / unexpected tensor) throws one
// r1::Error naming the file and the key or tensor.
Model load_gguf_model(const std::string& path);

// A Hugging Face model folder (Model::load) or a .gguf file (load_gguf_model), chosen by the ".gguf" suffix.
// opt applies to a folder; a .gguf file is always loaded whole (fp32 parameters).
Model load_any_model(const std::string& path, const LoadOptions& opt = {});

}  // namespace r1
