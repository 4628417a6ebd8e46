// The rollout engine: batched sampling with a KV cache, continuous batching and shared prompt prefixes.
//
// A request is a prompt (token ids) and a number of samples G. The engine
//   - plans the KV cache before any work (slots = max live sequences, length = longest prompt + max_new_tokens,
//     capped at max_position_embeddings) and fails with one clear r1::Error if it exceeds the memory budget;
//   - prefills each prompt ONCE (joining prompts are stacked into passes of at most max_prefill_tokens rows; a
//     longer prompt is prefilled in chunks), keeps the logits of its last position, and gives each of its G
//     samples a slot holding the prompt's K/V: the prefilled slot itself, a finished sibling's slot (reused in
//     place), or a copy of a sibling's prefix;
//   - decodes every live sequence together, one token per step; a finished sequence leaves at once and the next
//     queued samples join (continuous batching).
// Sample s of prompt p draws from Rng(seed_for(seed, prompt_index, s)), so its tokens do not depend on which
// other sequences share the batch or on the thread count.
//
// Per token the engine reports the log-prob defined in sampling/sampler.h: log softmax(logits / T)[token], after
// temperature and BEFORE top-k/top-p/min-p truncation (greedy: T = 1). This is what the trainer recomputes with
// Model::forward(..., temperature = T) (act().lp): the logits come from the same model kernels; the log-softmax
// is the sampler's (kernels.h softmax_row_sum) here and logprob_forward there, equal within 1e-5 (tested).
#pragma once
#include "model/kv_cache.h"
#include "model/transformer.h"
#include "sampling/sampler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace r1 {

struct GenRequest {
  std::vector<int> prompt;  // token ids (BOS included if the model wants one)
  int n = 1;                // samples of this prompt
  int prompt_index = -1;    // seeds the samples' random streams; -1: the request's position in the list
  int first_sample = 0;     // sample indices are first_sample .. first_sample + n - 1 (e.g. to top up later)
};

struct GenConfig {
  SamplingParams sampling;
  int max_new_tokens = 256;
  std::vector<int> eos_ids;        // a sampled eos id ends the sample (finish_reason "stop"; the id is kept)
  std::vector<std::string> stop;   // stop strings; need `decode`
  // Token ids -> text. Used on one token at a time for stop strings, so it must be concatenative (byte-level BPE
  // decoding is). May be empty when `stop` is empty: the engine itself is text-free.
  std::function<std::string(const std::vector<int>&)> decode;
  uint64_t seed = 0;
  int max_batch = 64;              // live sequences at once (= KV-cache slots)
  int max_prefill_tokens = 2048;   // prompt rows per prefill pass
  size_t kv_budget_bytes = 0;      // 0: kDefaultKVMemoryFraction of physical memory
  // The KV cache's element type (model/kv_cache.h, core/precision.h): bf16 halves its memory. With an fp32 model
  // keys and values are rounded, so log-probs move by about bf16's precision (measured in README) and no longer
  // equal the trainer's recomputation exactly; with a bf16 model nothing changes. Auto: the model's precision.
  KVDtype kv_dtype = default_kv_dtype();
  // A sample's tokens and log-probs the same bits whatever else is in the batch: every matrix product takes the
  // packed path (no gemv shortcut for a few rows) and a prompt is prefilled in chunks at fixed offsets (multiples
  // of max_prefill_tokens), never split by its neighbours. GRPO sets it, so that ranks that sample different
  // groups (data-parallel runs) produce what one process would. Costs a little at batch 1-3.
  bool batch_invariant = false;
};

struct GenSample {
  int request = 0;       // index into the request list
  int prompt_index = 0;
  int sample_index = 0;
  std::vector<int> ids;        // completion ids (an eos id that ended it included)
  std::vector<float> logprobs; // one per id, see the definition above
  std::string finish_reason;   // "stop" (eos id or stop string) or "length"
  bool truncated = false;      // hit max_new_tokens or max_position_embeddings
  size_t stop_text_pos = std::string::npos;  // stop string: offset in the decoded completion where it begins
};

struct GenStats {
  long long prefill_rows = 0;     // prompt tokens run through the model
  long long decode_rows = 0;      // single-token decode rows
  long long decode_steps = 0;     // decode passes
  long long prompts_prefilled = 0;
  long long prefix_copies = 0;    // samples that got their prompt K/V copied from a sibling's slot
  long long prefix_reuses = 0;    // samples that took over a finished sibling's slot (no copy)
  int max_live = 0;
  size_t kv_cache_bytes = 0;      // the KV cache this call allocated
  // Wall time: prefill passes + prefix copies + first tokens; decode passes; sampling in decode steps.
  double prefill_s = 0, decode_s = 0, sample_s = 0;
};

// Called on the calling thread, in production order, for every token as soon as it is sampled.
using TokenCallback = std::function<void(const GenSample& sample, int token)>;

class Engine {
 public:
  explicit Engine(const Model& model) : model_(model) {}
  // Returns the samples in request order, then sample order.
  std::vector<GenSample> generate(const std::vector<GenRequest>& requests, const GenConfig& cfg,
                                  const TokenCallback& on_token = {});
  const GenStats& stats() const { return stats_; }

 private:
  const Model& model_;
  GenStats stats_;
};

}  // namespace r1
