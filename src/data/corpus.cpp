#include "data/corpus.h"
#include "core/rng.h"

namespace r1 {

long ArithmeticProblem::answer() const {
  long a = operands[0];
  for (size_t i = 1; i < operands.size(); i++) a = ops[i - 1] == '+' ? a + operands[i] : a - operands[i];
  return a;
}

std::string ArithmeticProblem::text() const {
  std::string s = std::to_string(operands[0]);
  for (size_t i = 1; i < operands.size(); i++) s += std::string(" ") + ops[i - 1] + " " + std::to_string(operands[i]);
  return s;
}

ArithmeticProblem random_problem(uint64_t& state, int n, int max_value, double p_minus) {
  Rng r(state = splitmix64(state));
  ArithmeticProblem p;
  for (int i = 0; i < n; i++) p.operands.push_back((int)r.below(max_value + 1));
  for (int i = 1; i < n; i++) p.ops.push_back(r.uniform() < p_minus ? '-' : '+');
  return p;
}

std::string working_steps(const ArithmeticProblem& p) {
  // Each step folds the first two terms and copies the rest: "6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19."
  std::string s = p.text();
  ArithmeticProblem rest = p;
  while (rest.operands.size() > 1) {
    long v = rest.ops[0] == '+' ? rest.operands[0] + rest.operands[1] : rest.operands[0] - rest.operands[1];
    rest.operands.erase(rest.operands.begin());
    rest.operands[0] = (int)v;
    rest.ops.erase(rest.ops.begin());
    s += " = " + rest.text();
  }
  return s + ".";
}

static std::string working(const ArithmeticProblem& p, Rng& r) {
  static const char* intro[] = {"Let's work out ", "Step by step: ", "Compute ", "We calculate "};
  static const char* outro[] = {"So the total is ", "The result is ", "That gives ", "Final value: "};
  return std::string(intro[r.below(4)]) + p.text() + ". " + working_steps(p) + " " + outro[r.below(4)] +
         std::to_string(p.answer()) + ".";
}

// The full R1 format around the chain of steps: "<think> 6 + 8 = 14. </think> <answer> 14 </answer>".
static std::string tagged_working(const ArithmeticProblem& p) {
  return "<think> " + working_steps(p) + " </think> <answer> " + std::to_string(p.answer()) + " </answer>";
}

std::string worked_solution(const ArithmeticProblem& p, uint64_t seed) {
  Rng r(splitmix64(seed));
  return working(p, r);
}

// A sentence of plain prose about lessons, questions and answers (never a tag, never the R1-Zero template).
static std::string sentence(Rng& r) {
  static const char* subj[] = {"The teacher", "A student", "The user", "The assistant", "Our class", "The reader",
                               "A careful writer", "The book", "Each lesson", "The helper", "A friend", "The guide"};
  static const char* verb[] = {"explains", "asks about", "writes down", "thinks about", "checks", "describes",
                               "reads", "solves", "answers", "discusses", "remembers", "provides", "shows", "follows"};
  static const char* obj[] = {"the question", "a short problem", "the reasoning", "the answer", "each step",
                              "the final result", "a conversation", "the numbers", "the method", "a few examples",
                              "the process", "the rules", "the notes", "the solution"};
  static const char* tail[] = {"", " first", " in detail", " again", " with care", " before moving on", " here",
                               " and then replies", " for the user", " in the mind", " step by step", " at the end"};
  return std::string(subj[r.below(12)]) + " " + verb[r.below(14)] + " " + obj[r.below(14)] + tail[r.below(12)] + ".";
}

// A paragraph of 4 to 10 such sentences: the kind of preamble a dialogue may follow.
static std::string paragraph(Rng& r) {
  std::string s;
  int n = 4 + (int)r.below(7);
  for (int i = 0; i < n; i++) s += (i ? " " : "") + sentence(r);
  return s;
}

// A direct answer: wrong (a near miss) with probability p_wrong_hard for problems with >= 3 operands.
static long direct_answer(const ArithmeticProblem& p, const CorpusConfig& c, Rng& r) {
  long a = p.answer();
  if (p.operands.size() >= 3 && r.uniform() < c.p_wrong_hard) a += (r.uniform() < 0.5 ? -1 : 1) * (1 + (long)r.below(10));
  return a;
}

std::vector<std::string> synthetic_arithmetic_docs(const CorpusConfig& c) {
  std::vector<std::string> docs;
  docs.reserve(c.n_docs);
  Rng r(c.seed);
  uint64_t st = c.seed * 7919 + 17;
  static const char* prose[] = {"Numbers can be added and subtracted.", "Addition is done from left to right.",
                                "A careful student checks each step.", "Large sums are easier in small steps.",
                                "Subtracting a number makes the total smaller."};
  const double cum[] = {c.p_direct, c.p_dialogue, c.p_working, c.p_facts, c.p_answer_key, c.p_notes, c.p_tagged};
  for (long d = 0; d < c.n_docs; d++) {
    int n = c.min_operands + (int)r.below(c.max_operands - c.min_operands + 1);
    ArithmeticProblem p = random_problem(st, n, c.max_value, c.p_minus);
    double u = r.uniform();
    int kind = 0;
    while (kind < 7 && u >= cum[kind]) u -= cum[kind++];
    std::string q = "What is " + p.text() + "?";
    switch (kind) {
      case 0: docs.push_back("Q: " + q + " A: " + std::to_string(direct_answer(p, c, r)) + "."); break;
      case 1: {
        std::string a = std::to_string(direct_answer(p, c, r));
        bool tags = r.uniform() < c.p_direct_reply_tags;
        std::string pre = r.uniform() < c.p_preamble ? paragraph(r) + " " : "";
        docs.push_back(pre + "User: " + q + " Assistant: " + (tags ? "<answer> " + a + " </answer>" : a + "."));
        break;
      }
      case 2:
        if (r.uniform() < c.p_working_reply) {
          bool tags = r.uniform() < c.p_reply_tags;
          std::string pre = r.uniform() < c.p_preamble ? paragraph(r) + " " : "";
          docs.push_back(pre + "User: " + q + " Assistant: " + (tags ? tagged_working(p) : working(p, r)));
        } else {
          docs.push_back(working(p, r));
        }
        break;
      case 3: {
        // the single steps a working chain needs: a running total (up to max_operands * max_value) and an operand
        ArithmeticProblem f = random_problem(st, 2, c.max_value, c.p_minus);
        f.operands[0] = (int)r.below((uint64_t)c.max_value * c.max_operands + 1);
        docs.push_back(f.text() + " = " + std::to_string(f.answer()));
        break;
      }
      case 4: docs.push_back("Q: " + q + " <answer> " + std::to_string(direct_answer(p, c, r)) + " </answer>"); break;
      case 5: docs.push_back("<think> " + working_steps(p) + " </think>"); break;
      case 6:
        docs.push_back("Worked example. " + q + " " + tagged_working(p));
        break;
      default: docs.push_back(r.uniform() < 0.5 ? std::string(prose[r.below(5)]) : paragraph(r));
    }
  }
  return docs;
}

}  // namespace r1
