// Stages: every recipe-driven command (pretrain, sft, grpo, sample, cold_start, eval, ...) describes itself once
// here: its name, its recipe (declared in an OptionSet), how to run it, what it outputs and how a finished run
// shows. `r1 <command>` (cli/) and `r1 pipeline` (pipeline/) both read these descriptions, so neither names a
// command: a new command is one StageKind in the layer that implements it, listed by that layer's
// `*_stages()` function (pipeline/stages.h gathers them).
#pragma once
#include "core/options.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace r1 {

// One run of a command: a recipe whose fields are declared into an OptionSet, filled, then run.
class StageRun {
 public:
  virtual ~StageRun() = default;
  virtual void declare(OptionSet& o) = 0;
  // Checks the filled recipe as run() would, without doing any work (the pipeline checks every stage first).
  virtual void check() const {}
  // Runs the command. Returns its result object: for an evaluator, the evaluation ({"task", "summary", ...});
  // otherwise null or a summary.
  virtual nlohmann::json run() = 0;
};

struct StageKind {
  std::string name;       // pipeline command and `r1` subcommand (cli spells '_' as '-': cold_start -> cold-start)
  std::string help;       // one line for `r1 --help`
  // What a run produces, named for ${STAGE.<output>} references: "model" (a Hugging Face folder), "data" (a JSONL
  // file) or "eval" (an evaluation JSON). The pipeline puts it at <stage dir>/<output_file>.
  std::string output;
  std::string output_file;
  // The recipe field through which the pipeline places the output: "out" gets the stage folder, any other field
  // gets the output path itself; "" when the output lands in a fixed place under `out`.
  std::string location_field;
  std::vector<std::string> required;  // string fields that must be non-empty before the stage can run
  // trainer: its model is evaluated after it runs (the pipeline's eval:); evaluator: the command that evaluates
  // (exactly one kind); producer: neither.
  enum Role { kTrainer, kEvaluator, kProducer } role = kProducer;
  std::function<std::unique_ptr<StageRun>()> make;
  // Further outputs, (name, file): the pipeline puts each at <stage dir>/<file> (next to a reused output), for
  // ${STAGE.<name>} references (prefs: eval_data = eval.jsonl). The done marker stays the main output.
  std::vector<std::pair<std::string, std::string>> extra_outputs = {};

  // A producer that trains data-parallel all the same (rm: a reward model, which the pipeline's generation
  // evaluation does not apply to): every rank runs it, like a trainer's.
  bool parallel = false;

  // Whether every rank of a data-parallel job runs it (the trainers, and producers marked parallel); the other
  // kinds run on rank 0 alone while the other ranks wait.
  bool distributed() const { return role == kTrainer || parallel; }
  // The output's path, given the stage folder, or `reuse` when a stage reuses an earlier result.
  std::string output_path(const std::string& dir, const std::string& reuse = "") const;
  // The file whose presence shows that the output is complete (a model folder's model.safetensors).
  std::string done_marker(const std::string& dir, const std::string& reuse = "") const;
  // (field, value) pairs the pipeline sets for a stage in `dir`.
  std::vector<std::pair<std::string, std::string>> location(const std::string& dir) const;
};

// The fields every command has, declared once: `precision` and `kv_dtype` (core/precision.h), which run() makes the
// process defaults before the command loads any model.
void declare_precision(OptionSet& o, std::string* precision, std::string* kv_dtype);
void check_precision(const std::string& precision, const std::string& kv_dtype);
void apply_precision(const std::string& precision, const std::string& kv_dtype);

// A StageRun over a recipe struct R with `void declare(OptionSet&)`, run by `fn(const R&)`.
template <class R>
class RecipeRun : public StageRun {
 public:
  using Fn = std::function<nlohmann::json(const R&)>;
  explicit RecipeRun(Fn fn, std::function<void(const R&)> check = {}) : fn_(std::move(fn)), check_(std::move(check)) {}
  void declare(OptionSet& o) override {
    recipe.declare(o);
    declare_precision(o, &precision, &kv_dtype);
  }
  void check() const override {
    check_precision(precision, kv_dtype);
    if (check_) check_(recipe);
  }
  nlohmann::json run() override {
    apply_precision(precision, kv_dtype);
    return fn_(recipe);
  }
  R recipe;
  std::string precision = "fp32", kv_dtype = "auto";

 private:
  Fn fn_;
  std::function<void(const R&)> check_;
};

// Outputs that the earlier stages of a pipeline being planned will produce. A check that a file or folder exists
// before any work (a reward model, a judge model) accepts such a path while it does not exist yet; the pipeline's
// planner notes each stage's outputs as it checks the stages after it.
void note_planned_output(const std::string& path);
bool is_planned_output(const std::string& path);
void clear_planned_outputs();

// StageKind::make for a recipe struct R: `recipe_run<R>(run, check)`.
template <class R>
std::function<std::unique_ptr<StageRun>()> recipe_run(std::function<nlohmann::json(const R&)> run,
                                                      std::function<void(const R&)> check = {}) {
  return [run, check] { return std::make_unique<RecipeRun<R>>(run, check); };
}

}  // namespace r1
