// `r1 sample`: rejection sampling, R1's stage 3. k completions per prompt from a model, scored with the task's
// rewards; only verified-correct, readable ones are kept, as SFT-ready JSONL plus statistics of what was dropped.
//
// A completion is judged by rejection_reason(), a pure function; the first failing check names the reason:
//   truncated       hit the token budget (never finished)
//   overlong        more than filter.max_tokens completion tokens (0: off)
//   incorrect       the task's verifier says wrong (Task::accuracy < 0.5)
//   format          not the strict R1 format (rewards/format.h) when filter.require_format
//   mixed_language  the chain of thought (the think block; the whole completion when there is none) has words,
//                   and the fraction in the target language's script is < filter.min_language (R1's language
//                   consistency; a CoT of only numbers and symbols has no words and passes)
//   code_block      a ``` fence in the chain of thought when the task is not a code task (filter.allow_code)
//   repetition      word n-gram repetition 1 − distinct/total (rewards/shaping.h, n = filter.ngram) above
//                   filter.max_repetition
//   duplicate       the same text as a completion already kept for this prompt (filter.dedupe)
//   quota           the prompt already has filter.max_per_prompt kept completions (0: no limit)
// Output rows: {"prompt": question, "completion": think_prefix + completion, "id", "gold", "reward"}, or with
// output_format = messages {"messages": [user question, assistant completion], "id", "gold", "reward"}. Train on
// them with `r1 sft prompt_template=<the same template>` to reproduce the sampling prompt.
#pragma once
#include "train/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct RejectionFilter {
  bool require_format = true;
  std::string language = "en";
  double min_language = 0.95;   // < 0 or > 1 rejected; 0 disables
  long max_tokens = 0;          // 0: off
  bool allow_code = false;
  int ngram = 3;
  double max_repetition = 0.3;  // >= 1 disables
  bool dedupe = true;
  int max_per_prompt = 0;       // 0: no limit
};

struct Candidate {
  std::string completion;  // decoded, without the eos token
  bool correct = false;    // the task's verifier
  long tokens = 0;
  bool truncated = false;
};

// "" when kept, else the first failing check (order above, except duplicate/quota which need the prompt's kept
// set: those are applied by select_for_prompt).
std::string rejection_reason(const Candidate& c, const RejectionFilter& f, const std::string& think_prefix = "");

// Applies rejection_reason and then dedupe / quota over one prompt's candidates, in order; returns per candidate
// "" (kept) or the reason.
std::vector<std::string> select_for_prompt(const std::vector<Candidate>& cands, const RejectionFilter& f,
                                           const std::string& think_prefix = "");

struct SampleConfig {
  std::string model, tokenizer;
  std::string task = "arithmetic";
  nlohmann::json task_config = nlohmann::json::object();
  std::string split = "train";
  long limit = 0;                    // first N problems (0: all)
  int k = 8;
  float temperature = 0.7f, top_p = 0.95f;
  int top_k = 0;
  int max_new_tokens = 256;
  std::string prompt_template = "r1_zero";
  std::string think_prefix;
  nlohmann::json rewards = nlohmann::json::object();  // scored and written per row (empty: the task's defaults)
  RejectionFilter filter;
  std::string output = "runs/sample/traces.jsonl";
  std::string stats;                 // default: <output without .jsonl>.stats.json
  std::string output_format = "prompt_completion";  // prompt_completion | messages
  long seed = 1;        // sampling
  long data_seed = 1;   // the task's problem draw and train/test split
  int max_batch = 64;
  void declare(OptionSet& o);
};

// Runs the sampling; writes output and stats; returns the stats object.
nlohmann::json run_sample(const SampleConfig& c);

}  // namespace r1
