// `r1 sample`: rejection sampling, R1's stage 3. k completions per prompt from a model, scored with the task's
// rewards; only verified-correct, readable ones are kept (the filters of rollout/select.h), as SFT-ready JSONL plus
// statistics of what was dropped.
// Output rows: {"prompt": question, "completion": think_prefix + completion, "id", "gold", "reward"}, or with
// output_format = messages {"messages": [user question, assistant completion], "id", "gold", "reward"}. Train on
// them with `r1 sft prompt_template=<the same template>` to reproduce the sampling prompt.
#pragma once
#include "core/options.h"
#include "core/stage.h"
#include "rollout/policy.h"
#include "rollout/select.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct SampleConfig {
  std::string model, tokenizer;
  std::string adapter;               // PEFT LoRA adapter folder ("" = none)
  std::string task = "arithmetic";
  nlohmann::json task_config = nlohmann::json::object();
  std::string split = "train";
  long limit = 0;                    // first N problems (0: all)
  int k = 8;
  SamplingRecipe sampling{0.7f, 0.95f, 0, 256};  // a truncated completion is dropped
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
  void check() const;   // r1::Error naming the field on a bad value
};

// Runs the sampling; writes output and stats; returns the stats object.
nlohmann::json run_sample(const SampleConfig& c);

// The rollout layer's stages (core/stage.h): sample.
std::vector<StageKind> rollout_stages();

}  // namespace r1
