// Jinja2 statement execution ({% for %}, {% set %}, {% macro %} ...) and the public Template API.
#include "jinja/internal.h"

namespace r1::jinja {

void Renderer::assign(const Target& t, const Value& v, Scope& sc) {
  if (!t.attr.empty()) {
    Value ns = lookup(t.names[0], sc);
    if (ns.type != Value::Type::Namespace) eval_fail("cannot assign attribute on non-namespace object");
    if (v.depth + 1 > limits_.max_value_depth) eval_fail("value nested too deeply");
    ns.dict->set(Value::string(t.attr), v);
    return;
  }
  if (!t.tuple) {
    sc.set(t.names[0], v);
    return;
  }
  ValueList items;
  if (v.is_seq()) items = *v.list;
  else if (v.is_string() || v.is_mapping()) items = iterate(v);
  else eval_fail(str("cannot unpack non-iterable ", type_name(v), " object"));
  if (items.size() > t.names.size())
    eval_fail(str("too many values to unpack (expected ", t.names.size(), ")"));
  if (items.size() < t.names.size())
    eval_fail(str("not enough values to unpack (expected ", t.names.size(), ", got ", items.size(), ")"));
  for (size_t k = 0; k < items.size(); k++) sc.set(t.names[k], items[k]);
}

Value Renderer::call_macro(const Stmt& def, Args& args) {
  if (++call_depth_ > limits_.max_call_depth) {
    call_depth_--;
    eval_fail("macro recursion too deep");
  }
  struct Guard {
    int& d;
    ~Guard() { d--; }
  } guard{call_depth_};
  Scope sc;
  sc.parent = root_;
  if (args.pos.size() > def.params.size())
    eval_fail(str("macro '", def.text, "' takes not more than ", def.params.size(), " argument(s)"));
  std::vector<bool> given(def.params.size(), false);
  for (size_t k = 0; k < args.pos.size(); k++) {
    sc.set(def.params[k].first, args.pos[k]);
    given[k] = true;
  }
  for (auto& kv : args.kw) {
    size_t k = 0;
    while (k < def.params.size() && def.params[k].first != kv.first) k++;
    if (k == def.params.size()) eval_fail(str("macro '", def.text, "' takes no keyword argument '", kv.first, "'"));
    sc.set(kv.first, kv.second);
    given[k] = true;
  }
  for (size_t k = 0; k < def.params.size(); k++) {
    if (given[k]) continue;
    if (def.params[k].second) sc.set(def.params[k].first, eval(*def.params[k].second, sc));
    else sc.set(def.params[k].first, Value::undefined("parameter '" + def.params[k].first + "' was not provided"));
  }
  std::string out;
  exec_body(def.body, sc, out);
  return Value::string(std::move(out));
}

Flow Renderer::exec_inner(const Stmt& s, Scope& sc, std::string& out) {
  using K = Stmt::Kind;
  switch (s.kind) {
    case K::Text: append(out, s.text); return Flow::Normal;
    case K::Output: {
      Value v = eval(*s.expr, sc);
      if (v.is_string()) append(out, v.str());
      else append(out, py_str(v, max_str()));
      return Flow::Normal;
    }
    case K::If:
      for (const auto& br : s.branches)
        if (!br.first || truthy(eval(*br.first, sc))) return exec_body(br.second, sc, out);
      return Flow::Normal;
    case K::For: {
      Value iterable = eval(*s.expr, sc);
      ValueList items = iterate(iterable);
      if (s.loop_filter) {
        ValueList kept;
        for (auto& x : items) {
          Scope tmp;
          tmp.parent = &sc;
          assign(s.target, x, tmp);
          if (truthy(eval(*s.loop_filter, tmp))) kept.push_back(std::move(x));
        }
        items = std::move(kept);
      }
      int64_t n = int64_t(items.size());
      // The loop object: a dict built per iteration from shared keys (cheap), with one cycle() per loop.
      static const char* const kKeys[] = {"index", "index0", "revindex", "revindex0", "first", "last", "length",
                                          "depth", "depth0", "previtem", "nextitem", "cycle"};
      static const std::vector<Value> keys = [] {
        std::vector<Value> v;
        for (const char* k : kKeys) v.push_back(Value::string(k));
        return v;
      }();
      static const Value no_prev = Value::undefined("there is no previous item");
      static const Value no_next = Value::undefined("there is no next item");
      auto index = std::make_shared<int64_t>(0);
      Value cycle = Value::make_callable("cycle", [index](Renderer&, Args& a) -> Value {
        if (a.pos.empty()) eval_fail("no items for cycling given");
        return a.pos[size_t(*index) % a.pos.size()];
      });
      for (int64_t k = 0; k < n; k++) {
        step(4);
        *index = k;
        Scope it;
        it.parent = &sc;
        assign(s.target, items[size_t(k)], it);
        auto loop = std::make_shared<Dict>();
        loop->items.reserve(12);
        const Value vals[] = {Value::integer(k + 1), Value::integer(k), Value::integer(n - k),
                              Value::integer(n - k - 1), Value::boolean(k == 0), Value::boolean(k == n - 1),
                              Value::integer(n), Value::integer(1), Value::integer(0),
                              k > 0 ? items[size_t(k - 1)] : no_prev, k + 1 < n ? items[size_t(k + 1)] : no_next, cycle};
        for (size_t j = 0; j < 12; j++) loop->items.emplace_back(keys[j], vals[j]);
        Value lv;
        lv.type = Value::Type::Dict;
        lv.dict = std::move(loop);
        lv.depth = 1;
        it.set("loop", std::move(lv));
        Flow f = exec_body(s.body, it, out);
        if (f == Flow::Break) break;
      }
      if (n == 0 && !s.else_body.empty()) {
        Scope it;
        it.parent = &sc;
        exec_body(s.else_body, it, out);
      }
      return Flow::Normal;
    }
    case K::Set: assign(s.target, eval(*s.expr, sc), sc); return Flow::Normal;
    case K::SetBlock: {
      std::string body;
      Scope inner;
      inner.parent = &sc;
      exec_body(s.body, inner, body);
      Value v = Value::string(std::move(body));
      if (s.expr) v = apply_filter_chain(*s.expr, v, sc);
      assign(s.target, v, sc);
      return Flow::Normal;
    }
    case K::Macro: {
      const Stmt* def = &s;
      sc.set(s.text, Value::make_callable(s.text, [def](Renderer& r, Args& a) { return r.call_macro(*def, a); }));
      return Flow::Normal;
    }
    case K::FilterBlock: {
      std::string body;
      Scope inner;
      inner.parent = &sc;
      exec_body(s.body, inner, body);
      append(out, py_str(apply_filter_chain(*s.expr, Value::string(std::move(body)), sc), max_str()));
      return Flow::Normal;
    }
    case K::With: {
      Scope inner;
      inner.parent = &sc;
      for (const auto& kv : s.params) inner.set(kv.first, eval(*kv.second, sc));
      return exec_body(s.body, inner, out);
    }
    case K::Scope: {
      Scope inner;
      inner.parent = &sc;
      return exec_body(s.body, inner, out);
    }
    case K::Break: return Flow::Break;
    case K::Continue: return Flow::Continue;
  }
  return Flow::Normal;
}

// ---------------------------------------------------------------------------------------------------------
// Template

Template Template::parse(const std::string& source, const std::string& origin) {
  Template t;
  t.program_ = parse_program(source, origin);
  return t;
}

std::string Template::render(const nlohmann::ordered_json& context, const Limits& limits) const {
  R1_CHECK(program_, "jinja::Template::render on an empty template");
  Renderer r(*program_, limits);
  try {
    return r.run(context);
  } catch (const EvalError& e) {  // from outside any statement (should not happen)
    fail(program_->origin, ": ", e.message);
  }
}

const std::string& Template::origin() const {
  static const std::string none = "<none>";
  return program_ ? program_->origin : none;
}

}  // namespace r1::jinja
