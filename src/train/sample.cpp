#include "train/sample.h"

#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "data/tasks.h"
#include "model/transformer.h"
#include "rewards/format.h"
#include "rewards/language.h"
#include "rewards/shaping.h"
#include "rollout/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

namespace r1 {

using json = nlohmann::json;

std::string rejection_reason(const Candidate& c, const RejectionFilter& f, const std::string& think_prefix) {
  if (c.truncated) return "truncated";
  if (f.max_tokens > 0 && c.tokens > f.max_tokens) return "overlong";
  if (!c.correct) return "incorrect";
  if (f.require_format && format_reward(c.completion, think_prefix) < 1.0) return "format";
  auto think = extract_think(c.completion, think_prefix);
  const std::string cot = think ? *think : think_prefix + c.completion;
  if (f.min_language > 0) {
    WordCount wc = count_words(cot, target_scripts(f.language));
    if (wc.total > 0 && (double)wc.in_target / wc.total < f.min_language) return "mixed_language";
  }
  if (!f.allow_code && cot.find("```") != std::string::npos) return "code_block";
  if (f.max_repetition < 1.0 && -repetition_penalty(cot, f.ngram, -1.0) > f.max_repetition) return "repetition";
  return "";
}

std::vector<std::string> select_for_prompt(const std::vector<Candidate>& cands, const RejectionFilter& f,
                                           const std::string& think_prefix) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  int kept = 0;
  for (const auto& c : cands) {
    std::string r = rejection_reason(c, f, think_prefix);
    if (r.empty() && f.dedupe && seen.count(c.completion)) r = "duplicate";
    if (r.empty() && f.max_per_prompt > 0 && kept >= f.max_per_prompt) r = "quota";
    if (r.empty()) {
      kept++;
      seen.insert(c.completion);
    }
    out.push_back(r);
  }
  return out;
}

void SampleConfig::declare(OptionSet& o) {
  o.add("model", &model, "model folder to sample from (Hugging Face layout); required");
  o.add("tokenizer", &tokenizer, "tokenizer folder (default: the model folder)");
  o.add("task", &task, "built-in task name or FILE.jsonl");
  o.add("task_config", &task_config, "task config map");
  o.add("split", &split, "task split");
  o.add("limit", &limit, "first N problems (0: all)");
  o.add("k", &k, "completions per prompt");
  o.add("temperature", &temperature, "sampling temperature");
  o.add("top_p", &top_p, "nucleus sampling");
  o.add("top_k", &top_k, "top-k (0: off)");
  o.add("max_new_tokens", &max_new_tokens, "completion budget (a truncated completion is dropped)");
  o.add("prompt_template", &prompt_template, "r1_zero | r1_zero_short | plain | chat");
  o.add("think_prefix", &think_prefix, "text appended after the template, e.g. '<think>'");
  o.add("rewards", &rewards, "rewards scored per kept row (empty: the task's defaults)");
  o.add("filter.require_format", &filter.require_format, "keep only strict R1-format completions");
  o.add("filter.language", &filter.language, "target language of the chain of thought");
  o.add("filter.min_language", &filter.min_language, "minimum target-script word fraction of the CoT (0: off)");
  o.add("filter.max_tokens", &filter.max_tokens, "drop completions longer than this (0: off)");
  o.add("filter.allow_code", &filter.allow_code, "allow ``` code blocks in the CoT (code tasks)");
  o.add("filter.ngram", &filter.ngram, "n of the repetition measure");
  o.add("filter.max_repetition", &filter.max_repetition, "drop when 1 - distinct/total n-grams exceeds this (>= 1: off)");
  o.add("filter.dedupe", &filter.dedupe, "drop repeats of a completion already kept for the prompt");
  o.add("filter.max_per_prompt", &filter.max_per_prompt, "kept completions per prompt (0: no limit)");
  o.add("output", &output, "SFT-ready JSONL");
  o.add("stats", &stats, "statistics JSON (default: next to output)");
  o.add("output_format", &output_format, "prompt_completion | messages");
  o.add("seed", &seed, "sampling seed");
  o.add("data_seed", &data_seed, "seed of the task's problem draw and train/test split");
  o.add("max_batch", &max_batch, "live sequences at once");
}

