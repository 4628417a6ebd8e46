// `r1 pipeline` and `r1 distill`: multi-stage recipes over the training commands, with resume.
//
// A pipeline recipe (YAML):
//   out: runs/r1_tiny                  pipeline folder; stage NAME runs in <out>/NAME
//   eval: {task: arithmetic, k: 4}     optional default evaluation (the fields of `r1 eval`, eval/eval.h), run on
//                                      the model of every training stage (pretrain, sft, grpo) and the base of
//                                      `eval` stages
//   stages:
//     - name: cold_sft                 [A-Za-z0-9_-]+, unique; not "out" or "eval"
//       command: sft                   any stage kind (pipeline/stages.h): pretrain | sft | grpo | cold_start |
//                                      sample | eval
//       config: recipes/sft_tiny.yaml  optional recipe of that command (path relative to the working directory)
//       set: {model: "${base.model}"}  optional field overrides (nested maps allowed), applied after config
//       eval: {limit: 32}              optional: false (no evaluation), true (the default), or a map applied over
//                                      the pipeline's `eval:` (training stages only)
//       reuse: runs/pretrain_tiny/model  optional: use this existing model folder / data file as the stage's
//                                      output instead of running it (its evaluation still runs)
// The pipeline sets each stage's output location itself (StageKind::location_field): `out` = <out>/NAME for
// pretrain, sft, grpo and cold_start; `output` = <out>/NAME/traces.jsonl for sample and <out>/NAME/eval.json for
// eval (and for a training stage's evaluation). Setting those is an error.
// String values may reference earlier stages, resolved before anything runs:
//   ${NAME.model}  <out>/NAME/model (pretrain, sft, grpo; or the stage's `reuse` path)
//   ${NAME.data}   <out>/NAME/traces.jsonl (sample), <out>/NAME/cold_start.jsonl (cold_start)
//   ${NAME.eval}   <out>/NAME/eval.json (eval)      ${NAME.out}  <out>/NAME      ${out}  the pipeline folder
// Command-line overrides: out=DIR, eval.FIELD=VALUE (every evaluation: applied last, over the stages' own eval
// maps), NAME.FIELD=VALUE (a field of that stage's command, after `set:`), NAME.reuse=PATH and NAME.config=PATH.
// Order in which a stage's fields are filled: the command's defaults, (eval stages: the pipeline's eval:), config,
// set, (eval stages: command-line eval.*), command-line NAME.*, then the pipeline's output location. A training
// stage's evaluation: the pipeline's eval:, the stage's eval: map, command-line eval.*, model = the stage's model.
// A finished stage whose resolved config differs from its stage.json is still skipped, with a warning.
//
// Every stage is resolved and checked (references, fields, values a recipe would reject) before the first runs.
// A stage is finished when <out>/NAME/stage.json exists (written atomically after the stage and its evaluation
// complete: command, resolved config, outputs, wall seconds with and without the evaluation (wall_s, run_s),
// evaluation summary). Started again, the pipeline skips finished stages and re-runs the first unfinished one,
// which resumes from its own checkpoint (pretrain, sft, grpo); cold_start, sample and eval simply run again. A
// training stage that stops early (stop_after) ends the run with the stage unfinished; run the pipeline again to
// resume. <out>/pipeline.json holds the summary of all stages; the markdown table is printed at the end.
//
// A distill recipe (`r1 distill`) is a pipeline of fixed shape:
//   out: runs/distill_tiny
//   teacher: runs/r1_zero_tiny/model    model that writes the traces
//   student: runs/pretrain_student/model  model the student starts from
//   sample: {...}                       SampleConfig fields (stage `sample`: model = teacher)
//   sft: {...}                          SftConfig fields (stage `sft`: model = student, data = ${sample.data})
//   eval: {...}                         optional EvalConfig fields (eval/eval.h): the distilled student is evaluated
//   eval_teacher: false                 also evaluate the teacher (stage `teacher_eval`, first)
// with the same overrides (out=, teacher=, student=, sample.FIELD=, sft.FIELD=, eval.FIELD=) and resume.
#pragma once
#include "core/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace r1 {

struct PipelineStage {
  std::string name, command;
  std::string config;                               // recipe of the command ("" = none)
  nlohmann::json set = nlohmann::json::object();    // field overrides
  nlohmann::json eval;                              // null: pipeline default; false / true; map: over the default
  std::string reuse;                                // existing output instead of running
  std::vector<std::string> overrides;               // "FIELD=VALUE" from the command line
  std::string where;                                // "FILE: stages[i] (NAME)", for messages
};

struct PipelineSpec {
  std::string file;                                 // recipe file, for messages
  std::string out;
  nlohmann::json eval;                              // default evaluation map, or null
  std::vector<std::string> eval_overrides;          // "FIELD=VALUE" from the command line
  std::vector<PipelineStage> stages;
  // fp32 | bf16 for every stage and evaluation (their `precision` field before their own recipes); "" = each its own
  std::string precision;
};

// Parse a recipe and apply command-line overrides. Throws r1::Error naming the file and field on bad input.
PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides = {});
PipelineSpec load_distill(const std::string& path, const std::vector<std::string>& overrides = {});

// Every stage resolved and checked, nothing run: [{index, name, command, dir, config, outputs, eval, reuse}].
nlohmann::json plan_pipeline(const PipelineSpec& spec);

// Runs the unfinished stages in order; returns what it writes to <out>/pipeline.json:
//   {file, out, complete, stages: [{index, name, command, status, wall_s, outputs, eval}], table}
// status: ran | skipped (finished earlier) | stopped (ended early, e.g. stop_after) | pending.
nlohmann::json run_pipeline(const PipelineSpec& spec);

// | # | stage | command | status | wall | pass@1 | cons@k | greedy | format | length | output |
std::string pipeline_markdown(const nlohmann::json& summary);

// <out>/report.md, rewritten with pipeline.json: the stage table, then for every evaluated stage the first sample
// of its first `examples` problems (question, gold, correct or wrong, text).
std::string pipeline_report(const nlohmann::json& summary, int examples);

}  // namespace r1
