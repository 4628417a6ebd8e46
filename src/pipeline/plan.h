// Internal to pipeline/: a pipeline recipe resolved stage by stage (references, fields, outputs), before anything
// runs. pipeline/recipe.cpp reads recipes, plan.cpp resolves them, run.cpp runs the plan, report.cpp writes the
// table and report.
#pragma once
#include "pipeline/pipeline.h"
#include "pipeline/stages.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace r1 {

// "KEY=VALUE" -> (KEY, VALUE), trimmed; throws r1::Error when there is no '='.
std::pair<std::string, std::string> split_override(const std::string& s);
std::string join(const std::vector<std::string>& v, const std::string& sep = ", ");
// Names, commands, fields of a spec: one r1::Error naming the file and the field on bad input.
void check_stage_names(const PipelineSpec& spec);
// Command-line overrides (out=, eval.FIELD=, STAGE.FIELD=, STAGE.reuse=, STAGE.config=) into the spec.
void apply_pipeline_overrides(PipelineSpec& spec, const std::vector<std::string>& overrides);

// One stage, resolved and checked.
struct Planned {
  const PipelineStage* st = nullptr;
  const StageKind* kind = nullptr;
  size_t index = 0;
  std::string dir;
  std::unique_ptr<StageRun> job;  // the command, its recipe filled
  std::unique_ptr<OptionSet> opts;
  std::unique_ptr<StageRun> eval;  // the evaluation after a trainer (nullptr: none)
  std::unique_ptr<OptionSet> eval_opts;
  std::string reuse;
  nlohmann::json outputs, config, eval_config;
};
std::vector<Planned> plan(const PipelineSpec& spec);
nlohmann::json plan_entry(const Planned& p);

}  // namespace r1
