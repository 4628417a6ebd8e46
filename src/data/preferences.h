// A tiny preference data set for reward-model training (DeepSeek-R1's reward model for the general RL stage, at
// tiny scale): pairs of replies to the same arithmetic question in TRL's convention,
//   {"prompt": TEXT, "chosen": " <think> ... </think> <answer> 19 </answer>", "rejected": ..., "kind", "id", "gold"}
// where `prompt` is the question rendered with `prompt_template` (exactly the text the policy sees, ending
// "Assistant:") and the replies are exactly what a policy writes after it: a leading space (the corpus, and
// R1-Zero's completions, continue "Assistant:" with " <think>"), then the R1 format.
//
// chosen    a correct, readable chain: the cold-start completion (data/cold_start.h) of the problem
// rejected  one of three kinds, each differing from the chosen reply in one defect:
//   bare_fold     the same problem and answer, but the think block a bare fold chain, as R1-Zero writes it:
//                 "<think> 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19. </think> <answer> 19 </answer>"
//   wrong_answer  the chosen chain with a slip: one fold off by 1 or 2, carried through the later folds to the
//                 closing sentence and the answer (the chain's last total == the answer != the gold)
//   noise         the chosen chain with noise mixed in (corpus words or stray characters inserted between words,
//                 or a span of words repeated); the answer block unchanged and correct
//   wrong_final   the chosen chain, right to its closing total, but an <answer> off by 1 or 2 that does not
//                 follow from it (not in the default mix; recipes/prefs_tiny.yaml uses it in place of
//                 wrong_answer, whose carried slip a tiny reward model does not learn to spot)
// A row's kind cycles through `kinds` (repeat a kind to weight it). Everything is deterministic in (seed,
// data_seed, task_config).
//
// Problems: the arithmetic task's train split drawn as cold_start draws it (task_config, data_seed), so the test
// split stays unseen. Train rows are its first n problems; eval rows (held out for the reward model's pair
// accuracy) the following problems whose question is not among the train rows', eval_n of them.
//
// `r1 prefs` (the stage prefs) writes <out>/train.jsonl (output `data`), <out>/eval.jsonl (output `eval_data`),
// stats.json (rows per kind) and config.yaml; train.jsonl is written last and marks the stage done.
#pragma once
#include "core/options.h"
#include "core/stage.h"
#include "data/corpus.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

// "bare_fold", "wrong_answer", "noise", "wrong_final"
const std::vector<std::string>& preference_kinds();

// The rejected reply of `kind` to problem p, without the leading space the rows add. It is built around the
// chosen reply cold_start_completion(p, phrasing_seed); `defect_seed` draws the slip or the noise.
// Throws r1::Error naming the kind when it is unknown.
std::string rejected_completion(const ArithmeticProblem& p, const std::string& kind, uint64_t phrasing_seed,
                                uint64_t defect_seed);

// The fold chain with one slip: fold `step` (0-based) is off by `delta`, and every later fold carries it:
// "6 + 8 + 1 + 4 = 15 + 1 + 4 = 16 + 4 = 20." for step 0, delta +1. The chain's last total is answer() + delta.
std::string slipped_steps(const ArithmeticProblem& p, size_t step, long delta);

struct PrefsConfig {
  std::string out = "runs/prefs";                        // folder: train.jsonl, eval.jsonl, stats.json, config.yaml
  long n = 1000;                                         // train rows: the first n problems of the train split
  long eval_n = 200;                                     // eval rows: the next unseen problems of the train split
  long seed = 1;                                         // phrasing of the chosen chains, the slips and the noise
  long data_seed = 1;                                    // the task's problem draw (as cold_start / grpo / eval)
  nlohmann::json task_config = nlohmann::json::object(); // arithmetic task config (data/arithmetic_task.h)
  std::string prompt_template = "r1_zero_short";         // question template of the prompts (data/prompts.h)
  std::vector<std::string> kinds = {"bare_fold", "wrong_answer", "noise"};  // rejected kinds, cycled per row
  bool reply_space = true;  // replies start with " " as the base model and R1-Zero write; false: as a policy after
                            // SFT on prompt/completion rows writes (sft joins them with nothing between)
  void declare(OptionSet& o);
};

struct PreferenceSplits {
  std::vector<nlohmann::json> train, eval;
};

// Checks the recipe (n, eval_n, kinds, prompt_template, the split's size): r1::Error naming the field.
void check_prefs(const PrefsConfig& c);
PreferenceSplits preference_splits(const PrefsConfig& c);
std::vector<nlohmann::json> preference_rows(const PrefsConfig& c);  // preference_splits(c).train

// {"train": {"rows": N, "kinds": {KIND: rows}}, "eval": {...}}
nlohmann::json preference_stats(const PreferenceSplits& s);

// Writes <out>/eval.jsonl, stats.json, config.yaml, then <out>/train.jsonl (all atomically); returns
// {"data": train path, "eval_data": eval path}.
nlohmann::json run_prefs(const PrefsConfig& c);

// The stage `prefs` (listed by data_stages(), data/cold_start.h): outputs data (train.jsonl) and eval_data.
StageKind prefs_stage();

}  // namespace r1
