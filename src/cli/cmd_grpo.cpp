// `r1 grpo --config recipes/NAME.yaml [field=value ...]`
#include "cli/registry.h"
#include "train/grpo.h"

#include <cstdio>
#include <memory>

R1_COMMAND("grpo", "GRPO reinforcement learning with verifiable rewards (R1-Zero)", [](CLI::App* sub) {
  auto cfg = std::make_shared<r1::GrpoRecipe>();
  auto opts = std::make_shared<r1::OptionSet>();
  cfg->declare(*opts);
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto show = std::make_shared<bool>(false);
  sub->add_option("--config", *config, "YAML recipe (see recipes/)");
  sub->add_option("overrides", *overrides, "field=value overrides, applied after the recipe");
  sub->add_flag("--show-config", *show, "print every field with its default and help, then exit");
  return [=]() {
    if (*show) {
      std::printf("%s", opts->help_text().c_str());
      return 0;
    }
    if (!config->empty()) opts->load_yaml(*config);
    opts->apply_overrides(*overrides);
    r1::run_grpo(*cfg);
    return 0;
  };
});
