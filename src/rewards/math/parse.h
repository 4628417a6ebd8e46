// LaTeX answer normalisation (normalize.cpp) and parsing (lex.cpp, parse.cpp) for the math verifier
// (rewards/math_verify.h).
// normalize_latex() turns an extracted answer into a canonical LaTeX-ish string (\dfrac -> \frac, \left/\right,
// spacing, \text variants, degrees, \$, "{,}" thousands marks...). parse_answer() turns that string into a small
// AST: numbers, symbols, + - * / ^, functions, tuples/intervals, sets, bare lists, unions, relation chains
// (= < > \leq \geq \neq \approx \in), +-, percent, matrices and text. Parsing never throws: a string it cannot
// read gives ok=false and the verifier falls back to comparing normalised strings.
#pragma once
#include <string>
#include <vector>

namespace r1::latex {

struct Node {
  enum Kind {
    Num,      // s = decimal literal "12" / "0.5" (thousands separators removed)
    Sym,      // s = name ("x", "x_1", "\alpha")
    Const,    // s = "pi" | "i" | "inf"
    Add,      // ch = terms (subtraction is Neg)
    Mul,      // ch = factors
    Div,      // ch = {numerator, denominator}
    Pow,      // ch = {base, exponent}
    Neg,      // ch = {x}
    Func,     // s = name (sin, cos, sqrt, log, abs, floor, factorial, binom, ...), ch = args
    Percent,  // ch = {x}: x%
    PM,       // ch = {a, b}: a +- b (a is Empty for a unary +-)
    Tuple,    // s = two bracket chars, "()" "[)" "(]" "[]"; ch = items (>= 2 items)
    Set,      // \{ ... \}: ch = items
    List,     // bare list "1, 2, 3" or "1 and 2": ch = items
    Union,    // ch = operands of \cup
    Inter,    // ch = operands of \cap
    Rel,      // ch = operands, ops = relations between them ("=", "<", "<=", ">", ">=", "!=", "~", "in")
    Matrix,   // rows x cols, ch row-major
    Text,     // s = text (a word answer such as "Evelyn" or "(B)")
    Empty,
  };
  Kind kind = Empty;
  std::string s;
  std::vector<Node> ch;
  std::vector<std::string> ops;
  int rows = 0, cols = 0;
};

// Index of the '}' matching the '{' at `open`, skipping escaped \{ and \}; npos when unclosed.
size_t match_brace(const std::string& s, size_t open);

// Canonical string form of an answer (no $ delimiters, no \left, \dfrac->\frac, single spaces...).
std::string normalize_latex(const std::string& raw);
// A looser key for the cheap string-equality check: normalize_latex without spaces and \text{} wrappers.
std::string loose_key(const std::string& normalized);

struct ParseResult {
  bool ok = false;
  Node root;
  std::string error;  // why parsing failed (for diagnostics only)
};
// Parses a normalised answer (output of normalize_latex). Limits: 4000 characters, nesting depth 64.
ParseResult parse_answer(const std::string& normalized);

// Debug printer (prefix form), used by tests and canonical keys.
std::string to_string(const Node& n);

}  // namespace r1::latex
