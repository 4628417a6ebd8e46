// `r1 sft --config recipes/NAME.yaml [field=value ...]`: supervised fine-tuning (src/train/sft.h).
#include "cli/recipe_command.h"
#include "train/sft.h"

R1_COMMAND("sft", "Supervised fine-tuning on JSONL (messages or prompt/completion), loss on completions only",
           [](CLI::App* sub) { return r1::cli::recipe_command<r1::SftConfig>(sub, [](const r1::SftConfig& c) { r1::run_sft(c); }); });
