// `r1 cold-start`: writes R1's cold-start long-CoT SFT data at tiny scale (data/cold_start.h) to
// <out>/cold_start.jsonl, ready for `r1 sft prompt_template=r1_zero`.
#pragma once
#include "train/options.h"

#include <nlohmann/json.hpp>
#include <string>

namespace r1 {

struct ColdStartConfig {
  std::string out = "runs/cold_start";                   // folder; the rows go to <out>/cold_start.jsonl
  long n = 300;                                          // rows (the first n problems of the train split)
  long seed = 1;                                         // phrasing of the worked solutions
  long data_seed = 1;                                    // the task's problem draw (as the grpo / sample recipes)
  nlohmann::json task_config = nlohmann::json::object(); // arithmetic task config (data/arithmetic_task.h)
  void declare(OptionSet& o);
};

std::string cold_start_data_path(const std::string& out);  // <out>/cold_start.jsonl

// Writes the rows (atomically) and the effective config; returns the data path.
std::string run_cold_start(const ColdStartConfig& c);

}  // namespace r1
