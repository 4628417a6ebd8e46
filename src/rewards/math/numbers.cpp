// Numeric evaluation of parsed answers: exact rational values (rational.h), complex double values with symbols
// bound to sample points (the fallback when GiNaC cannot decide), and decimal-aware equality of real values.
#include "rewards/math/internal.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>

namespace r1::math {
namespace {

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

bool close_enough(long double a, long double b, double rel) {
  long double diff = std::fabs(a - b), scale = std::max(std::fabs(a), std::fabs(b));
  return diff <= rel * scale || diff < 1e-300L;
}

}  // namespace

bool exact_value(const Node& x, Rational& r, bool& inexact, int depth) {
  if (depth > 64) return false;
  switch (x.kind) {
    case Node::Num:
      inexact |= x.s.find('.') != std::string::npos;
      return rational_from_decimal(x.s, r);
    case Node::Neg:
      if (!exact_value(x.ch[0], r, inexact, depth + 1)) return false;
      r.num = -r.num;
      return true;
    case Node::Add:
    case Node::Mul: {
      bool add = x.kind == Node::Add;
      Rational acc{add ? 0 : 1, 1};
      for (auto& c : x.ch) {
        Rational v;
        if (!exact_value(c, v, inexact, depth + 1)) return false;
        if (!(add ? rational_add(acc, v, acc) : rational_mul(acc, v, acc))) return false;
      }
      r = acc;
      return true;
    }
    case Node::Div: {
      Rational a, b;
      if (!exact_value(x.ch[0], a, inexact, depth + 1) || !exact_value(x.ch[1], b, inexact, depth + 1) || b.num == 0)
        return false;
      return rational_div(a, b, r);
    }
    case Node::Pow: {
      Rational b, e;
      if (!exact_value(x.ch[0], b, inexact, depth + 1) || !exact_value(x.ch[1], e, inexact, depth + 1) || e.den != 1)
        return false;
      return rational_pow(b, e.num, r);
    }
    default: return false;
  }
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

}  // namespace r1::math
