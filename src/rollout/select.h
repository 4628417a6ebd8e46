// Rejection sampling's selection (R1's stage 3 filters), as pure functions over decoded candidates.
//
// A completion is judged by rejection_reason(); the first failing check names the reason:
//   truncated       hit the token budget (never finished)
//   overlong        more than filter.max_tokens completion tokens (0: off)
//   incorrect       the task's verifier says wrong (Task::accuracy < 0.5)
//   format          not the strict R1 format (rewards/format.h) when filter.require_format
//   mixed_language  the chain of thought (the think block; the whole completion when there is none) has words,
//                   and the fraction in the target language's script is < filter.min_language (R1's language
//                   consistency; a CoT of only numbers and symbols has no words and passes)
//   code_block      a ``` fence in the chain of thought when the task is not a code task (filter.allow_code)
//   repetition      word n-gram repetition 1 − distinct/total (rewards/shaping.h, n = filter.ngram) above
//                   filter.max_repetition
//   duplicate       the same text as a completion already kept for this prompt (filter.dedupe)
//   quota           the prompt already has filter.max_per_prompt kept completions (0: no limit)
#pragma once
#include "core/options.h"

#include <string>
#include <vector>

namespace r1 {

struct RejectionFilter {
  void declare(OptionSet& o, const std::string& prefix = "filter");
  void check(const std::string& who) const;
  bool require_format = true;
  std::string language = "en";
  double min_language = 0.95;   // < 0 or > 1 rejected; 0 disables
  long max_tokens = 0;          // 0: off
  bool allow_code = false;
  int ngram = 3;
  double max_repetition = 0.3;  // >= 1 disables
  bool dedupe = true;
  int max_per_prompt = 0;       // 0: no limit
};

struct Candidate {
  std::string completion;  // decoded, without the eos token
  bool correct = false;    // the task's verifier
  long tokens = 0;
  bool truncated = false;
};

// "" when kept, else the first failing check (order above, except duplicate/quota which need the prompt's kept
// set: those are applied by select_for_prompt).
std::string rejection_reason(const Candidate& c, const RejectionFilter& f, const std::string& think_prefix = "");

// Applies rejection_reason and then dedupe / quota over one prompt's candidates, in order; returns per candidate
// "" (kept) or the reason.
std::vector<std::string> select_for_prompt(const std::vector<Candidate>& cands, const RejectionFilter& f,
                                           const std::string& think_prefix = "");

}  // namespace r1
