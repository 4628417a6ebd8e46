// The front end of every stage kind (pipeline/stages.h) as an `r1` subcommand:
//   r1 CMD [--config recipes/NAME.yaml] [field=value | --field value ...] [--show-config]
// The recipe's fields are declared once (StageRun::declare): the YAML recipe is applied first, then the
// command-line arguments in order (core/options.h apply_args: `--sampling.temperature 0.6`, `--temperature 0.6`
// when the last part is unique, `--no-greedy`, `-k 8`), then the command runs.
#pragma once
#include "cli/registry.h"
#include "core/stage.h"

namespace r1::cli {

std::function<int()> recipe_command(CLI::App* sub, const StageKind& kind);

}  // namespace r1::cli
