// Recursive-descent parser for normalised LaTeX answers (see parse.h): lists, relation chains, set operations,
// + - * / ^ with implicit products and mixed numbers, functions, brackets as tuples or intervals, sets,
// matrices, floor/ceil, |x|. Tokens come from lex.cpp.
#include "rewards/math/internal.h"

#include <unordered_set>

namespace r1::latex {
namespace {

using math::is_digit;
using math::make_node;

bool is_func_name(const std::string& n) {
  static const std::unordered_set<std::string> f = {
      "sin",  "cos",  "tan",    "cot",    "sec",    "csc",  "arcsin", "arccos", "arctan", "sinh", "cosh",
      "tanh", "ln",   "log",    "exp",    "lg",     "gcd",  "lcm",    "max",    "min",    "det",  "arg"};
  return f.count(n) > 0;
}

struct ParseFail {
  std::string why;
};

struct Parser {
  std::vector<Tok> t;
  size_t p = 0;
  int depth = 0;
  int abs_depth = 0;

  const Tok& peek(size_t k = 0) const { return t[std::min(p + k, t.size() - 1)]; }
  bool is_op(const char* v, size_t k = 0) const { return peek(k).t == T::Op && peek(k).v == v; }
  bool is_cmd(const char* v, size_t k = 0) const { return peek(k).t == T::Cmd && peek(k).v == v; }
  [[noreturn]] void fail(const std::string& why) { throw ParseFail{why}; }
  void expect_op(const char* v) {
    if (!is_op(v)) fail(std::string("expected '") + v + "'");
    ++p;
  }
  struct DepthGuard {
    Parser& ps;
    explicit DepthGuard(Parser& q) : ps(q) {
      if (++ps.depth > 64) ps.fail("nesting too deep");
    }
    ~DepthGuard() { --ps.depth; }
  };

  bool at_stop(const std::vector<std::string>& stops) const {
    const Tok& k = peek();
    if (k.t == T::End) return true;
    if (k.t == T::Op)
      for (auto& s : stops)
        if (k.v == s) return true;
    if (k.t == T::Cmd && k.v == "end") return true;
    return false;
  }

  // items separated by , ; (empty items skipped)
  std::vector<Node> parse_list(const std::vector<std::string>& stops) {
    std::vector<Node> items;
    while (true) {
      while (is_op(",") || is_op(";")) ++p;
      if (at_stop(stops)) break;
      items.push_back(parse_item(stops));
      if (!(is_op(",") || is_op(";"))) break;
    }
    return items;
  }

  static const char* rel_of(const Tok& k) {
    if (k.t == T::Op) {
      if (k.v == "=") return "=";
      if (k.v == "<") return "<";
      if (k.v == ">") return ">";
    } else if (k.t == T::Cmd) {
      if (k.v == "leq") return "<=";
      if (k.v == "geq") return ">=";
      if (k.v == "neq") return "!=";
      if (k.v == "approx" || k.v == "sim" || k.v == "simeq") return "~";
      if (k.v == "in") return "in";
      if (k.v == "equiv") return "=";
    }
    return nullptr;
  }

  Node parse_item(const std::vector<std::string>& stops) {
    DepthGuard g(*this);
    Node first = parse_setexpr();
    if (!rel_of(peek())) return first;
    Node r = make_node(Node::Rel, {first});
    while (const char* op = rel_of(peek())) {
      ++p;
      r.ops.push_back(op);
      r.ch.push_back(parse_setexpr());
    }
    return r;
  }

  Node parse_setexpr() {
    Node a = parse_arith();
    while (is_cmd("cup") || is_cmd("cap") || is_cmd("setminus")) {
      std::string op = peek().v;
      ++p;
      Node b = parse_arith();
      Node::Kind k = op == "cap" ? Node::Inter : Node::Union;
      if (op == "setminus") {
        a = make_node(Node::Func, {a, b}, "setminus");
        continue;
      }
      if (a.kind == k) a.ch.push_back(b);
      else a = make_node(k, {a, b});
    }
    return a;
  }

  static void add_term(Node& acc, Node t) {
    if (acc.kind == Node::Add) acc.ch.push_back(std::move(t));
    else acc = make_node(Node::Add, {acc, std::move(t)});
  }

