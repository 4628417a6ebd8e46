#include "rewards/registry.h"

#include "core/check.h"
#include "rewards/code.h"
#include "rewards/format.h"
#include "rewards/language.h"
#include "rewards/math_verify.h"
#include "rewards/shaping.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

namespace r1 {

double RewardContext::accuracy() const {
  if (!accuracy_) {
    if (info.accuracy) {
      accuracy_ = info.accuracy(completion);
    } else {
      accuracy_ = math_accuracy_reward(completion, info.gold);
    }
  }
  return *accuracy_;
}

namespace {

struct Entry {
  RewardFn fn;
  BatchRewardFn batch;
  std::vector<std::string> params;
  RewardParamCheck check;
};

std::string param_str(const nlohmann::json& p, const char* key, const std::string& def, const char* reward) {
  if (!p.contains(key)) return def;
  R1_CHECK(p[key].is_string(), "reward '", reward, "': param '", key, "' must be a string");
  return p[key].get<std::string>();
}
double param_num(const nlohmann::json& p, const char* key, double def, const char* reward) {
  if (!p.contains(key)) return def;
  R1_CHECK(p[key].is_number(), "reward '", reward, "': param '", key, "' must be a number");
  return p[key].get<double>();
}
bool param_bool(const nlohmann::json& p, const char* key, bool def, const char* reward) {
  if (!p.contains(key)) return def;
  R1_CHECK(p[key].is_boolean(), "reward '", reward, "': param '", key, "' must be true or false");
  return p[key].get<bool>();
}
std::string prefix_of(const RewardContext& c, const nlohmann::json& p, const char* reward) {
  return param_str(p, "prefix", c.info.think_prefix, reward);
}
int64_t tokens_of(const RewardContext& c, const char* reward) {
  R1_CHECK(c.info.completion_tokens >= 0, "reward '", reward,
           "' needs the completion length in tokens (SampleInfo::completion_tokens)");
  return c.info.completion_tokens;
}

// The code reward over a batch: every program runs in the sandbox's parallel runner. A problem whose tests are
// unusable scores 0 (status bad_tests); the first one is reported on stderr.
std::vector<double> code_batch_reward(const std::vector<RewardContext>& cs, const nlohmann::json& p, RewardCounts&) {
  CodeOptions opt = code_options_from_json(p);
  std::vector<std::string> comps;
  std::vector<CodeTests> tests;
  for (auto& c : cs) {
    comps.push_back(c.completion);
    tests.push_back(code_tests_from_meta(c.info.meta));
    static std::atomic<bool> told{false};
    if (!tests.back().error.empty() && !told.exchange(true))
      std::fprintf(stderr, "[code] warning: a problem's tests are unusable, its completions score 0: %s\n",
                   tests.back().error.c_str());
  }
  std::vector<double> r;
  for (auto& v : code_verdicts(default_sandbox(), comps, tests, opt)) r.push_back(v.reward);
  return r;
}

void add_builtins(std::map<std::string, Entry>& m) {
  m["accuracy"] = {[](const RewardContext& c, const nlohmann::json&) { return c.accuracy(); }, nullptr, {}};
  m["format"] = {[](const RewardContext& c, const nlohmann::json& p) {
                   return format_reward(c.completion, prefix_of(c, p, "format"));
                 },
                 nullptr,
                 {"prefix"}};
  m["tag_count"] = {[](const RewardContext& c, const nlohmann::json& p) {
                      return tag_count_reward(c.completion, prefix_of(c, p, "tag_count"),
                                              param_bool(p, "with_newlines", false, "tag_count"));
                    },
                    nullptr,
                    {"prefix", "with_newlines"}};
  m["language"] = {[](const RewardContext& c, const nlohmann::json& p) {
                     return language_consistency_reward(c.completion, param_str(p, "target", "en", "language"),
                                                        prefix_of(c, p, "language"));
                   },
                   nullptr,
                   {"target", "prefix"}};
  m["overlong"] = {[](const RewardContext& c, const nlohmann::json& p) {
                     return overlong_penalty(tokens_of(c, "overlong"),
                                             (int64_t)param_num(p, "max_length", 20480, "overlong"),
                                             (int64_t)param_num(p, "cache", 4096, "overlong"));
                   },
                   nullptr,
                   {"max_length", "cache"}};
  m["repetition"] = {[](const RewardContext& c, const nlohmann::json& p) {
                       return repetition_penalty(c.completion, (int)param_num(p, "ngram", 3, "repetition"),
                                                 param_num(p, "max_penalty", -1.0, "repetition"));
                     },
                     nullptr,
                     {"ngram", "max_penalty"}};
  m["cosine"] = {[](const RewardContext& c, const nlohmann::json& p) {
                   CosineParams cp;
                   cp.min_value_wrong = param_num(p, "min_value_wrong", cp.min_value_wrong, "cosine");
                   cp.max_value_wrong = param_num(p, "max_value_wrong", cp.max_value_wrong, "cosine");
                   cp.min_value_correct = param_num(p, "min_value_correct", cp.min_value_correct, "cosine");
                   cp.max_value_correct = param_num(p, "max_value_correct", cp.max_value_correct, "cosine");
                   cp.max_len = param_num(p, "max_len", cp.max_len, "cosine");
                   std::string unit = param_str(p, "unit", "tokens", "cosine");
                   R1_CHECK(unit == "tokens" || unit == "chars", "reward 'cosine': param 'unit' must be 'tokens' or ",
                            "'chars', got '", unit, "'");
                   double len = unit == "tokens" ? (double)tokens_of(c, "cosine") : (double)c.completion.size();
                   return cosine_scaled_reward(c.accuracy() >= 1.0, len, cp);
                 },
                 nullptr,
                 {"min_value_wrong", "max_value_wrong", "min_value_correct", "max_value_correct", "max_len", "unit"}};
  m["tinyzero"] = {[](const RewardContext& c, const nlohmann::json& p) {
                     std::string fmt = param_str(p, "format", "answer_tag", "tinyzero");
                     R1_CHECK(fmt == "answer_tag" || fmt == "strict", "reward 'tinyzero': param 'format' must be ",
                              "'answer_tag' or 'strict', got '", fmt, "'");
                     if (c.accuracy() >= 1.0) return param_num(p, "correct", 1.0, "tinyzero");
                     bool format_ok = fmt == "strict" ? format_reward(c.completion, c.info.think_prefix) > 0
                                                      : extract_answer_block(c.completion).has_value();
                     return format_ok ? param_num(p, "format_score", 0.1, "tinyzero") : 0.0;
                   },
                   nullptr,
                   {"correct", "format_score", "format"}};
  m["code"] = {nullptr, code_batch_reward, code_option_names()};
}

std::mutex g_mu;
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry>* m = [] {
    auto* r = new std::map<std::string, Entry>();
    add_builtins(*r);
    return r;
  }();
  return *m;
}

Entry lookup(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto& m = registry();
  auto it = m.find(name);
  if (it == m.end()) {
    std::string known;
    for (auto& kv : m) known += (known.empty() ? "" : ", ") + kv.first;
    fail("unknown reward '", name, "' (known: ", known, ")");
  }
  return it->second;
}

}  // namespace

