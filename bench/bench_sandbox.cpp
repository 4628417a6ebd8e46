// Code-sandbox benchmark: start-to-verdict latency of a trivial program, and throughput with 1 and 2
// parallel jobs. Prints markdown. Usage: bench_sandbox [runs=20]
#include "rewards/code.h"
#include "sandbox/sandbox.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace r1;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

static void row(const char* what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  std::printf("| %s | %.1f | %.1f | %.1f |\n", what, ms[ms.size() / 2], ms[(size_t)(ms.size() * 0.9)], ms.front());
}

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(3, std::atoi(argv[1])) : 20;
  Sandbox one(SandboxConfig{"/usr/bin/bwrap", 1, 0});
  Sandbox two(SandboxConfig{"/usr/bin/bwrap", 2, 0});
  one.check_available();
  two.check_available();
  const std::string py = "```python\nimport sys\nprint(sum(map(int, sys.stdin.read().split())))\n```";
  const std::string cpp = "```cpp\n#include <cstdio>\nint main(){long a,b;if(scanf(\"%ld %ld\",&a,&b)==2)printf(\"%ld\\n\",a+b);}\n```";
  const std::vector<CodeTest> test = {{"1 2\n", "3\n"}};
  CodeOptions opt;
  opt.reuse = false;  // the same program runs every time (no verdict reuse)

  std::vector<double> bare, pyv, cppv;
  SandboxJob t;
  t.argv = {"/bin/true"};
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    one.run({t});
    bare.push_back(since(t0) * 1e3);
    t0 = Clock::now();
    double r = code_reward(one, py, test, opt);
    pyv.push_back(since(t0) * 1e3);
    if (r != 1.0) std::fprintf(stderr, "python program failed\n");
  }
  for (int i = 0; i < std::max(3, runs / 4); ++i) {
    auto t0 = Clock::now();
    double r = code_reward(one, cpp, test, opt);
    cppv.push_back(since(t0) * 1e3);
    if (r != 1.0) std::fprintf(stderr, "C++ program failed: %s\n", code_verdicts(one, {cpp}, {test}, opt)[0].error.c_str());
  }
  std::printf("## Sandbox start-to-verdict latency (ms, %d runs)\n\n| program | median | p90 | min |\n|---|---|---|---|\n",
              runs);
  row("bwrap + /bin/true (sandbox only)", bare);
  row("Python a+b, 1 test (extract, run, compare)", pyv);
  row("C++ a+b, 1 test (g++ -O2 compile + run)", cppv);

  const int n = 4 * runs;
  std::vector<std::string> comps(n, py);
  std::vector<std::vector<CodeTest>> tests(n, test);
  std::printf("\n## Throughput: %d trivial Python programs, 1 test each\n\n| parallel jobs | programs/s | wall s |\n|---|---|---|\n",
              n);
  for (Sandbox* b : {&one, &two}) {
    auto t0 = Clock::now();
    auto v = code_verdicts(*b, comps, tests, opt);
    double s = since(t0);
    int ok = 0;
    for (auto& x : v) ok += x.reward == 1.0;
    if (ok != n) std::fprintf(stderr, "%d of %d programs failed\n", n - ok, n);
    std::printf("| %d | %.1f | %.2f |\n", b->config().parallelism, n / s, s);
  }
  return 0;
}
