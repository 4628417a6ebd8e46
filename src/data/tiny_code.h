// The built-in tiny code task (task: tiny_code) and its pretraining corpus (the code_corpus stage): generated
// problems a 1M-parameter model can learn, whose answer is a short Python program in a ```python block, checked
// by running it in the sandbox against stdin/stdout tests (rewards/code.h).
//
// Kinds with numbers in the question ("Write a program that ..."); one test with empty input, except add/times:
//   kind      question                                      program                              near miss
//   list      prints the list [3, 5, 7].                    print([3, 5, 7])                     print([3, 5])
//   sum       prints the sum of the list [3, 5, 7].         print(sum([3, 5, 7]))                drops the last
//   largest   prints the largest of the list [4, 9, 2].     print(max([4, 9, 2]))                min(...)
//   smallest  prints the smallest of the list [4, 9, 2].    print(min([4, 9, 2]))                max(...)
//   product   prints the product of the list [4, 6].        import math                          no import (a
//                                                           print(math.prod([4, 6]))             NameError)
//   count     prints the numbers from 2 to 6.               for i in range(2, 6 + 1):            range(2, 6)
//                                                               print(i)
//   repeat    prints the word 'cat' 3 times.                for i in range(3):                   print('cat')
//                                                               print('cat')
//   add       reads a number and prints it plus 7.          n = int(input())                     print(7)
//                                                           print(n + 7)
//   times     reads a number and prints it times 7.         n = int(input())                     print(n + 7)
//                                                           print(n * 7)
// Worded kinds: no number in the question, the program follows from its words; each question is one of four
// phrasings ("Write a program that reads %s and prints %s.", "Read %s and print %s.", "Given %s on one line,
// print %s.", "Input: %s. Output: %s.") of an input and an operation:
//   one       a number: its double, its square, its negative, the next number, the previous number
//             n = int(input())\nprint(n * 2)
//   pair      two numbers: their sum, their difference, their product, the larger, the smaller
//             a, b = map(int, input().split())\nprint(max(a, b))
//   many      a list of numbers: their sum, the largest, the smallest, how many there are
//             nums = list(map(int, input().split()))\nprint(len(nums))
// Numbers in questions are 0..max_value (lists: 2 to 5 numbers for list, 2 to 4 for sum/largest/smallest, 2 or 3
// for product; count up to max_value; repeat 2..max_value times);
// problems that read input have `tests` tests with inputs in 0..99.
// Config: n (problems per split, 500), max_value (9), tests (3), kinds (all of the above).
// Splits "train" and "test" use disjoint seeds; "test" problems whose question occurs in "train" are removed, so a
// held-out worded problem pairs an operation with a phrasing that training never showed.
//
// Copying the question's numbers into the program is the skill a from-scratch tiny model learns slowly: after
// 300-1500 steps of pretraining (0.6-3M tokens) a 2-layer model's digits were still uniform guesses, while the
// worded kinds were already partly right after 300 steps. The CI test (tests/pipeline/test_tiny_code_mini.cpp)
// uses the worded kinds.
//
// The corpus (`r1 code-corpus`, a pipeline stage) is the same questions, never one of the test split's, each
// followed by a reply: the correct program in a ```python block, the kind's near miss in a block, the correct
// program without a block (no code to the reward), or a prose answer ("The answer is 15."); optionally (repl)
// Python sessions that echo and reduce lists (">>> max([4, 1, 8])\n8"), copying practice. A base model trained
// on it writes each of these under a question; RL has to find that the block with the right program pays.
#pragma once
#include "core/options.h"
#include "core/rng.h"
#include "core/stage.h"
#include "data/code_tasks.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace r1 {

struct TinyCodeConfig {
  int n = 500;
  int max_value = 9;
  int tests = 3;
  std::vector<std::string> kinds = {"list",  "sum",   "largest", "smallest", "product", "count",
                                    "repeat", "add",  "times",   "one",      "pair",    "many"};
};
TinyCodeConfig tiny_code_config_from_json(const nlohmann::json& j);

struct TinyCodeProblem {
  std::string kind;
  std::string question;   // "Write a program that prints the sum of 3, 5, 7."
  std::string program;    // correct Python
  std::string near_miss;  // a plausible wrong program
  std::string answer;     // what a prose reply says ("15")
  std::vector<CodeTest> tests;
};
TinyCodeProblem random_tiny_code_problem(Rng& r, const TinyCodeConfig& c);

// The problems of a split ("train" or "test"), drawn with `seed` (the recipes' data_seed).
std::vector<TinyCodeProblem> tiny_code_split(const TinyCodeConfig& c, const std::string& split, uint64_t seed);

// A completion with the program in a ```python block, as the corpus writes it: "\n```python\nPROGRAM\n```".
std::string tiny_code_reply(const std::string& program);

class TinyCodeTask : public CodeTask {
 public:
  explicit TinyCodeTask(TinyCodeConfig c) : CodeTask(CodeOptions{}), c_(std::move(c)) {}
  std::string name() const override { return "tiny_code"; }
  std::vector<std::string> splits() const override { return {"train", "test"}; }
  std::vector<Problem> problems(const std::string& split, uint64_t seed) const override;

 private:
  TinyCodeConfig c_;
};

struct CodeCorpusConfig {
  std::string out = "runs/code_corpus";  // the documents go to <out>/code_corpus.jsonl ({"text": ...})
  long docs = 40000;
  long seed = 1;                         // the corpus draw
  long data_seed = 1;                    // the task's split: its test questions never appear
  nlohmann::json task_config = nlohmann::json::object();  // tiny_code config (kinds, max_value, tests, n)
  // document shares (they add up to 1 or less; prose replies get the rest)
  double correct = 0.35, near_miss = 0.25, unfenced = 0.15, repl = 0.0;
  void declare(OptionSet& o);
};

std::vector<std::string> tiny_code_docs(const CodeCorpusConfig& c);
// Writes the corpus (atomically) and returns its path.
std::string run_code_corpus(const CodeCorpusConfig& c);
StageKind code_corpus_stage();

}  // namespace r1
