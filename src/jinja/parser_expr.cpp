// Jinja2 parser, expressions: Jinja2's grammar and operator precedence (filters and tests bind tighter than
// arithmetic; ** is left-associative), literals, attribute/item access, slices, calls, filters and tests.
#include "core/check.h"
#include "jinja/parser.h"

namespace r1::jinja {

bool Parser::tuple_end(const std::vector<std::string>& extra_end) const {
  if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::Eof) return true;
  if (is_op(")") || is_op("]") || is_op("}")) return true;
  if (cur().type == Tok::Name)
    for (const auto& e : extra_end)
      if (cur().text == e) return true;
  return false;
}

ExprPtr Parser::parse_tuple(bool with_condexpr, bool explicit_parens, const std::vector<std::string>& extra_end) {
  int line = cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (tuple_end(extra_end)) break;
    items.push_back(parse_expression(with_condexpr));
    if (is_op(",")) is_tuple = true;
    else break;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) error("expected an expression, got " + describe(cur()));
  }
  auto e = make(Expr::Kind::Tuple, line);
  e->args = std::move(items);
  return e;
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
  Depth guard(*this);
  if (!with_condexpr) return parse_or();
  ExprPtr expr = parse_or();
  while (is_name("if")) {
    int line = cur().line;
    advance();
    auto e = make(Expr::Kind::CondExpr, line);
    e->b = parse_or();  // condition
    if (is_name("else")) {
      advance();
      e->c = parse_expression(true);
    }
    e->a = std::move(expr);
    expr = std::move(e);
  }
  return expr;
}

ExprPtr Parser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    auto e = make(Expr::Kind::Or, cur().line);
    advance();
    e->a = std::move(left);
    e->b = parse_and();
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    auto e = make(Expr::Kind::And, cur().line);
    advance();
    e->a = std::move(left);
    e->b = parse_not();
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    Depth guard(*this);
    auto e = make(Expr::Kind::Not, cur().line);
    advance();
    e->a = parse_not();
    return e;
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  int line = cur().line;
  ExprPtr first = parse_math1();
  std::vector<std::string> ops;
  std::vector<ExprPtr> operands;
  while (true) {
    std::string op;
    if (cur().type == Tok::Op &&
        (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
         cur().text == ">" || cur().text == ">=")) {
      op = cur().text;
      advance();
    } else if (is_name("in")) {
      op = "in";
      advance();
    } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
      op = "notin";
      advance();
      advance();
    } else {
      break;
    }
    ops.push_back(op);
    operands.push_back(parse_math1());
  }
  if (ops.empty()) return first;
  auto e = make(Expr::Kind::Compare, line);
  e->a = std::move(first);
  e->ops = std::move(ops);
  e->args = std::move(operands);
  return e;
}

ExprPtr Parser::binary(const std::string& op, ExprPtr a, ExprPtr b, int line) {
  auto e = make(Expr::Kind::Binary, line);
  e->name = op;
  e->a = std::move(a);
  e->b = std::move(b);
  return e;
}

ExprPtr Parser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    std::string op = cur().text;
    int line = cur().line;
    advance();
    left = binary(op, std::move(left), parse_concat(), line);
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  int line = cur().line;
  std::vector<ExprPtr> parts;
  parts.push_back(parse_math2());
  while (is_op("~")) {
    advance();
    parts.push_back(parse_math2());
  }
  if (parts.size() == 1) return std::move(parts[0]);
  auto e = make(Expr::Kind::Concat, line);
  e->args = std::move(parts);
  return e;
}

