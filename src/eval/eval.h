// `r1 eval`: DeepSeek-R1's evaluation protocol on a task.
//
// Per problem: k samples at temperature 0.6, top-p 0.95 (configurable) and one greedy completion. Reported per
// task: pass@1 (mean correctness over the k samples), the unbiased pass@k for each requested k <= samples
// (eval/metrics.h), cons@k (majority vote over all k samples' extracted answers, eval/metrics.h states the tie
// rule), greedy accuracy, mean response length in tokens (of the k samples, an ending eos not counted) and the
// format rate (strict R1 format, rewards/format.h). Correctness is the task's judgement (Task::judge_batch, one
// batch per pass: a code task runs every program in the sandbox in parallel); the voted answers are the math
// extractor's (rewards/math_verify.h, strict: an <answer> block or \boxed{} after </think>). Code tasks
// (humaneval, code_jsonl, tiny_code) do not vote (no cons@k); each sample gets a status instead, and the summary's
// `failure_kinds` gives the share of each over the k samples (passed, wrong_answer, timeout, runtime_error,
// syntax_error, no_code; compile_error and bad_tests when they occur). Sample s of problem p is seeded by
// (seed, p, s), so results do not depend on batching.
#pragma once
#include "core/options.h"
#include "core/stage.h"
#include "rollout/policy.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

// The recipe of `r1 eval` (and of a pipeline's eval: map); `r1 eval --show-config` lists every field.
struct EvalConfig {
  std::string model;                 // Hugging Face folder (with the tokenizer unless `tokenizer` is set)
  std::string tokenizer;
  std::string adapter;  // PEFT LoRA adapter folder ("" = none)
  std::vector<std::string> task = {"arithmetic"};  // built-in task names or paths ending in .jsonl; one result each
  nlohmann::json task_config = nlohmann::json::object();
  std::string split = "test";
  int k = 8;                         // samples per problem (0: greedy only)
  SamplingRecipe sampling{0.6f, 0.95f, 0, 1024};  // R1's protocol: T = 0.6, top-p 0.95
  std::vector<int> pass_k = {1};     // pass@k values reported (each <= k; larger ones are skipped with a note)
  long limit = 0;                    // first N problems (0: all)
  std::string prompt_template = "r1_zero";  // data/prompts.h, or chat
  std::string think_prefix;          // text appended after the template (e.g. "<think>")
  bool greedy = true;                // also run one greedy pass
  bool save_text = true;             // keep completion texts in the JSON
  long seed = 0;                     // sampling
  long data_seed = 1;                // the task's problem draw and train/test split (grpo / sample use 1 too)
  int max_batch = 64;
  std::string output;                // results JSON ("" = none); several tasks: {"tasks": [...]}
  // readability: a reward model's score of every sample (scoring/reward_model.h) and its word 3-gram repetition,
  // in the records (rm_score, repetition) and the summary (rm_score_mean, repetition_mean)
  std::string reward_model;          // "" = off
  std::string reward_model_on = "full";  // full | summary (the text after </think>)
  void declare(OptionSet& o);
  void check() const;                // r1::Error naming the field on a bad value
};

// Evaluates the first task of cfg.task; returns {"task","model","config","summary":{...},"problems":[...]}.
nlohmann::json run_eval(const EvalConfig& cfg);

// `r1 eval`: every task of cfg.task, its markdown table printed, the results written to cfg.output. Returns the
// result (one task) or {"tasks": [...]}.
nlohmann::json run_eval_command(const EvalConfig& cfg);

// The eval layer's stages (core/stage.h): eval, the pipeline's evaluator.
std::vector<StageKind> eval_stages();

// Summary metrics over per-problem records (as run_eval builds them); pure, used by run_eval and the tests.
// With rm_score / repetition in the sample records (reward_model set): rm_score_mean, repetition_mean.
nlohmann::json summarize_eval(const nlohmann::json& problems, int k, const std::vector<int>& pass_k, bool greedy);

// One markdown table row set for a summary: | metric | value |.
std::string eval_markdown(const nlohmann::json& result);

}  // namespace r1
