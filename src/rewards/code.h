// Code-execution reward: run the completion's program on stdin/stdout test cases in the sandbox
// (sandbox/sandbox.h). Reward = fraction of tests passed; no program, a compile error, or an empty test
// list scores 0. If the sandbox is unavailable the reward throws r1::Error (it never runs code outside).
//
// Extraction: the LAST fenced block whose info string names a language we run: ```python / ```py /
// ```python3 -> Python 3; ```cpp / ```c++ / ```cxx / ```cc -> C++. Searched in the whole completion.
// Python runs as `/usr/bin/python3 -I /box/main.py`. C++ is compiled once per completion inside the
// sandbox (`g++ -std=gnu++17 -O2`, compile limits), the binary comes back over stdout and then runs,
// read-only, as /box/prog in a fresh sandbox per test.
// A test passes when the program exits 0 within the limits and its stdout equals the expected output after
// normalisation: "\r\n" -> "\n", trailing spaces/tabs of each line dropped, leading and trailing whitespace
// of the whole output dropped.
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

struct Program {
  std::string language;  // "python" or "cpp"
  std::string source;
};

// `language`: "python", "cpp" or "any" (the last block of either kind).
std::optional<Program> extract_program(const std::string& completion, const std::string& language = "any");

// Test cases from a problem's metadata: {"tests": [{"input": "...", "output": "..."}, ...]} or the APPS /
// open-r1 layout {"inputs": [...], "outputs": [...]} (optionally under "input_output", possibly as a JSON
// string). Throws r1::Error naming the field on a malformed layout.
std::vector<CodeTest> parse_code_tests(const nlohmann::json& meta);

std::string normalize_output(const std::string& s);
bool outputs_match(const std::string& got, const std::string& expected);

struct CodeOptions {
  std::string language = "any";
  SandboxLimits run;      // per test
  SandboxLimits compile;  // the g++ step
  CodeOptions();
};
// Reads "language", "cpu_seconds", "wall_seconds", "memory_mb", "max_output_bytes", "max_processes",
// "compile_wall_seconds" from recipe params (all optional); unknown keys throw r1::Error.
CodeOptions code_options_from_json(const nlohmann::json& params);

struct CodeVerdict {
  double reward = 0;
  int passed = 0;
  int total = 0;
  std::string error;  // "no program", "compile error: ...", first failing test's status
};

// Scores every completion against its tests; all programs (compiles, then runs) share the sandbox's
// parallel job runner.
std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<std::vector<CodeTest>>& tests, const CodeOptions& opt);
double code_reward(Sandbox& box, const std::string& completion, const std::vector<CodeTest>& tests,
                   const CodeOptions& opt);

}  // namespace r1