  Node parse_arith() {
    DepthGuard g(*this);
    Node acc;
    if (is_cmd("pm") || is_cmd("mp")) {
      bool mp = is_cmd("mp");
      ++p;
      Node t = parse_mul();
      acc = make_node(Node::PM, {make_node(Node::Empty), mp ? make_node(Node::Neg, {t}) : t});
    } else {
      acc = parse_mul();
    }
    while (true) {
      if (is_op("+")) {
        ++p;
        add_term(acc, parse_mul());
      } else if (is_op("-")) {
        ++p;
        add_term(acc, make_node(Node::Neg, {parse_mul()}));
      } else if (is_cmd("pm") || is_cmd("mp")) {
        bool mp = is_cmd("mp");
        ++p;
        Node t = parse_mul();
        acc = make_node(Node::PM, {acc, mp ? make_node(Node::Neg, {t}) : t});
      } else {
        break;
      }
    }
    return acc;
  }

  bool starts_primary() const {
    const Tok& k = peek();
    switch (k.t) {
      case T::Num:
      case T::Ident:
      case T::Text: return true;
      case T::Cmd:
        return !(rel_of(k) || k.v == "cup" || k.v == "cap" || k.v == "setminus" || k.v == "pm" || k.v == "mp" ||
                 k.v == "cdot" || k.v == "times" || k.v == "div" || k.v == "end" || k.v == "rfloor" ||
                 k.v == "rceil" || k.v == "to" || k.v == "ldots" || k.v == "dots" || k.v == "cdots");
      case T::Op: return k.v == "(" || k.v == "\\{" || (k.v == "|" && abs_depth == 0) || k.v == "{";
      default: return false;
    }
  }

  static bool is_int_num(const Node& n) { return n.kind == Node::Num && n.s.find('.') == std::string::npos; }

  Node parse_mul() {
    DepthGuard g(*this);
    Node f = parse_unary();
    while (true) {
      if (is_op("*") || is_cmd("cdot") || is_cmd("times")) {
        ++p;
        Node b = parse_unary();
        if (f.kind == Node::Mul) f.ch.push_back(b);
        else f = make_node(Node::Mul, {f, b});
      } else if (is_op("/") || is_cmd("div")) {
        ++p;
        f = make_node(Node::Div, {f, parse_unary()});
      } else if (starts_primary()) {
        bool frac_next = is_cmd("frac");
        Node b = parse_power();
        // mixed number: 1\frac{4}{5} = 9/5
        if (frac_next && is_int_num(f) && b.kind == Node::Div && is_int_num(b.ch[0]) && is_int_num(b.ch[1])) {
          f = make_node(Node::Add, {f, b});
          continue;
        }
        if (f.kind == Node::Mul) f.ch.push_back(b);
        else f = make_node(Node::Mul, {f, b});
      } else {
        break;
      }
    }
    return f;
  }

  Node parse_unary() {
    DepthGuard g(*this);
    if (is_op("-")) {
      ++p;
      return make_node(Node::Neg, {parse_unary()});
    }
    if (is_op("+")) {
      ++p;
      return parse_unary();
    }
    return parse_power();
  }

  // exponent: {group} | single token (digits split: x^23 in TeX is x^2 3, but people mean x^{23}: keep the number)
  Node parse_exponent() {
    DepthGuard g(*this);
    if (is_op("{")) return parse_group();
    if (is_op("-")) {
      ++p;
      return make_node(Node::Neg, {parse_exponent()});
    }
    return parse_postfix();
  }

  Node parse_power() {
    DepthGuard g(*this);
    Node b = parse_postfix();
    if (is_op("^")) {
      ++p;
      Node e = parse_exponent();
      // right associative: a^b^c = a^(b^c)
      if (is_op("^")) {
        ++p;
        Node e2 = parse_exponent();
        e = make_node(Node::Pow, {e, e2});
      }
      b = make_node(Node::Pow, {b, e});
      b = parse_postfix_ops(b);
    }
    return b;
  }

  Node parse_postfix() {
    Node x = parse_primary();
    return parse_postfix_ops(x);
  }

  Node parse_postfix_ops(Node x) {
    while (true) {
      if (is_op("!")) {
        ++p;
        x = make_node(Node::Func, {x}, "factorial");
      } else if (is_op("%")) {
        ++p;
        x = make_node(Node::Percent, {x});
      } else if (is_op("'")) {
        ++p;
        if (x.kind == Node::Sym) x.s += "'";
      } else if (is_op("unit")) {
        ++p;
        // a unit may carry a power: cm^2
        if (is_op("^")) {
          ++p;
          parse_exponent();
        }
      } else if (is_op("_")) {
        ++p;
        std::string sub = subscript_text();
        if (x.kind == Node::Sym || x.kind == Node::Num) x = make_node(Node::Sym, {}, x.s + "_" + sub);
        else if (x.kind == Node::Func && x.s == "log_base_pending") x.s = "log_" + sub;
        else fail("subscript on a non-symbol");
      } else {
        break;
      }
    }
    return x;
  }

