// Rewards by name, combined by weights from a recipe:
//   rewards: {accuracy: 1.0, format: 0.1}                       weight only
//   rewards: {language: {weight: 0.1, target: zh}}              weight plus params
//   rewards: [{name: code, weight: 1.0, params: {cpu_seconds: 1}}]
// total = sum of weight * reward. Built-in rewards (params in brackets, defaults shown):
//   accuracy    the task's verifier (SampleInfo::accuracy); without one, math_accuracy_reward(completion, gold)
//   format      strict R1 structure, 1/0 (rewards/format.h) [prefix: SampleInfo::think_prefix]
//   tag_count   open-r1 partial credit 0..1 [with_newlines: false, prefix]
//   language    R1 language consistency of the think block [target: "en", prefix]
//   code        stdin/stdout or function-call tests run in the sandbox (tests from SampleInfo::meta): the
//               fraction passed, or 1/0 with partial: false [language, partial, limits: see code.h]
//   overlong    DAPO soft overlong penalty on completion_tokens [max_length: 20480, cache: 4096]
//   repetition  n-gram repetition penalty [ngram: 3, max_penalty: -1.0]
//   cosine      cosine length-scaled accuracy [min_value_wrong -1, max_value_wrong -0.5, min_value_correct 0.5,
//               max_value_correct 1, max_len 1000, unit: "tokens" | "chars"]
//   tinyzero    TinyZero's gate: `correct` (1.0) if accuracy is 1, else `format_score` (0.1) if the format
//               holds, else 0 [format: "answer_tag" (an <answer> block exists, as TinyZero) | "strict"]
// Rewards that run a model (reward_model, judge) live in the scoring layer (scoring/model_rewards.h), which
// registers them here; this layer never includes a model.
// Tasks (data layer) add their verifier through SampleInfo::accuracy; more rewards: register_reward().
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace r1 {

struct SampleInfo {
  std::string gold;                 // gold answer text
  nlohmann::json meta;              // task-specific data (code tests, countdown numbers, ...)
  int64_t completion_tokens = -1;   // length in tokens when known (overlong, cosine)
  std::string think_prefix;         // e.g. "<think>" when the prompt already opened the think block
  std::function<double(const std::string& completion)> accuracy;  // task verifier (1/0); optional
  std::string question;             // the task's question (Problem::prompt)
  std::string prompt;               // the prompt text the policy saw (template applied); "" when unknown
  long group = -1;                  // GRPO: the group this completion was sampled in (-1: none)
};

// One completion with its info; accuracy() is computed once and shared by every reward that needs it.
struct RewardContext {
  RewardContext(const std::string& c, const SampleInfo& i) : completion(c), info(i) {}
  const std::string& completion;
  const SampleInfo& info;
  double accuracy() const;

 private:
  mutable std::optional<double> accuracy_;
};

struct RewardSpec {
  std::string name;
  double weight = 1.0;
  nlohmann::json params = nlohmann::json::object();
};

// What a batch reward reports beside its values, summed over a step: e.g. judge_unparsed (judgements no rule
// could read, scored with the judge's default).
using RewardCounts = std::map<std::string, double>;
using RewardFn = std::function<double(const RewardContext&, const nlohmann::json& params)>;
// Optional batched form (the code reward runs all programs of a batch in parallel; the model rewards run one
// batched forward or generate).
using BatchRewardFn = std::function<std::vector<double>(const std::vector<RewardContext>&, const nlohmann::json& params,
                                                        RewardCounts& counts)>;
// Checks a reward's params before any work (a model folder that does not exist, a template that does not
// parse); parse_reward_specs calls it, so a recipe fails at its start with one error.
using RewardParamCheck = std::function<void(const nlohmann::json& params)>;

// `params`: the keys it accepts (parse_reward_specs rejects others). Re-registering a name replaces it.
void register_reward(const std::string& name, RewardFn fn, std::vector<std::string> params = {});
void register_batch_reward(const std::string& name, BatchRewardFn fn, std::vector<std::string> params = {},
                           RewardParamCheck check = nullptr);
bool has_reward(const std::string& name);

// Parses the recipe forms above; unknown rewards, unknown params and non-numeric weights throw r1::Error.
std::vector<RewardSpec> parse_reward_specs(const nlohmann::json& j);

struct RewardBreakdown {
  std::vector<std::pair<std::string, double>> parts;  // unweighted reward per spec, in spec order, as computed
  std::vector<double> used;                           // [specs] what enters the total: parts, or standardised over
                                                      // the batch for a spec with normalize: batch
  double total = 0;                                   // sum of weight * used
  double get(const std::string& name) const;          // the part (as computed); throws if absent
};

// Per spec, the seconds its scoring took; the counts every reward reported.
struct RewardStats {
  std::vector<double> seconds;  // [specs]
  RewardCounts counts;
  void add(const RewardStats& o);
};

// A spec standardised over the batch it is scored with (params.normalize == "batch").
bool batch_normalized(const RewardSpec& s);
// For every batch-normalised spec: used = (part − mean) / (std + 1e-6) over `batch` (population std, summed in
// order), and the totals recomputed. GRPO calls it on the whole step's batch (every rank's rollouts) so the
// values do not depend on the rank count.
void normalize_over_batch(const std::vector<RewardSpec>& specs, const std::vector<RewardBreakdown*>& batch);

// Scores a batch; normalize: standardise the batch-normalised specs over these completions (false: leave `used`
// equal to the parts, for a caller that normalises over a larger batch).
std::vector<RewardBreakdown> score_rewards(const std::vector<RewardSpec>& specs,
                                           const std::vector<std::string>& completions,
                                           const std::vector<SampleInfo>& infos, RewardStats* stats = nullptr,
                                           bool normalize = true);
RewardBreakdown score_reward(const std::vector<RewardSpec>& specs, const std::string& completion,
                             const SampleInfo& info);

}  // namespace r1
