// `r1 grpo --config recipes/NAME.yaml [field=value ...]`
#include "cli/recipe_command.h"
#include "train/grpo.h"

R1_COMMAND("grpo", "GRPO reinforcement learning with verifiable rewards (R1-Zero)", [](CLI::App* sub) {
  return r1::cli::recipe_command<r1::GrpoRecipe>(sub, [](const r1::GrpoRecipe& r) { r1::run_grpo(r); });
});
