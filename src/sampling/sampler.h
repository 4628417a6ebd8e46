// Token samplers for the rollout engine: one call per sequence per decode step, on one logits row.
//
// Filter order (fixed, same as llama.cpp's common chain restricted to these filters):
//   1. temperature  z_i = logits_i / T            (T == 0 or greedy: argmax, ties -> lowest token id)
//   2. top-k        keep the k most probable tokens (k == 0 or k >= V: off)
//   3. top-p        of what top-k kept, renormalised: keep the smallest prefix whose cumulative probability is >= p
//   4. min-p        keep tokens whose probability is >= min_p * (probability of the most probable token)
//   5. renormalise over the kept set and draw by inverse CDF over the kept tokens in ascending id order,
//      with a single u = rng.uniform().
// "Order" of tokens in every step is the total order (logit descending = probability descending, token id
// ascending): ties (equal logits) at a top-k or top-p boundary keep the lower ids. Each truncation keeps a prefix
// of that order. Non-greedy calls consume exactly one rng.uniform(); greedy calls consume none.
//
// Log-prob definition (the trainer MUST use the same one, see token_logprob):
//   logprob = log softmax(logits / T)[token]
// i.e. AFTER temperature and BEFORE top-k/top-p/min-p truncation: the distribution the policy defines, which is
// what the trainer recomputes from the same logits. Greedy decoding (greedy == true or T == 0) reports
// log softmax(logits)[token], i.e. at T = 1.
//
// Masked tokens may carry -inf logits (probability 0, never drawn); tokens whose (logit - max) / T < -87 (weight
// below ~1.6e-38 of the maximum) also count as probability 0. NaN or +inf logits are an error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace r1 {

struct SamplingParams {
  float temperature = 1.0f;  // >= 0; 0 means greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // in (0, 1]; 1 = off
  float min_p = 0.0f;        // in [0, 1]; 0 = off
  bool greedy = false;
};

// Seed of the random stream of sample `sample_index` of prompt `prompt_index`: a sequence's draws never
// depend on batch composition or thread count. Use as Rng(seed_for(seed, p, s)).
uint64_t seed_for(uint64_t seed, uint64_t prompt_index, uint64_t sample_index);

struct SampleResult {
  int token;
  float logprob;  // see the log-prob definition above
};

// Samples one token from logits[0..V). `scratch` is caller-provided workspace, reused across calls (it grows to V
// floats once; keep one per thread). Candidate keys use a thread-local buffer that likewise grows once.
// Throws r1::Error on invalid params or NaN/+inf/all -inf logits.
SampleResult sample_token(const float* logits, int V, const SamplingParams& p, Rng& rng,
                          std::vector<float>& scratch);

// log softmax(logits / temperature)[token]; temperature == 0 means 1 (the greedy convention above).
// Bit-identical to the logprob sample_token reports for the same logits and params.
float token_logprob(const float* logits, int V, int token, float temperature);

// The kept set after all filters with renormalised probabilities, in the order above; tokens of probability 0
// are omitted. Exactly the distribution sample_token draws from. For tests and diagnostics (allocates).
std::vector<std::pair<int, float>> filtered_distribution(const float* logits, int V, const SamplingParams& p);

// Stop strings that may span token boundaries: feed each token's decoded text as it is produced.
class StopMatcher {
 public:
  // Throws r1::Error if a stop string is empty.
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends new_text; returns true once any stop string occurs in the accumulated text (and stays true).
  bool push(const std::string& new_text);
  bool stopped() const { return stop_pos_ != std::string::npos; }
  // Offset in text() where the earliest stop string begins; std::string::npos if none yet.
  size_t stop_pos() const { return stop_pos_; }
  const std::string& text() const { return text_; }
  // Length of the prefix of text() that can be shown to a user now: before the stop string once stopped,
  // otherwise everything except a tail that might still become the start of a stop string.
  size_t safe_len() const;

 private:
  std::vector<std::string> stops_;
  std::string text_;
  size_t max_len_ = 0;
  size_t stop_pos_ = std::string::npos;
};

// True if `id` is one of the end-of-sequence ids.
bool is_stop_token(int id, const std::vector<int>& eos_ids);

}  // namespace r1
