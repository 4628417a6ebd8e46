// GRPO's training half: the rollout batch packed into mini-batches (PackedSeq rows, prompts shared per group),
// the reference's log-probs, and μ passes of loss, backward and optimizer update.
#include "core/check.h"
#include "core/dist.h"
#include "train/grpo_step.h"

#include <algorithm>
#include <chrono>

namespace r1::grpo {

namespace {

ShardBatch pack_one(const std::vector<Rollout>& batch, int s0, int s1, bool share_prompt) {
  ShardBatch mb;
  PackedBatch& rows = mb.rows;
  int shared = -1;  // index in rows.seqs of the current prompt's prefix
  for (int i = s0; i < s1; i++) {
    const Rollout& ro = batch[i];
    const int P = (int)ro.prompt.size(), Cn = (int)ro.sample.ids.size();
    R1_CHECK(P >= 1 && Cn >= 1, "grpo: a rollout needs a prompt and at least one completion token");
    std::vector<int> head(ro.prompt.begin(), ro.prompt.end() - 1);  // prompt rows before the last
    std::vector<int> ids{ro.prompt.back()}, tg(ro.sample.ids.begin(), ro.sample.ids.end());
    ids.insert(ids.end(), ro.sample.ids.begin(), ro.sample.ids.end() - 1);
    int prefix = -1;
    if (!head.empty() && share_prompt) {
      bool same = shared >= 0 && i > s0 && batch[i - 1].prompt == ro.prompt;
      if (!same) {
        rows.add(head, std::vector<int>(head.size(), -1));
        shared = rows.last();
      }
      prefix = shared;
    } else if (!head.empty()) {  // unshared: the prompt leads the sequence's own rows
      ids.insert(ids.begin(), head.begin(), head.end());
      tg.insert(tg.begin(), head.size(), -1);
    }
    const int off_scored = rows.add(ids, tg, prefix) + (int)(ids.size() - Cn);
    mb.old_lp.resize(rows.N, 0.f);
    for (int j = 0; j < Cn; j++) mb.old_lp[off_scored + j] = ro.sample.logprobs[j];
    SeqSpan sp;
    sp.offset = off_scored;
    sp.length = Cn;
    sp.advantage = ro.advantage;
    sp.truncated = ro.sample.truncated;
    mb.spans.push_back(sp);
  }
  return mb;
}

}  // namespace

std::vector<ShardBatch> pack_shards(const std::vector<Rollout>& batch, const Layout& layout, bool share_prompt,
                                    Model* ref, float temp) {
  std::vector<ShardBatch> out;
  for (size_t i0 = 0; i0 < batch.size();) {  // rollouts come group by group, shards in order
    const int mb = layout.minibatch_of(batch[i0].group), sh = layout.shard_of(batch[i0].group);
    size_t i1 = i0;
    while (i1 < batch.size() && layout.minibatch_of(batch[i1].group) == mb && layout.shard_of(batch[i1].group) == sh) i1++;
    ShardBatch b = pack_one(batch, (int)i0, (int)i1, share_prompt);
    b.minibatch = mb;
    b.shard = sh;
    if (ref) {  // with LoRA `ref` is the policy itself: its base, with the adapters switched off for this pass
      const bool base_ref = ref->has_lora();
      if (base_ref) ref->set_reference_mode(true);
      ref->forward(b.rows.ids.data(), b.rows.targets.data(), b.rows.N, b.rows.seqs, temp, false);
      if (base_ref) ref->set_reference_mode(false);
      b.ref_lp.assign(ref->act().lp, ref->act().lp + b.rows.N);
    }
    out.push_back(std::move(b));
    i0 = i1;
  }
  return out;
}

namespace {

// A mini-batch's loss normalisers over all ranks' shards: sequences, counted tokens, longest completion.
struct Norms {
  int seqs = 0;
  long tokens = 0;
  int longest = 0;
};

std::vector<Norms> minibatch_norms(const GrpoConfig& loss, const Layout& layout, const std::vector<ShardBatch>& shards,
                                   double& comm_s) {
  std::vector<Norms> local((size_t)layout.M);
  for (const auto& b : shards)
    for (const auto& sp : b.spans) {
      Norms& n = local[b.minibatch];
      n.seqs++;
      n.longest = std::max(n.longest, sp.length);
      if (sp.length > 0 && !(loss.mask_truncated && sp.truncated)) n.tokens += sp.length;
    }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Norms> all(local.size() * (size_t)dist::size());
  dist::allgather(local.data(), sizeof(Norms) * local.size(), all.data());
  comm_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<Norms> total(local.size());
  for (int r = 0; r < dist::size(); r++)
    for (size_t m = 0; m < local.size(); m++) {
      const Norms& x = all[(size_t)r * local.size() + m];
      total[m].seqs += x.seqs;
      total[m].tokens += x.tokens;
      total[m].longest = std::max(total[m].longest, x.longest);
    }
  return total;
}

// Every shard's loss result of the step, from all ranks, combined in (pass, mini-batch, shard) order.
void record_results(const std::vector<GrpoLossResult>& mine, UpdateTotals& u) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<GrpoLossResult> all(mine.size() * (size_t)dist::size());
  dist::allgather(mine.data(), sizeof(GrpoLossResult) * mine.size(), all.data());
  u.comm_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // rank r holds shards [r·S/N, (r+1)·S/N) of every update, so update k's shards are spread over the ranks
  const size_t per_rank = mine.size(), updates = (size_t)u.updates, per_update = per_rank / std::max<size_t>(1, updates);
  for (size_t k = 0; k < updates; k++) {
    double loss = 0, ent = 0, kl = 0, lo = 0, hi = 0, rmax = 0;
    long tokens = 0;
    for (int r = 0; r < dist::size(); r++)
      for (size_t j = 0; j < per_update; j++) {
        const GrpoLossResult& x = all[(size_t)r * per_rank + k * per_update + j];
        loss += x.loss;
        ent += x.entropy_mean * x.tokens;
        kl += x.kl_mean * x.tokens;
        lo += x.clip_frac_low * x.tokens;
        hi += x.clip_frac_high * x.tokens;
        rmax = std::max(rmax, x.ratio_max);
        tokens += x.tokens;
      }
    const double t = std::max<long>(1, tokens);
    u.loss += loss;
    u.entropy += ent / t;
    u.kl += kl / t;
    u.clip_low += lo / t;
    u.clip_high += hi / t;
    u.ratio_max = std::max(u.ratio_max, rmax);
  }
}

}  // namespace

