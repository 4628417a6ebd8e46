// The symbolic part of the verifier: parsed answers as GiNaC expressions. GiNaC runs under one global mutex (its
// reference counts are not thread safe); inputs whose expansion could explode (high degrees in many symbols,
// absurd exponents and factorials) are refused before GiNaC sees them, and the caller's deadline is checked
// before the expensive normal().
#include "rewards/math/internal.h"

#include <ginac/ginac.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

namespace r1::math {
namespace {

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

}  // namespace

bool cas_equal(const Node& g, const Node& p, const std::map<std::string, std::string>& rename, Ctx& ctx) {
  if (!small_enough_for_cas(g, p)) return false;
  std::lock_guard<std::mutex> lock(ginac_mutex());
  try {
    ExBuilder bg, bp;
    GiNaC::ex eg = bg.build(g);
    bp.syms = bg.syms;
    bp.rename = &rename;
    GiNaC::ex ep = bp.build(p);
    GiNaC::ex d = eg - ep;
    if (d.is_zero()) return true;
    if (!ctx.expired() && GiNaC::normal(d).is_zero()) return true;
  } catch (const GiNaCFail&) {
  } catch (const std::exception&) {
  }
  return false;
}

int cas_ratio_sign(const Node& d1, const Node& d2) {
  std::lock_guard<std::mutex> lock(ginac_mutex());
  if (small_enough_for_cas(d1, d2)) try {
      ExBuilder bld;
      GiNaC::ex e1 = bld.build(d1), e2 = bld.build(d2);
      if (!e2.is_zero()) {
        GiNaC::ex q = GiNaC::normal(e1 / e2);
        if (GiNaC::is_a<GiNaC::numeric>(q) && !q.is_zero()) {
          const GiNaC::numeric& n = GiNaC::ex_to<GiNaC::numeric>(q);
          if (!n.is_real()) return 2;
          return n.is_positive() ? 1 : -1;
        }
      }
    } catch (...) {
    }
  return 0;
}

bool cas_proportional(const Node& d1, const Node& d2) { return cas_ratio_sign(d1, d2) != 0; }

bool cas_key(const Node& x, std::string& key) {
  if (count_nodes(x) > 200 || !small_enough_for_cas(x, x)) return false;
  std::lock_guard<std::mutex> lock(ginac_mutex());
  try {
    // one symbol table for all keys, so equal expressions print identically
    static ExBuilder* b = new ExBuilder;
    if (b->syms.size() > 10000) {  // bound the table on adversarial streams of names
      delete b;
      b = new ExBuilder;
    }
    GiNaC::ex e = GiNaC::normal(b->build(x));
    GiNaC::ex nd = GiNaC::numer_denom(e);
    std::ostringstream os;
    os << GiNaC::expand(nd.op(0)) << " / " << GiNaC::expand(nd.op(1));
    key = "ex:" + os.str();
    return true;
  } catch (...) {
  }
  return false;
}

}  // namespace r1::math
