// Jinja2 expression evaluation: names, literals, attribute/item access, calls, filters, tests, operators.
#include "jinja/internal.h"

namespace r1::jinja {

Value Renderer::apply_filter_name(const std::string& name, const Value& v, Args& args) {
  FilterFn f = find_filter(name);
  if (!f) eval_fail("no filter named '" + name + "'");
  step();
  return f(*this, v, args);
}

bool Renderer::apply_test_name(const std::string& name, const Value& v, Args& args) {
  TestFn t = find_test(name);
  if (!t) eval_fail("no test named '" + name + "'");
  step();
  return t(*this, v, args);
}

Value Renderer::call(const Value& callee, Args& args) {
  if (callee.is_undefined()) undefined_error(callee);
  if (callee.type != Value::Type::Callable) eval_fail(str("'", type_name(callee), "' object is not callable"));
  return callee.fn->fn(*this, args);
}

Value Renderer::lookup(const std::string& name, Scope& sc) const {
  for (const Scope* s = &sc; s; s = s->parent)
    if (const Value* v = s->find(name)) return *v;
  auto it = globals().find(name);
  if (it != globals().end()) return it->second;
  return Value::undefined("'" + name + "' is undefined");
}

Value Renderer::apply_filter_chain(const Expr& chain, const Value& input, Scope& sc) {
  Value v = chain.a ? apply_filter_chain(*chain.a, input, sc) : input;
  Args args;
  eval_args(chain, sc, args);
  try {
    return chain.filter(*this, v, args);
  } catch (const EvalError& err) {
    fail_at(chain.line, err.message);
  }
}

Value Renderer::eval_inner(const Expr& e, Scope& sc) {
  using K = Expr::Kind;
  switch (e.kind) {
    case K::Const: return e.value;
    case K::Name: return lookup(e.name, sc);
    case K::List:
    case K::Tuple: {
      ValueList items;
      for (const auto& x : e.args) items.push_back(eval(*x, sc));
      return checked(Value::make_list(std::move(items), e.kind == K::Tuple));
    }
    case K::Dict: {
      auto d = std::make_shared<Dict>();
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        Value key = eval(*e.args[k], sc);
        if (key.is_seq() && key.type == Value::Type::List) eval_fail("unhashable type: 'list'");
        if (key.is_mapping() || key.type == Value::Type::Namespace) eval_fail("unhashable type: 'dict'");
        d->set(key, eval(*e.args[k + 1], sc));
      }
      return checked(Value::make_dict(std::move(d)));
    }
    case K::Getattr: return get_attr(eval(*e.a, sc), e.name);
    case K::Getitem: {
      Value obj = eval(*e.a, sc);
      return get_item(obj, eval(*e.b, sc));
    }
    case K::Slice: {
      Value obj = eval(*e.a, sc);
      // Jinja folds slices of literals at compile time; an unsliceable literal becomes Undefined.
      if ((e.a->kind == K::Const || e.a->kind == K::Dict) && !obj.is_string() && !obj.is_seq())
        return Value::undefined("literal cannot be sliced");
      Value parts[3];
      for (int k = 0; k < 3; k++) parts[k] = e.args[k] ? eval(*e.args[k], sc) : Value::none();
      return get_slice(*this, obj, parts[0], parts[1], parts[2]);
    }
    case K::Call: {
      Value callee = eval(*e.a, sc);
      Args args;
      eval_args(e, sc, args);
      return call(callee, args);
    }
    case K::Filter: {
      Value input = eval(*e.a, sc);
      Args args;
      eval_args(e, sc, args);
      return e.filter(*this, input, args);
    }
    case K::Test: {
      Value input = eval(*e.a, sc);
      Args args;
      eval_args(e, sc, args);
      bool r = e.test(*this, input, args);
      return Value::boolean(e.negated ? !r : r);
    }
    case K::Neg:
    case K::Pos: {
      Value v = eval(*e.a, sc);
      if (v.is_undefined()) undefined_error(v);
      if (v.type == Value::Type::Float) return Value::real(e.kind == K::Neg ? -v.f : v.f);
      if (!v.is_int_like()) eval_fail(str("bad operand type for unary ", e.kind == K::Neg ? "-" : "+", ": '", type_name(v), "'"));
      if (e.kind == K::Pos) return Value::integer(v.as_int());
      if (v.as_int() == INT64_MIN) eval_fail("integer overflow");
      return Value::integer(-v.as_int());
    }
    case K::Not: return Value::boolean(!truthy(eval(*e.a, sc)));
    case K::And: {
      Value l = eval(*e.a, sc);
      return truthy(l) ? eval(*e.b, sc) : l;
    }
    case K::Or: {
      Value l = eval(*e.a, sc);
      return truthy(l) ? l : eval(*e.b, sc);
    }
    case K::Binary: {
      Value l = eval(*e.a, sc);
      Value r = eval(*e.b, sc);
      return checked(binary_op(*this, e.name, l, r));
    }
    case K::Concat: {
      std::string out;
      for (const auto& x : e.args) {
        out += py_str(eval(*x, sc), max_str());
        check_size(out.size());
      }
      charge_bytes(out.size());
      return Value::string(std::move(out));
    }
    case K::Compare: {
      Value left = eval(*e.a, sc);
      for (size_t k = 0; k < e.ops.size(); k++) {
        Value right = eval(*e.args[k], sc);
        if (!compare(e.ops[k], left, right)) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case K::CondExpr: {
      if (truthy(eval(*e.b, sc))) return eval(*e.a, sc);
      if (e.c) return eval(*e.c, sc);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  eval_fail("unknown expression");
}

}  // namespace r1::jinja
