// Math verifier throughput on MATH-500 answers (single thread = per core): each gold answer against
// "\boxed{answer}" (self) and against perturbed forms (\frac->\dfrac, spaces, \left( \right), "+ 1" = different).
// Pairs are split by the gold answer's kind: non-symbolic (numbers, tuples, lists, letters, text) vs symbolic
// (anything with a variable, root, pi, i, ...). Prints a markdown table.
// Usage (from the repo root): bench_verify [path/to/math500_test.jsonl] [seconds per row, default 1]
#include "rewards/math_verify.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string replace_all(std::string s, const std::string& a, const std::string& b) {
  for (size_t p = 0; (p = s.find(a, p)) != std::string::npos; p += b.size()) s.replace(p, a.size(), b);
  return s;
}

bool symbolic(const std::string& a) {
  // letters outside \frac/\text/\left/\right/\dfrac/\circ/\infty/\cup/\in/\begin.. mean a symbolic answer
  std::string s = a;
  for (const char* c : {"\\dfrac", "\\frac", "\\left", "\\right", "\\circ", "\\infty", "\\cup", "\\in", "\\mbox",
                        "\\begin{pmatrix}", "\\end{pmatrix}", "\\$", "\\!", "\\%", "degrees", "cents", "inches",
                        "cm"})
    s = replace_all(s, c, "");
  size_t t = s.find("\\text{");
  if (t != std::string::npos) return false;  // text / multiple-choice answers
  for (char c : s)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return false;
}

struct Row {
  std::string name;
  std::vector<std::pair<std::string, std::string>> pairs;
};

double run(const Row& r, double seconds, size_t& equal_count, size_t& total) {
  using C = std::chrono::steady_clock;
  auto t0 = C::now();
  size_t n = 0, eq = 0;
  double el = 0;
  do {
    for (auto& [g, p] : r.pairs) eq += r1::verify(g, p).equal;
    n += r.pairs.size();
    el = std::chrono::duration<double>(C::now() - t0).count();
  } while (el < seconds);
  equal_count = eq;
  total = n;
  return n / el;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : std::string("../shared/data/benchmarks/math500_test.jsonl");
  double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "bench_verify: cannot open %s\n", path.c_str());
    return 1;
  }
  std::vector<std::string> answers;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) answers.push_back(nlohmann::json::parse(line)["answer"]);

  Row rows[2][2];  // [symbolic][perturbed]
  const char* kind[2] = {"non-symbolic", "symbolic"};
  for (int s = 0; s < 2; ++s) {
    rows[s][0].name = std::string(kind[s]) + ", self";
    rows[s][1].name = std::string(kind[s]) + ", perturbed";
  }
  for (auto& a : answers) {
    int s = symbolic(a) ? 1 : 0;
    rows[s][0].pairs.push_back({a, "The answer is $\\boxed{" + a + "}$."});
    std::string p1 = replace_all(replace_all(a, "\\dfrac", "\\frac"), "\\frac", "\\dfrac");
    std::string p2 = replace_all(replace_all(a, "+", " + "), ",", ", ");
    rows[s][1].pairs.push_back({a, "\\boxed{" + p1 + "}"});
    rows[s][1].pairs.push_back({a, "\\boxed{" + p2 + " }"});
    rows[s][1].pairs.push_back({a, "\\boxed{\\left(" + a + "\\right)}"});
    rows[s][1].pairs.push_back({a, "\\boxed{" + a + " + 1}"});
  }
  std::printf("| pairs (MATH-500 answers) | count | pairs/s (1 thread) | us/pair | matched |\n");
  std::printf("|---|---|---|---|---|\n");
  for (int s = 0; s < 2; ++s)
    for (int k = 0; k < 2; ++k) {
      size_t eq = 0, n = 0;
      double rate = run(rows[s][k], seconds, eq, n);
      std::printf("| %s | %zu | %.0f | %.1f | %.1f%% |\n", rows[s][k].name.c_str(), rows[s][k].pairs.size(), rate,
                  1e6 / rate, 100.0 * eq / n);
    }
  return 0;
}
