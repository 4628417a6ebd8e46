// `r1 cold-start --config recipes/NAME.yaml [field=value ...]`: R1's cold-start CoT data at tiny scale
// (src/train/cold_start.h).
#include "cli/recipe_command.h"
#include "train/cold_start.h"

R1_COMMAND("cold-start", "Write cold-start long-CoT SFT rows (<think> working </think> <answer> n </answer>) from the arithmetic task",
           [](CLI::App* sub) {
             return r1::cli::recipe_command<r1::ColdStartConfig>(sub, [](const r1::ColdStartConfig& c) { r1::run_cold_start(c); });
           });