UpdateTotals grpo_update(const GrpoConfig& loss, int mu, const Layout& layout, Model& policy, Optimizer& opt,
                         std::vector<ShardBatch>& shards, ShardTree& tree, bool have_ref, float temp) {
  UpdateTotals u;
  const std::vector<Norms> norms = minibatch_norms(loss, layout, shards, u.comm_s);
  std::vector<GrpoLossResult> results;
  const double comm0 = tree.comm_s();
  for (int it = 0; it < mu; it++)
    for (int m = 0; m < layout.M; m++) {
      GrpoConfig c = loss;
      if (c.max_len == 0) c.max_len = norms[m].longest;  // Dr. GRPO: the longest completion of the mini-batch
      for (auto& b : shards) {
        if (b.minibatch != m) continue;
        const size_t N = (size_t)b.rows.N;
        policy.zero_grad();
        policy.forward(b.rows.ids.data(), b.rows.targets.data(), b.rows.N, b.rows.seqs, temp, true);
        std::vector<float> dlp(N), dent(N);
        results.push_back(grpo_loss(c, policy.act().lp, b.old_lp.data(), have_ref ? b.ref_lp.data() : nullptr,
                                    policy.act().ent, b.spans, (int)N, dlp.data(), dent.data(), norms[m].seqs,
                                    norms[m].tokens));
        policy.backward(dlp.data(), loss.entropy_coef != 0 ? dent.data() : nullptr);
        tree.add(policy.trainable().grads);
      }
      tree.reduce(policy.trainable().grads);
      UpdateStats st = optimizer_update(opt, policy, 1, opt.steps());
      u.lr = st.lr;
      u.grad_norm += st.grad_norm;
      u.updates++;
    }
  u.comm_s += tree.comm_s() - comm0;
  record_results(results, u);
  return u;
}

}  // namespace r1::grpo
