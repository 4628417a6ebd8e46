// `r1 pipeline --config recipes/r1_tiny.yaml [field=value ...]` and `r1 distill --config recipes/distill_tiny.yaml`:
// multi-stage recipes over the training commands, resumable stage by stage (src/pipeline/pipeline.h).
#include "cli/plot.h"
#include "cli/registry.h"
#include "core/dist.h"
#include "core/io.h"
#include "pipeline/pipeline.h"

#include <cstdio>
#include <memory>

namespace {

std::function<int()> pipeline_command(CLI::App* sub, bool distill) {
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto dry = std::make_shared<bool>(false);
  sub->add_option("--config", *config, distill ? "distill recipe (YAML: out, teacher, student, sample, sft, eval)"
                                              : "pipeline recipe (YAML: out, eval, stages)")
      ->required();
  sub->add_option("overrides", *overrides,
                  distill ? "out=DIR, teacher=DIR, student=DIR, sample.FIELD=V, sft.FIELD=V, eval.FIELD=V"
                          : "out=DIR, eval.FIELD=V, STAGE.FIELD=V, STAGE.reuse=PATH, STAGE.config=PATH");
  sub->add_flag("--dry-run", *dry, "resolve and check every stage, print the plan as JSON, run nothing");
  return [=]() {
    r1::PipelineSpec spec = distill ? r1::load_distill(*config, *overrides) : r1::load_pipeline(*config, *overrides);
    if (*dry) {
      std::printf("%s\n", r1::plan_pipeline(spec).dump(2).c_str());
      return 0;
    }
    nlohmann::json s = r1::run_pipeline(spec);
    if (!r1::dist::root()) return 0;  // rank 0 reports and plots
    std::printf("\n%s\n", s["table"].get<std::string>().c_str());
    // curves of every training stage (metrics.jsonl) into <stage>/plots
    for (const auto& st : s["stages"]) {
      std::string dir = r1::path_join(spec.out, st["name"].get<std::string>());
      if (st["status"] == "ran" && r1::file_exists(r1::path_join(dir, "metrics.jsonl"))) {
        try {
          if (r1::cli::plot_runs({dir}, r1::path_join(dir, "plots")) == 0)
            std::fprintf(stderr, "[pipeline] plots of %s in %s/plots\n", st["name"].get<std::string>().c_str(), dir.c_str());
        } catch (const std::exception& e) {
          std::fprintf(stderr, "[pipeline] plots of %s skipped: %s\n", st["name"].get<std::string>().c_str(), e.what());
        }
      }
    }
    std::fprintf(stderr, "[pipeline] report (stages, evaluations, sample completions): %s/report.md\n", spec.out.c_str());
    if (s["complete"].get<bool>())
      std::fprintf(stderr, "[pipeline] all %zu stages finished; summary in %s/pipeline.json\n", s["stages"].size(),
                   spec.out.c_str());
    else
      std::fprintf(stderr, "[pipeline] not finished; run the same command again to resume\n");
    return 0;
  };
}

}  // namespace

R1_COMMAND("pipeline", "Multi-stage recipe (pretrain, cold_start, sft, sample, grpo, eval) with per-stage resume",
           [](CLI::App* sub) { return pipeline_command(sub, false); });
R1_COMMAND("distill", "Distillation: teacher -> verified traces (sample) -> student SFT -> eval, as a pipeline",
           [](CLI::App* sub) { return pipeline_command(sub, true); });
