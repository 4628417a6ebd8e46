// R1's evaluation metrics, as pure functions (no model): the unbiased pass@k estimator and cons@k majority voting.
//
// pass@k (Chen et al. 2021): with n samples of which c are correct, the probability that k samples drawn without
// replacement contain a correct one, 1 − C(n−c, k) / C(n, k), computed as the product
// 1 − Π_{i=n−c+1..n} (1 − k / i), which never forms a binomial coefficient (stable for n in the thousands).
// pass@1 is the mean correctness over the n samples (the k = 1 case of the same formula).
//
// cons@k majority voting over extracted answers:
//   - a sample with no extractable answer does not vote;
//   - answers with the same canonical key (rewards/math_verify.h canonical_answer) form one group, and groups whose
//     first answers are verified-equivalent (the `equivalent` callback; default: the math verifier, both ways
//     tolerant) are merged, so "0.5", "1/2" and "\frac{1}{2}" vote together;
//   - the group with the most votes wins; TIE RULE: among groups with equal votes, the one whose first vote came
//     earliest (lowest sample index) wins;
//   - the vote is correct when the winning group's first sample is correct; a problem where no sample has an
//     answer scores 0.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace r1 {

// Unbiased pass@k. Requires 0 <= c <= n and 1 <= k <= n (r1::Error otherwise).
double pass_at_k(int n, int c, int k);

struct VoteSample {
  bool has_answer = false;
  std::string answer;  // extracted (normalised) answer text
  std::string key;     // canonical key; empty: use `answer`
  bool correct = false;
};

struct VoteResult {
  int winner = -1;          // sample index of the winning group's first member; -1 when nobody voted
  std::string answer;       // that sample's answer
  int votes = 0;            // size of the winning group
  int voters = 0;           // samples with an answer
  int groups = 0;           // distinct answers after merging
  bool correct = false;
  std::vector<int> group_of;  // per sample: group id (in order of first appearance), -1 for no answer
};

using AnswerEquivalence = std::function<bool(const std::string& a, const std::string& b)>;

// The math verifier as an equivalence: verify(a, b) or verify(b, a) with bare answers allowed.
bool math_answers_equivalent(const std::string& a, const std::string& b);

VoteResult majority_vote(const std::vector<VoteSample>& samples, const AnswerEquivalence& equivalent = {});

}  // namespace r1
