// The code reward's text side: program extraction, test layouts, options and statuses (code_run.cpp runs them).
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
// "python", "cpp", "" (unlabelled) or "?" (a language we do not run).
std::string fence_language(const std::string& info) {
  std::string t = lower(trim(info));
  size_t sp = t.find_first_of(" \t{");
  if (sp != std::string::npos) t = t.substr(0, sp);
  if (t.empty()) return "";
  if (t == "python" || t == "py" || t == "python3") return "python";
  if (t == "cpp" || t == "c++" || t == "cxx" || t == "cc") return "cpp";
  return "?";
}

struct Block {
  std::string language;  // as fence_language
  std::string body;
};

// Every closed fenced block, in order (an unclosed block is not a program).
std::vector<Block> fenced_blocks(const std::string& text) {
  std::vector<Block> out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("```", pos);
    if (open == std::string::npos) break;
    size_t eol = text.find('\n', open + 3);
    if (eol == std::string::npos) break;
    size_t close = text.find("```", eol + 1);
    if (close == std::string::npos) break;
    out.push_back({fence_language(text.substr(open + 3, eol - open - 3)), text.substr(eol + 1, close - eol - 1)});
    pos = close + 3;
  }
  return out;
}

std::string with_newline(const std::string& s) { return s.empty() || s.back() == '\n' ? s : s + "\n"; }

// A base model's continuation of code_prompt, cut at the first top-level stop sequence.
std::string cut_continuation(const std::string& text) {
  static const char* stops[] = {"\ndef", "\nclass", "\nif", "\nprint", "\n#", "\n@", "\nassert", "\n```"};
  size_t end = text.size();
  for (const char* s : stops) end = std::min(end, text.find(s));
  return text.substr(0, end);
}

std::string as_text(const nlohmann::json& v, const char* field) {
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
}

// HumanEval / MBPP layout: test_code (a string or a list of strings), entry_point, code_prompt.
CodeTests function_tests(const nlohmann::json& meta) {
  CodeTests t;
  const auto& tc = meta["test_code"];
  if (tc.is_string()) {
    t.test_code.push_back(tc.get<std::string>());
  } else {
    R1_CHECK(tc.is_array() && !tc.empty(), "code tests: field 'test_code' must be a string or a non-empty list of ",
             "strings, got ", tc.type_name());
    for (auto& x : tc) {
      R1_CHECK(x.is_string(), "code tests: field 'test_code' holds a non-string entry");
      t.test_code.push_back(x.get<std::string>());
    }
  }
  bool needs_entry = false;
  for (auto& s : t.test_code) {
    R1_CHECK(!trim(s).empty(), "code tests: field 'test_code' holds an empty test");
    needs_entry |= defines_function(s, "check");
  }
  if (meta.contains("entry_point")) {
    R1_CHECK(meta["entry_point"].is_string(), "code tests: field 'entry_point' must be a string");
    t.entry_point = meta["entry_point"].get<std::string>();
    bool ident = !t.entry_point.empty() && !std::isdigit((unsigned char)t.entry_point[0]);
    for (char c : t.entry_point) ident &= std::isalnum((unsigned char)c) || c == '_';
    R1_CHECK(ident, "code tests: field 'entry_point' must be a Python identifier, got '", t.entry_point, "'");
  }
  R1_CHECK(!needs_entry || !t.entry_point.empty(),
           "code tests: field 'entry_point' is missing (the test code defines check(candidate))");
  if (meta.contains("code_prompt")) {
    R1_CHECK(meta["code_prompt"].is_string(), "code tests: field 'code_prompt' must be a string");
    t.code_prompt = meta["code_prompt"].get<std::string>();
  }
  return t;
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

bool defines_function(const std::string& code, const std::string& name) {
  if (name.empty()) return false;
  const std::string pat = "def " + name + "(";
  for (size_t p = code.find(pat); p != std::string::npos; p = code.find(pat, p + 1))
    if (p == 0 || code[p - 1] == '\n') return true;
  return false;
}

std::string answer_part(const std::string& completion) {
  size_t p = completion.rfind("</think>");
  return p == std::string::npos ? completion : completion.substr(p + 8);
}

std::optional<Program> extract_program(const std::string& completion, const std::string& language) {
  R1_CHECK(language == "any" || language == "python" || language == "cpp", "code reward: language must be ",
           "'python', 'cpp' or 'any', got '", language, "'");
  std::optional<Program> found;
  for (auto& b : fenced_blocks(answer_part(completion)))
    if ((b.language == "python" || b.language == "cpp") && (language == "any" || language == b.language))
      found = Program{b.language, b.body};
  return found;
}

std::optional<std::string> extract_function_program(const std::string& completion, const std::string& code_prompt,
                                                    const std::string& entry_point) {
  const std::string text = answer_part(completion);
  const std::string head = code_prompt.empty() ? "" : with_newline(code_prompt);
  std::optional<std::string> block;
  bool block_defines = false;
  for (auto& b : fenced_blocks(text)) {
    if (b.language != "python" && !b.language.empty()) continue;
    bool d = defines_function(b.body, entry_point);
    if (d || !block_defines) block = b.body, block_defines = d;
  }
  if (block) return trim(*block).empty() ? std::nullopt : std::optional<std::string>(head + *block);
  // No fenced block: a base model's continuation, or a bare program.
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;
  size_t bol = text.rfind('\n', first);
  bol = bol == std::string::npos ? 0 : bol + 1;
  if (!code_prompt.empty() && first > bol) {  // the first non-blank line is indented
    std::string cont = cut_continuation(text);
    if (trim(cont).empty()) return std::nullopt;
    return code_prompt + cont;
  }
  if (!defines_function(text, entry_point)) return std::nullopt;
  size_t p = 0;
  while (true) {  // p: the start of a line
    for (const char* k : {"import ", "from ", "def "})
      if (text.compare(p, std::char_traits<char>::length(k), k) == 0) return head + text.substr(p);
    size_t nl = text.find('\n', p);
    if (nl == std::string::npos) return std::nullopt;
    p = nl + 1;
  }
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
  R1_CHECK(meta.is_object(), "code tests: expected an object with 'tests', 'inputs'/'outputs' or 'test_code'");
  std::vector<CodeTest> tests;
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
             "code tests: expected 'tests', the arrays 'inputs' and 'outputs', or 'test_code' and 'entry_point'");
    R1_CHECK(meta["inputs"].size() == meta["outputs"].size(), "code tests: 'inputs' has ", meta["inputs"].size(),
             " entries but 'outputs' has ", meta["outputs"].size());
    for (size_t i = 0; i < meta["inputs"].size(); ++i)
      tests.push_back({as_text(meta["inputs"][i], "inputs"), as_text(meta["outputs"][i], "outputs")});
  }
  return tests;
}

