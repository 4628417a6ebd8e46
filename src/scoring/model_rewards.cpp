#include "scoring/model_rewards.h"

#include "core/check.h"
#include "rewards/registry.h"
#include "scoring/judge.h"
#include "scoring/reward_model.h"

#include <map>
#include <memory>
#include <mutex>

namespace r1 {

namespace {

const char* kRmWho = "reward 'reward_model'";
const char* kJudgeWho = "reward 'judge'";

std::string str_param(const nlohmann::json& p, const char* key, const std::string& def, const char* who) {
  if (!p.contains(key)) return def;
  R1_CHECK(p[key].is_string(), who, ": '", key, "' must be a string, got ", p[key].dump());
  return p[key].get<std::string>();
}

void check_reward_model(const nlohmann::json& p) {
  RewardModel::check(str_param(p, "path", "", kRmWho), str_param(p, "tokenizer", "", kRmWho), kRmWho);
  parse_rm_view(str_param(p, "on", "summary", kRmWho), kRmWho);
  const std::string norm = str_param(p, "normalize", "batch", kRmWho);
  R1_CHECK(norm == "batch" || norm == "none", kRmWho, ": 'normalize' must be 'batch' (standardise over the step's ",
           "batch) or 'none', got '", norm, "'");
}

// Models stay loaded for the process (a GRPO run scores every step with the same one).
std::mutex g_mu;
template <class T>
T& cached(std::map<std::string, std::unique_ptr<T>>& cache, const std::string& key,
          const std::function<std::unique_ptr<T>()>& make) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return *it->second;
}

std::vector<double> reward_model_batch(const std::vector<RewardContext>& cs, const nlohmann::json& p, RewardCounts&) {
  static std::map<std::string, std::unique_ptr<RewardModel>> cache;
  const std::string path = str_param(p, "path", "", kRmWho), tok = str_param(p, "tokenizer", "", kRmWho);
  const RmView view = parse_rm_view(str_param(p, "on", "summary", kRmWho), kRmWho);
  std::lock_guard<std::mutex> lock(g_mu);
  RewardModel& rm = cached<RewardModel>(cache, path + "\n" + tok, [&] { return RewardModel::load(path, tok, kRmWho); });
  std::vector<std::string> prompts, responses;
  std::vector<long> groups;
  for (const RewardContext& c : cs) {
    prompts.push_back(c.info.prompt.empty() ? c.info.question : c.info.prompt);
    responses.push_back(c.completion);
    groups.push_back(c.info.group);
  }
  std::vector<float> s = rm.score(prompts, responses, view, &groups);
  return std::vector<double>(s.begin(), s.end());
}

std::vector<double> judge_batch(const std::vector<RewardContext>& cs, const nlohmann::json& p, RewardCounts& counts) {
  static std::map<std::string, std::unique_ptr<Judge>> cache;
  std::lock_guard<std::mutex> lock(g_mu);
  // the params are read (template file, probe render) once, when the judge is first loaded
  Judge& j = cached<Judge>(cache, p.dump(), [&] { return Judge::load(JudgeConfig::from_params(p, kJudgeWho), kJudgeWho); });
  std::vector<std::string> qs, ps, rs;
  for (const RewardContext& c : cs) {
    qs.push_back(c.info.question);
    ps.push_back(c.info.prompt);
    rs.push_back(c.completion);
  }
  std::vector<double> out;
  long unparsed = 0;
  for (const auto& v : j.judge(qs, ps, rs)) {
    out.push_back(v ? *v : j.config().default_score);
    unparsed += !v;
  }
  counts["judge_unparsed"] += (double)unparsed;
  counts["judge_judged"] += (double)cs.size();
  return out;
}

}  // namespace

void register_model_rewards() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_batch_reward("reward_model", reward_model_batch, {"path", "tokenizer", "on", "normalize"},
                          check_reward_model);
    register_batch_reward("judge", judge_batch, JudgeConfig::param_names(),
                          [](const nlohmann::json& p) { JudgeConfig::from_params(p, kJudgeWho); });
  });
}

}  // namespace r1