json run_sample(const SampleConfig& c) {
  R1_CHECK(!c.model.empty(), "sample: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(c.k >= 1 && c.max_new_tokens >= 1, "sample: k and max_new_tokens must be >= 1");
  R1_CHECK(c.temperature > 0, "sample: temperature must be > 0 (got ", c.temperature, ")");
  R1_CHECK(c.top_p > 0 && c.top_p <= 1, "sample: top_p must be in (0, 1] (got ", c.top_p, ")");
  R1_CHECK(is_question_template(c.prompt_template) || c.prompt_template == "chat",
           "sample: prompt_template '", c.prompt_template, "' is unknown; expected ", prompt_template_names());
  R1_CHECK(c.output_format == "prompt_completion" || c.output_format == "messages",
           "sample: output_format '", c.output_format, "' is unknown; expected prompt_completion or messages");
  R1_CHECK(c.filter.min_language >= 0 && c.filter.min_language <= 1, "sample: filter.min_language must be in [0, 1]");
  R1_CHECK(c.filter.ngram >= 1 && c.filter.max_repetition >= 0 && c.filter.max_tokens >= 0 && c.filter.max_per_prompt >= 0,
           "sample: filter.ngram must be >= 1 and max_repetition, max_tokens, max_per_prompt >= 0");
  target_scripts(c.filter.language);  // unknown language: error now, not after sampling
  R1_CHECK(!c.output.empty(), "sample: field 'output' is required");

  std::unique_ptr<Task> task = make_task_or_file(c.task, c.task_config, "sample");
  const bool file_task = c.task.size() > 6 && c.task.compare(c.task.size() - 6, 6, ".jsonl") == 0;
  std::string split = c.split;
  if (file_task && split == "train") split = c.task_config.value("split", std::string("test"));
  std::vector<Problem> probs = task->problems(split, (uint64_t)c.data_seed);
  if (c.limit > 0 && (long)probs.size() > c.limit) probs.resize(c.limit);
  R1_CHECK(!probs.empty(), "sample: task '", c.task, "' split '", split, "' has no problems");
  std::vector<RewardSpec> specs;  // empty: the task's default rewards
  if (!c.rewards.is_null() && !c.rewards.empty()) specs = parse_reward_specs(c.rewards);

  Model model = Model::load(c.model);
  const std::string tdir = c.tokenizer.empty() ? c.model : c.tokenizer;
  Tokenizer tok = Tokenizer::load(tdir);
  std::unique_ptr<ChatTemplate> chat;
  if (c.prompt_template == "chat") {
    std::string jinja = path_join(tdir, "chat_template.jinja"), tcfg = path_join(tdir, "tokenizer_config.json");
    R1_CHECK(file_exists(jinja) || file_exists(tcfg), "sample: prompt_template chat: ", tdir,
             " has neither chat_template.jinja nor tokenizer_config.json");
    chat = std::make_unique<ChatTemplate>(ChatTemplate::from_file(file_exists(jinja) ? jinja : tcfg));
  }
  std::vector<int> eos;
  if (tok.eos_id() >= 0) eos.push_back(tok.eos_id());
  if (model.cfg.eos_id >= 0 && std::find(eos.begin(), eos.end(), model.cfg.eos_id) == eos.end()) eos.push_back(model.cfg.eos_id);

  std::vector<GenRequest> reqs;
  for (size_t i = 0; i < probs.size(); i++) {
    std::string s;
    if (c.prompt_template != "chat") s = question_prompt(c.prompt_template, probs[i].prompt);
    else s = chat->render(json::array({{{"role", "user"}, {"content", probs[i].prompt}}}), true);
    std::vector<int> ids = tok.encode(s + c.think_prefix, true);
    if (model.cfg.bos_id >= 0 && tok.bos_id() == model.cfg.bos_id && (ids.empty() || ids[0] != tok.bos_id()))
      ids.insert(ids.begin(), tok.bos_id());
    reqs.push_back({ids, c.k, (int)i, 0});
  }
  GenConfig gen;
  gen.sampling.temperature = c.temperature;
  gen.sampling.top_p = c.top_p;
  gen.sampling.top_k = c.top_k;
  gen.max_new_tokens = c.max_new_tokens;
  gen.eos_ids = eos;
  gen.seed = (uint64_t)c.seed;
  gen.max_batch = c.max_batch;
  Progress prog("sample", (long)probs.size() * c.k);
  long made = 0;
  Engine engine(model);
  auto out = engine.generate(reqs, gen, [&](const GenSample& s, int) {
    if (std::find(eos.begin(), eos.end(), s.ids.back()) != eos.end() || (int)s.ids.size() >= c.max_new_tokens)
      prog.update(++made);
  });
  prog.finish();

  // decode and score everything (batched: code rewards run in parallel)
  std::vector<std::string> texts;
  std::vector<const Problem*> pp;
  std::vector<int64_t> lens;
  for (const auto& s : out) {
    std::vector<int> ids = s.ids;
    if (!ids.empty() && std::find(eos.begin(), eos.end(), ids.back()) != eos.end()) ids.pop_back();
    texts.push_back(tok.decode(ids));
    pp.push_back(&probs[s.request]);
    lens.push_back((int64_t)ids.size());
  }
  auto scores = task->score_batch(texts, pp, specs, lens, c.think_prefix);

  json stats = {{"prompts", probs.size()}, {"samples", out.size()}, {"kept", 0}, {"dropped", json::object()},
                {"prompts_with_kept", 0}};
  std::map<std::string, long> dropped;
  std::string lines;
  long kept = 0, prompts_with = 0;
  for (size_t i = 0; i < out.size();) {
    size_t j = i;
    std::vector<Candidate> cands;
    while (j < out.size() && out[j].request == out[i].request) {
      cands.push_back({texts[j], task->accuracy(texts[j], *pp[j]) >= 0.5, (long)lens[j], out[j].truncated});
      j++;
    }
    auto reasons = select_for_prompt(cands, c.filter, c.think_prefix);
    bool any = false;
    for (size_t q = 0; q < reasons.size(); q++) {
      if (!reasons[q].empty()) {
        dropped[reasons[q]]++;
        continue;
      }
      any = true;
      kept++;
      const Problem& p = *pp[i + q];
      const std::string comp = c.think_prefix + texts[i + q];
      json row;
      if (c.output_format == "messages")
        row["messages"] = json::array({{{"role", "user"}, {"content", p.prompt}}, {{"role", "assistant"}, {"content", comp}}});
      else {
        row["prompt"] = p.prompt;
        row["completion"] = comp;
      }
      row["id"] = p.id;
      row["gold"] = p.gold;
      row["reward"] = scores[i + q].total;
      row["tokens"] = lens[i + q];
      lines += row.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
    prompts_with += any;
    i = j;
  }
  stats["kept"] = kept;
  stats["prompts_with_kept"] = prompts_with;
  for (const auto& [r, n] : dropped) stats["dropped"][r] = n;
  stats["keep_rate"] = out.empty() ? 0.0 : (double)kept / out.size();
  stats["config"] = {{"model", c.model}, {"task", c.task}, {"split", split}, {"k", c.k}, {"temperature", c.temperature},
                     {"top_p", c.top_p}, {"max_new_tokens", c.max_new_tokens}, {"template", c.prompt_template}};
  std::string dir = c.output.substr(0, c.output.find_last_of('/') == std::string::npos ? 0 : c.output.find_last_of('/'));
  if (!dir.empty()) make_dirs(dir);
  atomic_write(c.output, lines);
  std::string sp = c.stats;
  if (sp.empty()) sp = (c.output.size() > 6 && c.output.compare(c.output.size() - 6, 6, ".jsonl") == 0
                            ? c.output.substr(0, c.output.size() - 6) : c.output) + ".stats.json";
  atomic_write(sp, stats.dump(2));
  std::fprintf(stderr, "[sample] kept %ld of %zu completions (%ld of %zu prompts) -> %s; stats %s\n", kept, out.size(),
               prompts_with, probs.size(), c.output.c_str(), sp.c_str());
  return stats;
}

}  // namespace r1
