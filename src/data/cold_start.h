// R1's cold-start long-CoT data (stage 1 of DeepSeek-R1) at tiny scale: SFT rows whose completion is a correct,
// readable chain of thought in the R1 format, built from the arithmetic task's train split:
//   {"prompt": "What is 23 + 58 - 7?", "completion": "<think> WORKING </think> <answer> 74 </answer>", "id", "gold"}
// WORKING is worked_solution(problem, seed) from data/corpus.h (the corpus's own step-by-step working), so the
// base model already knows the reasoning; the rows teach it the R1 format and to reason before answering.
//
// `r1 cold-start` (the stage cold_start) writes the rows to <out>/cold_start.jsonl, ready for
// `r1 sft prompt_template=r1_zero`.
#pragma once
#include "core/options.h"
#include "core/stage.h"
#include "data/corpus.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

// "23 + 58 - 7" (ArithmeticProblem::text()) back into the problem; throws r1::Error naming the text.
ArithmeticProblem parse_arithmetic_problem(const std::string& text);

// "<think> WORKING </think> <answer> X </answer>"
std::string cold_start_completion(const ArithmeticProblem& p, uint64_t seed);

// The first n problems of the arithmetic task's train split (task_config as for make_task("arithmetic"), drawn
// with `data_seed`, the same data_seed the GRPO / sample / eval recipes use so the test split stays disjoint),
// one row each.
// Throws r1::Error when the split has fewer than n problems.
// `seed` phrases the worked solutions; `data_seed` draws the problems (the train split of grpo / sample / eval's
// data_seed).
std::vector<nlohmann::json> cold_start_rows(const nlohmann::json& task_config, long n, uint64_t seed,
                                            uint64_t data_seed = 1);

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

// The data layer's stages (core/stage.h): cold_start, code_corpus (data/tiny_code.h), prefs (data/preferences.h).
std::vector<StageKind> data_stages();

}  // namespace r1
