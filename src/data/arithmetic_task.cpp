#include "data/arithmetic_task.h"
#include "core/check.h"
#include "core/rng.h"
#include "data/corpus.h"

#include <cctype>
#include <set>

namespace r1 {

ArithmeticTaskConfig arithmetic_config_from_json(const nlohmann::json& j) {
  ArithmeticTaskConfig c;
  R1_CHECK(j.is_object(), "task config for 'arithmetic' must be a map");
  for (auto& [k, v] : j.items()) {
    if (k == "n") c.n = v.get<int>();
    else if (k == "min_operands") c.min_operands = v.get<int>();
    else if (k == "max_operands") c.max_operands = v.get<int>();
    else if (k == "max_value") c.max_value = v.get<int>();
    else if (k == "hard_only") c.hard_only = v.get<bool>();
    else if (k == "p_minus") c.p_minus = v.get<double>();
    else fail("task config for 'arithmetic': unknown key '", k, "'; expected n, min_operands, max_operands, max_value, hard_only, p_minus");
  }
  R1_CHECK(c.p_minus >= 0 && c.p_minus <= 1, "task config for 'arithmetic': p_minus must be in [0, 1]");
  R1_CHECK(c.n > 0 && c.min_operands >= 2 && c.max_operands >= c.min_operands && c.max_value > 0,
           "task config for 'arithmetic': need n > 0, 2 <= min_operands <= max_operands, max_value > 0");
  return c;
}

static std::vector<ArithmeticProblem> draw(const ArithmeticTaskConfig& c, uint64_t seed, long n) {
  std::vector<ArithmeticProblem> v;
  uint64_t st = seed;
  Rng r(seed ^ 0xabcdefull);
  int lo = c.hard_only ? std::max(3, c.min_operands) : c.min_operands;
  while ((long)v.size() < n) {
    int k = lo + (int)r.below(c.max_operands - lo + 1);
    v.push_back(random_problem(st, k, c.max_value, c.p_minus));
  }
  return v;
}

std::vector<Problem> ArithmeticTask::problems(const std::string& split, uint64_t seed) const {
  R1_CHECK(split == "train" || split == "test", "task 'arithmetic': unknown split '", split, "'; expected train or test");
  auto train = draw(c_, 1000003ull + seed, c_.n);
  std::vector<ArithmeticProblem> ps;
  if (split == "train") {
    ps = train;
  } else {
    std::set<std::string> seen;
    for (auto& p : train) seen.insert(p.text());
    for (auto& p : draw(c_, 2000003ull + seed, 3 * c_.n))
      if (!seen.count(p.text()) && (long)ps.size() < c_.n) ps.push_back(p);
  }
  std::vector<Problem> out;
  for (size_t i = 0; i < ps.size(); i++) {
    Problem p;
    p.id = split + "-" + std::to_string(i);
    p.prompt = "What is " + ps[i].text() + "?";
    p.gold = std::to_string(ps[i].answer());
    p.meta = {{"operands", ps[i].operands.size()}};
    out.push_back(p);
  }
  return out;
}

double arithmetic_answer_correct(const std::string& s, long gold) {
  size_t b = s.rfind("<answer>");
  if (b == std::string::npos) return 0.0;
  size_t e = s.find("</answer>", b);
  if (e == std::string::npos) return 0.0;
  std::string in = s.substr(b + 8, e - b - 8);
  size_t i = 0;
  while (i < in.size() && std::isspace((unsigned char)in[i])) i++;
  bool neg = false;
  if (i < in.size() && in[i] == '-') neg = true, i++;
  size_t d0 = i;
  long v = 0;
  while (i < in.size() && std::isdigit((unsigned char)in[i]) && i - d0 < 12) v = v * 10 + (in[i++] - '0');
  if (i == d0) return 0.0;
  while (i < in.size() && std::isspace((unsigned char)in[i])) i++;
  if (i != in.size()) return 0.0;
  return (neg ? -v : v) == gold ? 1.0 : 0.0;
}

std::function<double(const std::string&)> ArithmeticTask::verifier(const Problem& p) const {
  long gold = std::stol(p.gold);
  return [gold](const std::string& c) { return arithmetic_answer_correct(c, gold); };
}

}  // namespace r1
