// Shaping rewards (added to the task reward by weight, see rewards/registry.h).
#pragma once
#include <cstdint>
#include <string>

namespace r1 {

// DAPO soft overlong penalty (arXiv 2503.14476, eq. 13) for a completion of `length` tokens:
//   0                                   if length <= max_length - cache
//   ((max_length - cache) - length)/cache  if max_length - cache < length <= max_length   (0 .. -1)
//   -1                                  if length > max_length
// Requires 0 < cache <= max_length (r1::Error otherwise).
double overlong_penalty(int64_t length, int64_t max_length, int64_t cache);

// N-gram repetition penalty (open-r1 get_repetition_penalty_reward, after Yeo et al. 2025, arXiv 2502.03373):
// words = the lower-cased text split on whitespace; with T the number of word n-grams and U the number of
// distinct ones, penalty = (1 - U/T) * max_penalty. Empty text or fewer than n words -> 0.
// max_penalty must be <= 0 and ngram >= 1 (r1::Error otherwise). ASCII lower-casing only.
double repetition_penalty(const std::string& text, int ngram, double max_penalty);

// Cosine length-scaled reward (open-r1 get_cosine_scaled_reward, after Yeo et al. 2025):
//   progress = min(length / max_len, 1), c = cos(pi * progress)
//   correct: min_value_correct + 0.5 (max_value_correct - min_value_correct)(1 + c)   (short -> max_value_correct)
//   wrong:   max_value_wrong  + 0.5 (min_value_wrong  - max_value_wrong)(1 + c)      (short -> min_value_wrong)
// so short correct answers earn the most and long wrong answers are punished the least. Deliberate difference:
// open-r1 does not clamp progress, so past max_len its cosine turns back up; here the reward stays at its
// end value. open-r1's defaults: -1, -0.5, 0.5, 1.0, max_len 1000 (characters there; tokens or characters here).
struct CosineParams {
  double min_value_wrong = -1.0;
  double max_value_wrong = -0.5;
  double min_value_correct = 0.5;
  double max_value_correct = 1.0;
  double max_len = 1000;
};
double cosine_scaled_reward(bool correct, double length, const CosineParams& p = {});

}  // namespace r1
