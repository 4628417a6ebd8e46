#include "data/preferences.h"

#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "data/arithmetic_task.h"
#include "data/cold_start.h"
#include "data/prompts.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <set>

namespace r1 {

using json = nlohmann::json;

const std::vector<std::string>& preference_kinds() {
  static const std::vector<std::string> k = {"bare_fold", "wrong_answer", "noise", "wrong_final"};
  return k;
}

namespace {

std::string r1_reply(const std::string& think, long answer) {
  return "<think> " + think + " </think> <answer> " + std::to_string(answer) + " </answer>";
}

// The running total after fold `step` (0-based): the value of the first step + 2 terms.
long total_after(const ArithmeticProblem& p, size_t step) {
  long v = p.operands[0];
  for (size_t i = 0; i <= step; i++) v = p.ops[i] == '+' ? v + p.operands[i + 1] : v - p.operands[i + 1];
  return v;
}

// worked_solution(p, seed) split around its fold chain: "Let's work out 6 + 8. " + steps + " So the total is ".
struct Working {
  std::string head, steps, tail;
};

Working split_working(const ArithmeticProblem& p, uint64_t seed) {
  const std::string w = worked_solution(p, seed), steps = working_steps(p), ans = std::to_string(p.answer()) + ".";
  const size_t at = w.find(steps);
  R1_CHECK(at != std::string::npos && w.size() >= at + steps.size() + ans.size() &&
               w.compare(w.size() - ans.size(), ans.size(), ans) == 0,
           "prefs: the worked solution '", w, "' does not hold the fold chain '", steps, "' and end with the answer");
  return {w.substr(0, at), steps, w.substr(at + steps.size(), w.size() - at - steps.size() - ans.size())};
}

// A slip a tired solver makes: one fold off by 1 or 2, carried to the end. Never below zero in a sum-only problem.
std::string wrong_answer(const ArithmeticProblem& p, uint64_t phrasing_seed, Rng& r) {
  const Working w = split_working(p, phrasing_seed);
  const size_t step = r.below(p.ops.size());
  const long mag = 1 + (long)r.below(2);
  long delta = r.below(2) ? mag : -mag;
  bool has_minus = false;
  for (char op : p.ops) has_minus = has_minus || op == '-';
  if (!has_minus && total_after(p, step) + delta < 0) delta = mag;
  const long said = p.answer() + delta;
  return r1_reply(w.head + slipped_steps(p, step, delta) + w.tail + std::to_string(said) + ".", said);
}

// The readable chain, right up to its closing total, with an <answer> off by 1 or 2: the answer does not follow
// from the chain (never below zero in a sum-only problem).
std::string wrong_final(const ArithmeticProblem& p, uint64_t phrasing_seed, Rng& r) {
  const long mag = 1 + (long)r.below(2);
  long delta = r.below(2) ? mag : -mag;
  bool has_minus = false;
  for (char op : p.ops) has_minus = has_minus || op == '-';
  if (!has_minus && p.answer() + delta < 0) delta = mag;
  return r1_reply(worked_solution(p, phrasing_seed), p.answer() + delta);
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) v.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return v;
}

// The chain with noise mixed in: 2-4 corpus words or runs of stray characters between words, or a span of 2-4
// words said three times.
std::string noisy(const std::string& text, Rng& r) {
  static const char* words[] = {"teacher", "student", "numbers", "lesson", "question", "answer", "notes",
                                "careful", "reader",  "method",  "again",  "first",    "book",   "helper"};
  static const char chars[] = "#%&*@~^|";
  std::vector<std::string> v = split_words(text);
  R1_CHECK(!v.empty(), "prefs: empty chain of thought");
  const int variant = (int)r.below(3);
  if (variant == 2) {
    const size_t len = std::min<size_t>(v.size(), 2 + r.below(3)), start = r.below(v.size() - len + 1);
    std::vector<std::string> span(v.begin() + start, v.begin() + start + len);
    for (int k = 0; k < 2; k++) v.insert(v.begin() + start + len, span.begin(), span.end());
  } else {
    const int m = 2 + (int)r.below(3);
    for (int k = 0; k < m; k++) {
      std::string tok;
      if (variant == 0) tok = words[r.below(sizeof words / sizeof words[0])];
      else
        for (int c = 1 + (int)r.below(3); c > 0; c--) tok += chars[r.below(sizeof chars - 1)];
      v.insert(v.begin() + r.below(v.size() + 1), tok);
    }
  }
  std::string s;
  for (const auto& t : v) s += (s.empty() ? "" : " ") + t;
  return s;
}

}  // namespace

