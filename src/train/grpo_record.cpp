// What a GRPO step leaves behind: its metrics.jsonl object, its completions.jsonl lines and the warnings.
#include "core/dist.h"
#include "rewards/format.h"
#include "train/grpo_step.h"

#include <cmath>
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

namespace r1::grpo {

using json = nlohmann::json;

namespace {

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

}  // namespace

namespace {

// What rank 0 needs of another rank's rollout (its text is decoded again from the ids: the bytes need not be
// valid UTF-8, which JSON could not carry).
json rollout_to_json(const Rollout& ro) {
  json parts = json::array();
  for (auto& [name, v] : ro.reward.parts) parts.push_back({name, v});
  return {{"g", ro.group}, {"pi", ro.prompt_index}, {"si", ro.sample.sample_index}, {"ids", ro.sample.ids},
          {"fr", ro.sample.finish_reason}, {"tr", ro.sample.truncated}, {"r", ro.reward.total},
          {"parts", parts}, {"acc", ro.accuracy}, {"fmt", ro.format}, {"adv", ro.advantage}};
}

Rollout rollout_from_json(const json& j, const StepContext& s, Cursor& order) {
  Rollout ro;
  ro.group = j["g"].get<int>();
  ro.prompt_index = j["pi"].get<long>();
  ro.problem = &s.train[order.at(ro.prompt_index)];
  ro.sample.sample_index = j["si"].get<int>();
  ro.sample.ids = j["ids"].get<std::vector<int>>();
  ro.sample.finish_reason = j["fr"].get<std::string>();
  ro.sample.truncated = j["tr"].get<bool>();
  ro.text = s.policy.completion_text(ro.sample);
  ro.reward.total = j["r"].get<double>();
  for (const auto& p : j["parts"]) ro.reward.parts.push_back({p[0].get<std::string>(), p[1].get<double>()});
  ro.accuracy = j["acc"].get<double>();
  ro.format = j["fmt"].get<double>();
  ro.advantage = j["adv"].get<float>();
  return ro;
}

}  // namespace

void gather_rollouts(Collected& c, const StepContext& s, Cursor& order) {
  if (dist::size() == 1) return;
  json mine = {{"counts", {c.groups_drawn, c.groups_zero_std, c.gen_tokens}}, {"times", {c.gen_s, c.score_s}},
               {"reward_s", c.reward_stats.seconds}, {"reward_counts", c.reward_stats.counts},
               {"rollouts", json::array()}};
  for (const auto& ro : c.batch) mine["rollouts"].push_back(rollout_to_json(ro));
  auto all = dist::allgather_strings(mine.dump(-1, ' ', false, json::error_handler_t::replace));
  Collected g;
  for (const auto& text : all) {
    json j = json::parse(text);
    g.groups_drawn += j["counts"][0].get<int>();
    g.groups_zero_std += j["counts"][1].get<int>();
    g.gen_tokens += j["counts"][2].get<long>();
    g.gen_s = std::max(g.gen_s, j["times"][0].get<double>());  // the step waits for the slowest rank
    g.score_s = std::max(g.score_s, j["times"][1].get<double>());
    auto secs = j["reward_s"].get<std::vector<double>>();
    if (g.reward_stats.seconds.size() < secs.size()) g.reward_stats.seconds.resize(secs.size(), 0.0);
    for (size_t k = 0; k < secs.size(); k++) g.reward_stats.seconds[k] = std::max(g.reward_stats.seconds[k], secs[k]);
    for (auto& [k, v] : j["reward_counts"].items()) g.reward_stats.counts[k] += v.get<double>();
    if (dist::root())
      for (const auto& r : j["rollouts"]) g.batch.push_back(rollout_from_json(r, s, order));
  }
  std::stable_sort(g.batch.begin(), g.batch.end(), [](const Rollout& a, const Rollout& b) { return a.group < b.group; });
  c = std::move(g);
}

json step_metrics(long step, const Collected& c, const UpdateTotals& u, bool have_ref, const std::string& think_prefix,
                  const std::vector<RewardSpec>& specs) {
  const auto& batch = c.batch;
  std::vector<double> totals, accs, fmts, lens, cots;
  std::map<std::string, std::vector<double>> parts;
  long truncated = 0, maxlen = 0;
  for (auto& ro : batch) {
    totals.push_back(ro.reward.total);
    accs.push_back(ro.accuracy);
    fmts.push_back(ro.format);
    lens.push_back((double)ro.sample.ids.size());
    cots.push_back((double)cot_chars(ro.text, think_prefix));
    maxlen = std::max<long>(maxlen, (long)ro.sample.ids.size());
    truncated += ro.sample.truncated;
    for (auto& [name, v] : ro.reward.parts) parts[name].push_back(v);
  }
  const int n = std::max(1, u.updates);
  json rec = {{"step", step},
              {"reward_mean", mean_of(totals)},
              {"reward_std", std_of(totals)},
              {"accuracy", mean_of(accs)},
              {"format_rate", mean_of(fmts)},
              {"response_length_mean", mean_of(lens)},
              {"response_length_max", maxlen},
              {"cot_chars_mean", mean_of(cots)},
              {"truncated_frac", batch.empty() ? 0.0 : (double)truncated / batch.size()},
              {"entropy", u.entropy / n},
              {"kl", have_ref ? json(u.kl / n) : json(nullptr)},
              {"clip_frac_low", u.clip_low / n},
              {"clip_frac_high", u.clip_high / n},
              {"ratio_max", u.ratio_max},
              {"zero_std_frac", c.groups_drawn ? (double)c.groups_zero_std / c.groups_drawn : 0.0},
              {"loss", u.loss / n},
              {"grad_norm", u.grad_norm / n},
              {"lr", u.lr},
              {"tokens_per_s", c.gen_tokens / std::max(1e-9, c.gen_s)},
              {"gen_s", c.gen_s},
              {"score_s", c.score_s}};
  for (auto& [name, v] : parts) {
    rec["reward/" + name + "/mean"] = mean_of(v);
    rec["reward/" + name + "/std"] = std_of(v);
  }
  // each reward's scoring time (the slowest rank's) and what the rewards counted (judge_unparsed ...)
  for (size_t k = 0; k < specs.size() && k < c.reward_stats.seconds.size(); k++)
    rec["reward_time_s/" + specs[k].name] = c.reward_stats.seconds[k];
  for (auto& [k, v] : c.reward_stats.counts) rec[k] = v;
  return rec;
}

std::string completion_lines(long step, const std::vector<Rollout>& batch) {
  std::string lines;
  for (auto& ro : batch) {
    json c = {{"step", step}, {"prompt_index", ro.prompt_index}, {"problem_id", ro.problem->id},
              {"sample_index", ro.sample.sample_index}, {"gold", ro.problem->gold}, {"completion", ro.text},
              {"length", ro.sample.ids.size()}, {"finish_reason", ro.sample.finish_reason},
              {"reward", ro.reward.total}, {"advantage", ro.advantage}};
    for (auto& [name, v] : ro.reward.parts) c["rewards"][name] = v;
    lines += c.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  if (!lines.empty()) lines.pop_back();
  return lines;
}

static std::string num(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

StepWarnings::StepWarnings(const GrpoRecipe& r)
    : r_(r),
      entropy_("[grpo]", "mean entropy below " + num(r.warn_entropy_below)),
      kl_("[grpo]", "KL above " + num(r.warn_kl_above)),
      ratio_("[grpo]", "max ratio above " + num(r.warn_ratio_above)),
      zero_std_("[grpo]", "zero reward std in more than " + num(100 * r.warn_zero_std_above) + "% of groups"),
      hacking_("[grpo]", "model reward rising while accuracy falls over " + std::to_string(r.warn_hacking_window) +
                             " steps") {}

namespace {

// The mean of a model reward in a step's record (reward_model first, then judge), if the recipe has one.
std::optional<double> model_reward_mean(const json& rec) {
  for (const char* k : {"reward/reward_model/mean", "reward/judge/mean"})
    if (rec.contains(k)) return rec[k].get<double>();
  return std::nullopt;
}

}  // namespace

void StepWarnings::check(long step, const json& rec, bool have_ref) {
  char b[240];
  const double ent = rec["entropy"].get<double>();
  std::snprintf(b, sizeof b, "mean entropy %.4f is below %.4f (entropy collapse?)", ent, r_.warn_entropy_below);
  entropy_.step(step, ent < r_.warn_entropy_below, b);
  if (have_ref) {
    const double kl = rec["kl"].get<double>();
    std::snprintf(b, sizeof b, "KL %.4f exceeds %.4f", kl, r_.warn_kl_above);
    kl_.step(step, kl > r_.warn_kl_above, b);
  }
  const double rmax = rec["ratio_max"].get<double>();
  std::snprintf(b, sizeof b, "max ratio %.3f exceeds %.3f (ratio spike)", rmax, r_.warn_ratio_above);
  ratio_.step(step, rmax > r_.warn_ratio_above, b);
  const double z = rec["zero_std_frac"].get<double>();
  std::snprintf(b, sizeof b, "%.0f%% of groups have zero reward std (no learning signal; consider dynamic_sampling=true)",
                100 * z);
  zero_std_.step(step, z > r_.warn_zero_std_above, b);
  // reward hacking: the model reward's mean rises from the first half of the window to the second while the
  // rule-based accuracy falls by warn_hacking_accuracy_drop or more
  auto rm = model_reward_mean(rec);
  const long W = r_.warn_hacking_window;
  if (!rm || W < 2) return;
  window_.push_back({*rm, rec["accuracy"].get<double>()});
  if ((long)window_.size() > W) window_.erase(window_.begin());
  if ((long)window_.size() < W) return;
  double rm0 = 0, rm1 = 0, acc0 = 0, acc1 = 0;
  const long h = W / 2;
  for (long i = 0; i < h; i++) rm0 += window_[i].first / h, acc0 += window_[i].second / h;
  for (long i = W - h; i < W; i++) rm1 += window_[i].first / h, acc1 += window_[i].second / h;
  std::snprintf(b, sizeof b, "model reward %.4f -> %.4f while accuracy %.3f -> %.3f over the last %ld steps "
                "(reward hacking? see reward/*/mean beside accuracy in metrics.jsonl)", rm0, rm1, acc0, acc1, W);
  hacking_.step(step, rm1 > rm0 && acc0 - acc1 >= r_.warn_hacking_accuracy_drop, b);
}

void StepWarnings::flush() {
  for (RepeatedWarning* w : {&entropy_, &kl_, &ratio_, &zero_std_, &hacking_}) w->flush();
}

}  // namespace r1::grpo
