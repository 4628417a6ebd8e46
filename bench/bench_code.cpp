// Code-reward throughput: distinct programs judged per second in the sandbox, with 1 and 2 parallel jobs, for the
// tiny_code task (its canonical programs: one test for constant problems, `tests` stdin tests for the others) and
// HumanEval (the 164 canonical solutions, one function-call test each; skipped when the file is absent).
// Verdict reuse is off (every program runs). Prints markdown. Usage: bench_code [tiny_code_programs=256]
#include "core/io.h"
#include "data/code_tasks.h"
#include "data/tiny_code.h"
#include "rewards/code.h"
#include "sandbox/sandbox.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace r1;
using Clock = std::chrono::steady_clock;

namespace {

struct Set {
  std::string name;
  std::vector<std::string> completions;
  std::vector<CodeTests> tests;
};

void row(Sandbox& box, const Set& s) {
  CodeOptions opt;
  opt.reuse = false;
  opt.run.wall_seconds = 10;
  opt.run.cpu_seconds = 5;
  auto t0 = Clock::now();
  auto v = code_verdicts(box, s.completions, s.tests, opt);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  long runs = 0, passed = 0;
  for (size_t i = 0; i < v.size(); ++i) runs += (long)s.tests[i].size(), passed += v[i].status == CodeStatus::Passed;
  std::printf("| %s | %d | %zu | %ld | %ld | %.2f | %.1f | %.1f |\n", s.name.c_str(), box.config().parallelism,
              s.completions.size(), runs, passed, secs, s.completions.size() / secs, runs / secs);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(8, std::atoi(argv[1])) : 256;
  std::vector<Set> sets;
  Set tiny{"tiny_code canonical programs", {}, {}};
  TinyCodeConfig tc;
  tc.n = n;
  TinyCodeTask task(tc);
  auto probs = task.problems("train", 1);
  for (size_t i = 0; i < probs.size(); ++i) {
    // distinct sources: a comment with the index keeps identical programs apart
    tiny.completions.push_back(tiny_code_reply(probs[i].gold + "  # " + std::to_string(i)));
    tiny.tests.push_back(code_tests_from_meta(probs[i].meta));
  }
  sets.push_back(tiny);
  const std::string he = "../shared/data/benchmarks/humaneval_test.jsonl";
  if (file_exists(he)) {
    Set h{"HumanEval canonical solutions", {}, {}};
    auto he_task = make_task("humaneval");
    for (auto& p : he_task->problems("test", 1)) {
      h.completions.push_back(p.gold);
      h.tests.push_back(code_tests_from_meta(p.meta));
    }
    sets.push_back(h);
  } else {
    std::fprintf(stderr, "%s is absent: HumanEval row skipped\n", he.c_str());
  }
  Sandbox one(SandboxConfig{"/usr/bin/bwrap", 1, 0});
  Sandbox two(SandboxConfig{"/usr/bin/bwrap", 2, 0});
  std::printf("## Code reward throughput (distinct programs, every test run in the sandbox)\n\n"
              "| programs of | parallel jobs | programs | sandbox runs | passed | wall s | programs/s | runs/s |\n"
              "|---|---|---|---|---|---|---|---|\n");
  for (auto& s : sets)
    for (Sandbox* b : {&one, &two}) row(*b, s);
  return 0;
}
