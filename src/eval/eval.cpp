#include "eval/eval.h"

#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "data/tasks.h"
#include "eval/metrics.h"
#include "model/transformer.h"
#include "rewards/format.h"
#include "rewards/math_verify.h"
#include "rollout/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace r1 {

using json = nlohmann::json;


json summarize_eval(const json& problems, int k, const std::vector<int>& pass_k, bool greedy) {
  json s = json::object();
  const size_t P = problems.size();
  s["problems"] = P;
  s["samples_per_problem"] = k;
  if (P == 0) return s;
  double len = 0, fmt = 0, cons = 0, gacc = 0, cot = 0;
  long nlen = 0;
  std::vector<double> pk(pass_k.size(), 0.0);
  for (const auto& p : problems) {
    if (k > 0) {
      int c = p.at("n_correct").get<int>();
      for (size_t i = 0; i < pass_k.size(); i++)
        if (pass_k[i] <= k) pk[i] += pass_at_k(k, c, pass_k[i]);
      cons += p.at("vote").at("correct").get<bool>() ? 1 : 0;
      for (const auto& smp : p.at("samples")) {
        len += smp.at("length").get<double>();
        fmt += smp.at("format").get<double>();
        cot += smp.value("cot_chars", 0.0);
        nlen++;
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
      }
    }
  }
  if (k > 0) {
    for (size_t i = 0; i < pass_k.size(); i++)
      if (pass_k[i] <= k) s["pass@" + std::to_string(pass_k[i])] = pk[i] / P;
    s["cons@" + std::to_string(k)] = cons / P;
  }
  if (greedy) s["greedy_accuracy"] = gacc / P;
  if (nlen) {
    s["mean_length"] = len / nlen;
    s["format_rate"] = fmt / nlen;
    s["cot_chars_mean"] = cot / nlen;
  }
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
  return out;
}

