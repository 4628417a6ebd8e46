// A reward model scoring (prompt, response) pairs: `r1 rm`'s output, or any Hugging Face
// *ForSequenceClassification folder with one label (model/transformer.h forward_score). Used by GRPO's
// reward_model reward (scoring/model_rewards.h) and `r1 rm-score`.
//
// Inputs are built by scoring/rm_input.h, the same way `r1 rm` trains. Consecutive pairs with the same prompt
// (GRPO's G completions of a prompt) share one prefix and are scored in one forward pass of their own, so a
// pair's score never depends on what else is in the batch (the same bits on any number of MPI ranks).
#pragma once
#include "model/transformer.h"
#include "scoring/rm_input.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace r1 {

class RewardModel {
 public:
  // dir: a Hugging Face folder whose config.json names a *ForSequenceClassification architecture; tokenizer: a
  // folder or file ("" = dir). `who` prefixes the errors ("reward 'reward_model'").
  static std::unique_ptr<RewardModel> load(const std::string& dir, const std::string& tokenizer,
                                           const std::string& who);
  // The checks load() makes that need no weights: the folder, config.json, the architecture, the tokenizer.
  static void check(const std::string& dir, const std::string& tokenizer, const std::string& who);

  // scores[i] of (prompts[i], rm_view_text(responses[i], view)). groups (optional, one per pair): a run shares a
  // forward pass only while both its prompt and its group are equal (GRPO passes its group ids, so two groups
  // that drew the same problem are still scored apart).
  std::vector<float> score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses,
                           RmView view, const std::vector<long>* groups = nullptr);
  Model& model() { return *model_; }
  const Tokenizer& tokenizer() const { return tok_; }

 private:
  std::unique_ptr<Model> model_;
  Tokenizer tok_;
  int max_rows_ = 8192;  // rows of one forward pass (a run of equal prompts is split at whole pairs beyond this)
  // One forward pass over a prompt and its responses' ids; appends their scores.
  void score_run(const std::vector<int>& prompt, const std::vector<std::vector<int>>& responses, std::vector<float>& out);
};

}  // namespace r1
