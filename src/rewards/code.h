// Code-execution reward: run the program a completion writes against a problem's tests in the sandbox
// (sandbox/sandbox.h) and say how it fared. If the sandbox is unavailable the reward throws r1::Error (it never
// runs code outside).
//
// Two kinds of test, in one reward (CodeTests, read from a problem's metadata by code_tests_from_meta):
//   stdin/stdout   {"tests": [{"input", "output"}]}, or the APPS / CodeContests layout {"inputs", "outputs"}
//                  (optionally under "input_output", possibly as a JSON string). Python 3 or C++; one sandbox run
//                  per test; a test passes when the program exits 0 within the limits and its stdout equals the
//                  expected output after normalisation ("\r\n" -> "\n", trailing spaces/tabs of each line
//                  dropped, leading and trailing whitespace of the whole output dropped).
//   function call  {"test_code": "..." | ["...", ...], "entry_point": "name", "code_prompt": "..."} (HumanEval,
//                  MBPP). Python 3. Each test program runs with the candidate in one namespace, as HumanEval's
//                  harness does (candidate, then the test code, then check(entry_point)); a test whose code
//                  defines no check() is a script of asserts (MBPP). A test passes when it runs to the end.
//                  `entry_point` is required when the test code defines check(); `code_prompt` (HumanEval's
//                  prompt: imports, helpers, the signature and docstring) is the code the completion continues.
//
// Extraction. Only the text after the last "</think>" is searched when there is one (the answer of a reasoning
// model, not its scratch work).
//   stdin/stdout   the LAST fenced block whose info string names a language we run: ```python / ```py /
//                  ```python3 -> Python 3; ```cpp / ```c++ / ```cxx / ```cc -> C++. Python runs as
//                  `/usr/bin/python3 -I /box/main.py`. C++ is compiled once per program inside the sandbox
//                  (`g++ -std=gnu++17 -O2`, compile limits), the binary comes back over stdout and then runs,
//                  read-only, as /box/prog in a fresh sandbox per test.
//   function call  (extract_function_program) chat models: the last ```python / ```py / ```python3 / unlabelled
//                  block that defines `def ENTRY_POINT(`, else the last such block; the program is code_prompt,
//                  a newline, then the block (a block that redefines the function replaces the prompt's stub and
//                  keeps its imports and helpers; a block holding only the body continues the prompt). Base
//                  models, no fenced block: when the text's first non-blank line is indented it continues
//                  code_prompt and is cut at the first top-level "\ndef", "\nclass", "\nif", "\nprint", "\n#",
//                  "\n@", "\nassert" or "\n```" (Codex / bigcode-evaluation-harness stop sequences); otherwise,
//                  when a line starts with "def ENTRY_POINT(", the text from the first line starting with
//                  "import ", "from " or "def " is the program (after code_prompt). Anything else is no code.
//
// Every program gets a status (CodeStatus): passed, wrong_answer (a test's output differs / an assertion
// failed), timeout (wall clock or CPU limit), runtime_error (non-zero exit, an exception, the output limit, a
// harness killed from inside), syntax_error (Python could not compile it), compile_error (g++), no_code (nothing
// to run), bad_tests (the problem's test layout is unusable, or its test code fails before any test runs). The
// first failing test (in order) gives the status. Reward: the fraction of tests passed (partial: true, the
// default) or 1 only when every test passes (partial: false, R1's reading); no_code and bad_tests score 0.
//
// Identical programs against identical tests and limits run once per call, and recent verdicts are reused
// across calls (CodeOptions::reuse): GRPO scores a completion for its reward and for its accuracy.
#pragma once
#include "sandbox/sandbox.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace r1 {

struct CodeTest {
  std::string input;
  std::string output;
};

// The tests of one problem: stdin/stdout (io) or function-call (test_code), never both.
struct CodeTests {
  std::vector<CodeTest> io;
  std::vector<std::string> test_code;  // function-call tests, each one test program (Python)
  std::string entry_point;             // the function under test
  std::string code_prompt;             // the code a completion continues (HumanEval's prompt); may be empty
  std::string error;                   // non-empty: the layout was unusable (every completion gets bad_tests)
  bool function_call() const { return !test_code.empty(); }
  size_t size() const { return function_call() ? test_code.size() : io.size(); }
};

struct Program {
  std::string language;  // "python" or "cpp"
  std::string source;
};

// `language`: "python", "cpp" or "any" (the last block of either kind). Stdin/stdout extraction (see above).
std::optional<Program> extract_program(const std::string& completion, const std::string& language = "any");
// The Python program a completion makes of a function-call problem (see above); nullopt: no code.
std::optional<std::string> extract_function_program(const std::string& completion, const std::string& code_prompt,
                                                    const std::string& entry_point);
// The text after the last "</think>" (the whole text when there is none).
std::string answer_part(const std::string& completion);
// Whether a line of `code` starts with "def NAME(" (a test that defines check(), a block that defines the
// entry point).
bool defines_function(const std::string& code, const std::string& name);

// Stdin/stdout tests from a problem's metadata (layouts above). Throws r1::Error naming the field.
std::vector<CodeTest> parse_code_tests(const nlohmann::json& meta);
// Either kind of test from a problem's metadata; never throws: an unusable layout sets CodeTests::error (naming
// the field) instead.
CodeTests code_tests_from_meta(const nlohmann::json& meta);

std::string normalize_output(const std::string& s);
bool outputs_match(const std::string& got, const std::string& expected);

struct CodeOptions {
  std::string language = "any";  // stdin/stdout programs: python, cpp or any
  bool partial = true;           // reward = fraction of tests passed; false: 1 only when all pass
  bool reuse = true;             // run identical programs once and reuse recent verdicts
  SandboxLimits run;             // per test
  SandboxLimits compile;         // the g++ step
  CodeOptions();
};
// Reads "language", "partial", "cpu_seconds", "wall_seconds", "memory_mb", "max_output_bytes", "max_processes",
// "compile_wall_seconds" from recipe params (all optional); unknown keys throw r1::Error.
CodeOptions code_options_from_json(const nlohmann::json& params);
// The params code_options_from_json accepts.
const std::vector<std::string>& code_option_names();

enum class CodeStatus { Passed, WrongAnswer, Timeout, RuntimeError, SyntaxError, CompileError, NoCode, BadTests };
const char* code_status_name(CodeStatus s);  // "passed", "wrong_answer", ...
// Every status, in the order above.
const std::vector<CodeStatus>& code_statuses();

struct CodeVerdict {
  double reward = 0;
  int passed = 0;
  int total = 0;
  CodeStatus status = CodeStatus::NoCode;
  std::string error;        // "" when passed; "no program", "compile error: ...", "test 2: wrong output", ...
  std::string stderr_tail;  // the last 2000 bytes of the first failing run's stderr
};

// Scores every completion against its tests; all programs (compiles, then runs) share the sandbox's parallel
// job runner.
std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<CodeTests>& tests, const CodeOptions& opt);
// Stdin/stdout tests only (the layout before function-call tests existed).
std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<std::vector<CodeTest>>& tests, const CodeOptions& opt);
double code_reward(Sandbox& box, const std::string& completion, const std::vector<CodeTest>& tests,
                   const CodeOptions& opt);

}  // namespace r1
