// The step's batch as S fixed shards (README "Running on a cluster"). A shard is a fixed set of whole groups
// (GRPO) or sequences (SFT, pretraining). Rank r of N computes shards [r·S/N, (r+1)·S/N), each shard's gradient
// on its own, and the gradients are summed in one fixed pairwise tree over the S shards:
//
//     ((g0 + g1) + (g2 + g3)) + ((g4 + g5) + (g6 + g7))          S = 8
//
// A rank sums its own shards' subtree (S/N is a power of two, so its block is one subtree), the ranks exchange
// those partial sums (an allgather of N gradients), and every rank sums the N partials in the tree's remaining
// levels, in rank order. The single process (N = 1) follows the same tree, so any N that divides S gives the
// same bits. S must be a power of two and N must divide it: one clear error otherwise.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace r1 {

class ShardTree {
 public:
  // n floats per gradient; S shards over dist::size() ranks. `who` prefixes errors ("grpo").
  ShardTree(int S, size_t n, const std::string& who);
  int shards() const { return S_; }
  int first() const { return first_; }  // this rank's shards are [first(), last())
  int last() const { return last_; }
  bool owns(int shard) const { return shard >= first_ && shard < last_; }
  // The next shard's gradient of this rank, in shard order.
  void add(const float* g);
  // Every rank's sum of all S shards, into out[n] (identical on every rank). Resets for the next step.
  void reduce(float* out);
  // Seconds spent exchanging partial sums since construction.
  double comm_s() const { return comm_s_; }
  // Bytes held by the partial sums (up to log2(S) + 1 gradient-sized buffers while a step runs).
  size_t bytes() const {
    size_t n = 0;
    for (const auto& p : stack_) n += p.second.capacity();
    for (const auto& v : spare_) n += v.capacity();
    return n * sizeof(float);
  }

 private:
  int S_, first_, last_;
  size_t n_;
  std::vector<std::pair<int, std::vector<float>>> stack_;  // (leaves summed, partial sum), a binary counter
  std::vector<std::vector<float>> spare_;
  double comm_s_ = 0;
};

// Checks that S is a power of two and the ranks divide it; the error names the recipe field.
void check_shards(int S, const std::string& who, const std::string& field = "shards");
// A recipe's shard count: `shards` when set, else (0, the default) the largest power of two up to 8 that divides
// `units` (the step's groups or sequences): fixed by the recipe, never by the number of ranks.
int effective_shards(int shards, long units);

}  // namespace r1
