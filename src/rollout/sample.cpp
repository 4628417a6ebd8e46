#include "rollout/sample.h"

#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "data/prompts.h"
#include "data/tasks.h"

#include <cstdio>
#include <map>
#include <memory>

namespace r1 {

using json = nlohmann::json;

void SampleConfig::declare(OptionSet& o) {
  o.add("model", &model, "model folder to sample from (Hugging Face layout); required");
  o.add("tokenizer", &tokenizer, "tokenizer folder (default: the model folder)");
  o.add("adapter", &adapter, "a PEFT LoRA adapter folder to apply to the model (\"\": none)");
  o.add("task", &task, "built-in task name or FILE.jsonl");
  o.add("task_config", &task_config, "task config map");
  o.add("split", &split, "task split");
  o.add("limit", &limit, "first N problems (0: all)");
  o.add("k", &k, "completions per prompt");
  sampling.declare(o);
  o.add("prompt_template", &prompt_template, "r1_zero | r1_zero_short | plain | chat");
  o.add("think_prefix", &think_prefix, "text appended after the template, e.g. '<think>'");
  o.add("rewards", &rewards, "rewards scored per kept row (empty: the task's defaults)");
  filter.declare(o);
  o.add("output", &output, "SFT-ready JSONL");
  o.add("stats", &stats, "statistics JSON (default: next to output)");
  o.add("output_format", &output_format, "prompt_completion | messages");
  o.add("seed", &seed, "sampling seed");
  o.add("data_seed", &data_seed, "seed of the task's problem draw and train/test split");
  o.add("max_batch", &max_batch, "live sequences at once");
}

void SampleConfig::check() const {
  R1_CHECK(!model.empty(), "sample: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(k >= 1, "sample: k must be >= 1");
  sampling.check("sample");
  R1_CHECK(is_question_template(prompt_template) || prompt_template == "chat",
           "sample: prompt_template '", prompt_template, "' is unknown; expected ", prompt_template_names());
  R1_CHECK(output_format == "prompt_completion" || output_format == "messages",
           "sample: output_format '", output_format, "' is unknown; expected prompt_completion or messages");
  filter.check("sample");
  R1_CHECK(!output.empty(), "sample: field 'output' is required");
  if (!rewards.is_null() && !rewards.empty()) parse_reward_specs(rewards);
}

namespace {

// Every prompt's k samples, decoded and scored.
struct Sampled {
  std::vector<GenSample> out;
  std::vector<std::string> texts;
  std::vector<const Problem*> probs;
  std::vector<int64_t> lens;
  std::vector<RewardBreakdown> scores;
};

Sampled sample_all(const SampleConfig& c, const Task& task, const std::vector<Problem>& probs) {
  Policy pol = Policy::load({c.model, c.tokenizer, "", c.adapter, false, /*inference_only=*/true}, c.prompt_template,
                           c.think_prefix, "sample");
  std::vector<GenRequest> reqs;
  for (size_t i = 0; i < probs.size(); i++) reqs.push_back({pol.encode_question(probs[i].prompt), c.k, (int)i, 0});
  const GenConfig gen = pol.gen_config(c.sampling, (uint64_t)c.seed, c.max_batch);
  Progress prog("sample", (long)probs.size() * c.k);
  long made = 0;
  Engine engine(pol.model());
  Sampled r;
  r.out = engine.generate(reqs, gen, [&](const GenSample& s, int id) {
    if (pol.finished(s, id, c.sampling.max_new_tokens)) prog.update(++made);
  });
  prog.finish();
  // decode and score everything (batched: code rewards run in parallel)
  for (const auto& s : r.out) {
    int len = 0;
    r.texts.push_back(pol.completion_text(s, &len));
    r.probs.push_back(&probs[s.request]);
    r.lens.push_back((int64_t)len);
  }
  std::vector<RewardSpec> specs;  // empty: the task's default rewards
  if (!c.rewards.is_null() && !c.rewards.empty()) specs = parse_reward_specs(c.rewards);
  r.scores = task.score_batch(r.texts, r.probs, specs, r.lens, c.think_prefix);
  return r;
}

// One kept row, in the configured output format.
json output_row(const SampleConfig& c, const Sampled& s, size_t i) {
  const Problem& p = *s.probs[i];
  const std::string comp = c.think_prefix + s.texts[i];
  json row;
  if (c.output_format == "messages")
    row["messages"] = json::array({{{"role", "user"}, {"content", p.prompt}}, {{"role", "assistant"}, {"content", comp}}});
  else {
    row["prompt"] = p.prompt;
    row["completion"] = comp;
  }
  row["id"] = p.id;
  row["gold"] = p.gold;
  row["reward"] = s.scores[i].total;
  row["tokens"] = s.lens[i];
  return row;
}

}  // namespace

json run_sample(const SampleConfig& c) {
  c.check();
  std::unique_ptr<Task> task = make_task_or_file(c.task, c.task_config, "sample");
  const bool file_task = c.task.size() > 6 && c.task.compare(c.task.size() - 6, 6, ".jsonl") == 0;
  std::string split = c.split;
  if (file_task && split == "train") split = c.task_config.value("split", std::string("test"));
  std::vector<Problem> probs = task->problems(split, (uint64_t)c.data_seed);
  if (c.limit > 0 && (long)probs.size() > c.limit) probs.resize(c.limit);
  R1_CHECK(!probs.empty(), "sample: task '", c.task, "' split '", split, "' has no problems");
  const Sampled s = sample_all(c, *task, probs);

  std::map<std::string, long> dropped;
  std::string lines;
  long kept = 0, prompts_with = 0;
  for (size_t i = 0; i < s.out.size();) {
    size_t j = i;
    std::vector<Candidate> cands;
    for (; j < s.out.size() && s.out[j].request == s.out[i].request; j++)
      cands.push_back({s.texts[j], task->accuracy(s.texts[j], *s.probs[j]) >= 0.5, (long)s.lens[j], s.out[j].truncated});
    auto reasons = select_for_prompt(cands, c.filter, c.think_prefix);
    bool any = false;
    for (size_t q = 0; q < reasons.size(); q++) {
      if (!reasons[q].empty()) {
        dropped[reasons[q]]++;
        continue;
      }
      any = true;
      kept++;
      lines += output_row(c, s, i + q).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
    prompts_with += any;
    i = j;
  }
  json stats = {{"prompts", probs.size()}, {"samples", s.out.size()}, {"kept", kept}, {"dropped", json::object()},
                {"prompts_with_kept", prompts_with}};
  for (const auto& [r, n] : dropped) stats["dropped"][r] = n;
  stats["keep_rate"] = s.out.empty() ? 0.0 : (double)kept / s.out.size();
  stats["config"] = {{"model", c.model}, {"task", c.task}, {"split", split}, {"k", c.k},
                     {"temperature", c.sampling.temperature}, {"top_p", c.sampling.top_p},
                     {"max_new_tokens", c.sampling.max_new_tokens}, {"template", c.prompt_template}};
  const std::string dir = parent_dir(c.output);
  if (!dir.empty()) make_dirs(dir);
  atomic_write(c.output, lines);
  std::string sp = c.stats;
  if (sp.empty()) sp = (c.output.size() > 6 && c.output.compare(c.output.size() - 6, 6, ".jsonl") == 0
                            ? c.output.substr(0, c.output.size() - 6) : c.output) + ".stats.json";
  atomic_write(sp, stats.dump(2));
  std::fprintf(stderr, "[sample] kept %ld of %zu completions (%ld of %zu prompts) -> %s; stats %s\n", kept, s.out.size(),
               prompts_with, probs.size(), c.output.c_str(), sp.c_str());
  return stats;
}

std::vector<StageKind> rollout_stages() {
  return {{"sample", "Rejection sampling: k completions per prompt, keep verified-correct readable ones as SFT JSONL",
           "data", "traces.jsonl", "output", {"model"}, StageKind::kProducer,
           recipe_run<SampleConfig>(run_sample, [](const SampleConfig& c) { c.check(); })}};
}

}  // namespace r1