ExprPtr Parser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    std::string op = cur().text;
    int line = cur().line;
    advance();
    left = binary(op, std::move(left), parse_pow(), line);
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    int line = cur().line;
    advance();
    left = binary("**", std::move(left), parse_unary(true), line);
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  Depth guard(*this);
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    auto e = make(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos, cur().line);
    advance();
    e->a = parse_unary(false);
    node = std::move(e);
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  const Token& t = cur();
  int line = t.line;
  if (t.type == Tok::Name) {
    const std::string& n = t.text;
    ExprPtr e;
    if (n == "true" || n == "True" || n == "false" || n == "False") {
      e = make(Expr::Kind::Const, line);
      e->value = Value::boolean(n == "true" || n == "True");
    } else if (n == "none" || n == "None") {
      e = make(Expr::Kind::Const, line);
      e->value = Value::none();
    } else {
      e = make(Expr::Kind::Name, line);
      e->name = n;
    }
    advance();
    return e;
  }
  if (t.type == Tok::String) {
    std::string s;
    while (cur().type == Tok::String) {  // adjacent literals concatenate
      s += cur().text;
      advance();
    }
    auto e = make(Expr::Kind::Const, line);
    e->value = Value::string(std::move(s));
    return e;
  }
  if (t.type == Tok::Int || t.type == Tok::Float) {
    auto e = make(Expr::Kind::Const, line);
    e->value = t.type == Tok::Int ? Value::integer(t.ival) : Value::real(t.fval);
    advance();
    return e;
  }
  if (is_op("(")) {
    advance();
    ExprPtr e = parse_tuple(true, true, {});
    expect_op(")");
    return e;
  }
  if (is_op("[")) {
    advance();
    auto e = make(Expr::Kind::List, line);
    while (!is_op("]")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("]")) break;
      e->args.push_back(parse_expression(true));
    }
    advance();
    return e;
  }
  if (is_op("{")) {
    advance();
    auto e = make(Expr::Kind::Dict, line);
    while (!is_op("}")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("}")) break;
      e->args.push_back(parse_expression(true));
      expect_op(":");
      e->args.push_back(parse_expression(true));
    }
    advance();
    return e;
  }
  error("unexpected " + describe(t));
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".")) {
      int line = cur().line;
      advance();
      if (cur().type == Tok::Name) {
        auto e = make(Expr::Kind::Getattr, line);
        e->a = std::move(node);
        e->name = cur().text;
        advance();
        node = std::move(e);
      } else if (cur().type == Tok::Int) {
        auto e = make(Expr::Kind::Getitem, line);
        e->a = std::move(node);
        e->b = make(Expr::Kind::Const, line);
        e->b->value = Value::integer(cur().ival);
        advance();
        node = std::move(e);
      } else {
        error("expected an attribute name after '.', got " + describe(cur()));
      }
    } else if (is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      break;
    }
  }
  return node;
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  int line = cur().line;
  advance();
  std::vector<ExprPtr> items;
  while (!is_op("]")) {
    if (!items.empty()) {
      expect_op(",");
      if (is_op("]")) break;
    }
    items.push_back(parse_subscribed());
  }
  advance();
  if (items.size() == 1 && items[0]->kind == Expr::Kind::Slice) {
    items[0]->a = std::move(node);
    return std::move(items[0]);
  }
  auto e = make(Expr::Kind::Getitem, line);  // x[] subscripts with an empty tuple, as in Jinja
  e->a = std::move(node);
  if (items.size() == 1) {
    e->b = std::move(items[0]);
  } else {
    for (auto& it : items)
      if (it->kind == Expr::Kind::Slice) error("slices inside tuple subscripts are not supported");
    e->b = make(Expr::Kind::Tuple, line);
    e->b->args = std::move(items);
  }
  return e;
}

ExprPtr Parser::parse_subscribed() {
  int line = cur().line;
  std::vector<ExprPtr> parts;  // start, stop, step (null = None)
  if (is_op(":")) {
    advance();
    parts.push_back(nullptr);
  } else {
    ExprPtr e = parse_expression(true);
    if (!is_op(":")) return e;
    advance();
    parts.push_back(std::move(e));
  }
  if (is_op(":")) parts.push_back(nullptr);
  else if (!is_op("]") && !is_op(",")) parts.push_back(parse_expression(true));
  else parts.push_back(nullptr);
  if (is_op(":")) {
    advance();
    if (!is_op("]") && !is_op(",")) parts.push_back(parse_expression(true));
    else parts.push_back(nullptr);
  } else {
    parts.push_back(nullptr);
  }
  auto s = make(Expr::Kind::Slice, line);
  s->args = std::move(parts);
  return s;
}

void Parser::parse_call_args(std::vector<ExprPtr>& args, std::vector<std::pair<std::string, ExprPtr>>& kwargs) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) {
      expect_op(",");
      if (is_op(")")) break;
    }
    first = false;
    if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
    if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
      std::string key = cur().text;
      advance();
      advance();
      kwargs.emplace_back(std::move(key), parse_expression(true));
    } else {
      if (!kwargs.empty()) error("positional argument after keyword argument");
      args.push_back(parse_expression(true));
    }
  }
  advance();
}

ExprPtr Parser::parse_call(ExprPtr node) {
  auto e = make(Expr::Kind::Call, cur().line);
  e->a = std::move(node);
  parse_call_args(e->args, e->kwargs);
  return e;
}

std::string Parser::dotted_name() {
  std::string name = expect_name();
  while (is_op(".")) {
    advance();
    name += "." + expect_name();
  }
  return name;
}

ExprPtr Parser::parse_one_filter(ExprPtr node) {
  int line = cur().line;
  std::string name = dotted_name();
  FilterFn fn = find_filter(name);
  if (!fn) syntax_error(origin_, line, "no filter named '" + name + "'");
  auto e = make(Expr::Kind::Filter, line);
  e->a = std::move(node);
  e->name = name;
  e->filter = fn;
  if (is_op("(")) parse_call_args(e->args, e->kwargs);
  return e;
}

// "| f | g(...)" after a {% set x | f %} or {% filter f %}; the input is supplied at run time.
ExprPtr Parser::parse_filter_chain(ExprPtr node, bool start_inline) {
  if (start_inline) node = parse_one_filter(std::move(node));
  while (is_op("|")) {
    advance();
    node = parse_one_filter(std::move(node));
  }
  return node;
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      advance();
      node = parse_one_filter(std::move(node));
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      break;
    }
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  int line = cur().line;
  advance();
  bool negated = false;
  if (is_name("not")) {
    negated = true;
    advance();
  }
  std::string name = dotted_name();
  TestFn fn = find_test(name);
  if (!fn) syntax_error(origin_, line, "no test named '" + name + "'");
  auto e = make(Expr::Kind::Test, line);
  e->a = std::move(node);
  e->name = name;
  e->test = fn;
  e->negated = negated;
  if (is_op("(")) {
    parse_call_args(e->args, e->kwargs);
  } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
              cur().type == Tok::Float || is_op("(") || is_op("[") || is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) error("You cannot chain multiple tests with is");
    e->args.push_back(parse_postfix(parse_primary()));
  }
  return e;
}

}  // namespace r1::jinja
