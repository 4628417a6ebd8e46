// `r1 pretrain [--config recipes/pretrain_tiny.yaml] [field=value ...]`
#include "cli/recipe_command.h"
#include "train/pretrain.h"

R1_COMMAND("pretrain", "Train a model from scratch (or continue) on a corpus; builtin synthetic arithmetic by default",
           [](CLI::App* sub) {
             return r1::cli::recipe_command<r1::PretrainConfig>(sub, [](const r1::PretrainConfig& c) { r1::run_pretrain(c); });
           });
