// Hugging Face checkpoints: config.json + model.safetensors (or a sharded index), read and written with
// transformers' tensor names.
#include "core/check.h"
#include "core/io.h"
#include "formats/safetensors.h"
#include "model/transformer.h"

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

Model Model::load(const std::string& dir) {
  std::string cfg_path = path_join(dir, "config.json");
  R1_CHECK(is_directory(dir), dir, ": not a model folder (expected a directory with config.json and model.safetensors)");
  R1_CHECK(file_exists(cfg_path), cfg_path, ": missing (a Hugging Face model folder needs config.json)");
  ModelConfig cfg = ModelConfig::load(cfg_path);
  SafeTensorsCheckpoint ck(dir);
  Model m(cfg);
  for (const auto& s : m.specs) {
    const TensorInfo* t = ck.find(s.name);
    R1_CHECK(t, dir, ": tensor '", s.name, "' is missing; a ", cfg.arch_name(), " model with this config.json (",
             cfg_path, ") needs it", missing_hint(s.name, cfg, cfg_path, ck));
    R1_CHECK(t->shape == s.shape, ck.file_of(s.name), ": tensor '", s.name, "' has shape ", shape_str(t->shape),
             " but config.json (", cfg_path, ") implies ", shape_str(s.shape),
             " (check hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, head_dim, vocab_size)");
    R1_CHECK(t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16, ck.file_of(s.name),
             ": tensor '", s.name, "' has dtype ", dtype_name(t->dtype), "; expected F32, BF16 or F16");
    ck.read_f32_into(s.name, m.params_mem.data() + s.offset, s.numel);
  }
  std::set<std::string> known;
  for (const auto& s : m.specs) known.insert(s.name);
  for (const auto& name : ck.names()) {
    R1_CHECK(known.count(name) || ignorable(name, cfg), ck.file_of(name), ": unexpected tensor '", name, "' for a ",
             cfg.arch_name(), " model with ", cfg.L, " layers as config.json describes",
             head_hint(name, cfg, cfg_path, false),
             name == "lm_head.weight" && cfg.head == Head::LM ? " (config says tie_word_embeddings: true)" : "");
  }
  return m;
}

void Model::save(const std::string& dir, DType dtype) const {
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
