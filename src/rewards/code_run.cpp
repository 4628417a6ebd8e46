// The code reward's running side: programs and their tests become sandbox jobs (C++ compiled first), results
// become statuses, and verdicts of identical programs are shared (code.h states the rules).
#include "core/check.h"
#include "rewards/code.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>

namespace r1 {

namespace {

// Runs one function-call test: the candidate and the test code in one namespace, as HumanEval's harness does,
// then check(entry_point) when the test defines check(). Its verdict is the last line of stdout,
// "R1-STATUS <nonce> <status>" (the nonce comes over stdin, so a program cannot print a pass by accident or by
// guess); a run without that line ended the harness itself (os._exit, a crash, a limit).
// argv: harness.py ENTRY_POINT MODE, MODE "check" (call check(candidate)) or "script" (the test code is asserts).
constexpr const char* kHarness = R"PY(import sys, traceback


def _r1_harness():
    nonce = sys.stdin.readline().strip()
    entry, mode = sys.argv[1], sys.argv[2]

    def report(kind):
        import os
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        os.write(1, ('\nR1-STATUS %s %s\n' % (nonce, kind)).encode())
        os._exit(0)

    def fail(kind):
        try:
            traceback.print_exc()
        except BaseException:
            pass
        report(kind)

    with open('/box/test.py', encoding='utf-8', errors='replace') as f:
        test = f.read()
    with open('/box/candidate.py', encoding='utf-8', errors='replace') as f:
        src = f.read()
    try:
        test_code = compile(test, '/box/test.py', 'exec')
    except BaseException:
        fail('bad_tests')
    try:
        code = compile(src, '/box/candidate.py', 'exec')
    except BaseException:
        fail('syntax_error')
    g = {'__name__': '__candidate__', '__builtins__': __builtins__}
    try:
        exec(code, g)
    except BaseException:
        fail('runtime_error')
    if mode == 'script':
        try:
            exec(test_code, g)
        except AssertionError:
            fail('wrong_answer')
        except BaseException:
            fail('runtime_error')
        report('passed')
    try:
        exec(test_code, g)
    except BaseException:
        fail('bad_tests')
    if not callable(g.get('check')):
        sys.stderr.write('the test code defines no check(candidate)\n')
        report('bad_tests')
    if entry not in g:
        sys.stderr.write("NameError: the program defines no '%s'\n" % entry)
        report('runtime_error')
    try:
        g['check'](g[entry])
    except AssertionError:
        fail('wrong_answer')
    except BaseException:
        fail('runtime_error')
    report('passed')


_r1_harness()
)PY";

std::string tail(const std::string& s, size_t n = 2000) { return s.size() <= n ? s : s.substr(s.size() - n); }

std::string last_line(const std::string& s) {
  size_t e = s.find_last_not_of(" \t\r\n");
  if (e == std::string::npos) return "";
  size_t b = s.rfind('\n', e);
  b = b == std::string::npos ? 0 : b + 1;
  return s.substr(b, std::min<size_t>(e + 1 - b, 300));
}

bool cpu_limit_exit(const SandboxResult& r) {  // SIGXCPU (soft RLIMIT_CPU) or SIGKILL (hard)
  return r.status == SandboxStatus::Exited && (r.exit_code == 128 + 24 || r.exit_code == 128 + 9);
}

// Python's own report of a program it could not compile: no traceback, a SyntaxError-family last line.
bool python_syntax_error(const std::string& err) {
  if (err.find("Traceback (most recent call last)") != std::string::npos) return false;
  for (const char* k : {"SyntaxError", "IndentationError", "TabError"}) {
    size_t p = err.find(k);
    if (p != std::string::npos && (p == 0 || err[p - 1] == '\n')) return true;
  }
  return false;
}

CodeStatus classify_io(const SandboxResult& r, const std::string& expected, bool python) {
  if (r.status == SandboxStatus::Timeout || cpu_limit_exit(r)) return CodeStatus::Timeout;
  if (r.ok()) return outputs_match(r.out, expected) ? CodeStatus::Passed : CodeStatus::WrongAnswer;
  if (python && r.status == SandboxStatus::Exited && python_syntax_error(r.err)) return CodeStatus::SyntaxError;
  return CodeStatus::RuntimeError;
}

CodeStatus classify_function(const SandboxResult& r, const std::string& nonce) {
  if (r.status == SandboxStatus::Timeout || cpu_limit_exit(r)) return CodeStatus::Timeout;
  const std::string mark = "\nR1-STATUS " + nonce + " ";
  size_t p = r.out.rfind(mark);
  if (r.ok() && p != std::string::npos) {
    std::string kind = r.out.substr(p + mark.size());
    while (!kind.empty() && (kind.back() == '\n' || kind.back() == '\r')) kind.pop_back();
    for (CodeStatus s : code_statuses())
      if (kind == code_status_name(s)) return s;
  }
  return CodeStatus::RuntimeError;
}

std::string new_nonce() {
  static std::atomic<uint64_t> counter{0};
  uint64_t x = (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() ^
               (++counter * 0x9E3779B97F4A7C15ull);
  x ^= x >> 31, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 29;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)x);
  return buf;
}

