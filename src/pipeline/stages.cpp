#include "pipeline/stages.h"

#include "core/check.h"
#include "data/cold_start.h"
#include "eval/eval.h"
#include "rollout/sample.h"
#include "train/stages.h"

namespace r1 {

const std::vector<StageKind>& all_stages() {
  static const std::vector<StageKind> all = [] {
    std::vector<StageKind> v;
    for (auto layer : {train_stages, data_stages, rollout_stages, eval_stages})
      for (auto& k : layer()) v.push_back(std::move(k));
    int evaluators = 0;
    for (const auto& k : v) evaluators += k.role == StageKind::kEvaluator;
    R1_ASSERT(evaluators == 1);
    (void)evaluators;
    return v;
  }();
  return all;
}

const StageKind* find_stage(const std::string& name) {
  for (const auto& k : all_stages())
    if (k.name == name) return &k;
  return nullptr;
}

const StageKind& evaluator_stage() {
  for (const auto& k : all_stages())
    if (k.role == StageKind::kEvaluator) return k;
  fail("no evaluator stage is registered");
}

std::string stage_names(const std::string& sep) {
  std::string r;
  for (const auto& k : all_stages()) r += (r.empty() ? "" : sep) + k.name;
  return r;
}

}  // namespace r1
