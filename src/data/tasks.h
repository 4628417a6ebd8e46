// Tasks: prompts with gold answers, and the rewards that check them.
//
// A Task hands out Problems for a split and seed, and scores a completion against a Problem with a list of
// named, weighted rewards (rewards/registry.h). Its own verifier backs the "accuracy" reward (and the
// rewards built on it: cosine, tinyzero); the default verifier is the math one on the gold answer.
// Built-in tasks (make_task(name, config)):
//   countdown   generated, seeded (data/countdown.h)
//   gsm8k       <data_dir>/gsm8k_test.jsonl    question -> prompt, answer after "#### " (commas removed)
//   math500     <data_dir>/math500_test.jsonl  problem, answer, id unique_id, meta subject + level
//   aime24      <data_dir>/aime24_test.jsonl   problem, answer (integer string), id
//   amc23       <data_dir>/amc23_test.jsonl    problem, answer (JSON number such as 27.0 -> "27"), id
//   jsonl       any JSONL; config: path (required), prompt_field ("prompt"), answer_field ("answer"),
//               id_field (line number when absent), answer_format ("plain" | "gsm8k"), meta_fields ([]),
//               split ("test")
//   humaneval   <data_dir>/humaneval_test.jsonl, code_jsonl, tiny_code: programs run against tests in the
//               sandbox (data/code_tasks.h, data/tiny_code.h)
// data_dir defaults to ../shared/data/benchmarks (relative to the working directory); every benchmark
// accepts the jsonl config keys to override its defaults. JSONL tasks have one split (default "test") and
// return rows in file order; the seed is ignored. More tasks: register_task(name, factory).
#pragma once
#include "rewards/registry.h"
#include "data/prompts.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace r1 {

struct Problem {
  std::string id;
  std::string prompt;  // the question text (the prompt template wraps it)
  std::string gold;    // gold answer text
  nlohmann::json meta;
};

// Question templates (r1_zero_prompt and others) are in data/prompts.h.

// One completion's verdict: correctness, and for tasks that can say why an answer failed (code tasks), a status
// ("passed", "wrong_answer", "timeout", ...; rewards/code.h) with its tests and error output.
struct Judgement {
  double correct = 0;     // 1 or 0, as Task::accuracy
  std::string status;     // "" when the task gives none
  int tests_passed = -1;  // -1 when the task has no tests
  int tests_total = -1;
  std::string detail;     // why it failed, one line
  std::string stderr_tail;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> splits() const = 0;
  // Problems of a split; throws r1::Error for an unknown split.
  virtual std::vector<Problem> problems(const std::string& split, uint64_t seed) const = 0;
  // The task's verifier, 1.0 or 0.0; nullptr means the math verifier on Problem::gold.
  virtual std::function<double(const std::string& completion)> verifier(const Problem& p) const { return nullptr; }
  // Rewards used when score() gets an empty list.
  virtual std::vector<RewardSpec> default_rewards() const;
  // Correctness of many completions at once (code tasks run their programs in parallel and give statuses); the
  // default calls accuracy() on each and gives no status.
  virtual std::vector<Judgement> judge_batch(const std::vector<std::string>& completions,
                                             const std::vector<const Problem*>& problems) const;
  // Whether completions carry an answer to vote on (cons@k, math extraction); false for code tasks.
  virtual bool answers_vote() const { return true; }

  SampleInfo sample_info(const Problem& p, int64_t completion_tokens = -1, const std::string& think_prefix = "") const;
  double accuracy(const std::string& completion, const Problem& p) const;
  RewardBreakdown score(const std::string& completion, const Problem& p, const std::vector<RewardSpec>& specs = {},
                        int64_t completion_tokens = -1, const std::string& think_prefix = "") const;
  // What GRPO adds to a batch's scoring (the model rewards read the prompt; scoring/model_rewards.h).
  struct BatchExtras {
    std::vector<std::string> prompts;  // [n] the prompt text each completion continued (SampleInfo::prompt)
    std::vector<long> groups;          // [n] the GRPO group of each (SampleInfo::group)
    RewardStats* stats = nullptr;      // per-reward seconds and counts, added to
    bool normalize = true;             // false: normalize: batch specs are left for the caller (over the step)
  };
  // Batched (the code reward runs a batch's programs in parallel); tokens may be empty (unknown).
  std::vector<RewardBreakdown> score_batch(const std::vector<std::string>& completions,
                                           const std::vector<const Problem*>& problems,
                                           const std::vector<RewardSpec>& specs = {},
                                           const std::vector<int64_t>& completion_tokens = {},
                                           const std::string& think_prefix = "",
                                           const BatchExtras* extras = nullptr) const;
};

using TaskFactory = std::function<std::unique_ptr<Task>(const nlohmann::json& config)>;
void register_task(const std::string& name, TaskFactory factory);  // replaces an existing name
std::unique_ptr<Task> make_task(const std::string& name, const nlohmann::json& config = nlohmann::json::object());

// A built-in task by name, or the generic jsonl task when `name_or_path` ends in .jsonl (its path added to the
// config). `who` prefixes the error when the file does not exist (e.g. "eval").
std::unique_ptr<Task> make_task_or_file(const std::string& name_or_path, const nlohmann::json& config,
                                        const std::string& who);
std::vector<std::string> task_names();

// The gold answer of a GSM8K solution: the text after the last "#### ", trimmed, commas removed.
// Throws r1::Error when there is no "#### ".
std::string gsm8k_gold(const std::string& answer);

}  // namespace r1
