// The parts of one GRPO step, in the order run_grpo (train/grpo.cpp) calls them:
//   collect   draw prompts, sample G completions each with the rollout engine (π_old), score them   grpo_collect.cpp
//   advantage group-normalised advantages (train/grpo_loss.h)                                       grpo_collect.cpp
//   pack      each shard in the PackedSeq layout, with the reference's log-probs                    grpo_pack.cpp
//   update    μ passes; per mini-batch, each shard's forward, GRPO loss and backward, the shard
//             gradients summed in the fixed tree (train/shards.h), then optimizer_update            grpo_pack.cpp
//   record    the step's metrics.jsonl line, completions.jsonl lines and warnings                    grpo_record.cpp
// The step's P groups: mini-batch m holds groups [m·P/M, (m+1)·P/M), split into S shards of P/(M·S) whole
// groups each. A rank samples, scores and trains only the groups of its shards (all of them when alone); the
// shard gradients, the loss normalisers and the records are exchanged so that every rank count gives the same bits.
// Internal to train/.
#pragma once
#include "core/warn.h"
#include "data/tasks.h"
#include "model/packed_batch.h"
#include "rollout/policy.h"
#include "train/grpo.h"
#include "train/grpo_loss.h"
#include "train/optim.h"
#include "train/shards.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace r1::grpo {

// The order problems are drawn in: a fresh shuffle per epoch, a pure function of (seed, epoch), so the data
// cursor alone restores it.
class Cursor {
 public:
  Cursor(size_t n, uint64_t seed) : n_(n), seed_(seed) {}
  size_t at(long c);  // problem index drawn at cursor position c

 private:
  size_t n_;
  uint64_t seed_;
  long cached_epoch_ = -1;
  std::vector<size_t> perm_;
};

// Where each of the step's groups goes.
struct Layout {
  int P, M, S;  // groups per step, mini-batches, shards per mini-batch
  int per_mb() const { return P / M; }
  int per_shard() const { return P / M / S; }
  int minibatch_of(int group) const { return group / per_mb(); }
  int shard_of(int group) const { return (group % per_mb()) / per_shard(); }
};

struct Rollout {
  int group = 0;  // index among the step's groups
  const Problem* problem;
  long prompt_index;
  std::vector<int> prompt;
  GenSample sample;
  std::string text;
  RewardBreakdown reward;
  double accuracy = 0, format = 0;
  float advantage = 0;
};

// What the sampling part of a step produced.
struct Collected {
  std::vector<Rollout> batch;  // groups of G consecutive rollouts
  int groups_drawn = 0, groups_zero_std = 0;
  double gen_s = 0, score_s = 0;
  RewardStats reward_stats;  // per-reward seconds (in spec order) and counts (judge_unparsed ...)
  long gen_tokens = 0;
  size_t kv_cache_bytes = 0;  // the largest KV cache a generate() call of this step allocated
};

// The step's shared inputs.
struct StepContext {
  const GrpoRecipe& r;
  Policy& policy;
  const Task& task;
  const std::vector<Problem>& train;
  const std::vector<RewardSpec>& specs;
  const GenConfig& gen;
  const Layout& layout;
  const ShardTree& tree;  // which shards are this rank's
};

// Draws prompts_per_step problems from `order` starting at `cursor` (advanced past them on every rank); samples
// and scores G completions each for the groups of this rank's shards. With dynamic sampling (one rank), groups
// whose rewards are all equal are dropped and refilled.
Collected collect_rollouts(const StepContext& s, Cursor& order, long& cursor);
// Â per rollout, from the groups' rewards (train/grpo_loss.h group_advantages).
void assign_advantages(std::vector<Rollout>& batch, int G, const GrpoConfig& loss);

// One shard, packed: a completion's rows are its prompt's last token and its tokens but the last (targets: the
// completion); with share_prompt the rest of the prompt is one prefix sequence shared by consecutive rollouts of
// the same prompt (a group), else it leads each sequence.
struct ShardBatch {
  int minibatch = 0, shard = 0;
  PackedBatch rows;
  std::vector<float> old_lp, ref_lp;  // [N]
  std::vector<SeqSpan> spans;
};
// This rank's shards of every mini-batch, in (mini-batch, shard) order; ref (may be nullptr) fills ref_lp at
// temperature temp.
std::vector<ShardBatch> pack_shards(const std::vector<Rollout>& batch, const Layout& layout, bool share_prompt,
                                    Model* ref, float temp);

// Sums over the step's optimizer updates (averaged by record).
struct UpdateTotals {
  double loss = 0, grad_norm = 0, entropy = 0, kl = 0, clip_low = 0, clip_high = 0, ratio_max = 0;
  int updates = 0;
  float lr = 0;
  double comm_s = 0;  // exchanging shard gradients and records between ranks
};
// μ passes over the mini-batches; per mini-batch every shard's gradient, the tree sum over all ranks' shards,
// then one optimizer update (train/optim.h optimizer_update). The loss of a shard is normalised by its whole
// mini-batch (sequences, counted tokens, longest completion), so the shard gradients sum to the mini-batch's.
UpdateTotals grpo_update(const GrpoConfig& loss, int mu, const Layout& layout, Model& policy, Optimizer& opt,
                         std::vector<ShardBatch>& shards, ShardTree& tree, bool have_ref, float temp);

// Every rank's rollouts of the step, in group order, on rank 0 (the other ranks get an empty batch).
void gather_rollouts(Collected& c, const StepContext& s, Cursor& order);

// Greedy accuracy, format rate and length on held-out problems into rec (eval_accuracy, eval_format_rate,
// eval_length_mean).
void greedy_eval(Policy& policy, const Task& task, const std::vector<Problem>& problems, const GenConfig& gen,
                 nlohmann::json& rec);

// The step's metrics.jsonl object (timings added by the caller).
nlohmann::json step_metrics(long step, const Collected& c, const UpdateTotals& u, bool have_ref,
                            const std::string& think_prefix, const std::vector<RewardSpec>& specs);
// The step's completions.jsonl lines (no trailing newline).
std::string completion_lines(long step, const std::vector<Rollout>& batch);

// The failure modes users of other stacks report, each printed once and then counted (core/warn.h).
class StepWarnings {
 public:
  explicit StepWarnings(const GrpoRecipe& r);
  void check(long step, const nlohmann::json& rec, bool have_ref);
  void flush();
  long hacking_steps() const { return hacking_.total(); }  // steps on which the reward-hacking watch fired

 private:
  const GrpoRecipe& r_;
  RepeatedWarning entropy_, kl_, ratio_, zero_std_, hacking_;
  std::vector<std::pair<double, double>> window_;  // (model reward mean, accuracy) of the last steps
};

}  // namespace r1::grpo
