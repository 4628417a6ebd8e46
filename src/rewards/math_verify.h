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
  int parts = 1;           // how many boxes or math environments were read together as this answer
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
  bool lenient = false;                  // Math-Verify's looser equivalences (below); off in strict mode (the reward)
};

// Lenient mode (`r1 verify --lenient`, lenient_options()): Math-Verify's reading, on top of the prediction's bare
// fallback (src/rewards/math/relations.cpp, lenient.cpp, and the lenient branches of extract.cpp and shapes.cpp):
//   - relations equal after rearranging: L - R compared up to a nonzero constant factor, which must be positive
//     between inequalities once both point the same way (x < 1 == -x > -1; 2x+4y-3=0 == y=-x/2+3/4);
//   - labelled answers: a ratio of names ("V_1:V_2=11:21" == "11:21"), a word ("\text{Area} = 6" == 6); lists of
//     assignments with the same labels compared label by label; "p=5,q=2;p=7,q=2" == "(5,2),(7,2)"; and
//     "7 = 11a+c" is an equation, not the value 11a+c;
//   - several \boxed{} answers joined as Math-Verify joins them (gap under 10 characters, or under 70 with and/or/,/;)
//     and math environments joined only by ",", "and", "or": one order-free set of answers; $..$ on one line;
//   - words after a value ("28 percentage", "28 \text{ bananas}"); in prose, a decimal comma ("2,74"), a fraction
//     ("2/3") and "pct".
// Math-Verify's per-comparison options are the fields above: precision (float_rounding), strict,
// allow_set_relation_comp, fallback_latex/fallback_numbers (match_types). Strict verdicts never change: each rule
// is reached only when `lenient` is set.
VerifyOptions lenient_options();

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