json run_eval(const EvalConfig& c) {
  R1_CHECK(!c.model.empty(), "eval: --model is required (a Hugging Face model folder)");
  R1_CHECK(c.k >= 0, "eval: -k must be >= 0 (got ", c.k, ")");
  R1_CHECK(c.k > 0 || c.greedy, "eval: nothing to do (k = 0 and no greedy pass)");
  R1_CHECK(c.max_new_tokens >= 1, "eval: --max-new-tokens must be >= 1");
  R1_CHECK(c.temperature > 0 || c.k == 0, "eval: --temperature must be > 0 for sampling (greedy is separate)");
  R1_CHECK(c.top_p > 0 && c.top_p <= 1, "eval: --top-p must be in (0, 1] (got ", c.top_p, ")");
  for (int pk : c.pass_k) R1_CHECK(pk >= 1, "eval: --pass-k values must be >= 1 (got ", pk, ")");
  R1_CHECK(is_question_template(c.prompt_template) || c.prompt_template == "chat",
           "eval: --template '", c.prompt_template, "' is unknown; expected ", prompt_template_names());

  std::unique_ptr<Task> task = make_task_or_file(c.task, c.task_config, "eval");
  std::string task_name = c.task;
  std::vector<Problem> probs = task->problems(c.split, c.data_seed);
  if (c.limit > 0 && (long)probs.size() > c.limit) probs.resize(c.limit);
  R1_CHECK(!probs.empty(), "eval: task '", c.task, "' split '", c.split, "' has no problems");

  Model model = Model::load(c.model);
  Tokenizer tok = Tokenizer::load(c.tokenizer.empty() ? c.model : c.tokenizer);
  std::unique_ptr<ChatTemplate> chat;
  if (c.prompt_template == "chat") {
    std::string dir = c.tokenizer.empty() ? c.model : c.tokenizer;
    std::string jinja = path_join(dir, "chat_template.jinja"), tcfg = path_join(dir, "tokenizer_config.json");
    R1_CHECK(file_exists(jinja) || file_exists(tcfg), "eval --template chat: ", dir,
             " has neither chat_template.jinja nor tokenizer_config.json");
    chat = std::make_unique<ChatTemplate>(ChatTemplate::from_file(file_exists(jinja) ? jinja : tcfg));
  }
  auto encode_prompt = [&](const Problem& p) {
    std::string s;
    if (c.prompt_template != "chat") s = question_prompt(c.prompt_template, p.prompt);
    else s = chat->render(json::array({{{"role", "user"}, {"content", p.prompt}}}), true);
    std::vector<int> ids = tok.encode(s + c.think_prefix, true);
    if (model.cfg.bos_id >= 0 && tok.bos_id() == model.cfg.bos_id && (ids.empty() || ids[0] != tok.bos_id()))
      ids.insert(ids.begin(), tok.bos_id());
    return ids;
  };
  std::vector<int> eos;
  if (tok.eos_id() >= 0) eos.push_back(tok.eos_id());
  if (model.cfg.eos_id >= 0 && std::find(eos.begin(), eos.end(), model.cfg.eos_id) == eos.end())
    eos.push_back(model.cfg.eos_id);
  auto text_of = [&](const GenSample& s, int* len) {
    std::vector<int> ids = s.ids;
    if (!ids.empty() && std::find(eos.begin(), eos.end(), ids.back()) != eos.end()) ids.pop_back();
    *len = (int)ids.size();
    return tok.decode(ids);
  };

  std::vector<GenRequest> reqs;
  for (size_t i = 0; i < probs.size(); i++) reqs.push_back({encode_prompt(probs[i]), c.k, (int)i, 0});
  GenConfig gen;
  gen.sampling.temperature = c.temperature;
  gen.sampling.top_p = c.top_p;
  gen.sampling.top_k = c.top_k;
  gen.max_new_tokens = c.max_new_tokens;
  gen.eos_ids = eos;
  gen.seed = c.seed;
  gen.max_batch = c.max_batch;

  Engine engine(model);
  json problems = json::array();
  for (const auto& p : probs) problems.push_back({{"id", p.id}, {"question", p.prompt}, {"gold", p.gold}});

  // Score one completion: correctness, format, extracted answer and its voting key.
  auto record = [&](const GenSample& s, size_t pi) {
    int len = 0;
    std::string text = text_of(s, &len);
    const Problem& p = probs[pi];
    Extracted ex = extract_answer(text);
    json r = {{"correct", task->accuracy(text, p) >= 0.5}, {"format", format_reward(text, c.think_prefix)},
              {"length", len}, {"cot_chars", cot_chars(text, c.think_prefix)}, {"finish_reason", s.finish_reason},
              {"has_answer", ex.found},
              {"answer", ex.found ? ex.normalized : ""}};
    if (c.save_text) r["text"] = text;
    return r;
  };

  Progress prog("eval " + task_name, (long)probs.size() * (c.k + (c.greedy ? 1 : 0)));
  long done = 0;
  // a sample is finished when it emits an eos id or reaches the budget
  auto tick = [&](const GenSample& s, int tok_id) {
    if (std::find(eos.begin(), eos.end(), tok_id) != eos.end() || (int)s.ids.size() >= c.max_new_tokens)
      prog.update(++done);
  };
  if (c.k > 0) {
    auto out = engine.generate(reqs, gen, tick);
    for (auto& p : problems) p["samples"] = json::array();
    for (const auto& s : out) {
      problems[s.request]["samples"].push_back(record(s, s.request));
    }
    for (auto& p : problems) {
      std::vector<VoteSample> vs;
      int nc = 0;
      for (const auto& smp : p["samples"]) {
        VoteSample v;
        v.has_answer = smp["has_answer"].get<bool>();
        v.answer = smp["answer"].get<std::string>();
        if (v.has_answer) v.key = canonical_answer(v.answer);
        v.correct = smp["correct"].get<bool>();
        nc += v.correct;
        vs.push_back(v);
      }
      VoteResult vr = majority_vote(vs, math_answers_equivalent);
      p["n_correct"] = nc;
      p["vote"] = {{"answer", vr.answer}, {"votes", vr.votes}, {"voters", vr.voters}, {"groups", vr.groups},
                   {"winner", vr.winner}, {"correct", vr.correct}};
      for (size_t i = 0; i < vs.size(); i++) p["samples"][i]["group"] = vr.group_of[i];
      json pk = json::object();
      for (int k : c.pass_k)
        if (k <= c.k) pk["pass@" + std::to_string(k)] = pass_at_k(c.k, nc, k);
      p["pass"] = pk;
    }
  }
  if (c.greedy) {
    for (auto& r : reqs) r.n = 1;
    GenConfig g = gen;
    g.sampling = SamplingParams{};
    g.sampling.greedy = true;
    g.sampling.temperature = 0;
    auto out = engine.generate(reqs, g, tick);
    for (const auto& s : out) {
      problems[s.request]["greedy"] = record(s, s.request);
    }
  }
  prog.finish();

  std::vector<int> pks;
  for (int k : c.pass_k)
    if (k <= c.k) pks.push_back(k);
    else if (c.k > 0) std::fprintf(stderr, "[eval] pass@%d skipped: only %d samples per problem\n", k, c.k);
  json result;
  result["task"] = task_name;
  result["model"] = c.model;
  result["config"] = {{"split", c.split},           {"k", c.k},
                      {"temperature", c.temperature}, {"top_p", c.top_p},
                      {"top_k", c.top_k},             {"max_new_tokens", c.max_new_tokens},
                      {"pass_k", pks},                {"limit", c.limit},
                      {"template", c.prompt_template}, {"think_prefix", c.think_prefix},
                      {"greedy", c.greedy},           {"seed", c.seed}, {"data_seed", c.data_seed},
                      {"tie_rule", "most votes; ties -> the answer voted first (lowest sample index)"}};
  result["summary"] = summarize_eval(problems, c.k, pks, c.greedy);
  result["problems"] = std::move(problems);
  return result;
}

}  // namespace r1
