// Declarations shared by the files of the Jinja2 evaluator (internal to src/jinja/: never include it from
// outside). The evaluator follows Jinja2 3.1 in transformers' ImmutableSandboxedEnvironment (default
// Undefined: printing or testing it is fine, using its attributes, calling it or doing arithmetic with it is
// an error). Files: eval.cpp (expressions), render.cpp (statements, macros, Template), args.cpp (argument
// binding), access.cpp (iteration, len, items, slices), operators.cpp (arithmetic, comparison, "in"),
// methods.cpp (str/dict/list methods, attributes), filters.cpp, tests.cpp, globals.cpp.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.h"
#include "jinja/ast.h"
#include "jinja/jinja.h"

namespace r1::jinja {

// ---------------------------------------------------------------------------------------------------------
// Renderer

struct Scope {
  Scope* parent = nullptr;
  std::vector<std::pair<std::string, Value>> vars;
  const Value* find(const std::string& name) const {
    for (const auto& kv : vars)
      if (kv.first == name) return &kv.second;
    return nullptr;
  }
  void set(const std::string& name, Value v) {
    for (auto& kv : vars)
      if (kv.first == name) {
        kv.second = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }
};

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:
  Renderer(const Program& prog, const Limits& limits) : prog_(prog), limits_(limits) {}
  ~Renderer() {
    for (auto& ns : namespaces_) ns->items.clear();  // break reference cycles through namespaces
  }

  std::string run(const nlohmann::ordered_json& context) {
    Scope root;
    try {
      if (!context.is_object()) eval_fail("the render context must be a JSON object");
      for (auto it = context.begin(); it != context.end(); ++it) root.set(it.key(), from_json(it.value()));
    } catch (const EvalError& e) {
      fail(prog_.origin, ": ", e.message);
    }
    root_ = &root;
    std::string out;
    exec_body(prog_.body, root, out);
    return out;
  }

  // Work accounting: every evaluation costs a step; building big strings and lists costs more.
  void step(uint64_t n = 1) {
    steps_ += n;
    if (steps_ > limits_.max_steps)
      eval_fail(str("template exceeded the step limit (", limits_.max_steps, "): endless or too much work"));
  }
  void charge_bytes(size_t n) { step(n / 16); }
  size_t max_str() const { return limits_.max_output_bytes; }
  void check_size(size_t n) const {
    if (n > limits_.max_output_bytes)
      eval_fail(str("rendered text exceeds the output limit of ", limits_.max_output_bytes, " bytes"));
  }
  Value checked(Value v) const {
    if (v.depth > limits_.max_value_depth) eval_fail("value nested too deeply");
    return v;
  }
  Value new_namespace() {
    if (namespaces_.size() >= 100000) eval_fail("too many namespace objects");
    Value v;
    v.type = Value::Type::Namespace;
    v.dict = std::make_shared<Dict>();
    v.depth = 1;
    namespaces_.push_back(v.dict);
    return v;
  }

  Value call(const Value& callee, Args& args);
  Value apply_filter_name(const std::string& name, const Value& v, Args& args);
  bool apply_test_name(const std::string& name, const Value& v, Args& args);
  const std::string& origin() const { return prog_.origin; }

 private:
  [[noreturn]] void fail_at(int line, const std::string& msg) const { fail(prog_.origin, ":", line, ": ", msg); }

  Value eval(const Expr& e, Scope& sc) {
    try {
      step();
      return eval_inner(e, sc);
    } catch (const EvalError& err) {
      fail_at(e.line, err.message);
    }
  }
  Value eval_inner(const Expr& e, Scope& sc);
  Value lookup(const std::string& name, Scope& sc) const;
  Value apply_filter_chain(const Expr& chain, const Value& input, Scope& sc);
  void eval_args(const Expr& e, Scope& sc, Args& args) {
    for (const auto& a : e.args) args.pos.push_back(eval(*a, sc));
    for (const auto& kv : e.kwargs) args.kw.emplace_back(kv.first, eval(*kv.second, sc));
  }

  Flow exec_body(const Body& body, Scope& sc, std::string& out) {
    for (const auto& s : body) {
      Flow f = exec(*s, sc, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }
  Flow exec(const Stmt& s, Scope& sc, std::string& out) {
    try {
      step();
      return exec_inner(s, sc, out);
    } catch (const EvalError& err) {
      fail_at(s.line, err.message);
    }
  }
  Flow exec_inner(const Stmt& s, Scope& sc, std::string& out);
  void append(std::string& out, const std::string& text) {
    check_size(out.size() + text.size());
    out += text;
  }
  void assign(const Target& t, const Value& v, Scope& sc);
  Value call_macro(const Stmt& def, Args& args);

  const Program& prog_;
  const Limits& limits_;
  Scope* root_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  std::vector<std::shared_ptr<Dict>> namespaces_;
};

// ---------------------------------------------------------------------------------------------------------
// Argument binding (args.cpp)

struct Bound {
  std::vector<Value> v;
  std::vector<bool> given;
  bool has(size_t i) const { return given[i]; }
  const Value& operator[](size_t i) const { return v[i]; }
};

// Binds positional and keyword arguments to `names`; the first `required` names must be given.
Bound bind(const Args& a, std::initializer_list<const char*> names, const std::string& what, size_t required = 0);
int64_t want_int(const Value& v, const std::string& what);
const std::string& want_str(const Value& v, const std::string& what);

// ---------------------------------------------------------------------------------------------------------
// Value access (access.cpp)

[[noreturn]] void undefined_error(const Value& u);
// Python iteration: list/tuple items, dict keys, string characters; Undefined iterates as empty.
ValueList iterate(const Value& v);
int64_t py_len(const Value& v);
// Item access obj[key] (Jinja: item first, then attribute for string keys).
Value get_item(const Value& obj, const Value& key);
Value get_slice(Renderer& r, const Value& obj, const Value& start, const Value& stop, const Value& step);
// Jinja's make_attrgetter: "a.b.0" looks up item by item (integers for digit parts).
Value attr_path(const Value& item, const std::string& path);

// ---------------------------------------------------------------------------------------------------------
// Operators with Python semantics (operators.cpp)

bool contains(const Value& container, const Value& item);  // item in container
Value binary_op(Renderer& r, const std::string& op, const Value& a, const Value& b);  // + - * / // % **
bool compare(const std::string& op, const Value& a, const Value& b);  // == != < <= > >= in notin

// ---------------------------------------------------------------------------------------------------------
// str / dict / list methods and attribute access (methods.cpp)

using Method = Value (*)(Renderer&, const Value& self, Args&);
const std::map<std::string, Method>& dict_methods();
Value bound_method(const Value& self, const std::string& name, Method m);
// Attribute access obj.name (Jinja: Python attribute first, then item).
Value get_attr(const Value& obj, const std::string& name);
// str.replace(old, new, count); count < 0: all.
std::string py_replace(Renderer& r, const std::string& s, const std::string& old, const std::string& with,
                       int64_t count);
// str.isupper() (upper) or str.islower().
bool str_case_test(const std::string& s, bool upper);
// dict.items() as a list of (key, value) tuples.
ValueList dict_items(const Value& d);

// ---------------------------------------------------------------------------------------------------------
// Globals: range, dict, namespace, raise_exception, strftime_now (globals.cpp)

const std::unordered_map<std::string, Value>& globals();

}  // namespace r1::jinja
