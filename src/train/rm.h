// `r1 rm`: reward-model training on preference pairs (InstructGPT's Bradley-Terry loss, TRL's RewardTrainer).
//
// The model is a causal LM folder, made a reward model here (model/transformer.h reward_model_from: the body
// copied, a fresh score head score.weight [1, C] ~ N(0, 0.02) from `seed`), or a reward-model folder
// (*ForSequenceClassification) that training continues. Data: preference pairs (train/rm_data.h: TRL's standard,
// conversational and implicit-prompt rows), read as the reward model reads them when it scores
// (scoring/rm_input.h). A step takes `batch` pairs, each packed as the prompt plus two continuations (chosen,
// rejected), the scores rc, rr at the continuations' last rows, and the loss (train/rm_loss.h)
//     Σ_p [ −log σ(rc − rr − margin_p) + center_rewards_coefficient · (rc + rr)² ] / batch
// through backward_score and the optimizer (train/optim.h). The step's pairs are S fixed shards summed in one tree
// (train/shards.h), so 1, 2, 4 ... ranks give the same bits.
//
// Pairs are shuffled per epoch with Rng(seed, epoch); an epoch is ceil(pairs / batch) steps (the last one smaller).
// The held-out pairs (eval_data, or eval_fraction of data drawn by a seeded shuffle) are scored (on rank 0, a
// shard's worth of pairs per forward) at step 0, every eval_every steps and at the end: eval_accuracy (fraction with rc > rr), eval_loss, eval_margin_mean in
// metrics.jsonl and <out>/eval.json (accuracy, loss, mean gap, the gap rc − rr of every held-out pair, accuracy per
// row "kind"). `r1 plot` (and a pipeline, for its stages) draws the curves and the histogram of the gaps.
// Checkpoints (RUN/checkpoint: the reward model, optimizer, step) resume exactly. Output: <out>/model, a Hugging
// Face *ForSequenceClassification folder with score.weight and the tokenizer.
#pragma once
#include "core/options.h"
#include "train/optim.h"

#include <string>

namespace r1 {

struct RmRecipe {
  std::string out = "runs/rm";
  std::string model;          // a causal LM (becomes a reward model) or a reward model (continued); required
  std::string tokenizer;      // default: the model folder
  std::string data;           // training JSONL of preference pairs, required
  std::string eval_data;      // held-out JSONL; empty: eval_fraction of `data`
  double eval_fraction = 0.05;
  long max_length = 1024;     // prompt + longer response, in tokens (capped at the model's max_position_embeddings);
                              // longer pairs are dropped (counted, one warning)
  int batch = 16;             // pairs per optimizer step
  int shards = 0;             // S fixed shards of the step's pairs (train/shards.h; 0: auto)
  int epochs = 1;
  long steps = 0;             // 0: epochs decide
  long seed = 1;              // score head init, shuffle and split
  double center_rewards_coefficient = 0;  // TRL's name; 0.01 in InstructGPT / TRL when on
  bool margin = false;        // read each row's "margin"
  long eval_every = 50, ckpt_every = 50, log_every = 1;
  long stop_after = 0;
  bool resume = true;
  std::string save_dtype = "f32";
  OptimConfig optim;
  int lora_r = 0;             // lora.r: not supported (declared so that a LoRA recipe gets a clear error)
  void declare(OptionSet& o);
};

// Checks the recipe without reading anything (the pipeline checks every stage first).
void check_rm(const RmRecipe& r);

struct RmSummary {
  long steps = 0;
  float first_loss = 0, last_loss = 0;
  double first_eval_accuracy = -1, last_eval_accuracy = -1;
  double first_eval_loss = -1, last_eval_loss = -1;
};
RmSummary run_rm(const RmRecipe& r);

}  // namespace r1
