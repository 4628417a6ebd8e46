// Hugging Face checkpoints: config.json + model.safetensors (or a sharded index), read and written with
// transformers' tensor names.
#include "core/check.h"
#include "core/io.h"
#include "formats/safetensors.h"
#include "kernels/kernels.h"
#include "model/transformer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace r1 {

// Tensors that some checkpoints carry and that this model recomputes or does not need.
static bool ignorable(const std::string& name, const ModelConfig& cfg) {
  // HF buffers named *.rotary_emb.inv_freq: the rotary frequencies, recomputed from the config.
  static const std::string kInvFreq = ".rotary_emb.inv_freq";
  if (name.size() > kInvFreq.size() && name.compare(name.size() - kInvFreq.size(), kInvFreq.size(), kInvFreq) == 0)
    return true;
  // tied: lm_head is the embedding. A reward model has no lm_head: one in its checkpoint is an error.
  if (cfg.tied && cfg.head == Head::LM && name == "lm_head.weight") return true;
  return false;
}

// A hint when the checkpoint's head and config.json's architectures disagree (an LM checkpoint read as a reward
// model or the reverse), else "".
static std::string head_hint(const std::string& name, const ModelConfig& cfg, const std::string& cfg_path,
                             bool missing) {
  const std::string says = " (config.json " + cfg_path + " says architectures: [\"" + cfg.architecture() + "\"]";
  if (cfg.head == Head::Score && name == "score.weight" && missing)
    return says + ", a reward model; is this a causal LM checkpoint?)";
  if (cfg.head == Head::Score && name == "lm_head.weight" && !missing)
    return says + ", a reward model, which has no lm_head; is this a causal LM checkpoint?)";
  if (cfg.head == Head::LM && name == "score.weight" && !missing)
    return says + "; a reward model's score head needs *ForSequenceClassification there)";
  return "";
}

// What to add to "tensor 'name' is missing".
static std::string missing_hint(const std::string& name, const ModelConfig& cfg, const std::string& cfg_path,
                                const SafeTensorsCheckpoint& ck) {
  std::string hint = head_hint(name, cfg, cfg_path, true);
  if (!hint.empty()) return hint;
  if (name == "lm_head.weight" && ck.find("score.weight")) {
    ModelConfig rm = cfg;
    rm.head = Head::Score;
    return " (the checkpoint has 'score.weight', a reward model's head: config.json's architectures should say " +
           rm.architecture() + ", not " + cfg.architecture() + ")";
  }
  return !cfg.tied && cfg.head == Head::LM ? " (is tie_word_embeddings wrong?)" : "";
}

Model Model::load(const std::string& dir, const LoadOptions& opt) {
  std::string cfg_path = path_join(dir, "config.json");
  R1_CHECK(is_directory(dir), dir, ": not a model folder (expected a directory with config.json and model.safetensors)");
  R1_CHECK(file_exists(cfg_path), cfg_path, ": missing (a Hugging Face model folder needs config.json)");
  ModelConfig cfg = ModelConfig::load(cfg_path);
  SafeTensorsCheckpoint ck(dir);
  for (const auto& s : tensor_specs(cfg)) {
    const TensorInfo* t = ck.find(s.name);
    R1_CHECK(t, dir, ": tensor '", s.name, "' is missing; a ", cfg.arch_name(), " model with this config.json (",
             cfg_path, ") needs it", missing_hint(s.name, cfg, cfg_path, ck));
    R1_CHECK(t->shape == s.shape, ck.file_of(s.name), ": tensor '", s.name, "' has shape ", shape_str(t->shape),
             " but config.json (", cfg_path, ") implies ", shape_str(s.shape),
             " (check hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, head_dim, vocab_size)");
    R1_CHECK(t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16, ck.file_of(s.name),
             ": tensor '", s.name, "' has dtype ", dtype_name(t->dtype), "; expected F32, BF16 or F16");
  }
  std::set<std::string> known;
  for (const auto& s : tensor_specs(cfg)) known.insert(s.name);
  for (const auto& name : ck.names()) {
    R1_CHECK(known.count(name) || ignorable(name, cfg), ck.file_of(name), ": unexpected tensor '", name, "' for a ",
             cfg.arch_name(), " model with ", cfg.L, " layers as config.json describes",
             head_hint(name, cfg, cfg_path, false),
             name == "lm_head.weight" && cfg.head == Head::LM ? " (config says tie_word_embeddings: true)" : "");
  }
  if (opt.inference_only && default_precision() == Precision::BF16 && cfg.head == Head::LM) {
    Model m(cfg, NoParams{});
    m.load_inference_only(ck);
    return m;
  }
  Model m(cfg);
  for (const auto& s : m.specs) {
    ck.read_f32_into(s.name, m.params_mem.data() + s.offset, s.numel);
    ck.release(s.name);  // the file's pages of this tensor leave the resident set
  }
  return m;
}

