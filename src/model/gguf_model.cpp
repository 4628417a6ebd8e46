// GGUF export/import of a Model (see gguf_model.h for the layout and the q/k permutation).
#include "model/gguf_model.h"
#include "core/check.h"
#include "core/io.h"

#include <cctype>
#include <cstring>
#include <deque>
#include <set>

namespace r1 {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string ne_str(const std::vector<int64_t>& ne) {
  std::string s = "{";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "}";
}

std::vector<int64_t> reversed(std::vector<int64_t> v) { return std::vector<int64_t>(v.rbegin(), v.rend()); }

// Which heads count a permuted tensor has (0: not permuted). Only the llama architecture permutes.
int permute_heads(const ModelConfig& c, const std::string& hf_name) {
  if (c.arch != Arch::Llama) return 0;
  if (ends_with(hf_name, "self_attn.q_proj.weight") || ends_with(hf_name, "self_attn.q_proj.bias")) return c.NH;
  if (ends_with(hf_name, "self_attn.k_proj.weight") || ends_with(hf_name, "self_attn.k_proj.bias")) return c.NKV;
  return 0;
}

}  // namespace

std::string gguf_tensor_name(const std::string& hf) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (!starts_with(hf, pre)) return "";
  size_t dot = hf.find('.', pre.size());
  if (dot == std::string::npos || dot == pre.size()) return "";
  std::string layer = hf.substr(pre.size(), dot - pre.size());
  for (char ch : layer)
    if (ch < '0' || ch > '9') return "";
  std::string rest = hf.substr(dot + 1);
  static const std::pair<const char*, const char*> kMap[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  for (const auto& kv : kMap)
    if (rest == kv.first) return "blk." + layer + "." + kv.second;
  return "";
}

void gguf_permute_rows(const float* src, float* dst, int64_t rows, int64_t cols, int n_head, bool inverse) {
  R1_CHECK(n_head > 0 && rows % (2 * (int64_t)n_head) == 0, "gguf_permute_rows: ", rows,
           " rows do not split into ", n_head, " heads of an even size");
  const int64_t hs = rows / n_head, half = hs / 2;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        int64_t g = h * hs + 2 * i + j;     // GGML (adjacent pairs) row
        int64_t f = h * hs + j * half + i;  // HF (rotate-half) row
        int64_t to = inverse ? f : g, from = inverse ? g : f;
        std::memcpy(dst + to * cols, src + from * cols, sizeof(float) * (size_t)cols);
      }
}

namespace {
// tokenizer.ggml.* keys of a file without a tokenizer.
GGUFMetadata no_vocab_metadata(const ModelConfig& c) {
  GGUFMetadata kv;
  kv.emplace_back("tokenizer.ggml.model", GGUFValue::string("no_vocab"));
  // The config's ids, so that the model reads back with the same bos/eos (llama.cpp ignores them here).
  if (c.bos_id >= 0 && c.bos_id < c.V)
    kv.emplace_back("tokenizer.ggml.bos_token_id", GGUFValue::u32(uint32_t(c.bos_id)));
  if (c.eos_id >= 0 && c.eos_id < c.V)
    kv.emplace_back("tokenizer.ggml.eos_token_id", GGUFValue::u32(uint32_t(c.eos_id)));
  return kv;
}
}  // namespace

