// Private declarations shared by the math verifier's files in src/rewards/math/ (nothing outside this folder
// includes it). The public API is rewards/math_verify.h (verifier) and rewards/math/parse.h (parser).
//   extract.cpp    finding the answer in a completion
//   normalize.cpp  LaTeX normalisation; lex.cpp tokens; parse.cpp the parser (parse.h)
//   rational.cpp   exact rationals (rational.h, shared with data/countdown.cpp)
//   numbers.cpp    numeric evaluation: exact values, complex values at sample points, decimal-aware equality
//   cas.cpp        GiNaC, behind one mutex, with the size and exponent guards
//   shapes.cpp     the structure of answers: relations, inequalities -> intervals, +-, matrices, lists
//   compare.cpp    equivalence of two parsed answers
//   relations.cpp  lenient mode: relations by rearranging, labelled assignment lists
//   lenient.cpp    lenient mode: ratio labels, percentage, trailing words, several answers as one set
//   verify.cpp     the public entry points and canonical keys
#pragma once
#include "rewards/math/parse.h"
#include "rewards/math/rational.h"
#include "rewards/math_verify.h"

#include <chrono>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace r1::math {

using latex::Node;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------------------------------ characters, strings
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

inline std::string to_lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

inline Node make_node(Node::Kind k, std::vector<Node> ch = {}, std::string s = {}) {
  Node n;
  n.kind = k;
  n.ch = std::move(ch);
  n.s = std::move(s);
  return n;
}

// ------------------------------------------------------------------------------------------ extraction (extract.cpp)
struct ExtractCfg {
  bool fallback = false;
  bool latex = true;
  bool numbers = true;
  bool gold = false;     // gold: fallback to the whole text rather than to prose numbers
  bool lenient = false;  // Math-Verify's rules: joining boxes and environments, $..$ on one line, prose numbers
};
Extracted extract_with(const std::string& text, const ExtractCfg& cfg);

// ------------------------------------------------------------------------------------------ tree queries (shapes.cpp)
void collect_syms(const Node& x, std::set<std::string>& out);  // symbols other than i and e
bool has_kind(const Node& x, Node::Kind k);
int count_nodes(const Node& x);
bool has_decimal(const Node& x);
bool is_inf(const Node& x, int& sign);  // +-infinity; sign is +1 or -1

// ------------------------------------------------------------------------------------------ one comparison's budget
struct Ctx {
  const VerifyOptions& o;
  Clock::time_point deadline;
  bool timed_out = false;
  bool expired() {
    if (Clock::now() > deadline) timed_out = true;
    return timed_out;
  }
};

// ------------------------------------------------------------------------------------------ numbers (numbers.cpp)
// Exact value of numbers under + - * / and integer powers; `inexact` is set when a decimal literal takes part.
bool exact_value(const Node& x, Rational& r, bool& inexact, int depth = 0);
// Decimal-aware comparison of two real values. gold_decimals: places of a gold decimal literal, or -1.
bool num_equal(long double g, long double p, bool inexact, int gold_decimals, const VerifyOptions& o);
int decimals_of(const Node& x);  // places of a (negated) decimal literal, else -1
// Values of two scalars at fixed pseudo-random points agree (p's symbols renamed by `rename`)?
bool numeric_points_equal(const Node& g, const Node& p, const std::map<std::string, std::string>& rename,
                          bool inexact, Ctx& ctx);

// ------------------------------------------------------------------------------------------ GiNaC (cas.cpp)
// Each takes GiNaC's global mutex and refuses inputs too large for it (false / no key).
// g - p simplifies to 0 (p's symbols renamed by `rename`).
bool cas_equal(const Node& g, const Node& p, const std::map<std::string, std::string>& rename, Ctx& ctx);
// d1 / d2 simplifies to a nonzero number.
bool cas_proportional(const Node& d1, const Node& d2);
// The same, with the number's sign: 1 or -1 for a real quotient, 2 for a complex one, 0 when it is not a number.
int cas_ratio_sign(const Node& d1, const Node& d2);
// "ex:" + the expanded numerator and denominator of the normal form, one symbol table for all keys.
bool cas_key(const Node& x, std::string& key);

// ------------------------------------------------------------------------------------------ shapes (shapes.cpp)
bool is_list_like(const Node& x);  // List or Set
// Single-variable inequality -> interval (or union of two for |v|): "-2 <= x < 7" -> [-2,7).
bool ineq_to_set(const Node& x, Node& out);
// Prepares one side: +- expansion, relation unwrapping, matrix arithmetic. `unordered` marks solution lists.
Node prepare(const Node& x0, bool& unordered, bool lenient = false);
// A name that may label a value: x, x_1, AB, f(x), |AB|, \frac{NO}{BO}, (p, q).
bool simple_lhs(const Node& x);

// ------------------------------------------------------------------------------------------ lenient mode
// (relations.cpp) Two single relations equal after moving everything to one side: (L1-R1) = c (L2-R2) with c a
// nonzero constant, positive when they are inequalities (a > relation is first turned into a < one).
bool relations_rearranged_equal(const Node& g, const Node& p, Ctx& ctx);
// Two lists of assignments with the same distinct labels, compared label by label with `eq`: 1 equal, 0 not,
// -1 when the rule does not apply.
int labelled_lists_equal(const Node& g, const Node& p, Ctx& ctx,
                         const std::function<bool(const Node&, const Node&)>& eq);
// (lenient.cpp) The normalised answer read as Math-Verify reads it: "percentage", ratio labels, assignment groups.
std::string lenient_rewrite(const std::string& normalized);
// The parsed answer: words after values dropped; `parts` > 1 (several boxes) makes a list an order-free set.
void lenient_tidy(Node& root, int parts);

// ------------------------------------------------------------------------------------------ comparison (compare.cpp)
// "(B)", "B", "\text{(B)}", "B)" -> 'B'; 0 when not a choice letter.
char choice_letter(const std::string& loose);
bool answers_equal(const Extracted& g, const Extracted& p, const VerifyOptions& o, bool& timed_out);

}  // namespace r1::math

namespace r1::latex {

// ------------------------------------------------------------------------------------------ tokens (lex.cpp)
enum class T { Num, Ident, Cmd, Text, Op, End };
struct Tok {
  T t;
  std::string v;
};
// Tokens of a normalised answer, ending in T::End; false on an unclosed \text{.
bool tokenize(const std::string& s, std::vector<Tok>& out);

}  // namespace r1::latex
