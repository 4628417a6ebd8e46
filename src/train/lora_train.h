// What a trainer does differently with LoRA (model/lora.h), written once for `sft` and `grpo`:
//   - the model is the base from the recipe's `model` folder with adapters attached: fresh (PEFT's init, B = 0, so
//     step 0 is the base model exactly), or the checkpoint's `adapter/` when resuming;
//   - a checkpoint holds the adapters (PEFT layout) and their optimizer state, not the base;
//   - the final output is `adapter/` (PEFT) and `model/`, the merged full checkpoint that later stages and
//     `export-gguf` read.
#pragma once
#include "formats/dtype.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <string>

namespace r1 {

// The folder a trainer reads its weights from: `base` with LoRA (a checkpoint holds only adapters) or when not
// resuming, else the checkpoint `ck`. Checked before anything is loaded: a checkpoint of the other kind (adapters
// while lora.r is 0, or a full model while lora.r > 0) is one error that says which.
std::string trainer_weights(const std::string& base, const std::string& ck, const LoraConfig& lora, const std::string& who);
// The model a trainer starts from: the weights above, with adapters when lora.enabled() (attach_recipe_lora).
Model load_trainable_model(const std::string& base, const std::string& ck, const LoraConfig& lora, uint64_t seed,
                           const std::string& who);
// Fresh adapters from `seed`, or the checkpoint's `ck`/adapter; errors when those differ from the recipe's lora fields.
void attach_recipe_lora(Model& m, const LoraConfig& lora, const std::string& ck, uint64_t seed, const std::string& who);
// A checkpoint's weights: the adapters in `dir`/adapter with LoRA, else the model in `dir`.
void save_checkpoint_weights(const Model& m, const std::string& dir, const std::string& base);
// The final output under `out`: model/ (merged when the model has adapters: the adapters are merged into the model
// here, so call it last) with the tokenizer, and adapter/ with LoRA.
void save_final_model(Model& m, const Tokenizer& tok, const std::string& out, const std::string& base, DType dtype);

}  // namespace r1