// One distinct program and its tests.
struct Work {
  std::string language;  // python | cpp
  std::string source;
  const CodeTests* tests = nullptr;
  std::string binary;    // C++ after compiling
  std::string key;
  CodeVerdict v;
  bool done = false;     // verdict known before running (cache, compile error)
};

std::string limits_key(const SandboxLimits& l) {
  return std::to_string(l.cpu_seconds) + "," + std::to_string(l.wall_seconds) + "," + std::to_string(l.memory_bytes) +
         "," + std::to_string(l.max_processes) + "," + std::to_string(l.max_output_bytes) + "," +
         std::to_string(l.max_file_bytes) + "," + std::to_string(l.tmpfs_bytes) + "," +
         std::to_string(l.max_open_files);
}

std::string work_key(const Work& w, const CodeOptions& opt, const Sandbox& box) {
  std::string k = box.config().bwrap + '\0' + w.language + '\0' + w.source + '\0' + limits_key(opt.run) + '\0';
  if (w.language == "cpp") k += limits_key(opt.compile) + '\0';
  const CodeTests& t = *w.tests;
  if (t.function_call()) {
    k += "F" + t.entry_point + '\0';
    for (auto& s : t.test_code) k += s + '\0';
  } else {
    for (auto& io : t.io) k += io.input + '\0' + io.output + '\0';
  }
  return k;
}

// Recent verdicts by key, bounded in bytes (cleared when full).
struct VerdictCache {
  std::mutex mu;
  std::unordered_map<std::string, CodeVerdict> map;
  size_t bytes = 0;
  static constexpr size_t kMaxBytes = 64ull << 20;
  bool get(const std::string& k, CodeVerdict* v) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = map.find(k);
    if (it == map.end()) return false;
    *v = it->second;
    return true;
  }
  void put(const std::string& k, const CodeVerdict& v) {
    std::lock_guard<std::mutex> lock(mu);
    size_t add = k.size() + v.error.size() + v.stderr_tail.size() + 64;
    if (bytes + add > kMaxBytes) map.clear(), bytes = 0;
    if (map.emplace(k, v).second) bytes += add;
  }
};
VerdictCache& verdict_cache() {
  static VerdictCache* c = new VerdictCache;
  return *c;
}

void compile_cpp(Sandbox& box, std::vector<Work>& work, const CodeOptions& opt) {
  std::vector<SandboxJob> jobs;
  std::vector<size_t> of;
  for (size_t w = 0; w < work.size(); ++w) {
    if (work[w].done || work[w].language != "cpp") continue;
    SandboxJob j;
    j.argv = {"/bin/sh", "-c", "/usr/bin/g++ -std=gnu++17 -O2 -pipe -o /tmp/prog /box/main.cpp 1>&2 && cat /tmp/prog"};
    j.files = {{"main.cpp", work[w].source, false}};
    j.limits = opt.compile;
    jobs.push_back(std::move(j));
    of.push_back(w);
  }
  std::vector<SandboxResult> res = box.run(jobs);
  for (size_t k = 0; k < res.size(); ++k) {
    Work& w = work[of[k]];
    if (res[k].ok() && !res[k].out.empty()) {
      w.binary = std::move(res[k].out);
      continue;
    }
    w.done = true;
    w.v.status = CodeStatus::CompileError;
    w.v.error = "compile error (" + std::string(sandbox_status_name(res[k].status)) + "): " + res[k].err.substr(0, 2000);
    w.v.stderr_tail = tail(res[k].err);
  }
}

SandboxJob test_job(const Work& w, size_t t, const CodeOptions& opt, std::string* nonce) {
  SandboxJob j;
  j.limits = opt.run;
  const CodeTests& tests = *w.tests;
  if (tests.function_call()) {
    *nonce = new_nonce();
    const std::string mode = defines_function(tests.test_code[t], "check") ? "check" : "script";
    j.argv = {"/usr/bin/python3", "-I", "/box/harness.py", tests.entry_point, mode};
    j.files = {{"harness.py", kHarness, false}, {"candidate.py", w.source, false}, {"test.py", tests.test_code[t], false}};
    j.stdin_data = *nonce + "\n";
  } else if (w.language == "python") {
    j.argv = {"/usr/bin/python3", "-I", "/box/main.py"};
    j.files = {{"main.py", w.source, false}};
    j.stdin_data = tests.io[t].input;
  } else {
    j.argv = {"/box/prog"};
    j.files = {{"prog", w.binary, true}};
    j.stdin_data = tests.io[t].input;
  }
  return j;
}

