// `r1 pretrain [--config recipes/pretrain_tiny.yaml] [field=value ...]`
#include "cli/registry.h"
#include "train/pretrain.h"

#include <cstdio>
#include <memory>

R1_COMMAND("pretrain", "Train a model from scratch (or continue) on a corpus; builtin synthetic arithmetic by default",
           [](CLI::App* sub) {
             auto cfg = std::make_shared<r1::PretrainConfig>();
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
               r1::run_pretrain(*cfg);
               return 0;
             };
           });
