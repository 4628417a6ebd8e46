// The structure of parsed answers: tree queries, relations ("x = 3" -> 3, "x \in S" -> S), one-variable
// inequalities as intervals, +- expanded into alternatives, matrix sums and products, and prepare(), which brings
// one side of a comparison into the shape compare.cpp works on.
#include "rewards/math/internal.h"

#include <algorithm>

namespace r1::math {

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

bool has_decimal(const Node& x) {
  if (x.kind == Node::Num) return x.s.find('.') != std::string::npos;
  for (auto& c : x.ch)
    if (has_decimal(c)) return true;
  return false;
}

bool is_inf(const Node& x, int& sign) {
  if (x.kind == Node::Const && x.s == "inf") return sign = 1, true;
  if (x.kind == Node::Neg && is_inf(x.ch[0], sign)) return sign = -sign, true;
  return false;
}

bool is_list_like(const Node& x) { return x.kind == Node::List || x.kind == Node::Set; }

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

namespace {

bool no_symbols(const Node& x) {
  std::set<std::string> s;
  collect_syms(x, s);
  return s.empty() && !has_kind(x, Node::Text);
}

// "x = 3" -> 3; "x = 5+5+1 = 11" -> 11; "x = 1/3 \approx 0.33" -> 1/3; "1/2 = 10/9" -> 10/9; "x \in S" -> S.
// Lenient: a word labels a value too ("\text{Area} = 6" -> 6), and "7 = 11a + c" is an equation, not a value.
bool unwrap_rel(const Node& x, Node& out, bool lenient) {
  if (x.kind != Node::Rel) return false;
  bool eqs = true;
  for (auto& o : x.ops) eqs = eqs && (o == "=" || o == "~");
  bool label = simple_lhs(x.ch[0]) || (lenient && x.ch[0].kind == Node::Text);
  if (eqs && (label || no_symbols(x.ch[0]))) {
    int pick = -1;
    for (size_t i = 0; i < x.ops.size(); ++i)
      if (x.ops[i] == "=") pick = (int)i + 1;
    if (pick < 0) pick = (int)x.ch.size() - 1;
    if (lenient && !label && !no_symbols(x.ch[pick])) return false;
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
}  // namespace

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
  Node inf = make_node(Node::Const, {}, "inf"), ninf = make_node(Node::Neg, {inf});
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
    Node t = make_node(Node::Tuple, {std::move(a), std::move(b)});
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
    out = interval(make_node(Node::Neg, {hi}), hi, rb == ']' ? '[' : '(', rb);
    return true;
  }
  char flip_l = rb == ']' ? '[' : '(', flip_r = lb == '[' ? ']' : ')';
  out = make_node(Node::Union, {interval(make_node(Node::Neg, {hi}), make_node(Node::Neg, {lo}), flip_l, flip_r),
                           interval(lo, hi, lb, rb)});
  return true;
}

namespace {

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
          out.push_back(make_node(Node::Neg, {b}));
        } else {
          out.push_back(make_node(Node::Add, {a, b}));
          out.push_back(make_node(Node::Add, {a, make_node(Node::Neg, {b})}));
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
    for (auto& c : m.ch) c = make_node(Node::Neg, {c});
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
      for (size_t i = 0; i < acc.ch.size(); ++i) acc.ch[i] = make_node(Node::Add, {acc.ch[i], m.ch[i]});
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
      Node r = make_node(Node::Matrix);
      r.rows = acc.rows;
      r.cols = m.cols;
      for (int i = 0; i < acc.rows; ++i)
        for (int j = 0; j < m.cols; ++j) {
          Node sum = make_node(Node::Add);
          for (int k = 0; k < acc.cols; ++k)
            sum.ch.push_back(make_node(Node::Mul, {acc.ch[i * acc.cols + k], m.ch[k * m.cols + j]}));
          r.ch.push_back(sum);
        }
      acc = r;
    }
    if (!have) return false;
    for (auto& c : acc.ch)
      for (auto& s : scalars) c = make_node(Node::Mul, {s, c});
    out = acc;
    return true;
  }
  return false;
}
}  // namespace

Node prepare(const Node& x0, bool& unordered, bool lenient) {
  Node x = x0;
  unordered = false;
  Node u;
  if (unwrap_rel(x, u, lenient)) x = u;
  Node m;
  if ((x.kind == Node::Add || x.kind == Node::Mul || x.kind == Node::Neg) && has_kind(x, Node::Matrix) &&
      mat_eval(x, m))
    x = m;
  if (x.kind == Node::List && x.ch.size() >= 2) {
    // "x < -2 or x > 3": a list of one-variable inequalities is the union of their intervals
    Node un = make_node(Node::Union);
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
    Node out = make_node(x.kind);
    bool first_is_eq = !x.ch.empty() && x.ch[0].kind == Node::Rel;
    bool all_tuples = !x.ch.empty();
    for (auto& c : x.ch) {
      all_tuples = all_tuples && c.kind == Node::Tuple;
      Node item = c;
      Node v;
      if (unwrap_rel(item, v, lenient)) {
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
      return make_node(Node::Set, alts);
    }
  }
  return x;
}

}  // namespace r1::math
