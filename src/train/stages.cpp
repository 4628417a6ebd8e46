#include "train/stages.h"

#include "train/grpo.h"
#include "train/pretrain.h"
#include "train/rm.h"
#include "train/sft.h"

namespace r1 {

namespace {

// A trainer writes <out>/model; the pipeline gives it `out` and evaluates the model after it.
StageKind trainer(const char* name, const char* help, std::vector<std::string> required,
                  std::function<std::unique_ptr<StageRun>()> make) {
  return {name, help, "model", "model", "out", std::move(required), StageKind::kTrainer, std::move(make)};
}

// A reward model is not a policy, so the pipeline does not evaluate it by generation: a producer, data-parallel
// all the same (every rank runs it); its held-out pair accuracy is its own eval.json.
StageKind rm_stage() {
  StageKind k{"rm", "Reward-model training (Bradley-Terry) on preference pairs: chosen vs rejected replies", "model",
              "model", "out", {"model", "data"}, StageKind::kProducer,
              recipe_run<RmRecipe>(
                  [](const RmRecipe& r) {
                    RmSummary s = run_rm(r);
                    return nlohmann::json{{"steps", s.steps}, {"eval_accuracy", s.last_eval_accuracy},
                                          {"eval_loss", s.last_eval_loss}};
                  },
                  check_rm)};
  k.parallel = true;
  return k;
}

}  // namespace

std::vector<StageKind> train_stages() {
  return {
      trainer("pretrain", "Train a model from scratch (or continue) on a corpus; builtin synthetic arithmetic by default",
              {}, recipe_run<PretrainConfig>([](const PretrainConfig& c) {
                return nlohmann::json{{"final_loss", run_pretrain(c)}};
              })),
      trainer("sft", "Supervised fine-tuning on JSONL (messages or prompt/completion), loss on completions only",
              {"model", "data"}, recipe_run<SftConfig>([](const SftConfig& c) {
                return nlohmann::json{{"steps", run_sft(c).steps}};
              })),
      trainer("grpo", "GRPO reinforcement learning with verifiable rewards (R1-Zero)", {"model"},
              recipe_run<GrpoRecipe>(
                  [](const GrpoRecipe& r) {
                    GrpoSummary s = run_grpo(r);
                    return nlohmann::json{{"first_reward", s.first_reward}, {"last_reward", s.last_reward},
                                          {"steps_run", s.steps_run}};
                  },
                  check_grpo)),
      rm_stage(),
  };
}

}  // namespace r1
