// Math verifier: answer extraction, normalisation (latex_parse.cpp) and equivalence. See math_verify.h.
#include "rewards/math_verify.h"

#include "rewards/latex_parse.h"

#include <ginac/ginac.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace r1 {
namespace {

using latex::Node;
using Clock = std::chrono::steady_clock;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string to_lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

// ------------------------------------------------------------------------------------------------ extraction
struct Span {
  size_t b = 0, e = 0;  // [b, e) in the text
  std::string content;
  bool closed = true;
};

std::vector<Span> find_boxes(const std::string& t) {
  std::vector<Span> out;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t a = t.find("\\boxed", pos), f = t.find("\\fbox", pos);
    size_t at = std::min(a, f);
    if (at == std::string::npos) break;
    size_t k = at + (at == a ? 6 : 5);
    Span sp;
    sp.b = at;
    if (k < t.size() && t[k] == '{') {
      size_t close = latex::match_brace(t, k);
      if (close == std::string::npos) {
        sp.closed = false;
        sp.e = t.size();
        out.push_back(sp);
        break;
      }
      sp.content = t.substr(k + 1, close - k - 1);
      sp.e = close + 1;
    } else if (k < t.size() && t[k] == ' ') {  // "\boxed 5"
      while (k < t.size() && t[k] == ' ') ++k;
      size_t e = k;
      while (e < t.size() && t[e] != ' ' && t[e] != '$' && t[e] != '\n') ++e;
      while (e > k && (t[e - 1] == '.' || t[e - 1] == ',')) --e;
      if (e == k) {
        pos = k;
        continue;
      }
      sp.content = t.substr(k, e - k);
      sp.e = e;
    } else {
      pos = k;
      continue;
    }
    out.push_back(sp);
    pos = sp.e;
  }
  return out;
}

// True when the text between two answers only connects them ("$, $", " and ", "\quad \text{and} \quad").
bool is_connector(const std::string& gap) {
  if (gap.size() > 40) return false;
  if (gap.find("\n\n") != std::string::npos) return false;
  for (char c : gap)
    if (c == '.' || c == '!' || c == '?' || c == ':' || is_digit(c) || c == '=') return false;
  return true;
}

// Groups consecutive spans separated by connectors; returns the last group joined as a list ("a, b").
Span last_group(const std::vector<Span>& spans, const std::string& text) {
  size_t start = spans.size() - 1;
  while (start > 0 && spans[start - 1].closed &&
         is_connector(text.substr(spans[start - 1].e, spans[start].b - spans[start - 1].e)))
    --start;
  Span g;
  g.b = spans[start].b;
  g.e = spans.back().e;
  std::vector<std::string> seen;
  for (size_t i = start; i < spans.size(); ++i) {
    std::string c = trim(spans[i].content);
    if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;  // \boxed{143} ... \boxed{143}
    seen.push_back(c);
    if (!g.content.empty()) g.content += ", ";
    g.content += c;
  }
  return g;
}

// Text after "the final answer is", to the end of the sentence ('.' + space/end or a newline outside $...$).
bool find_final_answer(const std::string& t, Span& out) {
  std::string low = to_lower(t);
  size_t at = low.rfind("final answer is");
  if (at == std::string::npos) return false;
  size_t k = at + 15;
  while (k < t.size() && (t[k] == ' ' || t[k] == ':' || t[k] == '"' || t[k] == '\\' || t[k] == '*')) {
    if (t[k] == '\\' && !(k + 1 < t.size() && t[k + 1] == '"')) break;
    ++k;
  }
  bool in_math = false;
  size_t e = k;
  for (; e < t.size(); ++e) {
    char c = t[e];
    if (c == '\\' && e + 1 < t.size() && t[e + 1] == '$') {
      ++e;
      continue;
    }
    if (c == '$') in_math = !in_math;
    if (c == '\n' && !in_math) break;
    if (c == '.' && !in_math && (e + 1 >= t.size() || t[e + 1] == ' ' || t[e + 1] == '\n')) break;
  }
  std::string c = trim(t.substr(k, e - k));
  // strip quotes around the answer
  while (!c.empty() && (c.back() == '"' || c.back() == '\\' || c.back() == '*')) c.pop_back();
  c = trim(c);
  if (c.empty()) return false;
  out.b = at;
  out.e = e;
  out.content = c;
  return true;
}

bool find_hashes(const std::string& t, Span& out) {
  size_t at = t.rfind("####");
  if (at == std::string::npos) return false;
  size_t e = t.find('\n', at);
  if (e == std::string::npos) e = t.size();
  std::string c = trim(t.substr(at + 4, e - at - 4));
  if (c.empty()) return false;
  out.b = at;
  out.e = e;
  out.content = c;
  return true;
}

// Math environments: $$..$$, $..$, \[..\], \(..\) (the last may not span lines).
std::vector<Span> find_envs(const std::string& t) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '\\' && i + 1 < t.size()) {
      char d = t[i + 1];
      if (d == '[' || d == '(') {
        const char* close = d == '[' ? "\\]" : "\\)";
        size_t e = t.find(close, i + 2);
        if (e != std::string::npos) {
          std::string c = t.substr(i + 2, e - i - 2);
          if (d == '[' || c.find('\n') == std::string::npos) {
            out.push_back({i, e + 2, c, true});
            i = e + 2;
            continue;
          }
        }
      }
      i += 2;  // skips \$ too
      continue;
    }
    if (t[i] == '$') {
      bool dbl = i + 1 < t.size() && t[i + 1] == '$';
      size_t s = i + (dbl ? 2 : 1);
      size_t e = s;
      bool found = false;
      for (; e < t.size(); ++e) {
        if (t[e] == '\\') {
          ++e;
          continue;
        }
        if (t[e] == '$') {
          if (dbl && !(e + 1 < t.size() && t[e + 1] == '$')) continue;
          found = true;
          break;
        }
      }
      if (!found) {
        ++i;  // a lone $ (currency)
        continue;
      }
      out.push_back({i, e + (dbl ? 2 : 1), t.substr(s, e - s), true});
      i = e + (dbl ? 2 : 1);
      continue;
    }
    ++i;
  }
  return out;
}

// Last plain number in prose outside math environments: "1,000.99", "1 000", "28 %", not "AZYUK2A".
bool find_last_number(const std::string& t, const std::vector<Span>& envs, Span& out) {
  bool any = false;
  size_t env_i = 0;
  size_t i = 0;
  while (i < t.size()) {
    while (env_i < envs.size() && envs[env_i].e <= i) ++env_i;
    if (env_i < envs.size() && i >= envs[env_i].b) {
      i = envs[env_i].e;
      continue;
    }
    char c = t[i];
    bool start = is_digit(c) || (c == '.' && i + 1 < t.size() && is_digit(t[i + 1]));
    if (!start || (i > 0 && (is_alpha(t[i - 1]) || is_digit(t[i - 1]) || t[i - 1] == '_' || t[i - 1] == '^' ||
                             t[i - 1] == '\\'))) {
      ++i;
      continue;
    }
    size_t b = i;
    if (b > 0 && t[b - 1] == '-') --b;
    size_t j = i;
    size_t first = 0;
    while (j < t.size() && is_digit(t[j])) ++j, ++first;
    if (first > 0 && first <= 3) {
      char sep = 0;
      while (j + 3 < t.size() && (t[j] == ',' || t[j] == ' ') && (!sep || t[j] == sep) && is_digit(t[j + 1]) &&
             is_digit(t[j + 2]) && is_digit(t[j + 3]) && (j + 4 >= t.size() || !is_digit(t[j + 4]))) {
        sep = t[j];
        j += 4;
      }
    }
    if (j + 1 < t.size() && t[j] == '.' && is_digit(t[j + 1])) {
      ++j;
      while (j < t.size() && is_digit(t[j])) ++j;
    }
    size_t e = j;
    size_t k = j;
    while (k < t.size() && t[k] == ' ') ++k;
    if (k < t.size() && t[k] == '%') e = k + 1;
    else if (t.compare(k, 7, "percent") == 0) e = k + 7;
    out = {b, e, t.substr(b, e - b), true};
    any = true;
    i = j;
  }
  return any;
}

