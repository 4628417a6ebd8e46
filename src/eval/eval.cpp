#include "eval/eval.h"

#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "data/tasks.h"
#include "eval/metrics.h"
#include "model/transformer.h"
#include "rewards/format.h"
#include "rewards/math_verify.h"
#include "data/prompts.h"
#include "rollout/policy.h"
#include "rewards/shaping.h"
#include "scoring/reward_model.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

namespace r1 {

using json = nlohmann::json;


namespace {

// The statuses in the order the table shows them; the first six always appear for a task that gives statuses.
const std::vector<std::string> kStatusOrder = {"passed",       "wrong_answer",  "timeout",  "runtime_error",
                                               "syntax_error", "no_code",       "compile_error", "bad_tests"};

// Share of each status over the k samples (the greedy completions when k = 0); empty when no sample has one.
json failure_kinds(const json& problems, int k) {
  std::map<std::string, double> count;
  double n = 0;
  auto add = [&](const json& rec) {
    if (rec.contains("status")) count[rec["status"].get<std::string>()] += 1, n += 1;
  };
  for (const auto& p : problems) {
    if (k > 0)
      for (const auto& smp : p.at("samples")) add(smp);
    else if (p.contains("greedy"))
      add(p["greedy"]);
  }
  json out = json::object();
  if (n == 0) return out;
  for (size_t i = 0; i < kStatusOrder.size(); i++)
    if (i < 6 || count.count(kStatusOrder[i])) out[kStatusOrder[i]] = count[kStatusOrder[i]] / n;
  for (auto& [st, c] : count)
    if (!out.contains(st)) out[st] = c / n;
  return out;
}

}  // namespace

json summarize_eval(const json& problems, int k, const std::vector<int>& pass_k, bool greedy) {
  json s = json::object();
  const size_t P = problems.size();
  s["problems"] = P;
  s["samples_per_problem"] = k;
  if (P == 0) return s;
  double len = 0, fmt = 0, cons = 0, gacc = 0, cot = 0, rms = 0, rep = 0;
  long nlen = 0, nrm = 0;
  std::vector<double> pk(pass_k.size(), 0.0);
  for (const auto& p : problems) {
    if (k > 0) {
      int c = p.at("n_correct").get<int>();
      for (size_t i = 0; i < pass_k.size(); i++)
        if (pass_k[i] <= k) pk[i] += pass_at_k(k, c, pass_k[i]);
      if (p.contains("vote")) cons += p.at("vote").at("correct").get<bool>() ? 1 : 0;
      for (const auto& smp : p.at("samples")) {
        len += smp.at("length").get<double>();
        fmt += smp.at("format").get<double>();
        cot += smp.value("cot_chars", 0.0);
        nlen++;
        if (smp.contains("rm_score")) rms += smp["rm_score"].get<double>(), rep += smp["repetition"].get<double>(), nrm++;
      }
    }
    if (greedy) {
      const auto& g = p.at("greedy");
      gacc += g.at("correct").get<bool>() ? 1 : 0;
      if (k == 0) {
        len += g.at("length").get<double>();
        fmt += g.at("format").get<double>();
        cot += g.value("cot_chars", 0.0);
        nlen++;
        if (g.contains("rm_score")) rms += g["rm_score"].get<double>(), rep += g["repetition"].get<double>(), nrm++;
      }
    }
  }
  if (k > 0) {
    for (size_t i = 0; i < pass_k.size(); i++)
      if (pass_k[i] <= k) s["pass@" + std::to_string(pass_k[i])] = pk[i] / P;
    if (problems.at(0).contains("vote")) s["cons@" + std::to_string(k)] = cons / P;
  }
  if (greedy) s["greedy_accuracy"] = gacc / P;
  if (nlen) {
    s["mean_length"] = len / nlen;
    s["format_rate"] = fmt / nlen;
    s["cot_chars_mean"] = cot / nlen;
  }
  if (nrm) {
    s["rm_score_mean"] = rms / nrm;
    s["repetition_mean"] = rep / nrm;
  }
  json kinds = failure_kinds(problems, k);
  if (!kinds.empty()) s["failure_kinds"] = kinds;
  return s;
}

std::string eval_markdown(const json& result) {
  std::string out = "### " + result.value("task", std::string("?")) + " (" +
                    std::to_string(result.at("summary").value("problems", 0)) + " problems, k = " +
                    std::to_string(result.at("summary").value("samples_per_problem", 0)) + ")\n\n| metric | value |\n|---|---|\n";
  // R1's reading order: pass@k ascending, cons@k, greedy accuracy, format rate, length
  const json& sm = result.at("summary");
  std::vector<std::string> keys;
  for (const auto& [key, v] : sm.items())
    if (key.rfind("pass@", 0) == 0) keys.push_back(key);
  std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(5)) < std::stoi(b.substr(5));
  });
  for (const auto& [key, v] : sm.items())
    if (key.rfind("cons@", 0) == 0) keys.push_back(key);
  for (const char* k : {"greedy_accuracy", "format_rate", "mean_length", "cot_chars_mean"})
    if (sm.contains(k)) keys.push_back(k);
  for (const auto& key : keys) {
    const json& v = sm.at(key);
    char buf[64];
    if (key == "mean_length") std::snprintf(buf, sizeof buf, "%.1f tokens", v.get<double>());
    else if (key == "cot_chars_mean") std::snprintf(buf, sizeof buf, "%.1f characters", v.get<double>());
    else std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v.get<double>());
    out += "| " + key + " | " + buf + " |\n";
  }
  if (sm.contains("failure_kinds")) {
    const int k = sm.value("samples_per_problem", 0);
    out += "\n| status (" + std::string(k > 0 ? "of the k samples" : "greedy") + ") | share |\n|---|---|\n";
    std::vector<std::string> order = kStatusOrder;
    for (const auto& [st, v] : sm["failure_kinds"].items())
      if (std::find(order.begin(), order.end(), st) == order.end()) order.push_back(st);
    for (const auto& st : order)
      if (sm["failure_kinds"].contains(st)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * sm["failure_kinds"][st].get<double>());
        out += "| " + st + " | " + buf + " |\n";
      }
  }
  return out;
}