void export_gguf(const Model& m, const GGUFMetadata* tokenizer, const std::string& path, DType dtype,
                 const GGUFExportOptions& opt) {
  R1_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16, path,
           ": GGUF export dtype must be F32, F16 or BF16, got ", dtype_name(dtype));
  R1_CHECK(m.cfg.head == Head::LM, path, ": the model is a reward model (", m.cfg.architecture(),
           "); GGUF export writes causal language models only");
  const ModelConfig& c = m.cfg;
  const std::string a = c.arch_name();
  GGMLType mtype = dtype == DType::F32 ? GGMLType::F32 : dtype == DType::F16 ? GGMLType::F16 : GGMLType::BF16;
  // llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_BF16 = 32.
  uint32_t file_type = dtype == DType::F32 ? 0 : dtype == DType::F16 ? 1 : 32;

  GGUFWriter w;
  w.set("general.architecture", GGUFValue::string(a));
  w.set("general.name", GGUFValue::string(opt.name.empty() ? "r1.cpp " + a : opt.name));
  w.set("general.file_type", GGUFValue::u32(file_type));
  w.set("general.quantization_version", GGUFValue::u32(2));
  // The value types are the ones llama.cpp's loader checks (u32 sizes, f32 epsilon and rope base).
  w.set(a + ".vocab_size", GGUFValue::u32(uint32_t(c.V)));
  w.set(a + ".context_length", GGUFValue::u32(uint32_t(c.max_pos)));
  w.set(a + ".embedding_length", GGUFValue::u32(uint32_t(c.C)));
  w.set(a + ".block_count", GGUFValue::u32(uint32_t(c.L)));
  w.set(a + ".feed_forward_length", GGUFValue::u32(uint32_t(c.FF)));
  w.set(a + ".attention.head_count", GGUFValue::u32(uint32_t(c.NH)));
  w.set(a + ".attention.head_count_kv", GGUFValue::u32(uint32_t(c.NKV)));
  w.set(a + ".attention.layer_norm_rms_epsilon", GGUFValue::f32(c.eps));
  w.set(a + ".rope.freq_base", GGUFValue::f32(float(c.rope_theta)));
  w.set(a + ".rope.dimension_count", GGUFValue::u32(uint32_t(c.HS)));
  if (c.arch == Arch::Qwen3 || c.HS * c.NH != c.C) {
    w.set(a + ".attention.key_length", GGUFValue::u32(uint32_t(c.HS)));
    w.set(a + ".attention.value_length", GGUFValue::u32(uint32_t(c.HS)));
  }
  const GGUFMetadata no_vocab = tokenizer ? GGUFMetadata() : no_vocab_metadata(c);
  for (const auto& kv : tokenizer ? *tokenizer : no_vocab) w.set(kv.first, kv.second);
  if (opt.pad_id >= 0 && opt.pad_id < c.V)
    w.set("tokenizer.ggml.padding_token_id", GGUFValue::u32(uint32_t(opt.pad_id)));
  if (!opt.chat_template.empty()) w.set("tokenizer.chat_template", GGUFValue::string(opt.chat_template));

  std::deque<std::vector<float>> permuted;  // stable storage until write()
  for (const auto& s : m.specs) {
    std::string g = gguf_tensor_name(s.name);
    R1_CHECK(!g.empty(), path, ": no GGUF name for tensor '", s.name, "'");
    const float* data = m.params_mem.data() + s.offset;
    if (int nh = permute_heads(c, s.name)) {
      permuted.emplace_back(s.numel);
      int64_t cols = s.shape.size() == 2 ? s.shape[1] : 1;
      gguf_permute_rows(data, permuted.back().data(), s.shape[0], cols, nh, /*inverse=*/false);
      data = permuted.back().data();
    }
    w.add_tensor_f32(g, reversed(s.shape), data, s.shape.size() == 2 ? mtype : GGMLType::F32);
  }
  w.write(path);
}

