#include "rewards/code.h"

#include "core/check.h"

#include <algorithm>
#include <cctype>

namespace r1 {

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace((unsigned char)s[b])) ++b;
  while (e > b && std::isspace((unsigned char)s[e - 1])) --e;
  return s.substr(b, e - b);
}
std::string fence_language(const std::string& info) {
  std::string t = lower(trim(info));
  size_t sp = t.find_first_of(" \t{");
  if (sp != std::string::npos) t = t.substr(0, sp);
  if (t == "python" || t == "py" || t == "python3") return "python";
  if (t == "cpp" || t == "c++" || t == "cxx" || t == "cc") return "cpp";
  return "";
}
}  // namespace

CodeOptions::CodeOptions() {
  run.cpu_seconds = 2;
  run.wall_seconds = 4;
  run.memory_bytes = 512ull << 20;
  compile.cpu_seconds = 30;
  compile.wall_seconds = 40;
  compile.memory_bytes = 2048ull << 20;
  compile.max_output_bytes = 64ull << 20;  // the compiled binary comes back over stdout
  compile.max_file_bytes = 64ull << 20;
  compile.tmpfs_bytes = 256ull << 20;
  compile.max_processes = 16;
}

std::optional<Program> extract_program(const std::string& completion, const std::string& language) {
  R1_CHECK(language == "any" || language == "python" || language == "cpp", "code reward: language must be ",
           "'python', 'cpp' or 'any', got '", language, "'");
  std::optional<Program> found;
  size_t pos = 0;
  while (true) {
    size_t open = completion.find("```", pos);
    if (open == std::string::npos) break;
    size_t eol = completion.find('\n', open + 3);
    if (eol == std::string::npos) break;
    std::string lang = fence_language(completion.substr(open + 3, eol - open - 3));
    size_t close = completion.find("```", eol + 1);
    size_t body_end = close == std::string::npos ? completion.size() : close;
    if (close == std::string::npos) break;  // an unclosed block is not a program
    if (!lang.empty() && (language == "any" || language == lang))
      found = Program{lang, completion.substr(eol + 1, body_end - eol - 1)};
    pos = close + 3;
  }
  return found;
}

std::vector<CodeTest> parse_code_tests(const nlohmann::json& meta_in) {
  nlohmann::json meta = meta_in;
  if (meta.is_object() && meta.contains("input_output")) {
    meta = meta["input_output"];
    if (meta.is_string()) {
      try {
        meta = nlohmann::json::parse(meta.get<std::string>());
      } catch (const std::exception& e) {
        fail("code tests: field 'input_output' is not valid JSON: ", e.what());
      }
    }
  }
  R1_CHECK(meta.is_object(), "code tests: expected an object with 'tests' or 'inputs'/'outputs'");
  std::vector<CodeTest> tests;
  auto as_text = [](const nlohmann::json& v, const char* field) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {  // a list of lines
      std::string s;
      for (auto& x : v) {
        R1_CHECK(x.is_string(), "code tests: field '", field, "' holds a list with a non-string entry");
        s += x.get<std::string>() + "\n";
      }
      return s;
    }
    fail("code tests: field '", field, "' must be a string, got ", v.type_name());
  };
  if (meta.contains("tests")) {
    R1_CHECK(meta["tests"].is_array(), "code tests: field 'tests' must be an array");
    for (auto& t : meta["tests"]) {
      R1_CHECK(t.is_object() && t.contains("input") && t.contains("output"),
               "code tests: each entry of 'tests' needs 'input' and 'output'");
      tests.push_back({as_text(t["input"], "input"), as_text(t["output"], "output")});
    }
  } else {
    R1_CHECK(meta.contains("inputs") && meta.contains("outputs") && meta["inputs"].is_array() &&
                 meta["outputs"].is_array(),
             "code tests: expected 'tests' or the arrays 'inputs' and 'outputs'");
    R1_CHECK(meta["inputs"].size() == meta["outputs"].size(), "code tests: 'inputs' has ", meta["inputs"].size(),
             " entries but 'outputs' has ", meta["outputs"].size());
    for (size_t i = 0; i < meta["inputs"].size(); ++i)
      tests.push_back({as_text(meta["inputs"][i], "inputs"), as_text(meta["outputs"][i], "outputs")});
  }
  return tests;
}

std::string normalize_output(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::string line;
  auto flush_line = [&](bool newline) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
    out += line;
    if (newline) out += '\n';
    line.clear();
  };
  for (char c : s) {
    if (c == '\n')
      flush_line(true);
    else
      line += c;
  }
  flush_line(false);
  return trim(out);
}

bool outputs_match(const std::string& got, const std::string& expected) {
  return normalize_output(got) == normalize_output(expected);
}

