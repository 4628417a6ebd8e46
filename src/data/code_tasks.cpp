#include "data/code_tasks.h"

#include "core/check.h"
#include "core/io.h"

#include <sstream>

namespace r1 {

namespace {

CodeTests tests_of(const Problem& p) {
  CodeTests t = code_tests_from_meta(p.meta);
  if (!t.error.empty() && p.meta.is_object() && p.meta.contains("source") && p.meta["source"].is_string())
    t.error = p.meta["source"].get<std::string>() + ": " + t.error;
  return t;
}

}  // namespace

std::function<double(const std::string&)> CodeTask::verifier(const Problem& p) const {
  auto tests = std::make_shared<CodeTests>(tests_of(p));
  CodeOptions opt = opt_;
  return [tests, opt](const std::string& completion) {
    CodeVerdict v = code_verdicts(default_sandbox(), {completion}, std::vector<CodeTests>{*tests}, opt)[0];
    return v.total > 0 && v.passed == v.total ? 1.0 : 0.0;
  };
}

std::vector<RewardSpec> CodeTask::default_rewards() const { return {{"code", 1.0, nlohmann::json::object()}}; }

std::vector<Judgement> CodeTask::judge_batch(const std::vector<std::string>& completions,
                                             const std::vector<const Problem*>& problems) const {
  R1_CHECK(completions.size() == problems.size(), "task '", name(), "': ", completions.size(), " completions but ",
           problems.size(), " problems");
  std::vector<CodeTests> tests;
  tests.reserve(problems.size());
  for (const Problem* p : problems) tests.push_back(tests_of(*p));
  std::vector<CodeVerdict> vs = code_verdicts(default_sandbox(), completions, tests, opt_);
  std::vector<Judgement> out(vs.size());
  for (size_t i = 0; i < vs.size(); ++i) {
    const CodeVerdict& v = vs[i];
    out[i].correct = v.total > 0 && v.passed == v.total ? 1.0 : 0.0;
    out[i].status = code_status_name(v.status);
    out[i].tests_passed = v.passed;
    out[i].tests_total = v.total;
    out[i].detail = v.error;
    out[i].stderr_tail = v.stderr_tail;
  }
  return out;
}

std::string code_instruct_prompt(const std::string& code_prompt) {
  return "Complete the following Python function. Reply with the whole function, with its imports, in one "
         "```python code block.\n\n```python\n" +
         code_prompt + (code_prompt.empty() || code_prompt.back() == '\n' ? "" : "\n") + "```";
}

CodeJsonlConfig code_jsonl_config(const std::string& name, const nlohmann::json& j) {
  CodeJsonlConfig c;
  c.name = name;
  std::string data_dir = "../shared/data/benchmarks";
  if (name == "humaneval") c.layout = "humaneval";
  R1_CHECK(j.is_null() || j.is_object(), "task '", name, "': config must be a map, got ", j.dump());
  nlohmann::json limits = nlohmann::json::object();
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      auto str = [&]() {
        R1_CHECK(it.value().is_string(), "task '", name, "': config '", k, "' must be a string");
        return it.value().get<std::string>();
      };
      if (k == "data_dir") data_dir = str();
      else if (k == "path") c.path = str();
      else if (k == "prompt_field") c.prompt_field = str();
      else if (k == "id_field") c.id_field = str();
      else if (k == "layout") c.layout = str();
      else if (k == "style") c.style = str();
      else if (k == "split") c.split = str();
      else if (k == "cpu_seconds" || k == "wall_seconds" || k == "memory_mb") limits[k] = it.value();
      else fail("task '", name, "': unknown config key '", k, "' (expected data_dir, path, prompt_field, id_field, ",
                "layout, style, split, cpu_seconds, wall_seconds, memory_mb)");
    }
  }
  try {
    c.options = code_options_from_json(limits);
  } catch (const Error& e) {
    fail("task '", name, "': ", e.what());
  }
  if (c.path.empty() && name == "humaneval") c.path = path_join(data_dir, "humaneval_test.jsonl");
  R1_CHECK(!c.path.empty(), "task '", name, "': config needs 'path' (a JSONL file of code problems)");
  R1_CHECK(c.layout == "humaneval" || c.layout == "tests", "task '", name, "': layout must be 'humaneval' or ",
           "'tests', got '", c.layout, "'");
  R1_CHECK(c.style == "completion" || c.style == "instruct", "task '", name, "': style must be 'completion' or ",
           "'instruct', got '", c.style, "'");
  return c;
}

CodeJsonlTask::CodeJsonlTask(CodeJsonlConfig c) : CodeTask(c.options), c_(std::move(c)) {}

std::vector<Problem> CodeJsonlTask::problems(const std::string& split, uint64_t) const {
  R1_CHECK(split == c_.split, "task '", c_.name, "': unknown split '", split, "' (this file is split '", c_.split,
           "')");
  R1_CHECK(file_exists(c_.path), "task '", c_.name, "': ", c_.path, " does not exist");
  const bool he = c_.layout == "humaneval";
  std::istringstream in(read_file(c_.path));
  std::vector<Problem> out;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = c_.path + ":" + std::to_string(lineno);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    R1_CHECK(row.is_object(), where, ": expected a JSON object");
    R1_CHECK(row.contains(c_.prompt_field) && row[c_.prompt_field].is_string(), where, ": field '", c_.prompt_field,
             "' is missing or not a string");
    Problem p;
    const std::string prompt = row[c_.prompt_field].get<std::string>();
    p.id = row.contains(c_.id_field) ? (row[c_.id_field].is_string() ? row[c_.id_field].get<std::string>()
                                                                     : row[c_.id_field].dump())
                                     : c_.name + "-" + std::to_string(lineno);
    for (const char* g : {"canonical_solution", "solution"})
      if (p.gold.empty() && row.contains(g) && row[g].is_string()) p.gold = row[g].get<std::string>();
    p.meta = nlohmann::json::object();
    for (const char* f : {"tests", "inputs", "outputs", "input_output", "test_code", "entry_point", "code_prompt"})
      if (row.contains(f)) p.meta[f] = row[f];
    if (he) {
      if (row.contains("test")) p.meta["test_code"] = row["test"];
      p.meta["code_prompt"] = prompt;
    }
    p.meta["source"] = where;
    const std::string code_prompt = p.meta.value("code_prompt", nlohmann::json("")).is_string()
                                        ? p.meta.value("code_prompt", std::string())
                                        : std::string();
    p.prompt = c_.style == "instruct" && !code_prompt.empty() ? code_instruct_prompt(code_prompt) : prompt;
    out.push_back(std::move(p));
  }
  R1_CHECK(!out.empty(), "task '", c_.name, "': ", c_.path, " has no rows");
  return out;
}

}  // namespace r1
