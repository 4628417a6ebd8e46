#include "train/stages.h"

#include "train/grpo.h"
#include "train/pretrain.h"
#include "train/sft.h"

namespace r1 {

namespace {

// A trainer writes <out>/model; the pipeline gives it `out`.
template <class R>
StageKind trainer(const std::string& name, const std::string& help, std::vector<std::string> required,
                  std::function<nlohmann::json(const R&)> run, std::function<void(const R&)> check = {}) {
  StageKind k;
  k.name = name;
  k.help = help;
  k.output = "model";
  k.output_file = "model";
  k.location_field = "out";
  k.required = std::move(required);
  k.role = StageKind::kTrainer;
  k.make = [run, check] { return std::make_unique<RecipeRun<R>>(run, check); };
  return k;
}

}  // namespace

std::vector<StageKind> train_stages() {
  return {
      trainer<PretrainConfig>("pretrain", "Train a model from scratch (or continue) on a corpus; builtin synthetic arithmetic by default",
                              {}, [](const PretrainConfig& c) { return nlohmann::json{{"final_loss", run_pretrain(c)}}; }),
      trainer<SftConfig>("sft", "Supervised fine-tuning on JSONL (messages or prompt/completion), loss on completions only",
                         {"model", "data"}, [](const SftConfig& c) {
                           SftSummary s = run_sft(c);
                           return nlohmann::json{{"steps", s.steps}};
                         }),
      trainer<GrpoRecipe>("grpo", "GRPO reinforcement learning with verifiable rewards (R1-Zero)", {"model"},
                          [](const GrpoRecipe& r) {
                            GrpoSummary s = run_grpo(r);
                            return nlohmann::json{{"first_reward", s.first_reward}, {"last_reward", s.last_reward},
                                                  {"steps_run", s.steps_run}};
                          },
                          [](const GrpoRecipe& r) { check_grpo(r); }),
  };
}

}  // namespace r1