  // Text of a subscript: _1, _{10}, _{n+1}
  std::string subscript_text() {
    std::string out;
    if (is_op("{")) {
      ++p;
      int d = 1;
      while (peek().t != T::End) {
        if (is_op("{")) ++d;
        if (is_op("}") && --d == 0) break;
        out += peek().t == T::Cmd ? "\\" + peek().v : peek().v;
        ++p;
      }
      expect_op("}");
      return out;
    }
    const Tok& k = peek();
    if (k.t == T::End) fail("empty subscript");
    out = k.t == T::Cmd ? "\\" + k.v : k.v;
    if (k.t == T::Num && out.size() > 1) {  // TeX: x_12 is x_1 2; keep the whole number as people mean x_{12}
    }
    ++p;
    return out;
  }

  Node parse_group() {  // '{' list '}'
    DepthGuard g(*this);
    expect_op("{");
    std::vector<Node> items = parse_list({"}"});
    expect_op("}");
    if (items.empty()) return make_node(Node::Empty);
    if (items.size() == 1) return items[0];
    return make_node(Node::List, items);
  }

  // A macro argument: {group} or a single token (a multi-digit number gives its first digit: \frac12).
  Node parse_arg() {
    DepthGuard g(*this);
    if (is_op("{")) return parse_group();
    Tok& k = t[std::min(p, t.size() - 1)];
    if (k.t == T::Num && k.v.size() > 1 && is_digit(k.v[0])) {
      std::string first(1, k.v[0]);
      k.v = k.v.substr(1);
      if (!k.v.empty() && k.v[0] == '.') k.v = "0" + k.v;
      return make_node(Node::Num, {}, first);
    }
    if (k.t == T::End) fail("missing argument");
    return parse_primary();
  }

  Node parse_bracketed(const std::string& open) {
    DepthGuard g(*this);
    std::vector<std::string> stops = {")", "]"};
    std::vector<Node> items = parse_list(stops);
    if (!(is_op(")") || is_op("]"))) fail("unclosed " + open);
    std::string close = peek().v;
    ++p;
    if (items.size() == 1 && open == "(" && close == ")") return items[0];
    if (items.size() == 1 && open == "[" && close == "]") return items[0];
    if (items.size() < 2) fail("bad bracket group");
    Node tpl = make_node(Node::Tuple, items, open + close);
    return tpl;
  }

  Node parse_matrix() {
    DepthGuard g(*this);
    // \begin{name} already consumed up to name
    std::vector<std::vector<Node>> rows(1);
    while (true) {
      if (peek().t == T::End) fail("unclosed matrix");
      if (is_cmd("end")) {
        ++p;
        if (is_op("{")) {
          while (!is_op("}") && peek().t != T::End) ++p;
          expect_op("}");
        }
        break;
      }
      if (is_op("&")) {
        ++p;
        if (rows.back().empty()) rows.back().push_back(make_node(Node::Empty));
        continue;
      }
      if (is_op("\\\\")) {
        ++p;
        rows.emplace_back();
        continue;
      }
      rows.back().push_back(parse_item({"&", "\\\\"}));
    }
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    if (rows.empty()) fail("empty matrix");
    size_t cols = rows[0].size();
    Node m = make_node(Node::Matrix);
    for (auto& r : rows) {
      if (r.size() != cols) fail("ragged matrix");
      for (auto& c : r) {
        if (c.kind == Node::Empty) fail("empty matrix cell");
        m.ch.push_back(c);
      }
    }
    m.rows = (int)rows.size();
    m.cols = (int)cols;
    return m;
  }

