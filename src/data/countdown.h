// Countdown (TinyZero): reach a target with + - * / over the given numbers.
//
// Generation (seeded): n numbers (min_numbers..max_numbers, default 3-4), each uniform in [1, max_number]
// (default 99); a random binary expression tree over all of them, with + - * / kept to positive integer
// intermediate values (a - b needs a > b, a / b needs b | a); the value is the target, accepted when in
// [1, max_target] (default 100), else the draw is repeated. Each problem's meta holds numbers, target and
// one solution. Splits are disjoint by construction: a problem (its sorted numbers and target) belongs to
// "test" when a hash of it falls in the test share (test_percent, default 10), else to "train".
//
// Verification (what the answer may contain): the single <answer>...</answer> block (none, or two or more
// blocks -> wrong), holding an expression over non-negative integers with binary + - * /, parentheses and
// whitespace, optionally followed by "= N" where N must equal the target. No unary minus, no decimals, no
// other symbols. Each given number is used EXACTLY once by default (TinyZero's rule; a multiset comparison)
// or, with use_all = false, at most once. Evaluation is exact rational arithmetic (128-bit, overflow ->
// wrong); division by zero -> wrong; the value must equal the target exactly.
#pragma once
#include "core/rng.h"
#include "data/tasks.h"

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct CountdownConfig {
  int min_numbers = 3, max_numbers = 4;
  int64_t max_number = 99;
  int64_t max_target = 100;
  bool use_all = true;      // every number exactly once (TinyZero); false: at most once
  int test_percent = 10;    // share of the problem space in the test split
  size_t train_size = 10000, test_size = 200;
};
CountdownConfig countdown_config_from_json(const nlohmann::json& j);  // unknown keys throw r1::Error

struct CountdownProblem {
  std::vector<int64_t> numbers;
  int64_t target = 0;
  std::string solution;  // an expression that reaches the target using every number once
};
CountdownProblem generate_countdown(Rng& rng, const CountdownConfig& cfg);
bool countdown_in_test_split(const CountdownProblem& p, int test_percent);

enum class CountdownVerdict { Correct, NoAnswer, BadSyntax, WrongNumbers, DivisionByZero, Overflow, WrongValue };
const char* countdown_verdict_name(CountdownVerdict v);

// Checks a bare expression (the content of the answer block).
CountdownVerdict check_countdown_expression(const std::string& expr, const std::vector<int64_t>& numbers,
                                           int64_t target, bool use_all = true);
// Extracts the answer block from a completion and checks it.
CountdownVerdict check_countdown_completion(const std::string& completion, const std::vector<int64_t>& numbers,
                                           int64_t target, bool use_all = true);

std::string countdown_question(const std::vector<int64_t>& numbers, int64_t target, bool use_all = true);

class CountdownTask : public Task {
 public:
  explicit CountdownTask(CountdownConfig cfg = {}) : cfg_(cfg) {}
  std::string name() const override { return "countdown"; }
  std::vector<std::string> splits() const override { return {"train", "test"}; }
  std::vector<Problem> problems(const std::string& split, uint64_t seed) const override;
  std::function<double(const std::string&)> verifier(const Problem& p) const override;
  std::vector<RewardSpec> default_rewards() const override;  // {tinyzero: 1.0}
  const CountdownConfig& config() const { return cfg_; }

 private:
  CountdownConfig cfg_;
};

}  // namespace r1
