// Equivalence of two parsed answers: numbers (exact, decimal-aware, percentages), expressions (GiNaC, then sample
// points), tuples, intervals, sets and solution lists (order-free), ordered lists, unions, relations and
// equations, matrices, text and multiple-choice letters. Every step checks the comparison's deadline.
#include "rewards/math/internal.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace r1::math {
namespace {

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

  Rational rg, rp;
  bool decimal = false;  // a decimal literal took part
  if (exact_value(*g, rg, decimal) && exact_value(*p, rp, decimal)) {
    int gd = decimals_of(*g);
    long double lg = rational_to_long_double(rg), lp = rational_to_long_double(rp);
    if (decimal ? num_equal(lg, lp, true, gd, ctx.o) : (rg.num == rp.num && rg.den == rp.den)) return true;
    if (gp != pp) {
      long double a = lg / (gp ? 100.0L : 1.0L), b = lp / (pp ? 100.0L : 1.0L);
      return num_equal(a, b, true, -1, ctx.o) || (!decimal && std::fabs(a - b) < 1e-15L * std::fabs(a));
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
  if (!inexact && cas_equal(*g, *p, rename, ctx)) return true;
  if (ctx.expired()) return false;
  if (numeric_points_equal(*g, *p, rename, inexact, ctx)) return true;
  if (gp != pp) {
    Node a = gp ? make_node(Node::Percent, {*g}) : *g;
    Node b = pp ? make_node(Node::Percent, {*p}) : *p;
    return numeric_points_equal(a, b, rename, true, ctx);
  }
  return false;
}

bool eq_node(const Node& g, const Node& p, Ctx& ctx, int depth = 0);

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
      Node d1 = make_node(Node::Add, {a.ch[0], make_node(Node::Neg, {a.ch[1]})});
      Node d2 = make_node(Node::Add, {b.ch[0], make_node(Node::Neg, {b.ch[1]})});
      if (cas_proportional(d1, d2)) return true;
    }
  }
  Node sa, sb;
  if (ineq_to_set(g, sa) && ineq_to_set(p, sb)) return eq_node(sa, sb, ctx, depth + 1);
  return false;
}

bool eq_node(const Node& g0, const Node& p0, Ctx& ctx, int depth) {
  if (depth > 32 || ctx.expired()) return false;
  if (ctx.o.lenient) {
    if (g0.kind == Node::Rel && p0.kind == Node::Rel && relations_rearranged_equal(g0, p0, ctx)) return true;
    int by_label = labelled_lists_equal(g0, p0, ctx, [&](const Node& a, const Node& b) {
      return eq_node(a, b, ctx, depth + 1);
    });
    if (by_label >= 0) return by_label == 1;
  }
  bool gu = false, pu = false;
  Node g = prepare(g0, gu, ctx.o.lenient), p = prepare(p0, pu, ctx.o.lenient);
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

}  // namespace

// "(B)", "B", "\text{(B)}", "B)" -> 'B'; 0 when not a choice letter.
char choice_letter(const std::string& loose) {
  std::string s;
  for (char c : loose)
    if (c != '(' && c != ')' && c != '{' && c != '}' && c != ' ' && c != '.') s += c;
  if (s.size() == 1 && s[0] >= 'A' && s[0] <= 'J') return s[0];
  return 0;
}

bool answers_equal(const Extracted& g, const Extracted& p, const VerifyOptions& o, bool& timed_out) {
  std::string ng = o.lenient ? lenient_rewrite(g.normalized) : g.normalized;
  std::string np = o.lenient ? lenient_rewrite(p.normalized) : p.normalized;
  std::string lg = latex::loose_key(ng), lp = latex::loose_key(np);
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
  latex::ParseResult pg = latex::parse_answer(ng);
  if (!pg.ok) return false;
  latex::ParseResult pp = latex::parse_answer(np);
  if (!pp.ok) return false;
  if (o.lenient) {
    lenient_tidy(pg.root, g.parts);
    lenient_tidy(pp.root, p.parts);
  }
  Ctx ctx{o, Clock::now() + std::chrono::microseconds((long long)(o.time_limit_s * 1e6))};
  bool eq = eq_node(pg.root, pp.root, ctx);
  timed_out = ctx.timed_out;
  return eq;
}

}  // namespace r1::math