void register_reward(const std::string& name, RewardFn fn, std::vector<std::string> params) {
  R1_CHECK(!name.empty() && fn, "register_reward: empty name or function");
  std::lock_guard<std::mutex> lock(g_mu);
  registry()[name] = {std::move(fn), nullptr, std::move(params), nullptr};
}

void register_batch_reward(const std::string& name, BatchRewardFn fn, std::vector<std::string> params,
                           RewardParamCheck check) {
  R1_CHECK(!name.empty() && fn, "register_batch_reward: empty name or function");
  std::lock_guard<std::mutex> lock(g_mu);
  registry()[name] = {nullptr, std::move(fn), std::move(params), std::move(check)};
}

bool has_reward(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mu);
  return registry().count(name) > 0;
}

std::vector<RewardSpec> parse_reward_specs(const nlohmann::json& j) {
  std::vector<RewardSpec> specs;
  auto check = [](const RewardSpec& s) {
    Entry e = lookup(s.name);
    R1_CHECK(s.params.is_object(), "reward '", s.name, "': params must be an object");
    for (auto it = s.params.begin(); it != s.params.end(); ++it)
      R1_CHECK(std::find(e.params.begin(), e.params.end(), it.key()) != e.params.end(), "reward '", s.name,
               "': unknown param '", it.key(), "'");
    if (e.check) e.check(s.params);
  };
  auto weight_of = [](const nlohmann::json& w, const std::string& name) {
    R1_CHECK(w.is_number(), "reward '", name, "': weight must be a number, got ", w.dump());
    return w.get<double>();
  };
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      RewardSpec s;
      s.name = it.key();
      if (it.value().is_object()) {
        R1_CHECK(it.value().contains("weight"), "reward '", s.name, "': missing 'weight'");
        for (auto p = it.value().begin(); p != it.value().end(); ++p) {
          if (p.key() == "weight")
            s.weight = weight_of(p.value(), s.name);
          else
            s.params[p.key()] = p.value();
        }
      } else {
        s.weight = weight_of(it.value(), s.name);
      }
      check(s);
      specs.push_back(std::move(s));
    }
  } else if (j.is_array()) {
    for (auto& e : j) {
      R1_CHECK(e.is_object() && e.contains("name") && e["name"].is_string(),
               "rewards: each list entry needs a string 'name', got ", e.dump());
      RewardSpec s;
      s.name = e["name"].get<std::string>();
      s.weight = e.contains("weight") ? weight_of(e["weight"], s.name) : 1.0;
      if (e.contains("params")) s.params = e["params"];
      for (auto p = e.begin(); p != e.end(); ++p)
        R1_CHECK(p.key() == "name" || p.key() == "weight" || p.key() == "params", "reward '", s.name,
                 "': unknown key '", p.key(), "' (expected name, weight, params)");
      check(s);
      specs.push_back(std::move(s));
    }
  } else {
    fail("rewards: expected an object {name: weight} or a list of {name, weight, params}, got ", j.dump());
  }
  R1_CHECK(!specs.empty(), "rewards: no reward given");
  return specs;
}