  Node parse_primary() {
    DepthGuard g(*this);
    const Tok k = peek();
    switch (k.t) {
      case T::Num: ++p; return make_node(Node::Num, {}, k.v);
      case T::Ident: ++p; return make_node(Node::Sym, {}, k.v);
      case T::Text: ++p; return make_node(Node::Text, {}, k.v);
      case T::End: fail("unexpected end");
      case T::Op: {
        if (k.v == "(" || k.v == "[") {
          ++p;
          return parse_bracketed(k.v);
        }
        if (k.v == "\\{") {
          ++p;
          std::vector<Node> items = parse_list({"\\}"});
          expect_op("\\}");
          return make_node(Node::Set, items);
        }
        if (k.v == "{") return parse_group();
        if (k.v == "|" && abs_depth == 0) {
          ++p;
          ++abs_depth;
          Node x = parse_arith();
          --abs_depth;
          expect_op("|");
          return make_node(Node::Func, {x}, "abs");
        }
        fail("unexpected '" + k.v + "'");
      }
      case T::Cmd: break;
    }
    ++p;
    const std::string& c = k.v;
    if (c == "frac") {
      Node a = parse_arg();
      Node b = parse_arg();
      return make_node(Node::Div, {a, b});
    }
    if (c == "sqrt") {
      if (is_op("[")) {
        ++p;
        Node idx = parse_arith();
        expect_op("]");
        Node x = parse_arg();
        return make_node(Node::Func, {x, idx}, "root");
      }
      return make_node(Node::Func, {parse_arg()}, "sqrt");
    }
    if (c == "binom") {
      Node a = parse_arg();
      Node b = parse_arg();
      return make_node(Node::Func, {a, b}, "binomial");
    }
    if (c == "pi") return make_node(Node::Const, {}, "pi");
    if (c == "infty" || c == "infinity") return make_node(Node::Const, {}, "inf");
    if (c == "emptyset" || c == "varnothing") return make_node(Node::Set);
    if (c == "lfloor" || c == "lceil") {
      Node x = parse_arith();
      if (!(is_cmd("rfloor") || is_cmd("rceil"))) fail("unclosed floor/ceil");
      ++p;
      return make_node(Node::Func, {x}, c == "lfloor" ? "floor" : "ceil");
    }
    if (c == "begin") {
      std::string env;
      if (is_op("{")) {
        ++p;
        while (!is_op("}") && peek().t != T::End) env += peek().v, ++p;
        expect_op("}");
      }
      if (env.find("matrix") == std::string::npos && env != "array") fail("unsupported environment " + env);
      if (env == "array" && is_op("{")) {  // column spec
        while (!is_op("}") && peek().t != T::End) ++p;
        expect_op("}");
      }
      return parse_matrix();
    }
    if (c == "overline" || c == "vec" || c == "hat" || c == "bar" || c == "overrightarrow" || c == "widehat" ||
        c == "tilde" || c == "mathbb" || c == "mathcal") {
      Node x = parse_arg();
      return make_node(Node::Sym, {}, "\\" + c + "{" + to_string(x) + "}");
    }
    if (is_func_name(c)) {
      Node f = make_node(Node::Func, {}, c);
      Node power;
      bool has_pow = false;
      if (c == "log" && is_op("_")) {
        ++p;
        f.s = "log_" + subscript_text();
      }
      if (is_op("^")) {
        ++p;
        power = parse_exponent();
        has_pow = true;
      }
      if (is_op("(")) {
        ++p;
        std::vector<Node> args = parse_list({")"});
        expect_op(")");
        f.ch = args;
      } else {
        f.ch = {parse_power()};
      }
      if (f.ch.empty()) fail("function without argument");
      if (has_pow) {
        // \sin^{-1} x is arcsin
        if (power.kind == Node::Neg && power.ch[0].kind == Node::Num && power.ch[0].s == "1") {
          f.s = "arc" + f.s;
          return f;
        }
        return make_node(Node::Pow, {f, power});
      }
      return f;
    }
    // any other command: a symbol (\alpha, \theta, \triangle...)
    return make_node(Node::Sym, {}, "\\" + c);
  }
};

}  // namespace

ParseResult parse_answer(const std::string& normalized) {
  ParseResult r;
  if (normalized.size() > 4000) {
    r.error = "answer too long to parse";
    return r;
  }
  Parser ps;
  if (!tokenize(normalized, ps.t)) {
    r.error = "unbalanced \\text{";
    return r;
  }
  try {
    std::vector<Node> items = ps.parse_list({});
    if (ps.peek().t != T::End) ps.fail("unexpected '" + ps.peek().v + "'");
    if (items.empty()) {
      r.error = "empty answer";
      return r;
    }
    r.root = items.size() == 1 ? items[0] : make_node(Node::List, items);
    r.ok = true;
  } catch (const ParseFail& f) {
    r.error = f.why;
  }
  return r;
}

std::string to_string(const Node& n) {
  static const char* names[] = {"num", "sym", "const", "add", "mul", "div", "pow", "neg", "func", "pct",
                                "pm",  "tuple", "set", "list", "union", "inter", "rel", "matrix", "text", "empty"};
  switch (n.kind) {
    case Node::Num:
    case Node::Sym:
    case Node::Const: return n.s;
    case Node::Text: return "\"" + n.s + "\"";
    case Node::Empty: return "()";
    default: break;
  }
  std::string o = "(";
  o += names[n.kind];
  if (n.kind == Node::Func || n.kind == Node::Tuple) o += ":" + n.s;
  for (size_t i = 0; i < n.ch.size(); ++i) {
    o += " ";
    if (n.kind == Node::Rel && i > 0) o += n.ops[i - 1] + " ";
    o += to_string(n.ch[i]);
  }
  return o + ")";
}

}  // namespace r1::latex