CodeTests code_tests_from_meta(const nlohmann::json& meta) {
  try {
    if (meta.is_object() && meta.contains("test_code")) return function_tests(meta);
    CodeTests t;
    t.io = parse_code_tests(meta);
    R1_CHECK(!t.io.empty(), "code tests: the problem has no tests");
    return t;
  } catch (const Error& e) {
    CodeTests t;
    t.error = e.what();
    return t;
  }
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

const std::vector<std::string>& code_option_names() {
  static const std::vector<std::string> names = {"language",         "partial",       "cpu_seconds",
                                                 "wall_seconds",     "memory_mb",     "max_output_bytes",
                                                 "max_processes",    "compile_wall_seconds"};
  return names;
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
    } else if (k == "partial") {
      R1_CHECK(v.is_boolean(), "reward 'code': param 'partial' must be true or false");
      o.partial = v.get<bool>();
    } else if (k == "cpu_seconds") o.run.cpu_seconds = num();
    else if (k == "wall_seconds") o.run.wall_seconds = num();
    else if (k == "memory_mb") o.run.memory_bytes = (uint64_t)(num() * 1048576.0);
    else if (k == "max_output_bytes") o.run.max_output_bytes = (uint64_t)num();
    else if (k == "max_processes") o.run.max_processes = (int)num();
    else if (k == "compile_wall_seconds") o.compile.wall_seconds = num();
    else fail("reward 'code': unknown param '", k, "' (expected language, partial, cpu_seconds, wall_seconds, ",
              "memory_mb, max_output_bytes, max_processes, compile_wall_seconds)");
  }
  return o;
}

const char* code_status_name(CodeStatus s) {
  switch (s) {
    case CodeStatus::Passed: return "passed";
    case CodeStatus::WrongAnswer: return "wrong_answer";
    case CodeStatus::Timeout: return "timeout";
    case CodeStatus::RuntimeError: return "runtime_error";
    case CodeStatus::SyntaxError: return "syntax_error";
    case CodeStatus::CompileError: return "compile_error";
    case CodeStatus::NoCode: return "no_code";
    case CodeStatus::BadTests: return "bad_tests";
  }
  return "?";
}

const std::vector<CodeStatus>& code_statuses() {
  static const std::vector<CodeStatus> all = {CodeStatus::Passed,       CodeStatus::WrongAnswer,
                                              CodeStatus::Timeout,      CodeStatus::RuntimeError,
                                              CodeStatus::SyntaxError,  CodeStatus::CompileError,
                                              CodeStatus::NoCode,       CodeStatus::BadTests};
  return all;
}

}  // namespace r1
