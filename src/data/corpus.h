// The built-in synthetic pretraining corpus: arithmetic text, generated from a seed, no download.
//
// It is designed so that the base model has a latent skill RL can draw out, as DeepSeek-V3-Base had:
//   direct    "Q: What is 23 + 58 + 7? A: 88."        answers given at once; for problems with three or more
//   dialogue  "User: What is 23 + 58 + 7? Assistant: 88."   operands the answer is WRONG with probability
//                                                     p_wrong_hard (a near miss): direct answering of hard
//                                                     problems is unreliable, as in a base model;
//   working   "Let's work out 23 + 58 + 7. 23 + 58 + 7 = 81 + 7 = 88. So the total is 88."
//                                                     correct step-by-step working (the latent skill), sometimes
//                                                     as an Assistant's reply;
//   facts     "31 + 8 = 39"                           single correct steps (a running total and an operand);
//             a fraction of the Assistant replies use the tags (p_reply_tags, p_direct_reply_tags);
//   markup    rare documents that use the tags on their own: an answer key "Q: What is 5 + 3? <answer> 8
//             </answer>", scratch notes "<think> 5 + 3 = 8. </think>", and (p_tagged) a worked example with both;
//   prose     short filler sentences about numbers, or paragraphs of generated prose about lessons, questions and
//             answers; half the dialogues follow such a paragraph (a preamble).
// The R1-Zero prompt template never appears; under it the base model mostly answers directly, so it rarely
// formats correctly and rarely answers hard problems. RL has to discover that working inside <think> pays.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct CorpusConfig {
  uint64_t seed = 1;
  long n_docs = 20000;
  int min_operands = 2, max_operands = 5;
  int max_value = 9;              // operands are in [0, max_value]
  double p_minus = 0.3;           // each operator is '-' with this probability
  // document mix (prose gets the rest)
  double p_direct = 0.10, p_dialogue = 0.15, p_working = 0.45, p_facts = 0.15;
  double p_answer_key = 0.02, p_notes = 0.02, p_tagged = 0.005;
  double p_working_reply = 0.5;   // fraction of working documents framed as "User: ... Assistant: <working>"
  double p_reply_tags = 0.25;     // fraction of worked Assistant replies marked up with the tags ("<think> steps
                                  // </think> <answer> 88 </answer>"): the rare behaviour RL can find and reinforce
  double p_direct_reply_tags = 0.25;  // fraction of direct Assistant replies marked up ("<answer> 88 </answer>")
  double p_preamble = 0.5;        // fraction of dialogues that follow a paragraph of plain prose (so a long
                                  // preamble, like the R1-Zero instructions, does not throw the model)
  double p_wrong_hard = 0.6;      // direct answers to problems with >= 3 operands are wrong this often
};

struct ArithmeticProblem {
  std::vector<int> operands;
  std::vector<char> ops;  // '+' or '-' between operands (size operands-1)
  long answer() const;
  std::string text() const;  // "23 + 58 - 7"
};

// Operands uniform in [0, max_value]; each operator is '-' with probability p_minus, else '+'.
ArithmeticProblem random_problem(uint64_t& state, int n_operands, int max_value, double p_minus = 0.3);
std::vector<std::string> synthetic_arithmetic_docs(const CorpusConfig& c);

// Correct step-by-step working for a problem, in the corpus's own words ("23 + 58 + 7 = 81 + 7 = 88. ..."),
// phrasing drawn from `seed`. Cold-start chains of thought are built from it (see `r1 pipeline`).
std::string worked_solution(const ArithmeticProblem& p, uint64_t seed);

// Just the chain of steps, each folding the first two terms and copying the rest (contiguous copies are what a
// tiny transformer learns fastest): "6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19."
std::string working_steps(const ArithmeticProblem& p);

}  // namespace r1
