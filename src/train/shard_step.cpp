#include "train/shard_step.h"

#include "core/check.h"
#include "core/dist.h"

#include <chrono>
#include <vector>

namespace r1 {

ShardStepResult sharded_cross_entropy(Model& m, ShardTree& tree, const int* ids, const int* targets, int Q, int T,
                                      int micro_B) {
  const int S = tree.shards();
  R1_CHECK(Q % micro_B == 0, "sharded step: ", Q, " sequences are not whole micro-batches of ", micro_B);
  R1_CHECK(Q % S == 0, "shards = ", S, " must divide the step's ", Q, " sequences (batch x grad_accum)");
  const int accum = Q / micro_B, per = Q / S;
  std::vector<long> tok((size_t)accum, 0);  // scored tokens of each micro-batch
  for (int q = 0; q < Q; q++)
    for (int t = 0; t < T; t++) tok[(size_t)(q / micro_B)] += targets[(size_t)q * T + t] >= 0;
  ShardStepResult res;
  for (long n : tok) res.tokens += n;
  std::vector<double> losses;  // this rank's shards, in order
  std::vector<float> dlp((size_t)per * T);
  for (int s = tree.first(); s < tree.last(); s++) {
    const size_t off = (size_t)s * per * T;
    m.zero_grad();
    m.forward(ids + off, targets + off, per, T);
    const float* lp = m.act().lp;
    double loss = 0;
    for (size_t i = 0; i < dlp.size(); i++) {
      const long n = tok[(size_t)((s * per + (int)(i / T)) / micro_B)];
      const bool scored = targets[off + i] >= 0 && n > 0;
      const double w = scored ? 1.0 / ((double)accum * n) : 0.0;
      dlp[i] = (float)-w;
      loss -= w * lp[i];
    }
    m.backward(dlp.data());
    tree.add(m.trainable().grads);
    losses.push_back(loss);
  }
  const double c0 = tree.comm_s();
  tree.reduce(m.trainable().grads);
  res.comm_s = tree.comm_s() - c0;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<double> all(losses.size() * (size_t)dist::size());
  dist::allgather(losses.data(), sizeof(double) * losses.size(), all.data());
  res.comm_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (double l : all) res.loss += l;  // shard order: rank r holds shards [r·S/N, (r+1)·S/N)
  return res;
}

}  // namespace r1
