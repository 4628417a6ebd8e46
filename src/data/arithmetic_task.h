// The built-in arithmetic task behind the tiny R1-Zero runs: "What is 23 + 58 - 7?" with an integer gold answer,
// drawn from the same problem generator as the pretraining corpus (data/corpus.h). Splits "train" and "test" use
// disjoint seeds; "test" problems that also occur in "train" are removed.
// Config: n (problems per split, 2000), min_operands (2), max_operands (4), max_value (99),
//         hard_only (false: when true, only problems with >= 3 operands), p_minus (0.3: the probability of each
//         operator being '-'; 0 gives sums only).
// The verifier extracts the <answer> block (strict: no block, no reward) and compares integers exactly.
#pragma once
#include "data/tasks.h"

namespace r1 {

struct ArithmeticTaskConfig {
  int n = 2000, min_operands = 2, max_operands = 4, max_value = 99;
  double p_minus = 0.3;  // each operator is '-' with this probability
  bool hard_only = false;
};

class ArithmeticTask : public Task {
 public:
  explicit ArithmeticTask(ArithmeticTaskConfig c) : c_(c) {}
  std::string name() const override { return "arithmetic"; }
  std::vector<std::string> splits() const override { return {"train", "test"}; }
  std::vector<Problem> problems(const std::string& split, uint64_t seed) const override;
  std::function<double(const std::string&)> verifier(const Problem& p) const override;

 private:
  ArithmeticTaskConfig c_;
};

ArithmeticTaskConfig arithmetic_config_from_json(const nlohmann::json& j);
// 1.0 when the last <answer>...</answer> block of `completion` holds exactly the integer `gold` (spaces allowed).
double arithmetic_answer_correct(const std::string& completion, long gold);

}  // namespace r1