void EvalConfig::declare(OptionSet& o) {
  o.add("model", &model, "model folder (Hugging Face layout)");
  o.add("tokenizer", &tokenizer, "tokenizer folder (default: the model folder)");
  o.add("adapter", &adapter, "a PEFT LoRA adapter folder to apply to the model (\"\": none)");
  o.add("task", &task, "built-in task names or FILE.jsonl paths (a list, or the flag given again); one result each");
  o.add("task_config", &task_config, "task config map");
  o.add("split", &split, "task split");
  o.add("k", &k, "samples per problem (0: greedy only)");
  o.alias("samples", "k");
  sampling.declare(o);
  o.add("pass_k", &pass_k, "pass@k values reported (each <= k)");
  o.add("limit", &limit, "first N problems (0: all)");
  o.add("prompt_template", &prompt_template, "r1_zero | r1_zero_short | plain | chat");
  o.alias("template", "prompt_template");
  o.add("think_prefix", &think_prefix, "text appended after the template, e.g. '<think>'");
  o.add("greedy", &greedy, "also run one greedy pass");
  o.add("save_text", &save_text, "keep completion texts in the results JSON");
  o.alias("text", "save_text");
  o.add("seed", &seed, "sampling seed");
  o.add("data_seed", &data_seed, "seed of the task's problem draw and train/test split (as the grpo / sample recipes' data_seed)");
  o.add("max_batch", &max_batch, "live sequences at once");
  o.add("reward_model", &reward_model, "a reward model folder (r1 rm): score every sample with it (rm_score) and "
        "report rm_score_mean and the word 3-gram repetition_mean, a readability measure; \"\": off");
  o.add("reward_model_on", &reward_model_on, "full: the whole completion; summary: the text after </think>");
  o.add("output", &output, "results JSON (per problem: every sample's answer, correctness, vote); \"\": none");
}

