// GRPO's sampling half: prompts drawn in a seeded order, G completions each from the rollout engine, rewards,
// dynamic sampling (DAPO) and group-normalised advantages.
#include "core/check.h"
#include "core/dist.h"
#include "core/rng.h"
#include "rewards/format.h"
#include "train/grpo_step.h"

#include <algorithm>
#include <chrono>
#include <numeric>

namespace r1::grpo {

using clk = std::chrono::steady_clock;

size_t Cursor::at(long c) {
  long epoch = c / (long)n_;
  if (epoch != cached_epoch_) {
    perm_.resize(n_);
    std::iota(perm_.begin(), perm_.end(), 0);
    Rng r(splitmix64(seed_ * 1000003ull + (uint64_t)epoch));
    for (size_t i = n_ - 1; i > 0; i--) std::swap(perm_[i], perm_[r.below(i + 1)]);
    cached_epoch_ = epoch;
  }
  return perm_[c % (long)n_];
}

namespace {

// Samples the groups drawn at cursor positions `at` and scores them. normalize: standardise the normalize: batch
// rewards over these groups (dynamic sampling's rounds); otherwise normalize_step does it over the whole step.
std::vector<Rollout> sample_groups(const StepContext& s, Cursor& order, const std::vector<long>& at, Collected& c,
                                   bool normalize) {
  const int G = s.r.group_size;
  std::vector<GenRequest> reqs;
  for (long pos : at) {
    GenRequest q;
    q.prompt = s.policy.encode_question(s.train[order.at(pos)].prompt);
    q.n = G;
    q.prompt_index = (int)pos;
    reqs.push_back(q);
  }
  auto t0 = clk::now();
  Engine eng(s.policy.model());
  auto samples = eng.generate(reqs, s.gen);
  c.gen_s += std::chrono::duration<double>(clk::now() - t0).count();
  c.kv_cache_bytes = std::max(c.kv_cache_bytes, eng.stats().kv_cache_bytes);
  t0 = clk::now();
  std::vector<Rollout> fresh;
  std::vector<std::string> texts;
  std::vector<const Problem*> probs;
  std::vector<int64_t> lens;
  Task::BatchExtras extras;
  extras.stats = &c.reward_stats;
  extras.normalize = normalize;
  for (auto& smp : samples) {
    Rollout ro;
    ro.problem = &s.train[order.at(reqs[smp.request].prompt_index)];
    ro.prompt_index = reqs[smp.request].prompt_index;
    ro.prompt = reqs[smp.request].prompt;
    ro.text = s.policy.completion_text(smp);
    ro.sample = std::move(smp);
    c.gen_tokens += ro.sample.ids.size();
    texts.push_back(ro.text);
    probs.push_back(ro.problem);
    lens.push_back((int64_t)ro.sample.ids.size());
    extras.prompts.push_back(s.policy.prompt_text(ro.problem->prompt));
    extras.groups.push_back(ro.prompt_index);
    fresh.push_back(std::move(ro));
  }
  auto scores = s.task.score_batch(texts, probs, s.specs, lens, s.r.think_prefix, &extras);
  for (size_t i = 0; i < fresh.size(); i++) {
    fresh[i].reward = scores[i];
    fresh[i].accuracy = s.task.accuracy(fresh[i].text, *fresh[i].problem);
    fresh[i].format = format_reward(fresh[i].text, s.r.think_prefix);
  }
  c.score_s += std::chrono::duration<double>(clk::now() - t0).count();
  return fresh;
}

// The normalize: batch rewards standardised over the step's whole batch: every rank's raw parts, in (prompt,
// sample) order, so the values do not depend on how many ranks sampled them.
void normalize_step(const StepContext& s, Collected& c) {
  bool any = false;
  for (const RewardSpec& sp : s.specs) any |= batch_normalized(sp);
  if (!any) return;
  nlohmann::json mine = nlohmann::json::array();
  for (const auto& ro : c.batch) {
    nlohmann::json parts = nlohmann::json::array();
    for (auto& p : ro.reward.parts) parts.push_back(p.second);
    mine.push_back({ro.prompt_index, ro.sample.sample_index, parts});
  }
  struct Item {
    long pi;
    int si;
    RewardBreakdown b;
  };
  std::vector<Item> items;
  for (const auto& text : dist::allgather_strings(mine.dump())) {
    for (const auto& e : nlohmann::json::parse(text)) {
      Item it{e[0].get<long>(), e[1].get<int>(), {}};
      for (size_t k = 0; k < s.specs.size(); k++) {
        it.b.parts.push_back({s.specs[k].name, e[2][k].get<double>()});
        it.b.used.push_back(e[2][k].get<double>());
      }
      items.push_back(std::move(it));
    }
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.pi != b.pi ? a.pi < b.pi : a.si < b.si; });
  std::vector<RewardBreakdown*> all;
  for (auto& it : items) all.push_back(&it.b);
  normalize_over_batch(s.specs, all);
  for (auto& ro : c.batch) {
    auto it = std::lower_bound(items.begin(), items.end(), std::make_pair(ro.prompt_index, ro.sample.sample_index),
                               [](const Item& a, const std::pair<long, int>& k) {
                                 return a.pi != k.first ? a.pi < k.first : a.si < k.second;
                               });
    R1_ASSERT(it != items.end() && it->pi == ro.prompt_index && it->si == ro.sample.sample_index);
    ro.reward.used = it->b.used;
    ro.reward.total = it->b.total;
  }
}

}  // namespace