// Whole text as the answer: short and free of prose (no letter run of 3+ that is not a command or known word).
bool reads_as_answer(const std::string& t) {
  if (t.size() > 120) return false;
  static const std::set<std::string> ok = {"and", "or", "percent", "pct", "units", "unit", "text", "frac",
                                           "sqrt", "pi", "infty", "cdot", "times", "left", "right", "dfrac"};
  for (size_t i = 0; i < t.size();) {
    if (!is_alpha(t[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && is_alpha(t[j])) ++j;
    bool cmd = i > 0 && t[i - 1] == '\\';
    if (!cmd && j - i >= 3 && !ok.count(to_lower(t.substr(i, j - i)))) return false;
    i = j;
  }
  return !trim(t).empty();
}

struct ExtractCfg {
  bool fallback = false;
  bool latex = true;
  bool numbers = true;
  bool gold = false;  // gold: fallback to the whole text rather than to prose numbers
};

Extracted finish(const std::string& raw, const std::string& how) {
  Extracted x;
  x.raw = raw;
  x.how = how;
  if (raw.size() > 20000) {  // no real answer is this long; keeps normalisation cheap on hostile input
    x.how = how + "_too_long";
    return x;
  }
  x.normalized = latex::normalize_latex(raw);
  x.found = !x.normalized.empty();
  if (!x.found) x.how = how + "_empty";
  return x;
}

Extracted extract_markers(const std::string& t, bool& unclosed) {
  unclosed = false;
  std::vector<Span> boxes = find_boxes(t);
  Span best;
  std::string how;
  bool have = false;
  if (!boxes.empty()) {
    if (!boxes.back().closed) {
      best = boxes.back();
      how = "unclosed_boxed";
    } else {
      best = last_group(boxes, t);
      how = "boxed";
    }
    have = true;
  }
  Span fa;
  if (find_final_answer(t, fa) && (!have || fa.b > best.b)) best = fa, how = "final_answer", have = true;
  Span hh;
  if (find_hashes(t, hh) && (!have || hh.b > best.b)) best = hh, how = "####", have = true;
  if (!have) return {};
  if (how == "unclosed_boxed") {
    unclosed = true;
    Extracted x;
    x.how = how;
    return x;
  }
  return finish(best.content, how);
}

Extracted extract_impl(const std::string& text, const ExtractCfg& cfg) {
  std::string t = text;
  Extracted none;
  none.how = "none";
  size_t think_end = t.rfind("</think>");
  if (think_end != std::string::npos) {
    t = t.substr(think_end + 8);
  } else if (!cfg.fallback && t.find("<think>") != std::string::npos) {
    none.how = "unclosed_think";
    return none;
  }
  size_t at = t.rfind("<answer>");
  if (at != std::string::npos) {
    size_t close = t.find("</answer>", at);
    if (close == std::string::npos) {
      if (!cfg.fallback) {
        none.how = "unclosed_answer_tag";
        return none;
      }
    } else {
      std::string inner = t.substr(at + 8, close - at - 8);
      bool unclosed = false;
      Extracted x = extract_markers(inner, unclosed);
      if (unclosed) return x;
      if (x.found) return x;
      return finish(inner, "answer_tag");
    }
  }
  bool unclosed = false;
  Extracted x = extract_markers(t, unclosed);
  if (unclosed || x.found) return x;
  if (!cfg.fallback) return none;
  std::vector<Span> envs = cfg.latex ? find_envs(t) : std::vector<Span>{};
  Span num;
  bool have_num = !cfg.gold && cfg.numbers && find_last_number(t, envs, num);
  if (envs.empty() && !cfg.gold && reads_as_answer(t)) return finish(t, "whole");
  if (!envs.empty() && (!have_num || envs.back().e > num.e)) {
    // consecutive environments joined by connectors are one list answer ("$1$ and $2$")
    return finish(last_group(envs, t).content, "latex_env");
  }
  if (have_num) return finish(num.content, "number");
  if (cfg.gold || reads_as_answer(t)) return finish(t, "whole");
  return none;
}

// ------------------------------------------------------------------------------------------------ comparison
// Exact rationals in __int128 with overflow detection (the fast path; GiNaC handles what does not fit).
struct Rat {
  __int128 n = 0, d = 1;
  bool inexact = false;  // a decimal literal took part
};

__int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool rat_norm(Rat& r) {
  if (r.d == 0) return false;
  if (r.d < 0) r.n = -r.n, r.d = -r.d;
  __int128 g = gcd128(r.n, r.d);
  if (g > 1) r.n /= g, r.d /= g;
  return true;
}

bool mul_ok(__int128 a, __int128 b, __int128& out) { return !__builtin_mul_overflow(a, b, &out); }
bool add_ok(__int128 a, __int128 b, __int128& out) { return !__builtin_add_overflow(a, b, &out); }

bool parse_num(const std::string& s, Rat& r) {
  __int128 n = 0, d = 1;
  bool dot = false;
  int digits = 0;
  for (char c : s) {
    if (c == '.') {
      dot = true;
      continue;
    }
    if (++digits > 36) return false;
    n = n * 10 + (c - '0');
    if (dot) d *= 10;
  }
  r.n = n;
  r.d = d;
  r.inexact = dot;
  return rat_norm(r);
}

bool rat_eval(const Node& x, Rat& r, int depth = 0) {
  if (depth > 64) return false;
  switch (x.kind) {
    case Node::Num: return parse_num(x.s, r);
    case Node::Neg:
      if (!rat_eval(x.ch[0], r, depth + 1)) return false;
      r.n = -r.n;
      return true;
    case Node::Add: {
      Rat acc;
      for (auto& c : x.ch) {
        Rat v;
        if (!rat_eval(c, v, depth + 1)) return false;
        __int128 a, b, n, d;
        if (!mul_ok(acc.n, v.d, a) || !mul_ok(v.n, acc.d, b) || !add_ok(a, b, n) || !mul_ok(acc.d, v.d, d))
          return false;
        acc.n = n;
        acc.d = d;
        acc.inexact |= v.inexact;
        if (!rat_norm(acc)) return false;
      }
      r = acc;
      return true;
    }
    case Node::Mul: {
      Rat acc;
      acc.n = 1;
      for (auto& c : x.ch) {
        Rat v;
        if (!rat_eval(c, v, depth + 1)) return false;
        __int128 n, d;
        if (!mul_ok(acc.n, v.n, n) || !mul_ok(acc.d, v.d, d)) return false;
        acc.n = n;
        acc.d = d;
        acc.inexact |= v.inexact;
        if (!rat_norm(acc)) return false;
      }
      r = acc;
      return true;
    }
    case Node::Div: {
      Rat a, b;
      if (!rat_eval(x.ch[0], a, depth + 1) || !rat_eval(x.ch[1], b, depth + 1) || b.n == 0) return false;
      __int128 n, d;
      if (!mul_ok(a.n, b.d, n) || !mul_ok(a.d, b.n, d)) return false;
      r.n = n;
      r.d = d;
      r.inexact = a.inexact || b.inexact;
      return rat_norm(r);
    }
    case Node::Pow: {
      Rat b, e;
      if (!rat_eval(x.ch[0], b, depth + 1) || !rat_eval(x.ch[1], e, depth + 1) || e.d != 1) return false;
      __int128 k = e.n < 0 ? -e.n : e.n;
      if (k > 128) return false;
      Rat acc;
      acc.n = 1;
      for (__int128 i = 0; i < k; ++i)
        if (!mul_ok(acc.n, b.n, acc.n) || !mul_ok(acc.d, b.d, acc.d)) return false;
      if (e.n < 0) {
        if (acc.n == 0) return false;
        std::swap(acc.n, acc.d);
      }
      acc.inexact = b.inexact || e.inexact;
      r = acc;
      return rat_norm(r);
    }
    default: return false;
  }
}

long double rat_ld(const Rat& r) { return (long double)r.n / (long double)r.d; }

// Complex double evaluation with symbols bound to values (numeric fallback; bounded by the tree size).
using cd = std::complex<double>;
using Env = std::map<std::string, cd>;

bool c_eval(const Node& x, const Env& env, cd& out, int depth = 0) {
  if (depth > 80) return false;
  auto arg = [&](size_t i, cd& v) { return i < x.ch.size() && c_eval(x.ch[i], env, v, depth + 1); };
  cd a, b;
  switch (x.kind) {
    case Node::Num: out = std::strtod(x.s.c_str(), nullptr); return true;
    case Node::Sym: {
      if (x.s == "i") {
        out = cd(0, 1);
        return true;
      }
      if (x.s == "e") {  // Euler's number, as in Math-Verify
        out = M_E;
        return true;
      }
      auto it = env.find(x.s);
      if (it == env.end()) return false;
      out = it->second;
      return true;
    }
    case Node::Const:
      if (x.s == "pi") out = M_PI;
      else return false;
      return true;
    case Node::Neg:
      if (!arg(0, a)) return false;
      out = -a;
      return true;
    case Node::Percent:
      if (!arg(0, a)) return false;
      out = a / 100.0;
      return true;
    case Node::Add:
      out = 0;
      for (size_t i = 0; i < x.ch.size(); ++i) {
        if (!arg(i, a)) return false;
        out += a;
      }
      return true;
    case Node::Mul:
      out = 1;
      for (size_t i = 0; i < x.ch.size(); ++i) {
        if (!arg(i, a)) return false;
        out *= a;
      }
      return true;
    case Node::Div:
      if (!arg(0, a) || !arg(1, b)) return false;
      out = a / b;
      return true;
    case Node::Pow:
      if (!arg(0, a) || !arg(1, b)) return false;
      if (b.imag() == 0 && b.real() == std::floor(b.real()) && std::fabs(b.real()) < 64) {
        out = std::pow(a, (int)b.real());
      } else if (a.imag() == 0 && a.real() >= 0 && b.imag() == 0) {
        out = std::pow(a.real(), b.real());
      } else {
        out = std::pow(a, b);
      }
      return !(out == cd(0) && a != cd(0));  // underflow: 0.1^100000 is not 0
    case Node::Func: {
      const std::string& f = x.s;
      if (!arg(0, a)) return false;
      if (f == "sqrt") out = std::sqrt(a);
      else if (f == "root") {
        if (!arg(1, b)) return false;
        // real odd roots of negative numbers
        if (a.imag() == 0 && a.real() < 0 && b.imag() == 0 && std::fmod(b.real(), 2.0) == 1.0)
          out = -std::pow(-a.real(), 1.0 / b.real());
        else out = std::pow(a, 1.0 / b);
      } else if (f == "sin") out = std::sin(a);
      else if (f == "cos") out = std::cos(a);
      else if (f == "tan") out = std::tan(a);
      else if (f == "cot") out = 1.0 / std::tan(a);
      else if (f == "sec") out = 1.0 / std::cos(a);
      else if (f == "csc") out = 1.0 / std::sin(a);
      else if (f == "arcsin") out = std::asin(a);
      else if (f == "arccos") out = std::acos(a);
      else if (f == "arctan") out = std::atan(a);
      else if (f == "sinh") out = std::sinh(a);
      else if (f == "cosh") out = std::cosh(a);
      else if (f == "tanh") out = std::tanh(a);
      else if (f == "ln" || f == "log") out = std::log(a);
      else if (f.rfind("log_", 0) == 0) {
        double base = std::strtod(f.c_str() + 4, nullptr);
        if (!(base > 0)) return false;
        out = std::log(a) / std::log(base);
      } else if (f == "lg") out = std::log10(a);
      else if (f == "exp") {
        out = std::exp(a);
        if (out == cd(0)) return false;  // underflow
      }
      else if (f == "abs") out = std::abs(a);
      else if (f == "floor" && a.imag() == 0) out = std::floor(a.real());
      else if (f == "ceil" && a.imag() == 0) out = std::ceil(a.real());
      else if (f == "factorial" && a.imag() == 0) out = std::tgamma(a.real() + 1);
      else if (f == "binomial") {
        if (!arg(1, b) || a.imag() != 0 || b.imag() != 0) return false;
        out = std::exp(std::lgamma(a.real() + 1) - std::lgamma(b.real() + 1) - std::lgamma(a.real() - b.real() + 1));
        out = std::round(out.real());
      } else return false;
      return true;
    }
    default: return false;
  }
}

void collect_syms(const Node& x, std::set<std::string>& out) {
  if (x.kind == Node::Sym && x.s != "i" && x.s != "e") out.insert(x.s);
  for (auto& c : x.ch) collect_syms(c, out);
}

bool has_kind(const Node& x, Node::Kind k) {
  if (x.kind == k) return true;
  for (auto& c : x.ch)
    if (has_kind(c, k)) return true;
  return false;
}

int count_nodes(const Node& x) {
  int n = 1;
  for (auto& c : x.ch) n += count_nodes(c);
  return n;
}

// Sum of integer exponents on non-numeric bases (how far normal()/expand() may have to multiply out).
double symbolic_degree(const Node& x) {
  double d = 0;
  if (x.kind == Node::Pow && x.ch[1].kind == Node::Num) {
    std::set<std::string> s;
    collect_syms(x.ch[0], s);
    if (!s.empty()) d += std::strtod(x.ch[1].s.c_str(), nullptr);
  }
  for (auto& c : x.ch) d += symbolic_degree(c);
  return d;
}

// Upper bound on the number of terms of the expanded difference: C(degree + symbols, symbols) <= 1e5.
bool small_enough_for_cas(const Node& g, const Node& p) {
  std::set<std::string> s;
  collect_syms(g, s);
  collect_syms(p, s);
  double deg = symbolic_degree(g) + symbolic_degree(p) + count_nodes(g) + count_nodes(p);
  double k = (double)s.size(), terms = 1;
  for (double i = 1; i <= k; ++i) {
    terms *= (deg + i) / i;
    if (terms > 1e5) return false;
  }
  return true;
}

bool has_decimal(const Node& x) {
  if (x.kind == Node::Num) return x.s.find('.') != std::string::npos;
  for (auto& c : x.ch)
    if (has_decimal(c)) return true;
  return false;
}

// ---- GiNaC (one global mutex: GiNaC's reference counts are not thread safe)
std::mutex& ginac_mutex() {
  static std::mutex m;
  return m;
}

struct GiNaCFail {};

struct ExBuilder {
  std::map<std::string, GiNaC::symbol> syms;
  const std::map<std::string, std::string>* rename = nullptr;

  GiNaC::ex sym(const std::string& name0) {
    std::string name = name0;
    if (rename) {
      auto it = rename->find(name);
      if (it != rename->end()) name = it->second;
    }
    auto it = syms.find(name);
    if (it != syms.end()) return it->second;
    GiNaC::symbol s(name);
    syms.emplace(name, s);
    return s;
  }

  // bits in the integer part of a numeric (rough size for exponent guards)
  static double bits(const GiNaC::numeric& v) {
    if (v.is_zero()) return 1;
    GiNaC::numeric a = GiNaC::abs(v);
    if (a.is_rational()) {
      double nb = (double)GiNaC::numer(a).int_length(), db = (double)GiNaC::denom(a).int_length();
      return std::max(1.0, std::max(nb, db));
    }
    return 64;
  }

  GiNaC::ex build(const Node& x, int depth = 0) {
    using namespace GiNaC;
    if (depth > 80) throw GiNaCFail{};
    switch (x.kind) {
      case Node::Num: {
        if (x.s.size() > 2000) throw GiNaCFail{};
        std::string digits;
        int frac = 0;
        bool dot = false;
        for (char c : x.s) {
          if (c == '.') dot = true;
          else {
            digits += c;
            if (dot) ++frac;
          }
        }
        size_t nz = digits.find_first_not_of('0');
        digits = nz == std::string::npos ? "0" : digits.substr(nz);
        return numeric(digits.c_str()) / pow(numeric(10), frac);
      }
      case Node::Sym:
        if (x.s == "i") return I;
        if (x.s == "e") return exp(ex(1));
        return sym(x.s);
      case Node::Const:
        if (x.s == "pi") return Pi;
        throw GiNaCFail{};
      case Node::Neg: return -build(x.ch[0], depth + 1);
      case Node::Percent: return build(x.ch[0], depth + 1) / 100;
      case Node::Add: {
        ex s = 0;
        for (auto& c : x.ch) s += build(c, depth + 1);
        return s;
      }
      case Node::Mul: {
        ex s = 1;
        for (auto& c : x.ch) s *= build(c, depth + 1);
        return s;
      }
      case Node::Div: {
        ex d = build(x.ch[1], depth + 1);
        if (d.is_zero()) throw GiNaCFail{};
        return build(x.ch[0], depth + 1) / d;
      }
      case Node::Pow: {
        ex b = build(x.ch[0], depth + 1), e = build(x.ch[1], depth + 1);
        if (is_a<numeric>(e)) {
          numeric ne = ex_to<numeric>(e);
          if (!ne.is_real()) throw GiNaCFail{};
          double mag = std::fabs(ne.to_double());
          if (is_a<numeric>(b)) {
            // refuse results with more than ~20000 bits (2^(10^10), 9^9^9)
            if (mag * bits(ex_to<numeric>(b)) > 20000) throw GiNaCFail{};
          } else if (mag > 64) {
            throw GiNaCFail{};  // (x+1)^1000 would make normal() expand for a long time
          }
        } else if (count_nodes(x.ch[1]) > 40) {
          throw GiNaCFail{};
        }
        return pow(b, e);
      }
      case Node::Func: {
        const std::string& f = x.s;
        ex a = build(x.ch.at(0), depth + 1);
        if (f == "sqrt") return sqrt(a);
        if (f == "root") {
          ex n = build(x.ch.at(1), depth + 1);
          if (n.is_zero()) throw GiNaCFail{};
          return pow(a, 1 / n);
        }
        if (f == "sin") return sin(a);
        if (f == "cos") return cos(a);
        if (f == "tan") return tan(a);
        if (f == "cot") return 1 / tan(a);
        if (f == "sec") return 1 / cos(a);
        if (f == "csc") return 1 / sin(a);
        if (f == "arcsin") return asin(a);
        if (f == "arccos") return acos(a);
        if (f == "arctan") return atan(a);
        if (f == "sinh") return sinh(a);
        if (f == "cosh") return cosh(a);
        if (f == "tanh") return tanh(a);
        if (f == "ln" || f == "log") return log(a);
        if (f == "exp") return exp(a);
        if (f == "abs") return abs(a);
        if (f == "factorial") {
          if (is_a<numeric>(a) && std::fabs(ex_to<numeric>(a).to_double()) > 1000) throw GiNaCFail{};
          return factorial(a);
        }
        if (f == "binomial") {
          ex b = build(x.ch.at(1), depth + 1);
          if (is_a<numeric>(a) && std::fabs(ex_to<numeric>(a).to_double()) > 5000) throw GiNaCFail{};
          return binomial(a, b);
        }
        throw GiNaCFail{};
      }
      default: throw GiNaCFail{};
    }
  }
};

struct Ctx {
  const VerifyOptions& o;
  Clock::time_point deadline;
  bool timed_out = false;
  bool expired() {
    if (Clock::now() > deadline) timed_out = true;
    return timed_out;
  }
};

Node make(Node::Kind k, std::vector<Node> ch = {}, std::string s = {}) {
  Node n;
  n.kind = k;
  n.ch = std::move(ch);
  n.s = std::move(s);
  return n;
}

bool is_inf(const Node& x, int& sign) {
  if (x.kind == Node::Const && x.s == "inf") return sign = 1, true;
  if (x.kind == Node::Neg && is_inf(x.ch[0], sign)) return sign = -sign, true;
  return false;
}

bool close_enough(long double a, long double b, double rel) {
  long double diff = std::fabs(a - b), scale = std::max(std::fabs(a), std::fabs(b));
  return diff <= rel * scale || diff < 1e-300L;
}

// Decimal-aware numeric comparison of two real values. gold_decimals: places of a gold decimal literal, or -1.
bool num_equal(long double g, long double p, bool inexact, int gold_decimals, const VerifyOptions& o) {
  if (!inexact) return g == p;
  if (close_enough(g, p, o.rel_tol)) return true;
  if (gold_decimals >= 0) {
    long double scale = std::pow(10.0L, gold_decimals);
    if (std::fabs(std::round(p * scale) - std::round(g * scale)) < 0.5L) return true;
  }
  if (o.precision >= 0) {
    long double scale = std::pow(10.0L, o.precision);
    if (std::fabs(std::round(p * scale) - std::round(g * scale)) < 0.5L) return true;
  }
  return false;
}

int decimals_of(const Node& x) {
  const Node* n = &x;
  while (n->kind == Node::Neg) n = &n->ch[0];
  if (n->kind != Node::Num) return -1;
  size_t dot = n->s.find('.');
  return dot == std::string::npos ? -1 : (int)(n->s.size() - dot - 1);
}

// Values of a scalar at fixed pseudo-random points agree?
bool numeric_points_equal(const Node& g, const Node& p, const std::map<std::string, std::string>& rename,
                          bool inexact, Ctx& ctx) {
  std::set<std::string> syms;
  collect_syms(g, syms);
  collect_syms(p, syms);
  // 4 points with values in [0.37, 2.1] and 2 with small values in [0.01, 0.1], so that high powers such as
  // (a+b+c)^60 stay small enough for a difference of 1 to show in double precision
  int points = syms.empty() ? 1 : 6, conclusive = 0;
  double rel = inexact ? ctx.o.rel_tol : 1e-10;
  for (int k = 0; k < points; ++k) {
    Env env;
    int idx = 0;
    for (auto& s : syms) {
      double u = std::fmod((k + 1) * 1.618033 * (idx++ + 1.41421), 1.0);
      env[s] = cd(k < 4 ? 0.37 + 1.73 * u : 0.01 + 0.09 * u, 0.0);
    }
    Env penv = env;
    for (auto& [from, to] : rename) penv[from] = env.count(to) ? env[to] : penv[from];
    cd a, b;
    if (!c_eval(g, env, a) || !c_eval(p, penv, b)) return false;
    if (!std::isfinite(a.real()) || !std::isfinite(a.imag()) || !std::isfinite(b.real()) ||
        !std::isfinite(b.imag()))
      return false;
    double diff = std::abs(a - b), scale = std::max(std::abs(a), std::abs(b));
    if (!(diff <= rel * scale || diff < 1e-12)) {
      if (syms.empty() && inexact && a.imag() == 0 && b.imag() == 0)
        return num_equal(a.real(), b.real(), true, decimals_of(g), ctx.o);
      return false;
    }
    // above 1e9 a relative match cannot see a difference of 1 (3^100 vs 3^100 + 1): such a point proves nothing
    if (scale > 1e9 && !inexact) continue;
    ++conclusive;
  }
  return conclusive > 0;
}

bool eq_scalar(const Node& g0, const Node& p0, Ctx& ctx) {
  if (ctx.expired()) return false;
  // percentages: 28% == 28 (the % is a unit), and 28% == 0.28
  const Node* g = &g0;
  const Node* p = &p0;
  bool gp = false, pp = false;
  if (g->kind == Node::Percent) g = &g->ch[0], gp = true;
  if (p->kind == Node::Percent) p = &p->ch[0], pp = true;
  int sg = 0, sp = 0;
  bool gi = is_inf(*g, sg), pi = is_inf(*p, sp);
  if (gi || pi) return gi && pi && sg == sp;
  if (g->kind == Node::Text || p->kind == Node::Text)
    return g->kind == p->kind && to_lower(g->s) == to_lower(p->s);

  Rat rg, rp;
  if (rat_eval(*g, rg) && rat_eval(*p, rp)) {
    bool inexact = rg.inexact || rp.inexact;
    int gd = decimals_of(*g);
    if (inexact ? num_equal(rat_ld(rg), rat_ld(rp), true, gd, ctx.o) : (rg.n == rp.n && rg.d == rp.d)) return true;
    if (gp != pp) {
      long double a = rat_ld(rg) / (gp ? 100.0L : 1.0L), b = rat_ld(rp) / (pp ? 100.0L : 1.0L);
      return num_equal(a, b, true, -1, ctx.o) || (!inexact && std::fabs(a - b) < 1e-15L * std::fabs(a));
    }
    return false;
  }
  if (count_nodes(*g) > 400 || count_nodes(*p) > 400) return false;

  std::set<std::string> sg_syms, sp_syms;
  collect_syms(*g, sg_syms);
  collect_syms(*p, sp_syms);
  std::map<std::string, std::string> rename;
  if (!ctx.o.strict && sg_syms != sp_syms) {
    std::vector<std::string> only_g, only_p;
    std::set_difference(sg_syms.begin(), sg_syms.end(), sp_syms.begin(), sp_syms.end(), std::back_inserter(only_g));
    std::set_difference(sp_syms.begin(), sp_syms.end(), sg_syms.begin(), sg_syms.end(), std::back_inserter(only_p));
    if (only_g.size() == only_p.size())
      for (size_t i = 0; i < only_g.size(); ++i) rename[only_p[i]] = only_g[i];
  }
  bool inexact = has_decimal(*g) || has_decimal(*p);
  // GiNaC: exact symbolic difference
  if (!inexact && small_enough_for_cas(*g, *p)) {
    std::lock_guard<std::mutex> lock(ginac_mutex());
    try {
      ExBuilder bg, bp;
      GiNaC::ex eg = bg.build(*g);
      bp.syms = bg.syms;
      bp.rename = &rename;
      GiNaC::ex ep = bp.build(*p);
      GiNaC::ex d = eg - ep;
      if (d.is_zero()) return true;
      if (!ctx.expired() && GiNaC::normal(d).is_zero()) return true;
    } catch (const GiNaCFail&) {
    } catch (const std::exception&) {
    }
  }
  if (ctx.expired()) return false;
  if (numeric_points_equal(*g, *p, rename, inexact, ctx)) return true;
  if (gp != pp) {
    Node a = gp ? make(Node::Percent, {*g}) : *g;
    Node b = pp ? make(Node::Percent, {*p}) : *p;
    return numeric_points_equal(a, b, rename, true, ctx);
  }
  return false;
}

// ---- structure
bool simple_lhs(const Node& x) {
  switch (x.kind) {
    case Node::Sym: return true;
    case Node::Mul:
    case Node::Div:
    case Node::Tuple:
      for (auto& c : x.ch)
        if (!simple_lhs(c)) return false;
      return true;
    case Node::Func: return x.s == "abs" && simple_lhs(x.ch[0]);
    case Node::Pow: return simple_lhs(x.ch[0]) && x.ch[1].kind == Node::Num;
    default: return false;
  }
}

bool no_symbols(const Node& x) {
  std::set<std::string> s;
  collect_syms(x, s);
  return s.empty() && !has_kind(x, Node::Text);
}

// "x = 3" -> 3; "x = 5+5+1 = 11" -> 11; "x = 1/3 \approx 0.33" -> 1/3; "1/2 = 10/9" -> 10/9; "x \in S" -> S.
bool unwrap_rel(const Node& x, Node& out) {
  if (x.kind != Node::Rel) return false;
  bool eqs = true;
  for (auto& o : x.ops) eqs = eqs && (o == "=" || o == "~");
  if (eqs && (simple_lhs(x.ch[0]) || no_symbols(x.ch[0]))) {
    int pick = -1;
    for (size_t i = 0; i < x.ops.size(); ++i)
      if (x.ops[i] == "=") pick = (int)i + 1;
    if (pick < 0) pick = (int)x.ch.size() - 1;
    out = x.ch[pick];
    return true;
  }
  if (x.ops.size() == 1 && x.ops[0] == "in" && simple_lhs(x.ch[0])) {
    out = x.ch[1];
    return true;
  }
  return false;
}

bool is_ineq_op(const std::string& o) { return o == "<" || o == "<=" || o == ">" || o == ">="; }

// Single-variable inequality -> interval (or union of two for |v|): "-2 <= x < 7" -> [-2,7).
bool ineq_to_set(const Node& x, Node& out) {
  if (x.kind != Node::Rel || x.ch.size() < 2 || x.ch.size() > 3) return false;
  for (auto& o : x.ops)
    if (!is_ineq_op(o)) return false;
  std::vector<Node> ch = x.ch;
  std::vector<std::string> ops = x.ops;
  bool gt = ops[0][0] == '>';
  for (auto& o : ops)
    if ((o[0] == '>') != gt) return false;
  if (gt) {
    std::reverse(ch.begin(), ch.end());
    std::reverse(ops.begin(), ops.end());
    for (auto& o : ops) o[0] = '<';
  }
  Node inf = make(Node::Const, {}, "inf"), ninf = make(Node::Neg, {inf});
  Node lo = ninf, hi = inf, var;
  char lb = '(', rb = ')';
  if (ch.size() == 3) {
    var = ch[1];
    lo = ch[0];
    hi = ch[2];
    lb = ops[0] == "<=" ? '[' : '(';
    rb = ops[1] == "<=" ? ']' : ')';
  } else if (simple_lhs(ch[0]) && !simple_lhs(ch[1])) {
    var = ch[0];
    hi = ch[1];
    rb = ops[0] == "<=" ? ']' : ')';
  } else if (simple_lhs(ch[1]) && !simple_lhs(ch[0])) {
    var = ch[1];
    lo = ch[0];
    lb = ops[0] == "<=" ? '[' : '(';
  } else {
    return false;
  }
  if (!simple_lhs(var)) return false;
  auto interval = [](Node a, Node b, char l, char r) {
    Node t = make(Node::Tuple, {std::move(a), std::move(b)});
    t.s = std::string(1, l) + r;
    return t;
  };
  int s;
  bool abs_var = var.kind == Node::Func && var.s == "abs";
  if (!abs_var) {
    out = interval(lo, hi, lb, rb);
    return true;
  }
  // |v| in (lo, hi): (-hi, -lo) u (lo, hi); with lo = -inf: (-hi, hi)
  if (is_inf(lo, s)) {
    out = interval(make(Node::Neg, {hi}), hi, rb == ']' ? '[' : '(', rb);
    return true;
  }
  char flip_l = rb == ']' ? '[' : '(', flip_r = lb == '[' ? ']' : ')';
  out = make(Node::Union, {interval(make(Node::Neg, {hi}), make(Node::Neg, {lo}), flip_l, flip_r),
                           interval(lo, hi, lb, rb)});
  return true;
}

// Expands +- into alternatives (at most 16).
void expand_pm(const Node& x, std::vector<Node>& out) {
  if (!has_kind(x, Node::PM)) {
    out.push_back(x);
    return;
  }
  if (x.kind == Node::PM) {
    std::vector<Node> as, bs;
    if (x.ch[0].kind == Node::Empty) as.push_back(Node{});
    else expand_pm(x.ch[0], as);
    expand_pm(x.ch[1], bs);
    for (auto& a : as)
      for (auto& b : bs) {
        if (out.size() >= 16) return;
        if (a.kind == Node::Empty) {
          out.push_back(b);
          out.push_back(make(Node::Neg, {b}));
        } else {
          out.push_back(make(Node::Add, {a, b}));
          out.push_back(make(Node::Add, {a, make(Node::Neg, {b})}));
        }
      }
    return;
  }
  // expand the first child holding a PM, recurse on the results
  for (size_t i = 0; i < x.ch.size(); ++i) {
    if (!has_kind(x.ch[i], Node::PM)) continue;
    std::vector<Node> alts;
    expand_pm(x.ch[i], alts);
    for (auto& a : alts) {
      Node y = x;
      y.ch[i] = a;
      expand_pm(y, out);
      if (out.size() >= 16) return;
    }
    return;
  }
}

// Matrix sums and products evaluated cell by cell.
bool mat_eval(const Node& x, Node& out) {
  if (x.kind == Node::Matrix) {
    out = x;
    return true;
  }
  if (x.kind == Node::Neg) {
    Node m;
    if (!mat_eval(x.ch[0], m)) return false;
    for (auto& c : m.ch) c = make(Node::Neg, {c});
    out = m;
    return true;
  }
  if (x.kind == Node::Add) {
    Node acc;
    bool first = true;
    for (auto& c : x.ch) {
      Node m;
      if (!mat_eval(c, m)) return false;
      if (first) {
        acc = m;
        first = false;
        continue;
      }
      if (m.rows != acc.rows || m.cols != acc.cols) return false;
      for (size_t i = 0; i < acc.ch.size(); ++i) acc.ch[i] = make(Node::Add, {acc.ch[i], m.ch[i]});
    }
    out = acc;
    return true;
  }
  if (x.kind == Node::Mul) {
    Node acc;
    bool have = false;
    std::vector<Node> scalars;
    for (auto& c : x.ch) {
      Node m;
      if (!has_kind(c, Node::Matrix)) {
        scalars.push_back(c);
        continue;
      }
      if (!mat_eval(c, m)) return false;
      if (!have) {
        acc = m;
        have = true;
        continue;
      }
      if (acc.cols != m.rows) return false;
      Node r = make(Node::Matrix);
      r.rows = acc.rows;
      r.cols = m.cols;
      for (int i = 0; i < acc.rows; ++i)
        for (int j = 0; j < m.cols; ++j) {
          Node sum = make(Node::Add);
          for (int k = 0; k < acc.cols; ++k)
            sum.ch.push_back(make(Node::Mul, {acc.ch[i * acc.cols + k], m.ch[k * m.cols + j]}));
          r.ch.push_back(sum);
        }
      acc = r;
    }
    if (!have) return false;
    for (auto& c : acc.ch)
      for (auto& s : scalars) c = make(Node::Mul, {s, c});
    out = acc;
    return true;
  }
  return false;
}

bool eq_node(const Node& g, const Node& p, Ctx& ctx, int depth = 0);

bool is_list_like(const Node& x) { return x.kind == Node::List || x.kind == Node::Set; }

// Order-free comparison with duplicates removed on both sides.
bool eq_unordered(const std::vector<Node>& a, const std::vector<Node>& b, Ctx& ctx, int depth) {
  if (a.size() > 200 || b.size() > 200) return false;
  auto dedupe = [&](const std::vector<Node>& v) {
    std::vector<const Node*> out;
    for (auto& x : v) {
      bool dup = false;
      for (auto* y : out)
        if (latex::to_string(*y) == latex::to_string(x)) dup = true;
      if (!dup) out.push_back(&x);
    }
    return out;
  };
  auto da = dedupe(a), db = dedupe(b);
  std::vector<char> used(db.size(), 0);
  size_t matched = 0;
  for (auto* x : da) {
    bool found = false;
    for (size_t j = 0; j < db.size() && !found; ++j)
      if (!used[j] && eq_node(*x, *db[j], ctx, depth + 1)) used[j] = 1, found = true;
    if (!found) {
      // a duplicate in value (not in text) may have used its partner already
      for (size_t j = 0; j < db.size() && !found; ++j)
        if (eq_node(*x, *db[j], ctx, depth + 1)) found = true;
      if (!found) return false;
    } else {
      ++matched;
    }
  }
  for (size_t j = 0; j < db.size(); ++j) {
    if (used[j]) continue;
    bool found = false;
    for (auto* x : da)
      if (eq_node(*x, *db[j], ctx, depth + 1)) found = true;
    if (!found) return false;
  }
  return true;
}

// Prepares one side: +- expansion, relation unwrapping, matrix arithmetic. `unordered` marks solution lists.
Node prepare(const Node& x0, bool& unordered) {
  Node x = x0;
  unordered = false;
  Node u;
  if (unwrap_rel(x, u)) x = u;
  Node m;
  if ((x.kind == Node::Add || x.kind == Node::Mul || x.kind == Node::Neg) && has_kind(x, Node::Matrix) &&
      mat_eval(x, m))
    x = m;
  if (x.kind == Node::List && x.ch.size() >= 2) {
    // "x < -2 or x > 3": a list of one-variable inequalities is the union of their intervals
    Node un = make(Node::Union);
    for (auto& c : x.ch) {
      Node iv;
      if (!ineq_to_set(c, iv)) break;
      if (iv.kind == Node::Union) un.ch.insert(un.ch.end(), iv.ch.begin(), iv.ch.end());
      else un.ch.push_back(iv);
    }
    if (un.ch.size() >= x.ch.size()) return un;
  }
  if (is_list_like(x)) {
    if (x.kind == Node::Set) unordered = true;
    Node out = make(x.kind);
    bool first_is_eq = !x.ch.empty() && x.ch[0].kind == Node::Rel;
    bool all_tuples = !x.ch.empty();
    for (auto& c : x.ch) {
      all_tuples = all_tuples && c.kind == Node::Tuple;
      Node item = c;
      Node v;
      if (unwrap_rel(item, v)) {
        item = v;
        all_tuples = all_tuples && item.kind == Node::Tuple;
      }
      std::vector<Node> alts;
      expand_pm(item, alts);
      if (alts.size() > 1) unordered = true;
      for (auto& a : alts) out.ch.push_back(a);
    }
    if (first_is_eq || all_tuples) unordered = true;
    if (out.ch.size() == 1 && x.kind == Node::List) return out.ch[0];
    return out;
  }
  if (has_kind(x, Node::PM)) {
    std::vector<Node> alts;
    expand_pm(x, alts);
    if (alts.size() > 1) {
      unordered = true;
      return make(Node::Set, alts);
    }
  }
  return x;
}

// Both relations: same chain (up to direction), or equations L1-R1 = c (L2-R2).
bool eq_rel(const Node& g, const Node& p, Ctx& ctx, int depth) {
  auto canon = [](const Node& r) {
    Node c = r;
    bool gt = !c.ops.empty();
    for (auto& o : c.ops) gt = gt && (o == ">" || o == ">=");
    if (gt) {
      std::reverse(c.ch.begin(), c.ch.end());
      std::reverse(c.ops.begin(), c.ops.end());
      for (auto& o : c.ops) o[0] = '<';
    }
    return c;
  };
  Node a = canon(g), b = canon(p);
  if (a.ops == b.ops) {
    bool all = true;
    for (size_t i = 0; i < a.ch.size() && all; ++i) all = eq_node(a.ch[i], b.ch[i], ctx, depth + 1);
    if (all) return true;
  }
  if (a.ops.size() == 1 && b.ops.size() == 1 && a.ops[0] == b.ops[0] && (a.ops[0] == "=" || a.ops[0] == "!=")) {
    // symmetric relations: a = b vs b = a
    if (eq_node(a.ch[0], b.ch[1], ctx, depth + 1) && eq_node(a.ch[1], b.ch[0], ctx, depth + 1)) return true;
    if (a.ops[0] == "=" && !has_kind(a, Node::Tuple) && !has_kind(b, Node::Tuple)) {
      // equations: (L1 - R1) / (L2 - R2) is a nonzero constant
      Node d1 = make(Node::Add, {a.ch[0], make(Node::Neg, {a.ch[1]})});
      Node d2 = make(Node::Add, {b.ch[0], make(Node::Neg, {b.ch[1]})});
      std::lock_guard<std::mutex> lock(ginac_mutex());
      if (small_enough_for_cas(d1, d2)) try {
        ExBuilder bld;
        GiNaC::ex e1 = bld.build(d1), e2 = bld.build(d2);
        if (!e2.is_zero()) {
          GiNaC::ex q = GiNaC::normal(e1 / e2);
          if (GiNaC::is_a<GiNaC::numeric>(q) && !q.is_zero()) return true;
        }
      } catch (...) {
      }
    }
  }
  Node sa, sb;
  if (ineq_to_set(g, sa) && ineq_to_set(p, sb)) return eq_node(sa, sb, ctx, depth + 1);
  return false;
}

bool eq_node(const Node& g0, const Node& p0, Ctx& ctx, int depth) {
  if (depth > 32 || ctx.expired()) return false;
  bool gu = false, pu = false;
  Node g = prepare(g0, gu), p = prepare(p0, pu);
  if (g.kind == Node::Rel && p.kind == Node::Rel) return eq_rel(g, p, ctx, depth);
  if (g.kind == Node::Rel) {
    Node s;
    if (ineq_to_set(g, s)) return eq_node(s, p, ctx, depth + 1);
    return false;
  }
  if (p.kind == Node::Rel) {
    Node s;
    if (ctx.o.allow_set_relation_comp && ineq_to_set(p, s)) return eq_node(g, s, ctx, depth + 1);
    return false;
  }
  if (is_list_like(g) || is_list_like(p)) {
    if (is_list_like(g) && is_list_like(p)) {
      if (gu || pu) return eq_unordered(g.ch, p.ch, ctx, depth);
      if (g.ch.size() != p.ch.size()) return false;
      for (size_t i = 0; i < g.ch.size(); ++i)
        if (!eq_node(g.ch[i], p.ch[i], ctx, depth + 1)) return false;
      return true;
    }
    const Node& l = is_list_like(g) ? g : p;
    const Node& o = is_list_like(g) ? p : g;
    if (o.kind == Node::Tuple && o.s == "()" && l.kind == Node::List) {  // (1,3) vs "1, 3"
      if (l.ch.size() != o.ch.size()) return false;
      for (size_t i = 0; i < l.ch.size(); ++i)
        if (!(is_list_like(g) ? eq_node(l.ch[i], o.ch[i], ctx, depth + 1) : eq_node(o.ch[i], l.ch[i], ctx, depth + 1)))
          return false;
      return true;
    }
    if (l.ch.empty()) return false;
    for (auto& c : l.ch)  // {5} vs 5, {143, 143} vs 143
      if (!(is_list_like(g) ? eq_node(c, o, ctx, depth + 1) : eq_node(o, c, ctx, depth + 1))) return false;
    return true;
  }
  if (g.kind == Node::Union || p.kind == Node::Union || g.kind == Node::Inter || p.kind == Node::Inter) {
    if (g.kind != p.kind) return false;
    return eq_unordered(g.ch, p.ch, ctx, depth);
  }
  if (g.kind == Node::Tuple || p.kind == Node::Tuple) {
    if (g.kind != p.kind || g.s != p.s || g.ch.size() != p.ch.size()) return false;
    for (size_t i = 0; i < g.ch.size(); ++i)
      if (!eq_node(g.ch[i], p.ch[i], ctx, depth + 1)) return false;
    return true;
  }
  if (g.kind == Node::Matrix || p.kind == Node::Matrix) {
    if (g.kind != p.kind || g.rows != p.rows || g.cols != p.cols) return false;
    for (size_t i = 0; i < g.ch.size(); ++i)
      if (!eq_node(g.ch[i], p.ch[i], ctx, depth + 1)) return false;
    return true;
  }
  if (g.kind == Node::Func && g.s == "setminus") return false;
  return eq_scalar(g, p, ctx);
}

// "(B)", "B", "\text{(B)}", "B)" -> 'B'; 0 when not a choice letter.
char choice_letter(const std::string& loose) {
  std::string s;
  for (char c : loose)
    if (c != '(' && c != ')' && c != '{' && c != '}' && c != ' ' && c != '.') s += c;
  if (s.size() == 1 && s[0] >= 'A' && s[0] <= 'J') return s[0];
  return 0;
}

bool answers_equal(const Extracted& g, const Extracted& p, const VerifyOptions& o, bool& timed_out) {
  std::string lg = latex::loose_key(g.normalized), lp = latex::loose_key(p.normalized);
  if (lg == lp) return true;
  char cg = choice_letter(lg), cp = choice_letter(lp);
  if (cg || cp) return cg == cp;
  // pure words: case-insensitive ("\text{East}" vs "east")
  auto wordy = [](const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
      if (!is_alpha(c) && c != ' ') return false;
    return true;
  };
  if (wordy(lg) && wordy(lp)) return to_lower(lg) == to_lower(lp);
  latex::ParseResult pg = latex::parse_answer(g.normalized);
  if (!pg.ok) return false;
  latex::ParseResult pp = latex::parse_answer(p.normalized);
  if (!pp.ok) return false;
  Ctx ctx{o, Clock::now() + std::chrono::microseconds((long long)(o.time_limit_s * 1e6))};
  bool eq = eq_node(pg.root, pp.root, ctx);
  timed_out = ctx.timed_out;
  return eq;
}

bool balanced_braces(const std::string& s) {
  int d = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++d;
    if (s[i] == '}' && --d < 0) return false;
  }
  return d == 0;
}

// Canonical key of a parsed node.
std::string canon_key(const Node& x0) {
  bool unordered = false;
  Node x = prepare(x0, unordered);
  if (is_list_like(x) || x.kind == Node::Union) {
    std::vector<std::string> keys;
    for (auto& c : x.ch) keys.push_back(canon_key(c));
    if (unordered || x.kind != Node::List) std::sort(keys.begin(), keys.end());
    std::string o = x.kind == Node::List && !unordered ? "list(" : "set(";
    for (size_t i = 0; i < keys.size(); ++i) o += (i ? "," : "") + keys[i];
    return o + ")";
  }
  if (x.kind == Node::Tuple || x.kind == Node::Matrix) {
    std::string o = x.kind == Node::Tuple ? x.s.substr(0, 1) : "mat[";
    for (size_t i = 0; i < x.ch.size(); ++i) o += (i ? "," : "") + canon_key(x.ch[i]);
    return o + (x.kind == Node::Tuple ? x.s.substr(1) : "]");
  }
  const Node* s = &x;
  if (s->kind == Node::Percent) s = &s->ch[0];
  Rat r;
  if (rat_eval(*s, r)) {
    auto to_s = [](__int128 v) {
      bool neg = v < 0;
      if (neg) v = -v;
      std::string d;
      do {
        d += char('0' + (int)(v % 10));
        v /= 10;
      } while (v);
      if (neg) d += '-';
      std::reverse(d.begin(), d.end());
      return d;
    };
    return r.d == 1 ? to_s(r.n) : to_s(r.n) + "/" + to_s(r.d);
  }
  if (s->kind == Node::Text) return "text:" + to_lower(s->s);
  if (count_nodes(*s) <= 200 && small_enough_for_cas(*s, *s)) {
    std::lock_guard<std::mutex> lock(ginac_mutex());
    try {
      // one symbol table for all keys, so equal expressions print identically
      static ExBuilder* b = new ExBuilder;
      if (b->syms.size() > 10000) {  // bound the table on adversarial streams of names
        delete b;
        b = new ExBuilder;
      }
      GiNaC::ex e = GiNaC::normal(b->build(*s));
      GiNaC::ex nd = GiNaC::numer_denom(e);
      std::ostringstream os;
      os << GiNaC::expand(nd.op(0)) << " / " << GiNaC::expand(nd.op(1));
      return "ex:" + os.str();
    } catch (...) {
    }
  }
  return "node:" + latex::to_string(*s);
}

}  // namespace

