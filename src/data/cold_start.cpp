#include "data/cold_start.h"
#include "data/preferences.h"
#include "data/tiny_code.h"
#include "core/check.h"
#include "core/io.h"
#include "data/arithmetic_task.h"

#include <cstdio>

#include <cctype>

namespace r1 {

ArithmeticProblem parse_arithmetic_problem(const std::string& text) {
  ArithmeticProblem p;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && text[i] == ' ') i++;
  };
  auto number = [&] {
    skip();
    size_t d0 = i;
    long v = 0;
    while (i < text.size() && std::isdigit((unsigned char)text[i]) && i - d0 < 9) v = v * 10 + (text[i++] - '0');
    R1_CHECK(i > d0, "arithmetic problem '", text, "': expected a number at position ", d0);
    p.operands.push_back((int)v);
  };
  number();
  for (skip(); i < text.size(); skip()) {
    R1_CHECK(text[i] == '+' || text[i] == '-', "arithmetic problem '", text, "': expected + or - at position ", i);
    p.ops.push_back(text[i++]);
    number();
  }
  R1_CHECK(p.operands.size() >= 2, "arithmetic problem '", text, "': expected at least two operands");
  return p;
}

std::string cold_start_completion(const ArithmeticProblem& p, uint64_t seed) {
  return "<think> " + worked_solution(p, seed) + " </think> <answer> " + std::to_string(p.answer()) + " </answer>";
}

std::vector<nlohmann::json> cold_start_rows(const nlohmann::json& task_config, long n, uint64_t seed,
                                            uint64_t data_seed) {
  R1_CHECK(n >= 1, "cold_start: n must be >= 1, got ", n);
  ArithmeticTask task(arithmetic_config_from_json(task_config.is_null() ? nlohmann::json::object() : task_config));
  std::vector<Problem> probs = task.problems("train", data_seed);
  R1_CHECK((long)probs.size() >= n, "cold_start: n = ", n, " rows asked, but the arithmetic train split has ",
           probs.size(), " problems (raise task_config.n)");
  std::vector<nlohmann::json> rows;
  for (long i = 0; i < n; i++) {
    const Problem& q = probs[i];
    const std::string pre = "What is ", post = "?";
    R1_CHECK(q.prompt.compare(0, pre.size(), pre) == 0 && q.prompt.size() > pre.size() + post.size() &&
                 q.prompt.back() == '?',
             "cold_start: unexpected arithmetic prompt '", q.prompt, "'");
    ArithmeticProblem p = parse_arithmetic_problem(q.prompt.substr(pre.size(), q.prompt.size() - pre.size() - 1));
    R1_CHECK(std::to_string(p.answer()) == q.gold, "cold_start: problem '", q.prompt, "' parsed to answer ", p.answer(),
             ", gold is ", q.gold);
    rows.push_back({{"prompt", q.prompt}, {"completion", cold_start_completion(p, seed * 1000003ull + (uint64_t)i)},
                    {"id", q.id}, {"gold", q.gold}});
  }
  return rows;
}

void ColdStartConfig::declare(OptionSet& o) {
  o.add("out", &out, "folder; rows are written to <out>/cold_start.jsonl");
  o.add("n", &n, "rows: the first n problems of the arithmetic train split");
  o.add("seed", &seed, "seed of the worked solutions' phrasing");
  o.add("data_seed", &data_seed, "seed of the task's problem draw (as the grpo / sample recipes' data_seed, so the test split stays disjoint)");
  o.add("task_config", &task_config, "arithmetic task config: n, min_operands, max_operands, max_value, hard_only");
}

std::string cold_start_data_path(const std::string& out) { return path_join(out, "cold_start.jsonl"); }

std::string run_cold_start(const ColdStartConfig& c) {
  R1_CHECK(!c.out.empty(), "cold_start: field 'out' is required");
  auto rows = cold_start_rows(c.task_config, c.n, (uint64_t)c.seed, (uint64_t)c.data_seed);
  make_dirs(c.out);
  std::string text;
  for (const auto& r : rows) text += r.dump() + "\n";
  const std::string path = cold_start_data_path(c.out);
  atomic_write(path, text);
  atomic_write(path_join(c.out, "config.yaml"), effective_config_yaml(c));
  std::fprintf(stderr, "[cold_start] wrote %zu rows to %s\n", rows.size(), path.c_str());
  return path;
}

std::vector<StageKind> data_stages() {
  return {{"cold_start",
           "Write cold-start long-CoT SFT rows (<think> working </think> <answer> n </answer>) from the arithmetic task",
           "data", "cold_start.jsonl", "out", {}, StageKind::kProducer,
           recipe_run<ColdStartConfig>([](const ColdStartConfig& c) { return nlohmann::json{{"data", run_cold_start(c)}}; })},
          code_corpus_stage(), prefs_stage()};
}

}  // namespace r1