std::string slipped_steps(const ArithmeticProblem& p, size_t step, long delta) {
  R1_CHECK(step < p.ops.size(), "prefs: slip at fold ", step, " of a problem with ", p.ops.size(), " folds");
  std::string s = p.text();
  ArithmeticProblem rest = p;
  for (size_t k = 0; rest.operands.size() > 1; k++) {
    long v = rest.ops[0] == '+' ? rest.operands[0] + rest.operands[1] : rest.operands[0] - rest.operands[1];
    if (k == step) v += delta;
    rest.operands.erase(rest.operands.begin());
    rest.operands[0] = (int)v;
    rest.ops.erase(rest.ops.begin());
    s += " = " + rest.text();
  }
  return s + ".";
}

std::string rejected_completion(const ArithmeticProblem& p, const std::string& kind, uint64_t phrasing_seed,
                                uint64_t defect_seed) {
  Rng r(defect_seed);
  if (kind == "bare_fold") return r1_reply(working_steps(p), p.answer());
  if (kind == "wrong_answer") return wrong_answer(p, phrasing_seed, r);
  if (kind == "wrong_final") return wrong_final(p, phrasing_seed, r);
  R1_CHECK(kind == "noise", "prefs: unknown rejected kind '", kind, "'; expected bare_fold, wrong_answer, noise or ",
           "wrong_final");
  return r1_reply(noisy(worked_solution(p, phrasing_seed), r), p.answer());
}

void PrefsConfig::declare(OptionSet& o) {
  o.add("out", &out, "folder: train.jsonl, eval.jsonl (held-out pairs), stats.json (rows per kind), config.yaml");
  o.add("n", &n, "train rows: the first n problems of the arithmetic train split");
  o.add("eval_n", &eval_n, "eval rows (held out for the reward model's pair accuracy): the next train-split problems whose question is not a train row's");
  o.add("seed", &seed, "seed of the chosen chains' phrasing and of the rejected replies' slips and noise");
  o.add("data_seed", &data_seed, "seed of the task's problem draw (as the cold_start / grpo / eval recipes' data_seed, so the test split stays unseen)");
  o.add("task_config", &task_config, "arithmetic task config: n, min_operands, max_operands, max_value, p_minus, hard_only");
  o.add("prompt_template", &prompt_template, "question template of the prompts, as the policy sees them: r1_zero, r1_zero_short or plain");
  o.add("kinds", &kinds, "rejected kinds, one per row in turn: bare_fold, wrong_answer, noise, wrong_final (repeat a "
        "kind to weight it)");
  o.add("reply_space", &reply_space, "replies start with a space, as the base model and R1-Zero continue \"Assistant:\"; "
        "false: as a policy after SFT on prompt/completion rows writes them (no space)");
}