void run_tests(Sandbox& box, std::vector<Work>& work, const CodeOptions& opt) {
  std::vector<SandboxJob> jobs;
  std::vector<std::pair<size_t, size_t>> of;
  std::vector<std::string> nonces;
  for (size_t w = 0; w < work.size(); ++w) {
    if (work[w].done) continue;
    for (size_t t = 0; t < work[w].tests->size(); ++t) {
      nonces.emplace_back();
      jobs.push_back(test_job(work[w], t, opt, &nonces.back()));
      of.push_back({w, t});
    }
  }
  std::vector<SandboxResult> res = box.run(jobs);
  for (size_t k = 0; k < res.size(); ++k) {
    Work& w = work[of[k].first];
    const size_t t = of[k].second;
    const CodeTests& tests = *w.tests;
    CodeStatus s = tests.function_call() ? classify_function(res[k], nonces[k])
                                         : classify_io(res[k], tests.io[t].output, w.language == "python");
    if (s == CodeStatus::Passed) {
      ++w.v.passed;
      continue;
    }
    if (!w.v.error.empty()) continue;  // the first failing test (jobs are in test order) speaks
    w.v.status = s;
    w.v.error = "test " + std::to_string(t) + ": " + code_status_name(s) + " (" + sandbox_status_name(res[k].status) +
                ", exit " + std::to_string(res[k].exit_code) + ")";
    const std::string last = last_line(res[k].err);
    if (!last.empty()) w.v.error += ": " + last;
    w.v.stderr_tail = tail(res[k].err);
  }
  for (auto& w : work)
    if (!w.done && w.v.error.empty()) w.v.status = CodeStatus::Passed;
}

// Program and verdict slot of each completion: -1 when its verdict is already final (no code, bad tests).
std::vector<long> plan_work(const Sandbox& box, const std::vector<std::string>& completions,
                            const std::vector<CodeTests>& tests, const CodeOptions& opt,
                            std::vector<CodeVerdict>& verdicts, std::vector<Work>& work) {
  std::vector<long> slot(completions.size(), -1);
  std::map<std::string, size_t> by_key;
  for (size_t i = 0; i < completions.size(); ++i) {
    const CodeTests& t = tests[i];
    CodeVerdict& v = verdicts[i];
    v.total = (int)t.size();
    if (!t.error.empty() || t.size() == 0) {
      v.status = CodeStatus::BadTests;
      v.error = t.error.empty() ? "no tests" : t.error;
      continue;
    }
    Work w;
    w.tests = &t;
    if (t.function_call()) {
      auto src = extract_function_program(completions[i], t.code_prompt, t.entry_point);
      if (src) w.language = "python", w.source = std::move(*src);
    } else if (auto p = extract_program(completions[i], opt.language)) {
      w.language = p->language, w.source = std::move(p->source);
    }
    if (w.language.empty()) {
      v.status = CodeStatus::NoCode;
      v.error = "no program";
      continue;
    }
    w.key = work_key(w, opt, box);
    auto it = opt.reuse ? by_key.find(w.key) : by_key.end();
    if (it != by_key.end()) {
      slot[i] = (long)it->second;
      continue;
    }
    w.v.total = v.total;
    w.done = opt.reuse && verdict_cache().get(w.key, &w.v);
    if (opt.reuse) by_key[w.key] = work.size();
    slot[i] = (long)work.size();
    work.push_back(std::move(w));
  }
  return slot;
}

}  // namespace

std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<CodeTests>& tests, const CodeOptions& opt) {
  R1_CHECK(completions.size() == tests.size(), "code reward: ", completions.size(), " completions but ",
           tests.size(), " test lists");
  std::vector<CodeVerdict> verdicts(completions.size());
  std::vector<Work> work;
  std::vector<long> slot = plan_work(box, completions, tests, opt, verdicts, work);
  std::vector<bool> cached(work.size());
  for (size_t w = 0; w < work.size(); ++w) cached[w] = work[w].done;
  compile_cpp(box, work, opt);
  run_tests(box, work, opt);
  for (size_t w = 0; w < work.size(); ++w)
    if (opt.reuse && !cached[w]) verdict_cache().put(work[w].key, work[w].v);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (slot[i] >= 0) verdicts[i] = work[slot[i]].v;
    CodeVerdict& v = verdicts[i];
    bool all = v.total > 0 && v.passed == v.total;
    v.reward = v.total == 0 ? 0.0 : opt.partial ? (double)v.passed / (double)v.total : (all ? 1.0 : 0.0);
  }
  return verdicts;
}

std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<std::vector<CodeTest>>& tests, const CodeOptions& opt) {
  std::vector<CodeTests> t(tests.size());
  for (size_t i = 0; i < tests.size(); ++i) t[i].io = tests[i];
  return code_verdicts(box, completions, t, opt);
}

double code_reward(Sandbox& box, const std::string& completion, const std::vector<CodeTest>& tests,
                   const CodeOptions& opt) {
  return code_verdicts(box, {completion}, std::vector<std::vector<CodeTest>>{tests}, opt)[0].reward;
}

}  // namespace r1
