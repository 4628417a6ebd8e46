// One optimizer step of cross-entropy training (pretraining, SFT) over the step's Q sequences of T rows, in S
// fixed shards (train/shards.h): the loss is the mean over the step's micro-batches of each micro-batch's mean
// token loss (what gradient accumulation computes), each shard's gradient is taken with every token weighted by
// its micro-batch, and the shard gradients are summed in the fixed tree across ranks. Every rank fills the whole
// step's data (cheap, and keeps the data order one stream) and computes only its shards.
#pragma once
#include "model/transformer.h"
#include "train/shards.h"

namespace r1 {

struct ShardStepResult {
  double loss = 0;    // the step's loss (the same on every rank)
  long tokens = 0;    // scored tokens of the step
  double comm_s = 0;  // exchanging partial sums
};

// ids, targets: [Q, T] (targets < 0 are not scored); micro_B: sequences per micro-batch (Q a multiple of it). Leaves
// the step's gradient (summed over every rank's shards) in m.grads(); call optimizer_update(opt, m, 1, step).
ShardStepResult sharded_cross_entropy(Model& m, ShardTree& tree, const int* ids, const int* targets, int Q, int T,
                                      int micro_B);

}  // namespace r1