Collected collect_rollouts(const StepContext& s, Cursor& order, long& cursor) {
  const GrpoRecipe& r = s.r;
  const int G = r.group_size;
  Collected c;
  if (!r.dynamic_sampling) {  // this rank's groups of the step; every rank advances the cursor past all of them
    std::vector<long> at;
    for (int j = 0; j < r.prompts_per_step; j++)
      if (s.tree.owns(s.layout.shard_of(j))) at.push_back(cursor + j);
    c.batch = sample_groups(s, order, at, c, false);
    normalize_step(s, c);
    for (size_t i = 0; i < c.batch.size(); i++) c.batch[i].group = (int)(c.batch[i].prompt_index - cursor);
    cursor += r.prompts_per_step;
    for (size_t g0 = 0; g0 < c.batch.size(); g0 += G) {
      c.groups_drawn++;
      bool all_equal = true;
      for (int i = 1; i < G; i++) all_equal &= c.batch[g0 + i].reward.total == c.batch[g0].reward.total;
      c.groups_zero_std += all_equal;
    }
    return c;
  }
  // dynamic sampling (one rank: check_grpo): refill dropped groups from new prompts
  for (int round = 0; round <= r.max_refill_rounds; round++) {
    int want = r.prompts_per_step - (int)(c.batch.size() / G);
    if (want <= 0) break;
    std::vector<long> at;
    for (int i = 0; i < want; i++) at.push_back(cursor++);
    std::vector<Rollout> fresh = sample_groups(s, order, at, c, true);
    // groups: G consecutive samples of one request
    for (size_t g0 = 0; g0 < fresh.size(); g0 += G) {
      c.groups_drawn++;
      bool all_equal = true;
      for (int i = 1; i < G; i++) all_equal &= fresh[g0 + i].reward.total == fresh[g0].reward.total;
      c.groups_zero_std += all_equal;
      if (all_equal && round < r.max_refill_rounds) continue;
      for (int i = 0; i < G; i++) c.batch.push_back(std::move(fresh[g0 + i]));
    }
  }
  for (size_t i = 0; i < c.batch.size(); i++) c.batch[i].group = (int)(i / G);  // the final batch's order
  return c;
}

void assign_advantages(std::vector<Rollout>& batch, int G, const GrpoConfig& loss) {
  std::vector<float> rw;
  for (auto& ro : batch) rw.push_back((float)ro.reward.total);
  std::vector<float> adv = group_advantages(rw, G, loss.std_norm, loss.adv_eps);
  for (size_t i = 0; i < batch.size(); i++) batch[i].advantage = adv[i];
}

void greedy_eval(Policy& policy, const Task& task, const std::vector<Problem>& problems, const GenConfig& gen,
                 nlohmann::json& rec) {
  if (problems.empty()) return;
  std::vector<GenRequest> reqs;
  for (size_t i = 0; i < problems.size(); i++) reqs.push_back({policy.encode_question(problems[i].prompt), 1, (int)i, 0});
  GenConfig g = gen;
  g.sampling.greedy = true;
  g.sampling.temperature = 0;
  Engine eng(policy.model());
  auto out = eng.generate(reqs, g);
  double acc = 0, fmt = 0, len = 0;
  for (auto& s : out) {
    std::string t = policy.completion_text(s);
    acc += task.accuracy(t, problems[s.request]);
    fmt += format_reward(t, policy.think_prefix());
    len += s.ids.size();
  }
  rec["eval_accuracy"] = acc / out.size();
  rec["eval_format_rate"] = fmt / out.size();
  rec["eval_length_mean"] = len / out.size();
}

}  // namespace r1::grpo
