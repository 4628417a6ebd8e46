#include "eval/metrics.h"

#include "core/check.h"
#include "rewards/math_verify.h"

#include <map>

namespace r1 {

double pass_at_k(int n, int c, int k) {
  R1_CHECK(n >= 1 && c >= 0 && c <= n, "pass_at_k: need 0 <= c <= n and n >= 1 (got n=", n, ", c=", c, ")");
  R1_CHECK(k >= 1 && k <= n, "pass_at_k: k must be in [1, n] (got k=", k, ", n=", n, ")");
  if (n - c < k) return 1.0;  // every k-subset holds a correct sample
  double miss = 1.0;          // C(n-c, k) / C(n, k) = Π_{i=n-c+1..n} (1 - k/i)
  for (int i = n - c + 1; i <= n; i++) miss *= 1.0 - (double)k / i;
  return 1.0 - miss;
}

bool math_answers_equivalent(const std::string& a, const std::string& b) {
  VerifyOptions o;
  o.pred_bare_fallback = true;
  if (verify(a, b, o).equal) return true;
  return verify(b, a, o).equal;
}

VoteResult majority_vote(const std::vector<VoteSample>& samples, const AnswerEquivalence& equivalent) {
  VoteResult r;
  r.group_of.assign(samples.size(), -1);
  std::map<std::string, int> by_key;
  std::vector<int> first, count;  // per group: first sample index, votes
  for (size_t i = 0; i < samples.size(); i++) {
    const VoteSample& s = samples[i];
    if (!s.has_answer) continue;
    r.voters++;
    const std::string& key = s.key.empty() ? s.answer : s.key;
    auto it = by_key.find(key);
    int g = -1;
    if (it != by_key.end()) {
      g = it->second;
    } else {
      // a new key: join the earliest existing group whose first answer is equivalent
      if (equivalent)
        for (size_t h = 0; h < first.size() && g < 0; h++)
          if (equivalent(samples[first[h]].answer, s.answer)) g = (int)h;
      if (g < 0) {
        g = (int)first.size();
        first.push_back((int)i);
        count.push_back(0);
      }
      by_key[key] = g;
    }
    count[g]++;
    r.group_of[i] = g;
  }
  r.groups = (int)first.size();
  int best = -1;
  for (int g = 0; g < r.groups; g++)  // groups are in order of first appearance: strict > keeps the earliest on ties
    if (best < 0 || count[g] > count[best]) best = g;
  if (best >= 0) {
    r.winner = first[best];
    r.answer = samples[r.winner].answer;
    r.votes = count[best];
    r.correct = samples[r.winner].correct;
  }
  return r;
}

}  // namespace r1
