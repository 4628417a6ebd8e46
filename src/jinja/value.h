// Values of the Jinja2 subset used by chat templates (internal to src/jinja/).
// A Value behaves like the Python object Jinja2 would hold: None, bool, int, float, str, list, tuple,
// dict (insertion ordered), a namespace() object, a callable, or Undefined. Lists, tuples and dicts are
// immutable once built (transformers renders in an ImmutableSandboxedEnvironment), so they are shared.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1::jinja {

// Errors raised while evaluating; the interpreter adds "origin:line:" and rethrows them as r1::Error.
struct EvalError {
  std::string message;
};
[[noreturn]] void eval_fail(std::string message);

struct Value;
struct Dict;
struct Callable;
struct Args;
class Renderer;
using ValueList = std::vector<Value>;

struct Value {
  enum class Type : uint8_t { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };
  Type type = Type::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::shared_ptr<const std::string> sp;  // String; for Undefined: why it is undefined (error messages)
  std::shared_ptr<const ValueList> list;  // List, Tuple
  std::shared_ptr<Dict> dict;             // Dict (never mutated once shared), Namespace (mutable attributes)
  std::shared_ptr<const Callable> fn;     // Callable
  int depth = 0;                          // nesting depth of containers (bounded, see Limits)

  static Value undefined(std::string hint) {
    Value v;
    v.sp = std::make_shared<const std::string>(std::move(hint));
    return v;
  }
  static Value none() { Value v; v.type = Type::None; return v; }
  static Value boolean(bool x) { Value v; v.type = Type::Bool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.type = Type::Int; v.i = x; return v; }
  static Value real(double x) { Value v; v.type = Type::Float; v.f = x; return v; }
  static Value string(std::string x) {
    Value v;
    v.type = Type::String;
    v.sp = std::make_shared<const std::string>(std::move(x));
    return v;
  }
  static Value make_list(ValueList items, bool tuple = false);
  static Value make_dict(std::shared_ptr<Dict> d);
  static Value make_callable(std::string name, std::function<Value(Renderer&, Args&)> fn);

  // The string (shared, so copying a Value never copies text).
  const std::string& str() const {
    static const std::string empty;
    return sp ? *sp : empty;
  }
  bool is_undefined() const { return type == Type::Undefined; }
  bool is_none() const { return type == Type::None; }
  bool is_string() const { return type == Type::String; }
  bool is_number() const { return type == Type::Bool || type == Type::Int || type == Type::Float; }
  bool is_int_like() const { return type == Type::Bool || type == Type::Int; }
  bool is_seq() const { return type == Type::List || type == Type::Tuple; }
  bool is_mapping() const { return type == Type::Dict; }
  int64_t as_int() const { return type == Type::Bool ? (b ? 1 : 0) : i; }
  double as_double() const { return type == Type::Float ? f : double(as_int()); }
};

// Insertion-ordered mapping. Keys are hashable Python values (str, int, float, bool, None, tuple).
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(const Value& key, Value value);  // replaces an equal key in place, else appends
};

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

struct Callable {
  std::string name;
  std::function<Value(Renderer&, Args&)> fn;
};

// Python semantics.
const char* type_name(const Value& v);  // "str", "int", "NoneType" ... as Python names them
bool truthy(const Value& v);
bool py_eq(const Value& a, const Value& b, int depth = 0);
bool py_lt(const Value& a, const Value& b, int depth = 0);  // throws EvalError for unorderable types
// str(v) and repr(v); max_len bounds the output (EvalError when exceeded).
std::string py_str(const Value& v, size_t max_len);
std::string py_repr(const Value& v, size_t max_len);
std::string py_float_repr(double d);
// json.dumps(v, ensure_ascii, indent, separators, sort_keys) as Python writes it. indent: empty = None.
struct JsonOptions {
  bool ensure_ascii = false;
  bool pretty = false;  // indent is not None
  std::string indent;   // the indent unit when pretty
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
};
std::string py_json_dumps(const Value& v, const JsonOptions& opt, size_t max_len);
// Python dicts keep insertion order, so JSON input is read as nlohmann::ordered_json.
Value from_json(const nlohmann::ordered_json& j, int depth = 0);

// UTF-8 helpers: strings are handled as Python str (code points). Invalid bytes count as one unit each.
std::vector<size_t> cp_offsets(const std::string& s);  // start offset of each code point, plus s.size()
char32_t decode_cp(const std::string& s, size_t& pos);
void append_cp(std::string& out, char32_t cp);
std::vector<char32_t> to_cps(const std::string& s);
size_t cp_length(const std::string& s);
bool py_isspace(char32_t c);
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_title(const std::string& s);
std::vector<std::string> py_splitlines(const std::string& s);
bool py_isalnum_cp(char32_t c);
bool py_isalpha_cp(char32_t c);
bool py_isdigit_cp(char32_t c);
bool py_isupper_cp(char32_t c);
bool py_islower_cp(char32_t c);

}  // namespace r1::jinja
