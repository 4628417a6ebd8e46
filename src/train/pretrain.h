// `r1 pretrain`: next-token training from scratch (or from a checkpoint) on a text corpus, with AdamW, warmup +
// cosine schedule, gradient accumulation and clipping; progress on stderr, metrics.jsonl, atomic checkpoints and
// exact resume.
#pragma once
#include "data/corpus.h"
#include "train/optim.h"
#include "core/options.h"

#include <string>

namespace r1 {

struct PretrainConfig {
  std::string out = "runs/pretrain_tiny";  // run folder
  std::string corpus = "builtin";          // "builtin" (synthetic arithmetic), a .txt file, or a .jsonl with "text"
  long corpus_docs = 30000;                // builtin corpus size
  long corpus_seed = 1;
  int corpus_max_value = 9;                // builtin corpus: operands in [0, corpus_max_value]
  int corpus_max_operands = 5;             // builtin corpus: problems have 2 to this many operands
  double corpus_p_minus = 0.3;             // builtin corpus: probability of each operator being '-'
  double corpus_reply_tags = 0.25;         // builtin corpus: fraction of worked Assistant replies that use the tags
  double corpus_direct_reply_tags = 0.25;  // builtin corpus: fraction of direct Assistant replies that use <answer>
  double corpus_working_reply = 0.5;       // builtin corpus: fraction of working documents framed as a reply
  nlohmann::json corpus_mix = nlohmann::json::object();  // builtin corpus: document shares by kind, overriding
                                                         // CorpusConfig's defaults ({dialogue: 0.35, ...})
  std::string init;                        // model folder to continue from; empty = new model below
  std::string tokenizer;                   // tokenizer path for a text corpus; empty = built-in byte-level
  std::string arch = "qwen2";              // llama | qwen2 | qwen3
  int hidden = 128, layers = 4, heads = 4, kv_heads = 2, ffn = 384, max_pos = 512;
  int batch = 16, seq = 128, grad_accum = 1;
  int shards = 0;                          // the step's batch*grad_accum sequences in S fixed shards (0: auto)
  long steps = 400;
  long seed = 1234;
  long eval_every = 100, ckpt_every = 100, log_every = 10;
  int eval_batches = 4;
  bool resume = true;                      // continue from RUN/checkpoint when present
  long stop_after = 0;                     // stop (with a checkpoint) once this step is reached; 0 = run to `steps`
  std::string save_dtype = "f32";          // f32 | bf16 for the final model
  OptimConfig optim;

  PretrainConfig();
  void declare(OptionSet& o);
};

// Runs the whole job; returns the final training loss.
float run_pretrain(const PretrainConfig& c);

// The builtin corpus's settings from the corpus_* fields (checked: one clear error naming the field).
CorpusConfig builtin_corpus_config(const PretrainConfig& c);

}  // namespace r1
