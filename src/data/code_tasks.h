// Code tasks: problems whose answer is a program, judged by running it against the problem's tests in the
// sandbox (rewards/code.h: extraction rules, test layouts, statuses). A completion is correct when every test
// passes; judge_batch runs a batch's programs in parallel and says why each failed; the default reward is
// `code` (the fraction of tests passed). Code tasks do not vote (no cons@k).
//
//   humaneval   <data_dir>/humaneval_test.jsonl (OpenAI's HumanEval as published: task_id, prompt,
//               canonical_solution, test, entry_point; 164 problems). The completion continues the prompt (a base
//               model) or gives a fenced block that redefines the function (a chat model); the program is run
//               with the problem's `test` and check(entry_point). Problem: id = task_id, gold =
//               canonical_solution, meta {test_code, entry_point, code_prompt = prompt}.
//   code_jsonl  any JSONL of code problems (config path): prompt_field ("prompt"), id_field ("task_id"; the
//               line number when a row has none), and per row one test layout of rewards/code.h: "tests",
//               "inputs"/"outputs", "input_output", or "test_code" + "entry_point" (+ "code_prompt");
//               "canonical_solution" or "solution" is the gold when present.
// Config of both: data_dir, path, prompt_field, id_field, layout ("humaneval": HumanEval's field names;
// "tests": the layouts above), style ("completion": the prompt as is, for base models; "instruct": the prompt
// inside an instruction asking for a fenced block, for chat models), cpu_seconds / wall_seconds / memory_mb (per
// test; code.h's defaults otherwise), split ("test").
// A row that is not valid JSON, not an object, or lacks the prompt is an error naming its line; a row whose
// tests are unusable (no entry_point, an unknown layout) loads, and its completions get status bad_tests.
#pragma once
#include "data/tasks.h"
#include "rewards/code.h"

namespace r1 {

// The shared judging of every code task (stdin/stdout and function-call tests alike).
class CodeTask : public Task {
 public:
  explicit CodeTask(CodeOptions opt) : opt_(std::move(opt)) {}
  std::function<double(const std::string&)> verifier(const Problem& p) const override;
  std::vector<RewardSpec> default_rewards() const override;
  std::vector<Judgement> judge_batch(const std::vector<std::string>& completions,
                                     const std::vector<const Problem*>& problems) const override;
  bool answers_vote() const override { return false; }
  const CodeOptions& options() const { return opt_; }

 protected:
  CodeOptions opt_;
};

struct CodeJsonlConfig {
  std::string name;  // the task's name
  std::string path, prompt_field = "prompt", id_field = "task_id", layout = "tests", style = "completion",
                    split = "test";
  CodeOptions options;
};
// `name` "humaneval" gives HumanEval's defaults (its file under data_dir, layout humaneval).
CodeJsonlConfig code_jsonl_config(const std::string& name, const nlohmann::json& config);

class CodeJsonlTask : public CodeTask {
 public:
  explicit CodeJsonlTask(CodeJsonlConfig c);
  std::string name() const override { return c_.name; }
  std::vector<std::string> splits() const override { return {c_.split}; }
  std::vector<Problem> problems(const std::string& split, uint64_t seed) const override;

 private:
  CodeJsonlConfig c_;
};

// The instruction around a HumanEval prompt for chat models (style: instruct).
std::string code_instruct_prompt(const std::string& code_prompt);

}  // namespace r1