namespace {

// The matrix [Σ rows, cols] made of the adjacent checkpoint tensors `parts` (q|k|v, gate|up, or one), as bf16 bits:
// a pointer into the file when it is one BF16 tensor, else gathered into buf, F32/F16 entries rounded to bf16
// (round_to_bf16, the rounding Bf16Matmul::set applies to fp32 weights).
const uint16_t* bf16_matrix(const SafeTensorsCheckpoint& ck, const std::vector<const TensorSpec*>& parts,
                            std::vector<uint16_t>& buf) {
  if (parts.size() == 1) {
    const TensorInfo* t = ck.find(parts[0]->name);
    const uint8_t* p = ck.shard_of(t->name).data(*t);
    if (t->dtype == DType::BF16 && reinterpret_cast<uintptr_t>(p) % alignof(uint16_t) == 0)
      return reinterpret_cast<const uint16_t*>(p);
  }
  size_t n = 0;
  for (const TensorSpec* s : parts) n += s->numel;
  buf.resize(n);
  uint16_t* d = buf.data();
  std::vector<float> f32;
  for (const TensorSpec* s : parts) {
    const TensorInfo* t = ck.find(s->name);
    const uint8_t* p = ck.shard_of(s->name).data(*t);
    if (t->dtype == DType::BF16) {
      std::memcpy(d, p, sizeof(uint16_t) * s->numel);
    } else {
      constexpr size_t kBlock = size_t(1) << 20;  // widened a block at a time: no fp32 copy of the matrix
      f32.resize(std::min(kBlock, s->numel));
      for (size_t b = 0; b < s->numel; b += kBlock) {
        const size_t m = std::min(kBlock, s->numel - b);
        convert_to_f32(t->dtype, p + b * dtype_size(t->dtype), f32.data(), m);
        round_to_bf16(d + b, f32.data(), m);
      }
    }
    d += s->numel;
  }
  return buf.data();
}

}  // namespace

// LoadOptions::inference_only: the vectors (and a non-BF16 embedding) into a small fp32 block, every matrix straight
// into its bf16 copy, the embedding into a bf16 table; the file's pages released tensor by tensor.
void Model::load_inference_only(const SafeTensorsCheckpoint& ck) {
  const TensorSpec& emb = specs.front();
  R1_ASSERT(emb.name == "model.embed_tokens.weight" && cfg.head == Head::LM && precision_ == Precision::BF16);
  const bool wte_bf16 = ck.find(emb.name)->dtype == DType::BF16;
  // the fp32 block: every tensor that is not a matrix (norm weights, biases), and the embedding unless it is BF16
  auto kept = [&](const TensorSpec& s) { return !s.matrix || (&s == &emb && !wte_bf16); };
  size_t n = 0;
  for (const TensorSpec& s : specs) n += kept(s) ? s.numel : 0;
  params_mem.assign(n, 0.f);
  std::vector<float*> at(specs.size(), nullptr);
  n = 0;
  for (size_t i = 0; i < specs.size(); i++)
    if (kept(specs[i])) {
      at[i] = params_mem.data() + n;
      ck.read_f32_into(specs[i].name, at[i], specs[i].numel);
      ck.release(specs[i].name);
      n += specs[i].numel;
    }
  w = bind_weights(cfg, at);
  inference_only_ = true;
  if (wte_bf16) {
    const TensorInfo* t = ck.find(emb.name);
    const uint8_t* p = ck.shard_of(emb.name).data(*t);
    wte_bf16_.resize(emb.numel);
    std::memcpy(wte_bf16_.data(), p, sizeof(uint16_t) * emb.numel);
    ck.release(emb.name);
  }
  // the bf16 copies, forward layout only (no backward_data: nothing trains this model)
  std::map<std::string, const TensorSpec*> by_name;
  for (const TensorSpec& s : specs) by_name[s.name] = &s;
  std::vector<uint16_t> buf;
  auto load = [&](Bf16Matmul& b, const std::vector<std::string>& names) {
    std::vector<const TensorSpec*> parts;
    for (const auto& nm : names) parts.push_back(by_name.at(nm));
    b.set_bf16(bf16_matrix(ck, parts, buf));
    for (const auto& nm : names) ck.release(nm);
  };
  const int C = cfg.C, QKV = cfg.QKV(), QD = cfg.QD(), FF = cfg.FF;
  bf16_layers_.reserve(cfg.L);
  for (int l = 0; l < cfg.L; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    bf16_layers_.push_back(Bf16Layer{Bf16Matmul(QKV, C, false), Bf16Matmul(C, QD, false), Bf16Matmul(2 * FF, C, false),
                                     Bf16Matmul(C, FF, false)});
    Bf16Layer& b = bf16_layers_.back();
    load(b.qkv, {p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"});
    load(b.o, {p + "self_attn.o_proj.weight"});
    load(b.gu, {p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"});
    load(b.down, {p + "mlp.down_proj.weight"});
  }
  bf16_head_ = std::make_unique<Bf16Matmul>(cfg.V, C, false);
  if (!cfg.tied) load(*bf16_head_, {"lm_head.weight"});
  else if (wte_bf16) bf16_head_->set_bf16(wte_bf16_.data());  // the same bf16 values the embedding holds
  else bf16_head_->set(w.wte);                                 // rounded, as a normal load's copy is
  bf16_stale_ = false;
}

void Model::save(const std::string& dir, DType dtype) const {
  check_trainable("save");
  R1_CHECK(dtype == DType::F32 || dtype == DType::BF16, "save: dtype must be F32 or BF16");
  make_dirs(dir);
  std::vector<TensorToWrite> ts;
  for (const auto& s : specs) ts.push_back({s.name, s.shape, DType::F32, params_mem.data() + s.offset});
  write_safetensors(path_join(dir, "model.safetensors"), ts, dtype, {{"format", "pt"}});
  nlohmann::json j = cfg.to_json();
  j["torch_dtype"] = dtype == DType::BF16 ? "bfloat16" : "float32";
  atomic_write(path_join(dir, "config.json"), j.dump(2) + "\n");
}

void Model::save(const std::string& dir) const { save(dir, DType::F32); }

}  // namespace r1