Extracted extract_answer(const std::string& text, bool allow_bare_fallback) {
  ExtractCfg cfg;
  cfg.fallback = allow_bare_fallback;
  return extract_impl(text, cfg);
}

VerifyResult verify(const std::string& gold, const std::string& pred) { return verify(gold, pred, VerifyOptions{}); }

VerifyResult verify(const std::string& gold, const std::string& pred, const VerifyOptions& opt) {
  VerifyResult r;
  ExtractCfg gc;
  gc.fallback = true;
  gc.gold = true;
  r.gold = extract_impl(gold, gc);
  ExtractCfg pc;
  pc.fallback = opt.pred_bare_fallback;
  pc.latex = opt.fallback_latex;
  pc.numbers = opt.fallback_numbers;
  r.pred = extract_impl(pred, pc);
  if (!r.gold.found) {
    r.error = "gold answer not found (" + r.gold.how + ")";
    return r;
  }
  if (!balanced_braces(r.gold.normalized)) {
    r.error = "gold answer has unbalanced braces: " + r.gold.normalized;
    return r;
  }
  if (!r.pred.found) return r;
  bool timed_out = false;
  r.equal = answers_equal(r.gold, r.pred, opt, timed_out);
  if (timed_out && !r.equal) r.error = "timeout";
  return r;
}

double math_accuracy_reward(const std::string& completion, const std::string& gold) {
  return verify(gold, completion).equal ? 1.0 : 0.0;
}

std::string canonical_answer(const std::string& answer) {
  ExtractCfg cfg;
  cfg.fallback = true;
  cfg.gold = true;
  Extracted x = extract_impl(answer, cfg);
  if (!x.found) return "";
  std::string loose = latex::loose_key(x.normalized);
  if (char c = choice_letter(loose)) return std::string("choice:") + c;
  latex::ParseResult p = latex::parse_answer(x.normalized);
  if (!p.ok) return "str:" + loose;
  return canon_key(p.root);
}

}  // namespace r1