void EvalConfig::check() const {
  R1_CHECK(!model.empty(), "eval: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(!task.empty(), "eval: field 'task' is empty");
  R1_CHECK(k >= 0, "eval: field 'k' must be >= 0 (got ", k, ")");
  R1_CHECK(k > 0 || greedy, "eval: nothing to do (k = 0 and no greedy pass)");
  sampling.check("eval", k == 0);
  R1_CHECK(!pass_k.empty(), "eval: field 'pass_k' is empty");
  for (int pk : pass_k) R1_CHECK(pk >= 1, "eval: field 'pass_k' expects positive integers (got ", pk, ")");
  R1_CHECK(max_batch >= 1, "eval: field 'max_batch' must be >= 1");
  R1_CHECK(is_question_template(prompt_template) || prompt_template == "chat", "eval: prompt_template '",
           prompt_template, "' is unknown; expected ", prompt_template_names());
  if (!reward_model.empty()) {
    RewardModel::check(reward_model, "", "eval: reward_model");
    parse_rm_view(reward_model_on, "eval: reward_model_on");
  }
}

namespace {

// The problems of one task, as configured.
struct EvalTask {
  std::string name;
  std::unique_ptr<Task> task;
  std::vector<Problem> probs;
};

EvalTask load_task(const EvalConfig& c, const std::string& name) {
  EvalTask t{name, make_task_or_file(name, c.task_config, "eval"), {}};
  t.probs = t.task->problems(c.split, (uint64_t)c.data_seed);
  if (c.limit > 0 && (long)t.probs.size() > c.limit) t.probs.resize(c.limit);
  R1_CHECK(!t.probs.empty(), "eval: task '", name, "' split '", c.split, "' has no problems");
  return t;
}

// The majority vote of one problem whose "samples" are scored.
void vote_problem(json& p) {
  std::vector<VoteSample> vs;
  for (const auto& smp : p["samples"]) {
    VoteSample v;
    v.has_answer = smp["has_answer"].get<bool>();
    v.answer = smp["answer"].get<std::string>();
    if (v.has_answer) v.key = canonical_answer(v.answer);
    v.correct = smp["correct"].get<bool>();
    vs.push_back(v);
  }
  VoteResult vr = majority_vote(vs, math_answers_equivalent);
  p["vote"] = {{"answer", vr.answer}, {"votes", vr.votes}, {"voters", vr.voters}, {"groups", vr.groups},
               {"winner", vr.winner}, {"correct", vr.correct}};
  for (size_t i = 0; i < vs.size(); i++) p["samples"][i]["group"] = vr.group_of[i];
}

// One completion's record: correctness, format, and the extracted answer and its voting key (tasks that vote) or
// the status and tests (code tasks).
json sample_record(const EvalConfig& c, const EvalTask& t, const GenSample& s, const std::string& text, int len,
                   const Judgement& j) {
  json r = {{"correct", j.correct >= 0.5}, {"format", format_reward(text, c.think_prefix)},
            {"length", len}, {"cot_chars", cot_chars(text, c.think_prefix)}, {"finish_reason", s.finish_reason}};
  if (t.task->answers_vote()) {
    Extracted ex = extract_answer(text);
    r["has_answer"] = ex.found;
    r["answer"] = ex.found ? ex.normalized : "";
  }
  if (!j.status.empty()) r["status"] = j.status;
  if (j.tests_total >= 0) r["tests_passed"] = j.tests_passed, r["tests_total"] = j.tests_total;
  if (!j.detail.empty() && c.save_text) r["error"] = j.detail;
  if (c.save_text) r["text"] = text;
  return r;
}

// Every sample's record, judged as one batch (a code task runs the programs in parallel).
std::vector<json> score_samples(const EvalConfig& c, const Policy& pol, const EvalTask& t,
                                const std::vector<GenSample>& out, RewardModel* rm) {
  std::vector<std::string> texts;
  std::vector<int> lens;
  std::vector<const Problem*> probs;
  for (const auto& s : out) {
    int len = 0;
    texts.push_back(pol.completion_text(s, &len));
    lens.push_back(len);
    probs.push_back(&t.probs[s.request]);
  }
  if (!t.task->answers_vote()) std::fprintf(stderr, "[eval] judging %zu programs in the sandbox\n", out.size());
  std::vector<Judgement> js = t.task->judge_batch(texts, probs);
  std::vector<json> recs;
  for (size_t i = 0; i < out.size(); i++) recs.push_back(sample_record(c, t, out[i], texts[i], lens[i], js[i]));
  if (rm) {  // readability: the reward model's score and the repetition of every sample
    std::vector<std::string> prompts;
    std::vector<long> groups;
    for (const auto& s : out) prompts.push_back(pol.prompt_text(t.probs[s.request].prompt)), groups.push_back(s.request);
    std::vector<float> sc = rm->score(prompts, texts, parse_rm_view(c.reward_model_on, "eval: reward_model_on"), &groups);
    for (size_t i = 0; i < out.size(); i++) {
      recs[i]["rm_score"] = sc[i];
      recs[i]["repetition"] = -repetition_penalty(texts[i], 3, -1.0);
    }
  }
  return recs;
}

// Correct count and pass@k of one problem whose "samples" are scored, with its majority vote when the task's
// answers vote.
void tally_problem(const EvalConfig& c, bool vote, json& p) {
  int nc = 0;
  for (const auto& smp : p["samples"]) nc += smp["correct"].get<bool>();
  p["n_correct"] = nc;
  if (vote) vote_problem(p);
  json pk = json::object();
  for (int k : c.pass_k)
    if (k <= c.k) pk["pass@" + std::to_string(k)] = pass_at_k(c.k, nc, k);
  p["pass"] = pk;
}


}  // namespace

json run_eval(const EvalConfig& c) {
  c.check();
  EvalTask t = load_task(c, c.task.front());
  Policy pol = Policy::load({c.model, c.tokenizer, "", c.adapter, false, /*inference_only=*/true}, c.prompt_template,
                           c.think_prefix, "eval");
  std::vector<GenRequest> reqs;
  for (size_t i = 0; i < t.probs.size(); i++) reqs.push_back({pol.encode_question(t.probs[i].prompt), c.k, (int)i, 0});
  const GenConfig gen = pol.gen_config(c.sampling, (uint64_t)c.seed, c.max_batch);
  Engine engine(pol.model());
  std::unique_ptr<RewardModel> rm;  // readability (reward_model set): scores the samples and the greedy pass
  if (!c.reward_model.empty()) rm = RewardModel::load(c.reward_model, "", "eval: reward_model");
  json problems = json::array();
  for (const auto& p : t.probs) problems.push_back({{"id", p.id}, {"question", p.prompt}, {"gold", p.gold}});

  Progress prog("eval " + t.name, (long)t.probs.size() * (c.k + (c.greedy ? 1 : 0)));
  long done = 0;
  auto tick = [&](const GenSample& s, int tok_id) {
    if (pol.finished(s, tok_id, c.sampling.max_new_tokens)) prog.update(++done);
  };
  if (c.k > 0) {
    auto out = engine.generate(reqs, gen, tick);
    for (auto& p : problems) p["samples"] = json::array();
    std::vector<json> recs = score_samples(c, pol, t, out, rm.get());
    for (size_t i = 0; i < out.size(); i++) problems[out[i].request]["samples"].push_back(std::move(recs[i]));
    for (auto& p : problems) tally_problem(c, t.task->answers_vote(), p);
  }
  if (c.greedy) {
    for (auto& r : reqs) r.n = 1;
    GenConfig g = gen;
    g.sampling = SamplingParams{};
    g.sampling.greedy = true;
    g.sampling.temperature = 0;
    auto out = engine.generate(reqs, g, tick);
    std::vector<json> recs = score_samples(c, pol, t, out, rm.get());
    for (size_t i = 0; i < out.size(); i++) problems[out[i].request]["greedy"] = std::move(recs[i]);
  }
  prog.finish();

  std::vector<int> pks;
  for (int k : c.pass_k)
    if (k <= c.k) pks.push_back(k);
    else if (c.k > 0) std::fprintf(stderr, "[eval] pass@%d skipped: only %d samples per problem\n", k, c.k);
  json result;
  result["task"] = t.name;
  result["model"] = c.model;
  result["config"] = {{"split", c.split},           {"k", c.k},
                      {"temperature", c.sampling.temperature}, {"top_p", c.sampling.top_p},
                      {"top_k", c.sampling.top_k},             {"max_new_tokens", c.sampling.max_new_tokens},
                      {"pass_k", pks},                {"limit", c.limit},
                      {"template", c.prompt_template}, {"think_prefix", c.think_prefix},
                      {"greedy", c.greedy},           {"seed", c.seed}, {"data_seed", c.data_seed},
                      {"tie_rule", "most votes; ties -> the answer voted first (lowest sample index)"}};
  result["summary"] = summarize_eval(problems, c.k, pks, c.greedy);
  result["problems"] = std::move(problems);
  return result;
}

json run_eval_command(const EvalConfig& cfg) {
  cfg.check();
  json all = json::array();
  for (const auto& t : cfg.task) {
    EvalConfig one = cfg;
    one.task = {t};
    json res = run_eval(one);
    std::printf("%s\n", eval_markdown(res).c_str());
    std::fflush(stdout);
    all.push_back(std::move(res));
  }
  json out = all.size() == 1 ? all[0] : json{{"tasks", all}};
  if (!cfg.output.empty()) {
    const std::string dir = parent_dir(cfg.output);
    if (!dir.empty()) make_dirs(dir);
    atomic_write(cfg.output, out.dump(1, ' ', false, json::error_handler_t::replace));
  }
  return out;
}

std::vector<StageKind> eval_stages() {
  return {{"eval", "R1-style evaluation: pass@1 over k samples, pass@k, cons@k, greedy accuracy", "eval", "eval.json",
           "output", {"model"}, StageKind::kEvaluator,
           recipe_run<EvalConfig>(run_eval_command, [](const EvalConfig& c) { c.check(); })}};
}

}  // namespace r1
