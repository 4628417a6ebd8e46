// `r1 sample --config recipes/NAME.yaml [field=value ...]`: rejection sampling (src/train/sample.h).
#include "cli/recipe_command.h"
#include "train/sample.h"

R1_COMMAND("sample", "Rejection sampling: k completions per prompt, keep verified-correct readable ones as SFT JSONL",
           [](CLI::App* sub) {
             return r1::cli::recipe_command<r1::SampleConfig>(sub, [](const r1::SampleConfig& c) { r1::run_sample(c); });
           });