Model load_gguf_model(const std::string& path) {
  GGUFFile f(path);
  const std::string a = f.get_string("general.architecture");
  R1_CHECK(a == "llama" || a == "qwen2" || a == "qwen3", path, ": general.architecture is '", a,
           "'; expected \"llama\", \"qwen2\" or \"qwen3\"");
  auto key_int = [&](const std::string& k, int64_t max) -> int {
    uint64_t v = f.get_u64(a + "." + k);
    R1_CHECK(v > 0 && v <= (uint64_t)max, path, ": key '", a, ".", k, "' = ", v, " is out of range (expected 1..",
             max, ")");
    return int(v);
  };
  const int64_t kMaxDim = 1 << 30;
  const GGUFTensorInfo* emb = f.find_tensor("token_embd.weight");
  R1_CHECK(emb, path, ": tensor 'token_embd.weight' is missing");
  R1_CHECK(emb->ne.size() == 2, path, ": tensor 'token_embd.weight' has ne ", ne_str(emb->ne),
           "; expected 2 dimensions {embedding_length, vocab_size}");
  nlohmann::json j = nlohmann::json::object();
  j["model_type"] = a;
  j["architectures"] = {a == "llama" ? "LlamaForCausalLM" : a == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"};
  const int C = key_int("embedding_length", kMaxDim);
  const int NH = key_int("attention.head_count", 1 << 16);
  j["vocab_size"] = f.has(a + ".vocab_size") ? key_int("vocab_size", kMaxDim) : emb->ne[1];
  j["hidden_size"] = C;
  j["num_hidden_layers"] = key_int("block_count", 1 << 16);
  j["num_attention_heads"] = NH;
  j["num_key_value_heads"] = f.has(a + ".attention.head_count_kv") ? key_int("attention.head_count_kv", 1 << 16) : NH;
  j["intermediate_size"] = key_int("feed_forward_length", kMaxDim);
  // The Model keeps a [max_pos, head_dim] rotary table; 2M positions bounds it (Qwen2.5-1M needs 1,010,000).
  j["max_position_embeddings"] = key_int("context_length", 1 << 21);
  double eps = f.get_f64(a + ".attention.layer_norm_rms_epsilon");
  R1_CHECK(eps > 0 && eps < 1, path, ": key '", a, ".attention.layer_norm_rms_epsilon' = ", eps,
           "; expected a small positive number");
  j["rms_norm_eps"] = (double)(float)eps;
  double theta = f.has(a + ".rope.freq_base") ? f.get_f64(a + ".rope.freq_base") : 10000.0;  // llama.cpp default
  R1_CHECK(theta > 1, path, ": key '", a, ".rope.freq_base' = ", theta, "; expected a number > 1");
  j["rope_theta"] = theta;
  if (const GGUFValue* st = f.find(a + ".rope.scaling.type")) {
    std::string t = st->as_string(path + ": key '" + a + ".rope.scaling.type'");
    R1_CHECK(t == "none", path, ": key '", a, ".rope.scaling.type' is '", t,
             "'; rope scaling is not supported (expected \"none\" or no key)");
  }
  int HS = 0;
  if (f.has(a + ".attention.key_length")) {
    HS = key_int("attention.key_length", 1 << 16);
  } else {
    R1_CHECK(C % NH == 0, path, ": key '", a, ".embedding_length' (", C, ") is not a multiple of '", a,
             ".attention.head_count' (", NH, ") and there is no '", a, ".attention.key_length'");
    HS = C / NH;
  }
  if (f.has(a + ".attention.value_length")) {
    int vl = key_int("attention.value_length", 1 << 16);
    R1_CHECK(vl == HS, path, ": key '", a, ".attention.value_length' = ", vl, " differs from the key length ", HS,
             "; expected equal key and value head sizes");
  }
  if (f.has(a + ".rope.dimension_count")) {
    int rd = key_int("rope.dimension_count", 1 << 16);
    R1_CHECK(rd == HS, path, ": key '", a, ".rope.dimension_count' = ", rd, " but the head size is ", HS,
             "; partial rotary embeddings are not supported");
  }
  if (a == "qwen3" || HS * NH != C) j["head_dim"] = HS;
  j["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  if (a == "llama") j["attention_bias"] = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  if (a == "qwen3") j["attention_bias"] = false;
  for (const char* k : {"bos", "eos"}) {
    std::string key = std::string("tokenizer.ggml.") + k + "_token_id";
    if (!f.has(key)) continue;
    uint64_t id = f.get_u64(key);
    R1_CHECK(id < (uint64_t)j["vocab_size"].get<int64_t>(), path, ": key '", key, "' = ", id,
             " is not a token id (vocab size ", j["vocab_size"].get<int64_t>(), ")");
    j[std::string(k) + "_token_id"] = (int64_t)id;
  }
  j["hidden_act"] = "silu";
  j["torch_dtype"] = "float32";
  ModelConfig cfg = ModelConfig::from_json(j, path);

  // Check every tensor before allocating the model (sizes then come from a validated file).
  std::vector<TensorSpec> specs = tensor_specs(cfg);
  std::set<std::string> expected;
  for (const auto& s : specs) {
    std::string g = gguf_tensor_name(s.name);
    expected.insert(g);
    const GGUFTensorInfo* t = f.find_tensor(g);
    R1_CHECK(t, path, ": tensor '", g, "' is missing; a ", a, " model with ", cfg.L, " layers as the metadata ",
             "describes needs it");
    std::vector<int64_t> ne = reversed(s.shape);
    R1_CHECK(t->ne == ne, path, ": tensor '", g, "' has ne ", ne_str(t->ne), " but the metadata implies ",
             ne_str(ne), " (check ", a, ".embedding_length, feed_forward_length, attention.head_count(_kv), ",
             "attention.key_length, vocab_size)");
  }
  for (const auto& t : f.tensors()) {
    R1_CHECK(t.name != "rope_freqs.weight", path, ": tensor 'rope_freqs.weight' (Llama 3.1-style rope scaling) ",
             "is not supported");
    R1_CHECK(expected.count(t.name), path, ": unexpected tensor '", t.name, "' for a ", a, " model with ", cfg.L,
             " layers", t.name.find("bias") != std::string::npos ? " (biases this architecture does not have)" : "");
  }

  Model m(cfg);
  std::vector<float> tmp;
  for (const auto& s : m.specs) {
    std::string g = gguf_tensor_name(s.name);
    float* dst = m.params_mem.data() + s.offset;
    if (int nh = permute_heads(cfg, s.name)) {
      tmp.resize(s.numel);
      f.read_f32_into(g, tmp.data(), s.numel);
      int64_t cols = s.shape.size() == 2 ? s.shape[1] : 1;
      gguf_permute_rows(tmp.data(), dst, s.shape[0], cols, nh, /*inverse=*/true);
    } else {
      f.read_f32_into(g, dst, s.numel);
    }
  }
  return m;
}

Model load_any_model(const std::string& path, const LoadOptions& opt) {
  std::string lower = path;
  for (char& ch : lower) ch = (char)std::tolower((unsigned char)ch);
  if (ends_with(lower, ".gguf") && !is_directory(path)) return load_gguf_model(path);
  return Model::load(path, opt);
}

}  // namespace r1
