// GRPO's training half: the rollout batch packed into mini-batches (PackedSeq rows, prompts shared per group),
// the reference's log-probs, and μ passes of loss, backward and optimizer update.
#include "core/check.h"
#include "train/grpo_step.h"

#include <algorithm>

namespace r1::grpo {

namespace {

MiniBatch pack_one(const std::vector<Rollout>& batch, int s0, int s1, bool share_prompt) {
  MiniBatch mb;
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

std::vector<MiniBatch> pack_minibatches(const std::vector<Rollout>& batch, int mini_batches, bool share_prompt,
                                        Model* ref, float temp) {
  const int nseq = (int)batch.size();
  const int mb_size = (nseq + mini_batches - 1) / mini_batches;
  std::vector<MiniBatch> mbs;
  for (int s0 = 0; s0 < nseq; s0 += mb_size) {
    MiniBatch mb = pack_one(batch, s0, std::min(nseq, s0 + mb_size), share_prompt);
    if (ref) {
      ref->forward(mb.rows.ids.data(), mb.rows.targets.data(), mb.rows.N, mb.rows.seqs, temp, false);
      mb.ref_lp.assign(ref->act().lp, ref->act().lp + mb.rows.N);
    }
    mbs.push_back(std::move(mb));
  }
  return mbs;
}

UpdateTotals grpo_update(const GrpoConfig& loss, int mu, Model& policy, Optimizer& opt, std::vector<MiniBatch>& mbs,
                         bool have_ref, float temp) {
  UpdateTotals u;
  for (int it = 0; it < mu; it++)
    for (auto& mb : mbs) {
      const size_t N = (size_t)mb.rows.N;
      policy.zero_grad();
      policy.forward(mb.rows.ids.data(), mb.rows.targets.data(), mb.rows.N, mb.rows.seqs, temp, true);
      std::vector<float> dlp(N), dent(N);
      GrpoLossResult res = grpo_loss(loss, policy.act().lp, mb.old_lp.data(), have_ref ? mb.ref_lp.data() : nullptr,
                                     policy.act().ent, mb.spans, (int)N, dlp.data(), dent.data());
      policy.backward(dlp.data(), loss.entropy_coef != 0 ? dent.data() : nullptr);
      UpdateStats st = optimizer_update(opt, policy, 1, opt.steps());
      u.lr = st.lr;
      u.loss += res.loss;
      u.grad_norm += st.grad_norm;
      u.entropy += res.entropy_mean;
      u.kl += res.kl_mean;
      u.clip_low += res.clip_frac_low;
      u.clip_high += res.clip_frac_high;
      u.ratio_max = std::max(u.ratio_max, res.ratio_max);
      u.updates++;
    }
  return u;
}

}  // namespace r1::grpo
