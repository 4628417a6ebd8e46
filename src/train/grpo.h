// `r1 grpo`: R1-Zero's reinforcement learning. Per step: draw prompts, sample G completions each with the rollout
// engine (π_old), score them with the task's rule-based rewards, compute group-normalised advantages, and run
// μ passes over mini-batches of the GRPO objective (train/grpo_loss.h states the exact variant) against a frozen
// reference model, replaced by the policy every ref_update_every steps.
//
// The run folder holds: config.yaml (effective recipe), metrics.jsonl (one object per step), completions.jsonl
// (every sampled completion with its rewards; appended, never overwritten), checkpoint/ (policy in Hugging Face
// layout, optimizer state, reference weights once replaced, data cursor, step; written atomically) and model/
// (the final policy). A run killed at any moment and started again resumes from its last checkpoint and
// produces the same metrics as an uninterrupted run.
#pragma once
#include "core/options.h"
#include "rollout/policy.h"
#include "train/grpo_loss.h"
#include "train/optim.h"

#include <nlohmann/json.hpp>
#include <string>

namespace r1 {

struct GrpoRecipe {
  std::string out = "runs/grpo";            // run folder
  std::string model;                        // policy initialisation (Hugging Face folder)
  std::string tokenizer;                    // default: the model folder
  std::string task = "arithmetic";          // a built-in task name (data/tasks.h)
  nlohmann::json task_config = nlohmann::json::object();
  std::string train_split = "train", eval_split = "test";
  std::string prompt_template = "r1_zero";  // data/prompts.h: r1_zero | r1_zero_short | plain; or chat (the model's template)
  std::string think_prefix;                 // text appended after the template (e.g. "<think>")
  nlohmann::json rewards = {{"accuracy", 1.0}, {"format", 0.1}};
  // sampling (R1: temperature 1)
  int group_size = 8;                       // G
  int prompts_per_step = 8;
  SamplingRecipe sampling;                  // sampling.temperature, top_p, top_k, max_new_tokens
  // optimisation
  long steps = 100;
  int mu = 1;                               // inner passes over each rollout batch
  int mini_batches = 1;                     // optimizer steps per pass (the batch split into this many parts)
  bool share_prompt = true;                 // train on each prompt's rows once per group (PackedSeq prefix)
  int shards = 0;                           // S: each mini-batch's groups in S fixed shards (train/shards.h); 0: auto
  long check_every = 50;                    // compare a hash of the weights across ranks every N steps (0: off)
  long ref_update_every = 400;              // R1: the reference is replaced by the policy every 400 steps
  bool dynamic_sampling = false;            // DAPO: drop all-equal groups and refill from new prompts
  int max_refill_rounds = 3;
  GrpoConfig loss;
  OptimConfig optim;
  LoraConfig lora;  // lora.r > 0: train adapters on the frozen base; the reference is the base (adapters off)
  long seed = 1;                            // prompt order and sampling
  long data_seed = 1;                       // the task's problem draw (train/test split): fixed across seeds
  // evaluation and bookkeeping
  long eval_every = 0;                      // greedy accuracy on eval_problems held-out problems (0: off)
  int eval_problems = 64;
  long ckpt_every = 10;
  long stop_after = 0;                      // stop with a checkpoint at this step (0: off)
  double time_budget_s = 0;                 // end the run once this much wall time has passed (0: off)
  bool resume = true;
  // warnings
  float warn_entropy_below = 0.05f, warn_kl_above = 1.0f, warn_ratio_above = 5.0f, warn_zero_std_above = 0.8f;
  long warn_hacking_window = 20;            // steps; a model reward up while accuracy falls (0: off)
  float warn_hacking_accuracy_drop = 0.02f;

  GrpoRecipe();
  void declare(OptionSet& o);
};

struct GrpoSummary {
  double first_reward = 0, last_reward = 0;
  long steps_run = 0;
};

GrpoSummary run_grpo(const GrpoRecipe& r);
// The checks run_grpo makes before any work (fields and their values), for the pipeline's plan.
void check_grpo(const GrpoRecipe& r);

}  // namespace r1
