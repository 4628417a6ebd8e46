#include "train/lora_train.h"
#include "core/check.h"
#include "core/io.h"

namespace r1 {

std::string trainer_weights(const std::string& base, const std::string& ck, const LoraConfig& lora, const std::string& who) {
  lora.check(who);
  if (ck.empty()) return base;
  const bool has_adapter = is_directory(path_join(ck, "adapter"));
  R1_CHECK(lora.enabled() || !has_adapter, who, ": the checkpoint ", ck,
           " holds LoRA adapters but lora.r is 0; resume with the recipe's lora fields");
  R1_CHECK(!lora.enabled() || has_adapter, who, ": resuming from ", ck, " with lora.r = ", lora.r,
           ", but the checkpoint holds no adapter/ (it was written without LoRA; set lora.r: 0 or start a new run folder)");
  return lora.enabled() ? base : ck;
}

void attach_recipe_lora(Model& m, const LoraConfig& lora, const std::string& ck, uint64_t seed, const std::string& who) {
  lora.check(who);
  if (!ck.empty()) {
    const std::string adir = path_join(ck, "adapter");
    Lora l = Lora::load(adir, m.cfg);
    R1_CHECK(l.cfg.r == lora.r && l.cfg.alpha == lora.alpha && l.cfg.target_list() == lora.target_list(), who,
             ": the checkpoint's adapters (", adir, ": r ", l.cfg.r, ", alpha ", l.cfg.alpha,
             ") differ from the recipe's lora fields (r ", lora.r, ", alpha ", lora.alpha,
             ") or targets; resume with the recipe that started the run");
    l.cfg.init = lora.init;
    m.attach_lora(std::move(l));
    return;
  }
  Lora l(lora, m.cfg);
  l.init(seed);
  m.attach_lora(std::move(l));
}

Model load_trainable_model(const std::string& base, const std::string& ck, const LoraConfig& lora, uint64_t seed,
                           const std::string& who) {
  Model m = Model::load(trainer_weights(base, ck, lora, who));
  if (lora.enabled()) attach_recipe_lora(m, lora, ck, seed, who);
  return m;
}

void save_checkpoint_weights(const Model& m, const std::string& dir, const std::string& base) {
  if (m.has_lora()) m.lora().save(path_join(dir, "adapter"), base);
  else m.save(dir);
}

void save_final_model(Model& m, const Tokenizer& tok, const std::string& out, const std::string& base, DType dtype) {
  const std::string md = path_join(out, "model");
  if (m.has_lora()) {
    m.lora().save(path_join(out, "adapter"), base);
    m.merge_lora();
  }
  m.save(md, dtype);
  tok.save(md);  // with its chat template, so that prompt_template: chat works on the output
}

}  // namespace r1
