// The built-in synthetic pretraining corpus: arithmetic text, generated from a seed, no download.
//
// Documents are of four kinds, mixed by the given proportions:
//   direct   "Q: What is 23 + 58 + 7? A: 88."            answers given at once; for problems with three or more
//                                                       operands the answer is WRONG with probability
//                                                       p_wrong_hard (a near miss), so direct answering of hard
//                                                       problems is unreliable, as in a base model;
//   working  "Let's add 23 + 58 + 7 step by step. 23 + 58 = 81. 81 + 7 = 88. So the total is 88."
//                                                       correct step-by-step working (the latent skill);
//   facts    "23 + 58 = 81"                              single correct operations;
//   prose    short filler sentences about numbers.
// The R1-Zero template (<think>/<answer>) never appears: RL has to discover it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct CorpusConfig {
  uint64_t seed = 1;
  long n_docs = 20000;
  int min_operands = 2, max_operands = 4;
  int max_value = 99;             // operands are in [0, max_value]
  double p_direct = 0.4, p_working = 0.35, p_facts = 0.2;  // prose gets the rest
  double p_wrong_hard = 0.6;      // direct answers to problems with >= 3 operands are wrong this often
};

struct ArithmeticProblem {
  std::vector<int> operands;
  std::vector<char> ops;  // '+' or '-' between operands (size operands-1)
  long answer() const;
  std::string text() const;  // "23 + 58 - 7"
};

ArithmeticProblem random_problem(uint64_t& state, int n_operands, int max_value);
std::vector<std::string> synthetic_arithmetic_docs(const CorpusConfig& c);

// Correct step-by-step working for a problem, in the corpus's own words ("23 + 58 = 81. 81 + 7 = 88. ..."),
// phrasing drawn from `seed`. Cold-start chains of thought are built from it (see `r1 pipeline`).
std::string worked_solution(const ArithmeticProblem& p, uint64_t seed);

}  // namespace r1