namespace {

// The train split and which of its problems become train and eval rows; every field checked.
struct Selection {
  std::vector<Problem> probs;
  std::vector<size_t> train, eval;
};

Selection select_problems(const PrefsConfig& c) {
  R1_CHECK(!c.out.empty(), "prefs: field 'out' is required");
  R1_CHECK(c.n >= 1, "prefs: field 'n' must be >= 1, got ", c.n);
  R1_CHECK(c.eval_n >= 0, "prefs: field 'eval_n' must be >= 0, got ", c.eval_n);
  R1_CHECK(!c.kinds.empty(), "prefs: field 'kinds' is empty; expected some of bare_fold, wrong_answer, noise, wrong_final");
  for (const auto& k : c.kinds) {
    bool known = false;
    for (const auto& name : preference_kinds()) known = known || k == name;
    R1_CHECK(known, "prefs: field 'kinds': unknown kind '", k, "'; expected bare_fold, wrong_answer, noise or wrong_final");
  }
  R1_CHECK(is_question_template(c.prompt_template), "prefs: field 'prompt_template': '", c.prompt_template,
           "' is not a question template; expected r1_zero, r1_zero_short or plain");
  ArithmeticTaskConfig tc;
  try {
    tc = arithmetic_config_from_json(c.task_config.is_null() ? json::object() : c.task_config);
  } catch (const Error& e) {
    fail("prefs: field 'task_config': ", e.what());
  }
  Selection s;
  s.probs = ArithmeticTask(tc).problems("train", (uint64_t)c.data_seed);
  R1_CHECK((long)s.probs.size() >= c.n, "prefs: field 'n': ", c.n, " train rows asked, but the arithmetic train split has ",
           s.probs.size(), " problems (raise task_config.n)");
  std::set<std::string> seen;
  for (long i = 0; i < c.n; i++) s.train.push_back(i), seen.insert(s.probs[i].prompt);
  for (size_t i = c.n; i < s.probs.size() && (long)s.eval.size() < c.eval_n; i++)
    if (!seen.count(s.probs[i].prompt)) s.eval.push_back(i);
  R1_CHECK((long)s.eval.size() == c.eval_n, "prefs: field 'eval_n': ", c.eval_n,
           " eval rows asked, but the arithmetic train split has only ", s.eval.size(), " problems after the first n = ",
           c.n, " whose question is not a train row's (raise task_config.n, or lower n or eval_n)");
  return s;
}

json preference_row(const Problem& q, size_t index, const std::string& kind, const PrefsConfig& c) {
  const std::string pre = "What is ";
  R1_CHECK(q.prompt.compare(0, pre.size(), pre) == 0 && q.prompt.size() > pre.size() + 1 && q.prompt.back() == '?',
           "prefs: unexpected arithmetic prompt '", q.prompt, "'");
  const ArithmeticProblem p = parse_arithmetic_problem(q.prompt.substr(pre.size(), q.prompt.size() - pre.size() - 1));
  const std::string prompt = question_prompt(c.prompt_template, q.prompt);
  // A reply continues the prompt as the corpus and R1-Zero's completions do: "Assistant:" + " <think> ...".
  const std::string lead = !c.reply_space || prompt.empty() || std::isspace((unsigned char)prompt.back()) ? "" : " ";
  const uint64_t phrasing = (uint64_t)c.seed * 1000003ull + index;  // as cold_start_rows phrases problem `index`
  const std::string chosen = lead + cold_start_completion(p, phrasing);
  const std::string rejected = lead + rejected_completion(p, kind, phrasing, splitmix64(phrasing ^ 0x7072656673ull));
  R1_ASSERT(rejected != chosen && arithmetic_answer_correct(chosen, p.answer()) == 1.0);
  return {{"prompt", prompt}, {"chosen", chosen}, {"rejected", rejected}, {"kind", kind}, {"id", q.id}, {"gold", q.gold}};
}

}  // namespace

void check_prefs(const PrefsConfig& c) { select_problems(c); }

PreferenceSplits preference_splits(const PrefsConfig& c) {
  const Selection s = select_problems(c);
  PreferenceSplits out;
  for (size_t j = 0; j < s.train.size(); j++)
    out.train.push_back(preference_row(s.probs[s.train[j]], s.train[j], c.kinds[j % c.kinds.size()], c));
  for (size_t j = 0; j < s.eval.size(); j++)
    out.eval.push_back(preference_row(s.probs[s.eval[j]], s.eval[j], c.kinds[j % c.kinds.size()], c));
  return out;
}

std::vector<json> preference_rows(const PrefsConfig& c) { return preference_splits(c).train; }

json preference_stats(const PreferenceSplits& s) {
  auto one = [](const std::vector<json>& rows) {
    std::map<std::string, long> by;
    for (const auto& r : rows) by[r.at("kind").get<std::string>()]++;
    return json{{"rows", rows.size()}, {"kinds", by}};
  };
  return {{"train", one(s.train)}, {"eval", one(s.eval)}};
}

nlohmann::json run_prefs(const PrefsConfig& c) {
  const PreferenceSplits s = preference_splits(c);
  make_dirs(c.out);
  auto write = [](const std::string& path, const std::vector<json>& rows) {
    std::string text;
    for (const auto& r : rows) text += r.dump() + "\n";
    atomic_write(path, text);
    return path;
  };
  const json stats = preference_stats(s);
  const std::string eval = write(path_join(c.out, "eval.jsonl"), s.eval);
  atomic_write(path_join(c.out, "stats.json"), stats.dump(2) + "\n");
  atomic_write(path_join(c.out, "config.yaml"), effective_config_yaml(c));
  const std::string train = write(path_join(c.out, "train.jsonl"), s.train);  // last: it marks the stage done
  std::fprintf(stderr, "[prefs] wrote %zu train and %zu eval pairs to %s (train kinds: %s)\n", s.train.size(),
               s.eval.size(), c.out.c_str(), stats["train"]["kinds"].dump().c_str());
  return {{"data", train}, {"eval_data", eval}};
}

StageKind prefs_stage() {
  StageKind k{"prefs",
              "Write preference pairs for reward-model training (chosen: a readable correct chain; rejected: a bare "
              "fold chain, a wrong answer or noise)",
              "data", "train.jsonl", "out", {}, StageKind::kProducer,
              recipe_run<PrefsConfig>([](const PrefsConfig& c) { return run_prefs(c); }, check_prefs)};
  k.extra_outputs = {{"eval_data", "eval.jsonl"}};
  return k;
}

}  // namespace r1
