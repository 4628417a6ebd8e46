// `r1 sft`: supervised fine-tuning on JSONL, with the loss on completion tokens only.
//
// Data (one JSON object per line):
//   {"messages": [{"role": ..., "content": ...}, ...]}  rendered with the tokenizer folder's chat template
//       (chat_template.jinja or tokenizer_config.json); loss on the assistant turns only. Assistant turn i is
//       the text of render(messages[:i+1]) after its common prefix with render(messages[:i],
//       add_generation_prompt): the generation prompt stays unscored, the reply and its closing tokens are
//       scored. Templates that rewrite assistant content are followed as transformers renders them: R1's own
//       template drops everything up to </think> from assistant messages, so train reasoning traces with
//       prompt/completion rows (what `r1 sample` writes) or a template that keeps the think block.
//   {"prompt": ..., "completion": ...}  prompt text = the `prompt_template` (plain | r1_zero | r1_zero_short | chat) applied to
//       the prompt; loss on the completion tokens and a closing eos.
// Text segments are tokenized separately (prompt / scored turn / rest), so the mask boundaries are exact.
//
// Packing: an example of n tokens gives n−1 (input, target) positions. With pack = true, examples are placed
// whole, in order, into rows of `seq` positions (a new row starts when the next example does not fit; an example
// longer than seq is truncated to seq positions and counted). ATTENTION CROSSES EXAMPLE BOUNDARIES inside a row
// (our causal kernel has no document mask, and positions run on across the row), as in plain packing in TRL;
// no position ever predicts a token of another example. pack = false keeps one example per row (padding is
// masked), so no attention crosses. Loss = masked mean over all scored positions of a (micro-)batch.
//
// A held-out split (eval_fraction of the examples, or eval_data) gives eval_loss, the token-weighted mean CE over
// all held-out rows. Rows are shuffled per epoch with Rng(seed, epoch), so the order depends only on the step:
// resume restores model, optimizer and step from RUN/checkpoint and continues exactly.
#pragma once
#include "train/optim.h"
#include "model/lora.h"
#include "core/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct SftConfig {
  std::string out = "runs/sft";
  std::string model;                 // initialisation (Hugging Face folder), required
  std::string tokenizer;             // default: the model folder
  std::string data;                  // training JSONL, required
  std::string eval_data;             // held-out JSONL; empty: eval_fraction of `data`
  double eval_fraction = 0.05;
  std::string prompt_template = "plain";  // for prompt/completion rows: plain | r1_zero | r1_zero_short | chat
  int seq = 256, batch = 8, grad_accum = 1;
  int shards = 0;  // the step's batch*grad_accum rows in S fixed shards (train/shards.h; 0: auto)
  bool pack = true;
  int epochs = 1;
  long seed = 1;
  long eval_every = 50, ckpt_every = 50, log_every = 1;
  long stop_after = 0;
  bool resume = true;
  std::string save_dtype = "f32";
  OptimConfig optim;
  LoraConfig lora;                   // lora.r > 0: train adapters on the frozen model (model/lora.h)
  SftConfig();
  void declare(OptionSet& o);
};

// One tokenized example: ids and, per token, whether it is learned (predicted with loss).
struct SftExample {
  std::vector<int> ids;
  std::vector<uint8_t> loss;  // loss[j] = 1: the position predicting ids[j] is scored (j >= 1)
};

// Rows of `seq` positions: ids and targets (-1 = not scored) [rows * seq].
struct PackedRows {
  int seq = 0;
  long rows = 0;
  std::vector<int> ids, targets;
  long truncated = 0;  // examples cut to seq positions
  long dropped = 0;    // examples with nothing to learn
};
class Tokenizer;
class ChatTemplate;
// Tokenizes one JSONL row as described above; `chat` may be nullptr (then "messages" rows and prompt_template
// chat are errors); bos >= 0 is prepended, unscored. `where` ("file:line") prefixes errors.
SftExample encode_sft_row(const nlohmann::json& row, const Tokenizer& tok, const ChatTemplate* chat,
                          const std::string& prompt_template, int bos, const std::string& where);

PackedRows pack_examples(const std::vector<SftExample>& ex, int seq, bool pack, int pad_id);

struct SftSummary {
  float first_loss = 0, last_loss = 0;
  double first_eval_loss = -1, last_eval_loss = -1;
  long steps = 0;
};
SftSummary run_sft(const SftConfig& c);

}  // namespace r1