double RewardBreakdown::get(const std::string& name) const {
  for (auto& p : parts)
    if (p.first == name) return p.second;
  fail("reward breakdown has no reward '", name, "'");
}

void RewardStats::add(const RewardStats& o) {
  if (seconds.size() < o.seconds.size()) seconds.resize(o.seconds.size(), 0.0);
  for (size_t i = 0; i < o.seconds.size(); i++) seconds[i] += o.seconds[i];
  for (auto& [k, v] : o.counts) counts[k] += v;
}

bool batch_normalized(const RewardSpec& s) {
  return s.params.contains("normalize") && s.params["normalize"].is_string() && s.params["normalize"] == "batch";
}

void normalize_over_batch(const std::vector<RewardSpec>& specs, const std::vector<RewardBreakdown*>& batch) {
  bool any = false;
  for (const RewardSpec& s : specs) any |= batch_normalized(s);
  if (batch.empty() || !any) return;
  for (size_t k = 0; k < specs.size(); k++) {
    if (!batch_normalized(specs[k])) continue;
    double sum = 0, sq = 0;
    for (const RewardBreakdown* b : batch) sum += b->parts[k].second;
    const double mean = sum / (double)batch.size();
    for (const RewardBreakdown* b : batch) sq += (b->parts[k].second - mean) * (b->parts[k].second - mean);
    const double sd = std::sqrt(sq / (double)batch.size());
    for (RewardBreakdown* b : batch) b->used[k] = (b->parts[k].second - mean) / (sd + 1e-6);
  }
  for (RewardBreakdown* b : batch) {
    b->total = 0;
    for (size_t k = 0; k < specs.size(); k++) b->total += specs[k].weight * b->used[k];
  }
}

std::vector<RewardBreakdown> score_rewards(const std::vector<RewardSpec>& specs,
                                           const std::vector<std::string>& completions,
                                           const std::vector<SampleInfo>& infos, RewardStats* stats, bool normalize) {
  R1_CHECK(completions.size() == infos.size(), "score_rewards: ", completions.size(), " completions but ",
           infos.size(), " sample infos");
  std::vector<RewardContext> ctx;
  ctx.reserve(completions.size());
  for (size_t i = 0; i < completions.size(); ++i) ctx.emplace_back(completions[i], infos[i]);
  std::vector<RewardBreakdown> out(completions.size());
  RewardStats local;
  local.seconds.assign(specs.size(), 0.0);
  for (size_t k = 0; k < specs.size(); k++) {
    const RewardSpec& s = specs[k];
    Entry e = lookup(s.name);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<double> vals;
    if (e.batch) {
      vals = e.batch(ctx, s.params, local.counts);
      R1_CHECK(vals.size() == ctx.size(), "reward '", s.name, "' returned ", vals.size(), " values for ", ctx.size(),
               " completions");
    } else {
      for (auto& c : ctx) vals.push_back(e.fn(c, s.params));
    }
    local.seconds[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t i = 0; i < ctx.size(); ++i) {
      out[i].parts.push_back({s.name, vals[i]});
      out[i].used.push_back(vals[i]);
      out[i].total += s.weight * vals[i];
    }
  }
  if (normalize) {
    std::vector<RewardBreakdown*> all;
    for (auto& b : out) all.push_back(&b);
    normalize_over_batch(specs, all);
  }
  if (stats) stats->add(local);
  return out;
}

RewardBreakdown score_reward(const std::vector<RewardSpec>& specs, const std::string& completion,
                             const SampleInfo& info) {
  return score_rewards(specs, {completion}, {info})[0];
}

}  // namespace r1