CodeOptions code_options_from_json(const nlohmann::json& p) {
  CodeOptions o;
  if (p.is_null()) return o;
  R1_CHECK(p.is_object(), "reward 'code': params must be an object");
  for (auto it = p.begin(); it != p.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto num = [&]() {
      R1_CHECK(v.is_number() && v.get<double>() > 0, "reward 'code': param '", k, "' must be a positive number");
      return v.get<double>();
    };
    if (k == "language") {
      R1_CHECK(v.is_string(), "reward 'code': param 'language' must be a string");
      o.language = v.get<std::string>();
      extract_program("", o.language);  // validates
    } else if (k == "cpu_seconds") o.run.cpu_seconds = num();
    else if (k == "wall_seconds") o.run.wall_seconds = num();
    else if (k == "memory_mb") o.run.memory_bytes = (uint64_t)(num() * 1048576.0);
    else if (k == "max_output_bytes") o.run.max_output_bytes = (uint64_t)num();
    else if (k == "max_processes") o.run.max_processes = (int)num();
    else if (k == "compile_wall_seconds") o.compile.wall_seconds = num();
    else fail("reward 'code': unknown param '", k, "' (expected language, cpu_seconds, wall_seconds, memory_mb, ",
              "max_output_bytes, max_processes, compile_wall_seconds)");
  }
  return o;
}

std::vector<CodeVerdict> code_verdicts(Sandbox& box, const std::vector<std::string>& completions,
                                       const std::vector<std::vector<CodeTest>>& tests, const CodeOptions& opt) {
  R1_CHECK(completions.size() == tests.size(), "code reward: ", completions.size(), " completions but ",
           tests.size(), " test lists");
  const size_t n = completions.size();
  std::vector<CodeVerdict> verdicts(n);
  std::vector<std::optional<Program>> progs(n);
  std::vector<std::string> binaries(n);
  for (size_t i = 0; i < n; ++i) {
    verdicts[i].total = (int)tests[i].size();
    progs[i] = extract_program(completions[i], opt.language);
    if (!progs[i]) verdicts[i].error = "no program";
    if (tests[i].empty()) verdicts[i].error = "no tests";
  }
  // 1. Compile every C++ program (in parallel).
  std::vector<SandboxJob> compile_jobs;
  std::vector<size_t> compile_of;
  for (size_t i = 0; i < n; ++i) {
    if (!progs[i] || progs[i]->language != "cpp" || tests[i].empty()) continue;
    SandboxJob j;
    j.argv = {"/bin/sh", "-c", "/usr/bin/g++ -std=gnu++17 -O2 -pipe -o /tmp/prog /box/main.cpp 1>&2 && cat /tmp/prog"};
    j.files = {{"main.cpp", progs[i]->source, false}};
    j.limits = opt.compile;
    compile_jobs.push_back(std::move(j));
    compile_of.push_back(i);
  }
  std::vector<SandboxResult> compiled = box.run(compile_jobs);
  for (size_t k = 0; k < compiled.size(); ++k) {
    size_t i = compile_of[k];
    if (compiled[k].ok() && !compiled[k].out.empty()) {
      binaries[i] = std::move(compiled[k].out);
    } else {
      progs[i].reset();
      verdicts[i].error = "compile error (" + std::string(sandbox_status_name(compiled[k].status)) + "): " +
                          compiled[k].err.substr(0, 2000);
    }
  }
  // 2. Run every test of every runnable program (in parallel).
  std::vector<SandboxJob> run_jobs;
  std::vector<std::pair<size_t, size_t>> run_of;
  for (size_t i = 0; i < n; ++i) {
    if (!progs[i]) continue;
    for (size_t t = 0; t < tests[i].size(); ++t) {
      SandboxJob j;
      if (progs[i]->language == "python") {
        j.argv = {"/usr/bin/python3", "-I", "/box/main.py"};
        j.files = {{"main.py", progs[i]->source, false}};
      } else {
        j.argv = {"/box/prog"};
        j.files = {{"prog", binaries[i], true}};
      }
      j.stdin_data = tests[i][t].input;
      j.limits = opt.run;
      run_jobs.push_back(std::move(j));
      run_of.push_back({i, t});
    }
  }
  std::vector<SandboxResult> ran = box.run(run_jobs);
  for (size_t k = 0; k < ran.size(); ++k) {
    auto [i, t] = run_of[k];
    bool pass = ran[k].ok() && outputs_match(ran[k].out, tests[i][t].output);
    if (pass) {
      ++verdicts[i].passed;
    } else if (verdicts[i].error.empty()) {
      verdicts[i].error = "test " + std::to_string(t) + ": " + sandbox_status_name(ran[k].status) + ", exit " +
                          std::to_string(ran[k].exit_code) + (ran[k].ok() ? ", wrong output" : "");
    }
  }
  for (auto& v : verdicts) v.reward = v.total > 0 ? (double)v.passed / (double)v.total : 0.0;
  return verdicts;
}

double code_reward(Sandbox& box, const std::string& completion, const std::vector<CodeTest>& tests,
                   const CodeOptions& opt) {
  return code_verdicts(box, {completion}, {tests}, opt)[0].reward;
}

}  // namespace r1
