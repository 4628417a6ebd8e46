// The generation front end: everything between a command's recipe and the token-level rollout engine, written
// once for `generate`, `grpo`, `sample`, `eval` and the pipeline.
//   - SamplingRecipe: the sampling fields, declared once under the key `sampling.` by every recipe.
//   - Policy: a model with its tokenizer, prompt template and end-of-sequence set. It loads them wherever a
//     Hugging Face folder keeps them (the chat template: chat_template.jinja, chat_template.json or
//     tokenizer_config.json; eos ids: config.json, generation_config.json and the tokenizer), turns a task's
//     question into prompt ids under a named template (data/prompts.h, or "chat": the model's own template) and
//     sampled ids back into text.
// The engine itself (rollout/engine.h) stays text-free.
#pragma once
#include "core/options.h"
#include "model/transformer.h"
#include "rollout/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace r1 {

// Rollout sampling, as every recipe declares it (`sampling.temperature` and so on). Defaults differ by command
// (GRPO samples at T = 1, R1's evaluation at T = 0.6, top-p 0.95), so each recipe constructs its own.
struct SamplingRecipe {
  float temperature = 1.0f;  // log-probs are taken at this temperature (sampling/sampler.h)
  float top_p = 1.0f;        // 1: off
  int top_k = 0;             // 0: off
  int max_new_tokens = 128;
  void declare(OptionSet& o, const std::string& prefix = "sampling");
  // `who` prefixes the errors ("eval", "sample"); greedy_ok: a temperature of 0 is allowed (greedy decoding).
  void check(const std::string& who, bool greedy_ok = false) const;
  SamplingParams params() const;
};

// Where a policy comes from: `model` names the Hugging Face folder (config, tokenizer, chat template,
// generation_config.json); `tokenizer` another folder for the tokenizer and template ("" = the model folder);
// `weights` another folder to read the parameters from ("" = the model folder), e.g. a training checkpoint.
// `adapter`: a PEFT LoRA adapter folder to attach to the weights ("" = none).
struct PolicySource {
  std::string model, tokenizer, weights, adapter;
  bool tokenizer_optional = false;  // true: a folder without a tokenizer gives a token-id-only policy (generate)
  // true: the model only generates (generate, eval, sample): in bf16 it is loaded without an fp32 copy of its
  // weights (model/transformer.h LoadOptions::inference_only) and cannot be trained
  bool inference_only = false;
};

class Policy {
 public:
  // prompt_template: a question template (data/prompts.h) or "chat"; think_prefix is appended to every prompt.
  // `who` prefixes every error ("grpo: prompt_template 'x' is unknown ...").
  static Policy load(const PolicySource& src, const std::string& prompt_template, const std::string& think_prefix,
                     const std::string& who);

  Model& model() { return *model_; }
  const Model& model() const { return *model_; }
  bool has_tokenizer() const { return tok_.vocab_size() > 0; }
  const Tokenizer& tokenizer() const { return tok_; }
  const ChatTemplate* chat_template() const { return chat_.get(); }
  const std::vector<int>& eos_ids() const { return eos_; }
  const std::string& think_prefix() const { return think_prefix_; }

  // The prompt text of a question: the template applied (chat: one user message with a generation prompt), then
  // the think prefix.
  std::string prompt_text(const std::string& question) const;
  // Its ids: BOS first when the model's config names the tokenizer's BOS (and the text does not already start
  // with it).
  std::vector<int> encode_question(const std::string& question) const;
  // A completion's text: its ids decoded, without the eos id that ended it; *tokens gets their count.
  std::string completion_text(const GenSample& s, int* tokens = nullptr) const;
  // Whether token `id` ended sample `s` (an eos id, or the budget reached): for progress counters.
  bool finished(const GenSample& s, int id, int max_new_tokens) const;
  // The engine configuration for sampling `s` with `seed`: eos ids, budget, batch.
  GenConfig gen_config(const SamplingRecipe& s, uint64_t seed, int max_batch) const;

 private:
  std::unique_ptr<Model> model_;
  Tokenizer tok_;
  std::unique_ptr<ChatTemplate> chat_;
  std::string template_, think_prefix_;
  std::vector<int> eos_;
};

// End-of-sequence ids of a model folder: config.json's eos_token_id, generation_config.json's (an integer or a
// list) and the tokenizer's eos (tok may be nullptr), each once, those outside [0, V) dropped.
std::vector<int> collect_eos_ids(const std::string& dir, const Model& m, const Tokenizer* tok);

}  // namespace r1
