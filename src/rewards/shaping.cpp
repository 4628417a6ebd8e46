#include "rewards/shaping.h"

#include "core/check.h"

#include <cctype>
#include <cmath>
#include <set>
#include <vector>

namespace r1 {

double overlong_penalty(int64_t length, int64_t max_length, int64_t cache) {
  R1_CHECK(cache > 0 && cache <= max_length, "overlong penalty: need 0 < cache <= max_length, got cache ", cache,
           " and max_length ", max_length);
  R1_CHECK(length >= 0, "overlong penalty: negative length ", length);
  const int64_t soft = max_length - cache;
  if (length <= soft) return 0.0;
  if (length <= max_length) return (double)(soft - length) / (double)cache;
  return -1.0;
}

double repetition_penalty(const std::string& text, int ngram, double max_penalty) {
  R1_CHECK(ngram >= 1, "repetition penalty: ngram must be >= 1, got ", ngram);
  R1_CHECK(max_penalty <= 0, "repetition penalty: max_penalty must be <= 0, got ", max_penalty);
  std::vector<std::string> words;
  std::string w;
  for (char c : text) {
    if (std::isspace((unsigned char)c)) {
      if (!w.empty()) words.push_back(std::move(w)), w.clear();
    } else {
      w += (char)std::tolower((unsigned char)c);
    }
  }
  if (!w.empty()) words.push_back(std::move(w));
  if (words.size() < (size_t)ngram || words.empty()) return 0.0;
  std::set<std::vector<std::string>> seen;
  size_t total = 0;
  for (size_t i = 0; i + ngram <= words.size(); ++i) {
    seen.insert(std::vector<std::string>(words.begin() + (long)i, words.begin() + (long)(i + ngram)));
    ++total;
  }
  return (1.0 - (double)seen.size() / (double)total) * max_penalty;
}

double cosine_scaled_reward(bool correct, double length, const CosineParams& p) {
  R1_CHECK(p.max_len > 0, "cosine reward: max_len must be > 0, got ", p.max_len);
  R1_CHECK(length >= 0, "cosine reward: negative length ", length);
  const double progress = std::min(length / p.max_len, 1.0);
  const double c = std::cos(M_PI * progress);
  if (correct) return p.min_value_correct + 0.5 * (p.max_value_correct - p.min_value_correct) * (1.0 + c);
  return p.max_value_wrong + 0.5 * (p.min_value_wrong - p.max_value_wrong) * (1.0 + c);
}

}  // namespace r1
