// Running a planned pipeline: finished stages skipped, the first unfinished one resumed, each stage's
// evaluation, stage.json and pipeline.json written as it goes.
#include "pipeline/plan.h"

#include "core/check.h"
#include "core/dist.h"
#include "core/io.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

namespace r1 {

using json = nlohmann::json;

namespace {

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// dotted keys whose values differ (for the warning on a finished stage whose recipe changed)
void diff_keys(const json& a, const json& b, const std::string& prefix, std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto& [k, v] : a.items()) keys.insert(k);
    for (auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys)
      diff_keys(a.contains(k) ? a[k] : json(nullptr), b.contains(k) ? b[k] : json(nullptr), prefix.empty() ? k : prefix + "." + k, out);
  } else if (a != b) {
    out.push_back(prefix);
  }
}

}  // namespace

namespace {

// A finished stage (its stage.json exists): skipped, with a warning when its recipe changed since.
void skip_finished(const Planned& p, const std::string& stage_json, size_t N, json& row) {
  json done = json::parse(read_file(stage_json));
  std::fprintf(stderr, "[stage %zu/%zu] %s %s: finished earlier (%s), skipped\n", p.index + 1, N, p.st->command.c_str(),
               p.st->name.c_str(), stage_json.c_str());
  std::vector<std::string> diff;
  diff_keys(done.value("config", json(nullptr)), p.config, "", diff);
  diff_keys(done.value("eval_config", json(nullptr)), p.eval ? p.eval_config : json(nullptr), "eval", diff);
  if (!diff.empty())
    std::fprintf(stderr, "[pipeline] warning: stage %s finished with a different config (%s); delete %s to run it again\n",
                 p.st->name.c_str(), join(diff).c_str(), stage_json.c_str());
  row["status"] = "skipped";
  row["wall_s"] = done.value("wall_s", json(nullptr));
  row["run_s"] = done.value("run_s", json(nullptr));
  row["eval"] = done.contains("eval") && done["eval"].is_object() ? done["eval"].value("summary", json(nullptr)) : json(nullptr);
}

// What stage.json says of an evaluation result (run_eval's object, or null).
json eval_record(const json& res, const std::string& file) {
  if (!res.is_object() || !res.contains("summary")) return nullptr;
  return {{"file", file}, {"task", res.value("task", std::string())}, {"summary", res.at("summary")}};
}

// Runs the stage's command (or checks the result it reuses); false when it stopped before finishing.
bool run_command(Planned& p, size_t N, json& result) {
  const std::string marker = p.kind->done_marker(p.dir, p.reuse);
  if (p.reuse.empty()) {
    try {
      if (p.kind->distributed() || dist::root()) result = p.job->run();  // others wait for rank 0's result
      dist::barrier();
    } catch (const Error& e) {
      fail("stage ", p.st->name, " (", p.st->command, ", stage ", p.index + 1, "/", N, ") failed: ", e.what(),
           "\n(finished stages are kept; fix the cause and run the pipeline again to continue from this stage)");
    }
  } else {
    R1_CHECK(file_exists(marker), p.st->where, ": field 'reuse': ", p.reuse, " is not a finished ", p.st->command,
             " output (", marker, " does not exist)");
  }
  if (file_exists(marker)) return true;
  std::fprintf(stderr, "[pipeline] stage %s stopped before finishing (%s is missing; e.g. stop_after); run the "
               "pipeline again to resume it\n", p.st->name.c_str(), marker.c_str());
  return false;
}

// The evaluation after a trainer (on rank 0 alone: an evaluator is not distributed).
json run_evaluation(Planned& p, size_t N) {
  const StageKind& ev = evaluator_stage();
  if (!dist::root()) return nullptr;
  std::fprintf(stderr, "[stage %zu/%zu] evaluating %s (%s)\n", p.index + 1, N,
               p.outputs[p.kind->output].get<std::string>().c_str(), p.eval_config.dump().c_str());
  json res = p.eval->run();
  return eval_record(res, ev.output_path(p.dir));
}

}  // namespace

json run_pipeline(const PipelineSpec& spec) {
  std::vector<Planned> stages = plan(spec);  // every stage checked before the first runs
  make_dirs(spec.out);
  const size_t N = stages.size();
  json summary = {{"file", spec.file}, {"out", spec.out}, {"complete", false}, {"stages", json::array()}};
  for (const auto& p : stages)
    summary["stages"].push_back({{"index", p.index + 1}, {"name", p.st->name}, {"command", p.st->command},
                                 {"status", "pending"}, {"wall_s", nullptr}, {"outputs", p.outputs}, {"eval", nullptr}});
  auto write_summary = [&] {
    if (!dist::root()) return;
    summary["table"] = pipeline_markdown(summary);
    atomic_write(path_join(spec.out, "pipeline.json"), summary.dump(2));
    atomic_write(path_join(spec.out, "report.md"), pipeline_report(summary, 3));
  };
  for (size_t i = 0; i < N; i++) {
    Planned& p = stages[i];
    json& row = summary["stages"][i];
    const std::string stage_json = path_join(p.dir, "stage.json");
    if (file_exists(stage_json)) {
      skip_finished(p, stage_json, N, row);
      continue;
    }
    std::fprintf(stderr, "[stage %zu/%zu] %s %s -> %s%s\n", i + 1, N, p.st->command.c_str(), p.st->name.c_str(),
                 p.dir.c_str(), p.reuse.empty() ? "" : (" (reusing " + p.reuse + ")").c_str());
    std::fflush(stderr);
    make_dirs(p.dir);
    auto t0 = std::chrono::steady_clock::now();
    json result;
    if (!run_command(p, N, result)) {
      row["status"] = "stopped";
      write_summary();
      return summary;
    }
    const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json rec = {{"name", p.st->name},    {"command", p.st->command}, {"index", i + 1},
                {"config", p.config},    {"outputs", p.outputs},      {"reused", p.reuse.empty() ? json(nullptr) : json(p.reuse)},
                {"eval", nullptr},       {"eval_config", nullptr}};
    if (p.kind->role == StageKind::kEvaluator) {
      rec["eval"] = eval_record(result, p.outputs[p.kind->output].get<std::string>());
    } else if (p.eval) {
      rec["eval"] = run_evaluation(p, N);
      rec["eval_config"] = p.eval_config;
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec["wall_s"] = wall;
    rec["run_s"] = run_s;  // the command itself, without the stage's evaluation
    rec["finished_at"] = now_iso();
    if (dist::root()) atomic_write(stage_json, rec.dump(2));  // the stage is finished from here on
    dist::barrier();  // every rank sees it before going on
    row["status"] = "ran";
    row["wall_s"] = wall;
    row["run_s"] = run_s;
    row["eval"] = rec["eval"].is_object() ? rec["eval"]["summary"] : json(nullptr);
    write_summary();
    std::fprintf(stderr, "[stage %zu/%zu] %s %s finished in %.1f s\n", i + 1, N, p.st->command.c_str(), p.st->name.c_str(), wall);
  }
  summary["complete"] = true;
  write_summary();
  return summary;
}

}  // namespace r1
