// Shared front end of the recipe-driven commands (pretrain, grpo, sft, ...):
//   r1 CMD [--config recipes/NAME.yaml] [field=value ...] [--show-config]
// The recipe struct declares its fields once (declare(OptionSet&)); the YAML recipe is applied first, then the
// command-line overrides, then `run` is called with the filled struct.
#pragma once
#include "cli/registry.h"
#include "train/options.h"

#include <cstdio>
#include <memory>

namespace r1::cli {

template <class Recipe, class Run>
std::function<int()> recipe_command(CLI::App* sub, Run run) {
  auto cfg = std::make_shared<Recipe>();
  auto opts = std::make_shared<OptionSet>();
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
    run(*cfg);
    return 0;
  };
}

}  // namespace r1::cli
