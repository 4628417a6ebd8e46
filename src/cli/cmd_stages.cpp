// Every stage kind (pretrain, sft, grpo, cold-start, sample, eval) as a subcommand, from one list.
#include "cli/recipe_command.h"
#include "core/dist.h"
#include "pipeline/stages.h"

#include <cstdio>
#include <memory>

namespace r1::cli {

std::function<int()> recipe_command(CLI::App* sub, const StageKind& kind) {
  auto job = std::shared_ptr<StageRun>(kind.make());
  auto opts = std::make_shared<OptionSet>();
  job->declare(*opts);
  auto config = std::make_shared<std::string>();
  auto show = std::make_shared<bool>(false);
  sub->add_option("--config", *config, "YAML recipe (see recipes/)");
  sub->add_flag("--show-config", *show, "print every field with its default and help, then exit");
  sub->allow_extras();
  sub->footer("Fields: field=value or --field value (--no-field for false), after the recipe; r1 " + sub->get_name() +
              " --show-config lists them all with their defaults.");
  return [=]() {
    if (*show) {
      std::printf("%s", opts->help_text().c_str());
      return 0;
    }
    if (!config->empty()) opts->load_yaml(*config);
    opts->apply_args(sub->remaining());
    if (kind.distributed() || dist::root()) job->run();  // a command that is not data-parallel runs on rank 0
    dist::barrier();
    return 0;
  };
}

void register_stage_commands() {
  for (const auto& kind : all_stages()) {
    std::string name = kind.name;
    for (char& ch : name)
      if (ch == '_') ch = '-';
    registry().push_back({name, kind.help, [&kind](CLI::App* sub) { return recipe_command(sub, kind); }});
  }
}

}  // namespace r1::cli
