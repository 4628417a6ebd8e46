// The math verifier: R1's rule-based accuracy reward (implemented in src/rewards/math/, one concern per file;
// see math/internal.h for the map).
//
// extract_answer() finds the final answer in a completion. Strict by default (no marked answer -> no reward):
//   - text after the last </think> only (an unclosed <think> gives no answer);
//   - the last complete <answer>...</answer> (its content; a \boxed{} inside it wins);
//   - otherwise the latest of: the last group of \boxed{..}/\fbox{..}/"\boxed 5" (boxes separated only by a short
//     connector such as ", ", " and ", "\quad" are one list answer), "the final answer is ..." (to the end of the
//     sentence), "#### 42" (GSM8K). An unclosed last \boxed{ means an unfinished answer: no answer.
//   With allow_bare_fallback (gold answers, lenient mode): else the last math environment ($..$, $$..$$, \[..\],
//   single-line \(..\)) or the last plain number, whichever comes later, else the whole text if it is short and
//   reads as an answer.
// verify() compares a gold answer with a prediction: normalised-string equality, multiple-choice letters, then a
// parsed comparison: exact rationals; decimals with a relative tolerance (VerifyOptions::rel_tol, 1e-6) or, when
// the gold is a decimal with d places, the prediction rounded to d places; percentages (28% == 28 == 0.28);
// symbolic expressions through GiNaC (normal(a-b) == 0) with a random-point numeric fallback; tuples and intervals
// (brackets must match), sets and solution lists (order-free), plain comma lists (ordered), unions of intervals,
// inequalities vs intervals, "x = 3" vs "3", +-, matrices (including sums/products of matrices).
// Absurd exponents and factorials are refused before GiNaC sees them, and every comparison has a time budget.
// An unextractable gold answer is an error result: equal=false and `error` says why (open-r1 PR #566).
// Thread safety: any thread may call these; GiNaC itself is used under a global mutex.
#pragma once
#include <string>

namespace r1 {

struct Extracted {
  bool found = false;
  std::string raw;         // the answer text as found
  std::string normalized;  // after LaTeX normalisation
  std::string how;         // "boxed", "answer_tag", "final_answer", "####", "latex_env", "number", "whole", or why
                           // nothing was found ("none", "unclosed_boxed", "unclosed_think", "unclosed_answer_tag")
};

Extracted extract_answer(const std::string& text, bool allow_bare_fallback = false);

struct VerifyOptions {
  bool pred_bare_fallback = false;       // lenient extraction of the prediction (see extract_answer)
  bool fallback_latex = true;            // lenient extraction may use math environments ...
  bool fallback_numbers = true;          // ... and plain numbers in prose
  bool strict = true;                    // false: variable names may differ (f(x) == f(y)), as Math-Verify's
  bool allow_set_relation_comp = false;  // a predicted inequality may match a gold interval (gold inequalities
                                         // always match predicted intervals)
  double rel_tol = 1e-6;                 // relative tolerance when either side holds a decimal literal
  int precision = -1;                    // >= 0: numbers also equal when equal after rounding to this many places
  double time_limit_s = 0.5;             // budget for one comparison; exceeded -> not equal (error "timeout")
};

struct VerifyResult {
  bool equal = false;
  Extracted gold, pred;
  std::string error;  // set when the gold answer is unusable or the comparison timed out
};

// gold may be a bare answer or a full solution; pred is a completion.
VerifyResult verify(const std::string& gold, const std::string& pred);
VerifyResult verify(const std::string& gold, const std::string& pred, const VerifyOptions& opt);

// Accuracy reward: 1.0 when the completion's (strictly extracted) answer equals the gold answer, else 0.0.
double math_accuracy_reward(const std::string& completion, const std::string& gold);

// Canonical key of an answer for majority voting (cons@k): equal answers map to the same key where possible
// (exact numbers -> reduced fraction, expressions -> GiNaC normal form, sets -> sorted keys).
std::string canonical_answer(const std::string& answer);

}  // namespace r1
