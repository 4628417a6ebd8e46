// Jinja2 evaluator: statements, expressions, filters, tests, globals and str/dict/list methods with the
// semantics of Jinja2 3.1 in transformers' ImmutableSandboxedEnvironment (default Undefined: printing or
// testing it is fine, using its attributes, calling it or doing arithmetic with it is an error).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_map>

#include "core/check.h"
#include "tokenizer/jinja.h"
#include "tokenizer/jinja_ast.h"

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
// Argument binding

namespace {

struct Bound {
  std::vector<Value> v;
  std::vector<bool> given;
  bool has(size_t i) const { return given[i]; }
  const Value& operator[](size_t i) const { return v[i]; }
};

Bound bind(const Args& a, std::initializer_list<const char*> names, const std::string& what, size_t required = 0) {
  Bound b;
  std::vector<const char*> nm(names);
  b.v.resize(nm.size());
  b.given.assign(nm.size(), false);
  if (a.pos.size() > nm.size())
    eval_fail(str(what, "() takes at most ", nm.size(), " argument(s) (", a.pos.size(), " given)"));
  for (size_t i = 0; i < a.pos.size(); i++) {
    b.v[i] = a.pos[i];
    b.given[i] = true;
  }
  for (const auto& kv : a.kw) {
    size_t i = 0;
    while (i < nm.size() && kv.first != nm[i]) i++;
    if (i == nm.size()) eval_fail(str(what, "() got an unexpected keyword argument '", kv.first, "'"));
    if (b.given[i]) eval_fail(str(what, "() got multiple values for argument '", kv.first, "'"));
    b.v[i] = kv.second;
    b.given[i] = true;
  }
  for (size_t i = 0; i < required; i++)
    if (!b.given[i]) eval_fail(str(what, "() missing required argument '", nm[i], "'"));
  return b;
}

int64_t want_int(const Value& v, const std::string& what) {
  if (!v.is_int_like()) eval_fail(str(what, ": expected an integer, got ", type_name(v)));
  return v.as_int();
}

const std::string& want_str(const Value& v, const std::string& what) {
  if (!v.is_string()) eval_fail(str(what, ": expected a string, got ", type_name(v)));
  return v.str();
}

[[noreturn]] void undefined_error(const Value& u) { eval_fail(u.str().empty() ? "value is undefined" : u.str()); }

// Python iteration: list/tuple items, dict keys, string characters; Undefined iterates as empty.
ValueList iterate(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return {};
    case Value::Type::List:
    case Value::Type::Tuple: return *v.list;
    case Value::Type::Dict: {
      ValueList out;
      for (const auto& kv : v.dict->items) out.push_back(kv.first);
      return out;
    }
    case Value::Type::String: {
      ValueList out;
      const std::string& s = v.str();
      auto off = cp_offsets(s);
      for (size_t k = 0; k + 1 < off.size(); k++) out.push_back(Value::string(s.substr(off[k], off[k + 1] - off[k])));
      return out;
    }
    default: eval_fail(str("'", type_name(v), "' object is not iterable"));
  }
}

int64_t py_len(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return 0;
    case Value::Type::String: return int64_t(cp_length(v.str()));
    case Value::Type::List:
    case Value::Type::Tuple: return int64_t(v.list->size());
    case Value::Type::Dict: return int64_t(v.dict->items.size());
    default: eval_fail(str("object of type '", type_name(v), "' has no len()"));
  }
}

// Python slice semantics on a sequence of length n.
std::vector<int64_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
  auto opt = [](const Value& v, const char* what) -> std::pair<bool, int64_t> {
    if (v.is_none() || v.is_undefined()) return {false, 0};
    if (!v.is_int_like()) eval_fail(str("slice ", what, " must be an integer or None"));
    return {true, v.as_int()};
  };
  auto [has_step, st] = opt(step, "step");
  if (!has_step) st = 1;
  if (st == 0) eval_fail("slice step cannot be zero");
  int64_t lower = st < 0 ? -1 : 0, upper = st < 0 ? n - 1 : n;
  auto clamp = [&](std::pair<bool, int64_t> p, int64_t dflt) {
    if (!p.first) return dflt;
    int64_t x = p.second;
    if (x < 0) {
      x += n;
      if (x < lower) x = lower;
    } else if (x > upper) {
      x = upper;
    }
    return x;
  };
  int64_t a = clamp(opt(start, "start"), st < 0 ? upper : lower);
  int64_t b = clamp(opt(stop, "stop"), st < 0 ? lower : upper);
  std::vector<int64_t> idx;
  if (st > 0)
    for (int64_t k = a; k < b; k += st) idx.push_back(k);
  else
    for (int64_t k = a; k > b; k += st) idx.push_back(k);
  return idx;
}

bool contains(const Value& container, const Value& item) {
  switch (container.type) {
    case Value::Type::Undefined: return false;
    case Value::Type::String:
      if (!item.is_string())
        eval_fail(str("'in <string>' requires string as left operand, not ", type_name(item)));
      return container.str().find(item.str()) != std::string::npos;
    case Value::Type::List:
    case Value::Type::Tuple:
      for (const auto& x : *container.list)
        if (py_eq(x, item)) return true;
      return false;
    case Value::Type::Dict:
      if (item.type == Value::Type::List || item.is_mapping()) eval_fail(str("unhashable type: '", type_name(item), "'"));
      return container.dict->find(item) != nullptr;
    default: eval_fail(str("argument of type '", type_name(container), "' is not iterable"));
  }
}

// ---- arithmetic with Python semantics (int overflow is an error instead of a big integer)

Value int_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) eval_fail("integer overflow");
  return Value::integer(r);
}
Value int_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) eval_fail("integer overflow");
  return Value::integer(r);
}
Value int_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) eval_fail("integer overflow");
  return Value::integer(r);
}

[[noreturn]] void bad_operands(const char* op, const Value& a, const Value& b) {
  eval_fail(str("unsupported operand type(s) for ", op, ": '", type_name(a), "' and '", type_name(b), "'"));
}

Value repeat(Renderer& r, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.str();
    if (n > 0 && s.size() > 0 && uint64_t(n) > r.max_str() / s.size()) r.check_size(r.max_str() + 1);
    r.charge_bytes(s.size() * size_t(n));
    std::string out;
    out.reserve(s.size() * size_t(n));
    for (int64_t k = 0; k < n; k++) out += s;
    return Value::string(std::move(out));
  }
  if (n > 0 && seq.list->size() > 0 && uint64_t(n) > r.max_str() / 64 / seq.list->size())
    eval_fail("sequence repetition too large");
  r.step(seq.list->size() * uint64_t(n));
  ValueList out;
  for (int64_t k = 0; k < n; k++) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::make_list(std::move(out), seq.type == Value::Type::Tuple);
}

// Python's printf-style "fmt % args" for the common conversions (s r a d i u f F e E g G x X o c %).
std::string percent_format(Renderer& r, const std::string& fmt, const Value& arg) {
  ValueList positional;
  bool mapping = arg.is_mapping();
  bool getitem = mapping || arg.type == Value::Type::List;  // Python skips the argument count check then
  if (arg.type == Value::Type::Tuple) positional = *arg.list;
  else positional.push_back(arg);
  size_t next = 0;
  std::string out;
  for (size_t k = 0; k < fmt.size(); k++) {
    if (fmt[k] != '%') {
      out += fmt[k];
      continue;
    }
    if (++k >= fmt.size()) eval_fail("incomplete format");
    if (fmt[k] == '%') {
      out += '%';
      continue;
    }
    const Value* val = nullptr;
    Value keyed;
    if (fmt[k] == '(') {
      size_t close = fmt.find(')', k);
      if (close == std::string::npos) eval_fail("incomplete format key");
      if (!mapping) eval_fail("format requires a mapping");
      const Value* v = arg.dict->find(fmt.substr(k + 1, close - k - 1));
      if (!v) eval_fail("KeyError: " + fmt.substr(k + 1, close - k - 1));
      keyed = *v;
      val = &keyed;
      k = close + 1;
    }
    std::string flags, width, prec;
    while (k < fmt.size() && std::strchr("-+ #0", fmt[k]) && fmt[k]) flags += fmt[k++];
    while (k < fmt.size() && isdigit((unsigned char)fmt[k])) width += fmt[k++];
    if (k < fmt.size() && fmt[k] == '.') {
      prec = ".";
      k++;
      while (k < fmt.size() && isdigit((unsigned char)fmt[k])) prec += fmt[k++];
    }
    while (k < fmt.size() && std::strchr("hlL", fmt[k]) && fmt[k]) k++;
    if (k >= fmt.size()) eval_fail("incomplete format");
    if (width.size() > 4 || prec.size() > 4) eval_fail("format width or precision too large");
    char conv = fmt[k];
    if (!val) {
      if (next >= positional.size()) eval_fail("not enough arguments for format string");
      val = &positional[next++];
    }
    std::string spec = "%" + flags + width + prec;
    char buf[512];
    if (conv == 's' || conv == 'r' || conv == 'a') {
      std::string text = conv == 's' ? py_str(*val, r.max_str()) : py_repr(*val, r.max_str());
      if (prec.size() > 1) {
        auto off = cp_offsets(text);
        size_t n = std::min<size_t>(std::stoul(prec.substr(1)), off.size() - 1);
        text = text.substr(0, off[n]);
      }
      size_t w = width.empty() ? 0 : std::stoul(width), len = cp_length(text);
      if (len < w) text = flags.find('-') != std::string::npos ? text + std::string(w - len, ' ')
                                                                : std::string(w - len, ' ') + text;
      out += text;
    } else if (std::strchr("diuxXoc", conv)) {
      if (!val->is_number()) eval_fail(str("%", conv, " format: a real number is required, not ", type_name(*val)));
      if (conv == 'c') eval_fail("%c format is not supported");
      double d = val->as_double();
      if (val->type == Value::Type::Float && !std::isfinite(d)) eval_fail("cannot convert float infinity or NaN to integer");
      long long n = val->type == Value::Type::Float ? (long long)d : (long long)val->as_int();
      char c = conv == 'i' || conv == 'u' ? 'd' : conv;
      std::snprintf(buf, sizeof buf, (spec + "ll" + c).c_str(), n);
      out += buf;
    } else if (std::strchr("fFeEgG", conv)) {
      if (!val->is_number()) eval_fail(str("must be real number, not ", type_name(*val)));
      std::snprintf(buf, sizeof buf, (spec + conv).c_str(), val->as_double());
      out += buf;
    } else {
      eval_fail(str("unsupported format character '", conv, "'"));
    }
    r.check_size(out.size());
  }
  if (!getitem && next < positional.size()) eval_fail("not all arguments converted during string formatting");
  return out;
}

Value binary_op(Renderer& r, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  bool nums = a.is_number() && b.is_number();
  bool fl = nums && (a.type == Value::Type::Float || b.type == Value::Type::Float);
  if (op == "+") {
    if (nums) return fl ? Value::real(a.as_double() + b.as_double())
                        : int_add(a.as_int(), b.as_int());
    if (a.is_string() && b.is_string()) {
      r.check_size(a.str().size() + b.str().size());
      r.charge_bytes(a.str().size() + b.str().size());
      return Value::string(a.str() + b.str());
    }
    if (a.is_seq() && a.type == b.type) {
      r.step(a.list->size() + b.list->size());
      ValueList out(*a.list);
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::make_list(std::move(out), a.type == Value::Type::Tuple);
    }
    if (a.is_string() || a.is_seq())
      eval_fail(str("can only concatenate ", type_name(a), " (not \"", type_name(b), "\") to ", type_name(a)));
    bad_operands("+", a, b);
  }
  if (op == "-") {
    if (!nums) bad_operands("-", a, b);
    return fl ? Value::real(a.as_double() - b.as_double())
              : int_sub(a.as_int(), b.as_int());
  }
  if (op == "*") {
    if (nums) return fl ? Value::real(a.as_double() * b.as_double())
                        : int_mul(a.as_int(), b.as_int());
    if ((a.is_string() || a.is_seq()) && b.is_int_like()) return repeat(r, a, b.as_int());
    if ((b.is_string() || b.is_seq()) && a.is_int_like()) return repeat(r, b, a.as_int());
    if (a.is_string() || a.is_seq() || b.is_string() || b.is_seq())
      eval_fail(str("can't multiply sequence by non-int of type '",
                    type_name(a.is_string() || a.is_seq() ? b : a), "'"));
    bad_operands("*", a, b);
  }
  if (op == "/") {
    if (!nums) bad_operands("/", a, b);
    if (b.as_double() == 0) eval_fail("division by zero");
    return Value::real(a.as_double() / b.as_double());
  }
  if (op == "//") {
    if (!nums) bad_operands("//", a, b);
    if (fl) {
      if (b.as_double() == 0) eval_fail("float floor division by zero");
      return Value::real(std::floor(a.as_double() / b.as_double()));
    }
    int64_t x = a.as_int(), y = b.as_int();
    if (y == 0) eval_fail("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) eval_fail("integer overflow");
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
    return Value::integer(q);
  }
  if (op == "%") {
    if (a.is_string()) return Value::string(percent_format(r, a.str(), b));
    if (!nums) bad_operands("%", a, b);
    if (fl) {
      double x = a.as_double(), y = b.as_double();
      if (y == 0) eval_fail("float modulo");
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::real(m);
    }
    int64_t x = a.as_int(), y = b.as_int();
    if (y == 0) eval_fail("integer division or modulo by zero");
    if (y == -1) return Value::integer(0);
    int64_t m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::integer(m);
  }
  if (op == "**") {
    if (!nums) bad_operands("** or pow()", a, b);
    if (!fl && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), acc = 1;
      while (e > 0) {
        if (e & 1)
          if (__builtin_mul_overflow(acc, base, &acc)) eval_fail("integer overflow");
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) eval_fail("integer overflow");
      }
      return Value::integer(acc);
    }
    double x = a.as_double(), y = b.as_double();
    if (x == 0 && y < 0) eval_fail("0.0 cannot be raised to a negative power");
    if (x < 0 && std::floor(y) != y) eval_fail("negative number raised to a fractional power (complex result)");
    return Value::real(std::pow(x, y));
  }
  eval_fail("unknown operator " + op);
}

bool compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_eq(a, b);
  if (op == "!=") return !py_eq(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  if ((a.is_undefined() || b.is_undefined()) && op != "==" && op != "!=")
    undefined_error(a.is_undefined() ? a : b);
  if (op == "<") return py_lt(a, b);
  if (op == ">") return py_lt(b, a);
  if (op == "<=") return py_lt(a, b) || py_eq(a, b);
  if (op == ">=") return py_lt(b, a) || py_eq(a, b);
  eval_fail("unknown comparison " + op);
}

// ---- str / dict / list methods

using Method = Value (*)(Renderer&, const Value& self, Args&);

// Byte offset -> code point index.
int64_t cp_index(const std::string& s, size_t byte_off) { return int64_t(cp_length(s.substr(0, byte_off))); }

Value str_split_impl(const Value& self, Args& a, bool from_right) {
  Bound b = bind(a, {"sep", "maxsplit"}, from_right ? "rsplit" : "split");
  const std::string& s = self.str();
  int64_t maxsplit = b.has(1) ? want_int(b[1], "maxsplit") : -1;
  ValueList parts;
  if (!b.has(0) || b[0].is_none()) {
    // Runs of whitespace separate; leading/trailing whitespace is dropped.
    auto cps = to_cps(s);
    auto off = cp_offsets(s);
    int64_t n = int64_t(cps.size());
    std::vector<std::pair<int64_t, int64_t>> spans;  // code point ranges
    if (!from_right) {
      int64_t k = 0;
      while (k < n) {
        while (k < n && py_isspace(cps[k])) k++;
        if (k >= n) break;
        if (maxsplit >= 0 && int64_t(spans.size()) == maxsplit) {
          int64_t e = n;
          while (e > k && false) e--;
          spans.push_back({k, e});
          break;
        }
        int64_t j = k;
        while (j < n && !py_isspace(cps[j])) j++;
        spans.push_back({k, j});
        k = j;
      }
    } else {
      int64_t k = n;
      while (k > 0) {
        while (k > 0 && py_isspace(cps[k - 1])) k--;
        if (k <= 0) break;
        if (maxsplit >= 0 && int64_t(spans.size()) == maxsplit) {
          spans.push_back({0, k});
          break;
        }
        int64_t j = k;
        while (j > 0 && !py_isspace(cps[j - 1])) j--;
        spans.push_back({j, k});
        k = j;
      }
      std::reverse(spans.begin(), spans.end());
    }
    for (auto [x, y] : spans) parts.push_back(Value::string(s.substr(off[x], off[y] - off[x])));
    return Value::make_list(std::move(parts));
  }
  const std::string& sep = want_str(b[0], "split");
  if (sep.empty()) eval_fail("empty separator");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t start = 0;
    while (true) {
      if (maxsplit >= 0 && int64_t(pieces.size()) == maxsplit) break;
      size_t f = s.find(sep, start);
      if (f == std::string::npos) break;
      pieces.push_back(s.substr(start, f - start));
      start = f + sep.size();
    }
    pieces.push_back(s.substr(start));
  } else {
    size_t end = s.size();
    while (true) {
      if (maxsplit >= 0 && int64_t(pieces.size()) == maxsplit) break;
      if (end < sep.size()) break;
      size_t f = s.rfind(sep, end - sep.size());
      if (f == std::string::npos) break;
      pieces.push_back(s.substr(f + sep.size(), end - f - sep.size()));
      end = f;
    }
    pieces.push_back(s.substr(0, end));
    std::reverse(pieces.begin(), pieces.end());
  }
  for (auto& p : pieces) parts.push_back(Value::string(std::move(p)));
  return Value::make_list(std::move(parts));
}

std::string py_replace(Renderer& r, const std::string& s, const std::string& old, const std::string& with,
                       int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    auto off = cp_offsets(s);
    for (size_t k = 0; k + 1 < off.size(); k++) {
      if (count < 0 || done < count) {
        out += with;
        done++;
      }
      out.append(s, off[k], off[k + 1] - off[k]);
      r.check_size(out.size());
    }
    if (count < 0 || done < count) out += with;
  } else {
    size_t start = 0;
    while (count < 0 || done < count) {
      size_t f = s.find(old, start);
      if (f == std::string::npos) break;
      out.append(s, start, f - start);
      out += with;
      r.check_size(out.size());
      start = f + old.size();
      done++;
    }
    out.append(s, start, std::string::npos);
  }
  r.check_size(out.size());
  r.charge_bytes(out.size());
  return out;
}

bool affix_match(const Value& self, Args& a, bool prefix) {
  Bound b = bind(a, {"prefix"}, prefix ? "startswith" : "endswith", 1);
  const std::string& s = self.str();
  auto one = [&](const Value& p) {
    const std::string& x = want_str(p, prefix ? "startswith" : "endswith");
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (b[0].type == Value::Type::Tuple) {
    for (const auto& p : *b[0].list)
      if (one(p)) return true;
    return false;
  }
  return one(b[0]);
}

template <bool (*Pred)(char32_t)>
Value str_is(const Value& self) {
  auto cps = to_cps(self.str());
  if (cps.empty()) return Value::boolean(false);
  for (char32_t c : cps)
    if (!Pred(c)) return Value::boolean(false);
  return Value::boolean(true);
}

bool str_case_test(const std::string& s, bool upper) {
  bool cased = false;
  for (char32_t c : to_cps(s)) {
    if (py_isupper_cp(c) || py_islower_cp(c)) {
      cased = true;
      if (upper ? py_islower_cp(c) : py_isupper_cp(c)) return false;
    }
  }
  return cased;
}

const std::map<std::string, Method>& str_methods() {
  static const std::map<std::string, Method> m = {
      {"startswith", [](Renderer&, const Value& s, Args& a) { return Value::boolean(affix_match(s, a, true)); }},
      {"endswith", [](Renderer&, const Value& s, Args& a) { return Value::boolean(affix_match(s, a, false)); }},
      {"split", [](Renderer& r, const Value& s, Args& a) { r.charge_bytes(s.str().size()); return str_split_impl(s, a, false); }},
      {"rsplit", [](Renderer& r, const Value& s, Args& a) { r.charge_bytes(s.str().size()); return str_split_impl(s, a, true); }},
      {"strip", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"chars"}, "strip");
         return Value::string(py_strip(s.str(), b.has(0) ? &b[0] : nullptr, true, true));
       }},
      {"lstrip", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"chars"}, "lstrip");
         return Value::string(py_strip(s.str(), b.has(0) ? &b[0] : nullptr, true, false));
       }},
      {"rstrip", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"chars"}, "rstrip");
         return Value::string(py_strip(s.str(), b.has(0) ? &b[0] : nullptr, false, true));
       }},
      {"replace", [](Renderer& r, const Value& s, Args& a) {
         Bound b = bind(a, {"old", "new", "count"}, "replace", 2);
         int64_t count = b.has(2) ? want_int(b[2], "replace") : -1;
         return Value::string(py_replace(r, s.str(), want_str(b[0], "replace"), want_str(b[1], "replace"), count));
       }},
      {"upper", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "upper"); return Value::string(py_upper(s.str())); }},
      {"lower", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "lower"); return Value::string(py_lower(s.str())); }},
      {"title", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "title"); return Value::string(py_title(s.str())); }},
      {"capitalize", [](Renderer&, const Value& s, Args& a) {
         bind(a, {}, "capitalize");
         return Value::string(py_capitalize(s.str()));
       }},
      {"find", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"sub"}, "find", 1);
         size_t f = s.str().find(want_str(b[0], "find"));
         return Value::integer(f == std::string::npos ? -1 : cp_index(s.str(), f));
       }},
      {"rfind", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"sub"}, "rfind", 1);
         size_t f = s.str().rfind(want_str(b[0], "rfind"));
         return Value::integer(f == std::string::npos ? -1 : cp_index(s.str(), f));
       }},
      {"index", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"sub"}, "index", 1);
         size_t f = s.str().find(want_str(b[0], "index"));
         if (f == std::string::npos) eval_fail("substring not found");
         return Value::integer(cp_index(s.str(), f));
       }},
      {"count", [](Renderer&, const Value& s, Args& a) {
         Bound b = bind(a, {"sub"}, "count", 1);
         const std::string& sub = want_str(b[0], "count");
         if (sub.empty()) return Value::integer(int64_t(cp_length(s.str())) + 1);
         int64_t n = 0;
         for (size_t f = s.str().find(sub); f != std::string::npos; f = s.str().find(sub, f + sub.size())) n++;
         return Value::integer(n);
       }},
      {"join", [](Renderer& r, const Value& s, Args& a) {
         Bound b = bind(a, {"iterable"}, "join", 1);
         std::string out;
         bool first = true;
         for (const auto& x : iterate(b[0])) {
           if (!x.is_string()) eval_fail(str("sequence item: expected str instance, ", type_name(x), " found"));
           if (!first) out += s.str();
           first = false;
           out += x.str();
           r.check_size(out.size());
         }
         r.charge_bytes(out.size());
         return Value::string(std::move(out));
       }},
      {"isdigit", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "isdigit"); return str_is<py_isdigit_cp>(s); }},
      {"isalpha", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "isalpha"); return str_is<py_isalpha_cp>(s); }},
      {"isalnum", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "isalnum"); return str_is<py_isalnum_cp>(s); }},
      {"isspace", [](Renderer&, const Value& s, Args& a) { bind(a, {}, "isspace"); return str_is<py_isspace>(s); }},
      {"isupper", [](Renderer&, const Value& s, Args& a) {
         bind(a, {}, "isupper");
         return Value::boolean(str_case_test(s.str(), true));
       }},
      {"islower", [](Renderer&, const Value& s, Args& a) {
         bind(a, {}, "islower");
         return Value::boolean(str_case_test(s.str(), false));
       }},
      {"splitlines", [](Renderer&, const Value& s, Args& a) {
         bind(a, {}, "splitlines");
         ValueList out;
         for (auto& l : py_splitlines(s.str())) out.push_back(Value::string(std::move(l)));
         return Value::make_list(std::move(out));
       }},
  };
  return m;
}

ValueList dict_items(const Value& d) {
  ValueList out;
  for (const auto& kv : d.dict->items) out.push_back(Value::make_list({kv.first, kv.second}, true));
  return out;
}

// dict.items()/keys()/values() behave as lists but print as dict_items([...]) etc. (Value::i tags them).
Value as_view(Value list, int kind) {
  list.i = kind;
  return list;
}

const std::map<std::string, Method>& dict_methods() {
  static const std::map<std::string, Method> m = {
      {"items", [](Renderer& r, const Value& d, Args& a) {
         bind(a, {}, "items");
         r.step(d.dict->items.size());
         return as_view(Value::make_list(dict_items(d)), 1);
       }},
      {"keys", [](Renderer& r, const Value& d, Args& a) {
         bind(a, {}, "keys");
         r.step(d.dict->items.size());
         return as_view(Value::make_list(iterate(d)), 2);
       }},
      {"values", [](Renderer& r, const Value& d, Args& a) {
         bind(a, {}, "values");
         r.step(d.dict->items.size());
         ValueList out;
         for (const auto& kv : d.dict->items) out.push_back(kv.second);
         return as_view(Value::make_list(std::move(out)), 3);
       }},
      {"get", [](Renderer&, const Value& d, Args& a) {
         Bound b = bind(a, {"key", "default"}, "get", 1);
         const Value* v = d.dict->find(b[0]);
         return v ? *v : (b.has(1) ? b[1] : Value::none());
       }},
  };
  return m;
}

const std::map<std::string, Method>& list_methods() {
  static const std::map<std::string, Method> m = {
      {"index", [](Renderer&, const Value& l, Args& a) {
         Bound b = bind(a, {"value"}, "index", 1);
         for (size_t k = 0; k < l.list->size(); k++)
           if (py_eq((*l.list)[k], b[0])) return Value::integer(int64_t(k));
         eval_fail("value is not in list");
       }},
      {"count", [](Renderer&, const Value& l, Args& a) {
         Bound b = bind(a, {"value"}, "count", 1);
         int64_t n = 0;
         for (const auto& x : *l.list) n += py_eq(x, b[0]);
         return Value::integer(n);
       }},
  };
  return m;
}

bool is_mutating_method(const std::string& name) {
  static const char* names[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                                "update", "setdefault", "popitem", "add", "discard"};
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

Value bound_method(const Value& self, const std::string& name, Method m) {
  return Value::make_callable(name, [self, m](Renderer& r, Args& a) { return m(r, self, a); });
}

// Attribute access obj.name (Jinja: Python attribute first, then item).
Value get_attr(const Value& obj, const std::string& name) {
  const std::map<std::string, Method>* methods = nullptr;
  switch (obj.type) {
    case Value::Type::Undefined: undefined_error(obj);
    case Value::Type::Dict: methods = &dict_methods(); break;
    case Value::Type::String: methods = &str_methods(); break;
    case Value::Type::List:
    case Value::Type::Tuple: methods = &list_methods(); break;
    case Value::Type::Namespace: {
      const Value* v = obj.dict->find(name);
      if (v) return *v;
      return Value::undefined(str("'Namespace' object has no attribute '", name, "'"));
    }
    default: break;
  }
  if (methods) {
    auto it = methods->find(name);
    if (it != methods->end()) return bound_method(obj, name, it->second);
  }
  if ((obj.is_seq() || obj.is_mapping()) && is_mutating_method(name))
    return Value::undefined(str("access to attribute '", name, "' of '", type_name(obj),
                                "' object is unsafe (templates cannot modify values)"));
  if (obj.type == Value::Type::Dict) {
    const Value* v = obj.dict->find(name);
    if (v) return *v;
  }
  if (obj.is_none()) return Value::undefined(str("'None' has no attribute '", name, "'"));
  return Value::undefined(str("'", type_name(obj), " object' has no attribute '", name, "'"));
}

// Item access obj[key] (Jinja: item first, then attribute for string keys).
Value get_item(const Value& obj, const Value& key) {
  switch (obj.type) {
    case Value::Type::Undefined: undefined_error(obj);
    case Value::Type::Dict: {
      const Value* v = obj.dict->find(key);
      if (v) return *v;
      break;
    }
    case Value::Type::List:
    case Value::Type::Tuple:
      if (key.is_int_like()) {
        int64_t n = int64_t(obj.list->size()), k = key.as_int();
        if (k < 0) k += n;
        if (k >= 0 && k < n) return (*obj.list)[size_t(k)];
        return Value::undefined(str("'", type_name(obj), " object' has no element ", key.as_int()));
      }
      break;
    case Value::Type::String:
      if (key.is_int_like()) {
        auto off = cp_offsets(obj.str());
        int64_t n = int64_t(off.size()) - 1, k = key.as_int();
        if (k < 0) k += n;
        if (k >= 0 && k < n) return Value::string(obj.str().substr(off[k], off[k + 1] - off[k]));
        return Value::undefined(str("'str object' has no element ", key.as_int()));
      }
      break;
    default: break;
  }
  if (key.is_string()) return get_attr(obj, key.str());
  if (obj.type == Value::Type::Dict)
    return Value::undefined(str("'dict object' has no attribute ", py_repr(key, 1000)));
  return Value::undefined(str("'", type_name(obj), " object' has no element ", py_repr(key, 1000)));
}

Value get_slice(Renderer& r, const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_string()) {
    const std::string& s = obj.str();
    auto off = cp_offsets(s);
    auto idx = slice_indices(int64_t(off.size()) - 1, start, stop, step);
    r.charge_bytes(s.size());
    std::string out;
    for (int64_t k : idx) out.append(s, off[k], off[k + 1] - off[k]);
    return Value::string(std::move(out));
  }
  if (obj.is_seq()) {
    auto idx = slice_indices(int64_t(obj.list->size()), start, stop, step);
    r.step(idx.size());
    ValueList out;
    for (int64_t k : idx) out.push_back((*obj.list)[size_t(k)]);
    return Value::make_list(std::move(out), obj.type == Value::Type::Tuple);
  }
  if (obj.is_mapping()) eval_fail("unhashable type: 'slice'");
  eval_fail(str("'", type_name(obj), "' object is not subscriptable"));
}

// Jinja's make_attrgetter: "a.b.0" looks up item by item (integers for digit parts).
Value attr_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, digits && part.size() < 18 ? Value::integer(std::stoll(part)) : Value::string(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Filters

std::string soft_str(Renderer& r, const Value& v) { return py_str(v, r.max_str()); }

Value sort_key(const Value& v, bool case_sensitive, const std::string& attribute) {
  Value k = attribute.empty() ? v : attr_path(v, attribute);
  if (!case_sensitive && k.is_string()) return Value::string(py_lower(k.str()));
  return k;
}

std::string opt_attribute(const Bound& b, size_t i) {
  if (!b.has(i) || b[i].is_none()) return "";
  if (b[i].is_int_like()) return std::to_string(b[i].as_int());
  return want_str(b[i], "attribute");
}

Value f_length(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "length");
  return Value::integer(py_len(v));
}

Value f_default(Renderer&, const Value& v, Args& a) {
  Bound b = bind(a, {"default_value", "boolean"}, "default");
  Value dflt = b.has(0) ? b[0] : Value::string("");
  bool boolean = b.has(1) && truthy(b[1]);
  if (v.is_undefined() || (boolean && !truthy(v))) return dflt;
  return v;
}

Value f_string(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "string");
  return Value::string(soft_str(r, v));
}

Value f_trim(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"chars"}, "trim");
  return Value::string(py_strip(soft_str(r, v), b.has(0) ? &b[0] : nullptr, true, true));
}

Value f_upper(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "upper");
  return Value::string(py_upper(soft_str(r, v)));
}
Value f_lower(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "lower");
  return Value::string(py_lower(soft_str(r, v)));
}
Value f_capitalize(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "capitalize");
  return Value::string(py_capitalize(soft_str(r, v)));
}

// Jinja's title filter: upper-case the first character of each word, words split at [-\s({\[<]+.
Value f_title(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "title");
  std::string s = soft_str(r, v), out;
  size_t p = 0;
  bool at_start = true;
  while (p < s.size()) {
    size_t start = p;
    char32_t c = decode_cp(s, p);
    bool sep = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string ch = s.substr(start, p - start);
    if (sep) {
      out += ch;
      at_start = true;
    } else {
      out += at_start ? py_upper(ch) : py_lower(ch);
      at_start = false;
    }
  }
  return Value::string(std::move(out));
}

Value f_replace(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"old", "new", "count"}, "replace", 2);
  int64_t count = b.has(2) && !b[2].is_none() ? want_int(b[2], "replace") : -1;
  return Value::string(py_replace(r, soft_str(r, v), soft_str(r, b[0]), soft_str(r, b[1]), count));
}

Value f_tojson(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  JsonOptions opt;
  opt.ensure_ascii = b.has(0) && truthy(b[0]);
  if (b.has(1) && !b[1].is_none()) {
    opt.pretty = true;
    opt.item_sep = ",";
    if (b[1].is_string()) opt.indent = b[1].str();
    else opt.indent = std::string(size_t(std::clamp<int64_t>(want_int(b[1], "tojson indent"), 0, 1000)), ' ');
  }
  if (b.has(2) && !b[2].is_none()) {
    if (!b[2].is_seq() || b[2].list->size() != 2) eval_fail("tojson: separators must be a pair of strings");
    opt.item_sep = want_str((*b[2].list)[0], "tojson separators");
    opt.key_sep = want_str((*b[2].list)[1], "tojson separators");
  }
  opt.sort_keys = b.has(3) && truthy(b[3]);
  std::string s = py_json_dumps(v, opt, r.max_str());
  r.charge_bytes(s.size());
  return Value::string(std::move(s));
}

Value f_join(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"d", "attribute"}, "join");
  std::string sep = b.has(0) ? soft_str(r, b[0]) : "";
  std::string attr = opt_attribute(b, 1);
  std::string out;
  bool first = true;
  for (const auto& x : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += soft_str(r, attr.empty() ? x : attr_path(x, attr));
    r.check_size(out.size());
  }
  r.charge_bytes(out.size());
  return Value::string(std::move(out));
}

Value f_list(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "list");
  ValueList items = iterate(v);
  r.step(items.size());
  return Value::make_list(std::move(items));
}

Value f_first(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "first");
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "last");
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_reverse(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "reverse");
  if (v.is_string()) {
    Value none = Value::none(), neg = Value::integer(-1);
    return get_slice(r, v, none, none, neg);
  }
  ValueList items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::make_list(std::move(items));
}

Value f_items(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "items");
  if (v.is_undefined()) return Value::make_list({});
  if (!v.is_mapping()) eval_fail("Can only get item pairs from a mapping.");
  return Value::make_list(dict_items(v));
}

Value f_dictsort(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"case_sensitive", "by", "reverse"}, "dictsort");
  if (!v.is_mapping()) eval_fail("dictsort: expected a mapping");
  bool cs = b.has(0) && truthy(b[0]);
  std::string by = b.has(1) ? want_str(b[1], "dictsort") : "key";
  if (by != "key" && by != "value") eval_fail("You can only sort by either 'key' or 'value'");
  size_t pos = by == "key" ? 0 : 1;
  ValueList items = dict_items(v);
  r.step(items.size() * 8);
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return py_lt(sort_key((*x.list)[pos], cs, ""), sort_key((*y.list)[pos], cs, ""));
  });
  if (b.has(2) && truthy(b[2])) std::reverse(items.begin(), items.end());
  return Value::make_list(std::move(items));
}

Value f_sort(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"reverse", "case_sensitive", "attribute"}, "sort");
  bool rev = b.has(0) && truthy(b[0]), cs = b.has(1) && truthy(b[1]);
  std::string attr = opt_attribute(b, 2);
  ValueList items = iterate(v);
  r.step(items.size() * 8);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t k = 0; k < items.size(); k++) keyed.emplace_back(sort_key(items[k], cs, attr), k);
  // Python's sort with reverse=True keeps equal items in their original order.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return rev ? py_lt(y.first, x.first) : py_lt(x.first, y.first);
  });
  ValueList out;
  for (auto& kv : keyed) out.push_back(items[kv.second]);
  return Value::make_list(std::move(out));
}

Value f_unique(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"case_sensitive", "attribute"}, "unique");
  bool cs = b.has(0) && truthy(b[0]);
  std::string attr = opt_attribute(b, 1);
  ValueList out, seen;
  for (const auto& x : iterate(v)) {
    Value k = sort_key(x, cs, attr);
    if (k.type == Value::Type::List || k.is_mapping() || k.is_undefined())
      eval_fail(str("unhashable type: '", type_name(k), "'"));
    r.step(seen.size() + 1);
    bool dup = false;
    for (const auto& s : seen)
      if (py_eq(s, k)) dup = true;
    if (!dup) {
      seen.push_back(k);
      out.push_back(x);
    }
  }
  return Value::make_list(std::move(out));
}

Value min_max(Renderer& r, const Value& v, Args& a, bool want_max) {
  Bound b = bind(a, {"case_sensitive", "attribute"}, want_max ? "max" : "min");
  bool cs = b.has(0) && truthy(b[0]);
  std::string attr = opt_attribute(b, 1);
  ValueList items = iterate(v);
  r.step(items.size());
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value bk = sort_key(items[0], cs, attr);
  for (size_t k = 1; k < items.size(); k++) {
    Value kk = sort_key(items[k], cs, attr);
    if (want_max ? py_lt(bk, kk) : py_lt(kk, bk)) {
      best = k;
      bk = kk;
    }
  }
  return items[best];
}
Value f_max(Renderer& r, const Value& v, Args& a) { return min_max(r, v, a, true); }
Value f_min(Renderer& r, const Value& v, Args& a) { return min_max(r, v, a, false); }

Value f_sum(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"attribute", "start"}, "sum");
  std::string attr = opt_attribute(b, 0);
  Value acc = b.has(1) ? b[1] : Value::integer(0);
  for (const auto& x : iterate(v)) {
    r.step();
    acc = binary_op(r, "+", acc, attr.empty() ? x : attr_path(x, attr));
  }
  return acc;
}

Value f_abs(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "abs");
  if (v.type == Value::Type::Float) return Value::real(std::fabs(v.f));
  if (v.is_int_like()) {
    if (v.as_int() == INT64_MIN) eval_fail("integer overflow");
    return Value::integer(std::llabs(v.as_int()));
  }
  eval_fail(str("bad operand type for abs(): '", type_name(v), "'"));
}

// Python int(str): optional sign, digits with single underscores, surrounding whitespace.
bool parse_py_int(const std::string& s0, int64_t base, int64_t& out) {
  std::string s = py_strip(s0, nullptr, true, true);
  size_t p = 0;
  bool neg = false;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) neg = s[p++] == '-';
  if (base == 16 && s.size() > p + 1 && s[p] == '0' && (s[p + 1] | 0x20) == 'x') p += 2;
  if (base == 0) eval_fail("int: base 0 is not supported");
  std::string digits;
  bool last_us = true;
  for (; p < s.size(); p++) {
    char c = s[p];
    if (c == '_') {
      if (last_us) return false;
      last_us = true;
      continue;
    }
    int d = (c >= '0' && c <= '9') ? c - '0' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) return false;
    digits += c;
    last_us = false;
  }
  if (digits.empty() || last_us) return false;
  errno = 0;
  unsigned long long v = std::strtoull(digits.c_str(), nullptr, int(base));
  if (errno == ERANGE || v > uint64_t(INT64_MAX)) eval_fail("int: value too large");
  out = neg ? -int64_t(v) : int64_t(v);
  return true;
}

// Python float(str) for the common forms (decimal, exponent, inf, nan, underscores between digits).
bool parse_py_float(const std::string& s0, double& out) {
  std::string s = py_strip(s0, nullptr, true, true), clean;
  for (size_t k = 0; k < s.size(); k++) {
    if (s[k] == '_') {
      if (k == 0 || k + 1 >= s.size() || !isdigit((unsigned char)s[k - 1]) || !isdigit((unsigned char)s[k + 1]))
        return false;
      continue;
    }
    clean += s[k];
  }
  if (clean.empty()) return false;
  std::string low = py_lower(clean);
  std::string body = (low[0] == '+' || low[0] == '-') ? low.substr(1) : low;
  if (body == "inf" || body == "infinity" || body == "nan") {
    double x = body == "nan" ? NAN : INFINITY;
    out = low[0] == '-' ? -x : x;
    return true;
  }
  for (char c : body)
    if (!(isdigit((unsigned char)c) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  out = std::strtod(clean.c_str(), &end);
  return end && *end == 0;
}

Value f_int(Renderer&, const Value& v, Args& a) {
  Bound b = bind(a, {"default", "base"}, "int");
  Value dflt = b.has(0) ? b[0] : Value::integer(0);
  int64_t base = b.has(1) ? want_int(b[1], "int base") : 10;
  if (base < 0 || base == 1 || base > 36) eval_fail("int() base must be >= 2 and <= 36, or 0");
  if (v.is_int_like()) return Value::integer(v.as_int());
  if (v.type == Value::Type::Float) {
    if (!std::isfinite(v.f)) eval_fail("cannot convert float infinity or NaN to integer");
    if (std::fabs(v.f) >= 9.2e18) eval_fail("int: value too large");
    return Value::integer(int64_t(v.f));
  }
  if (v.is_string()) {
    int64_t out;
    if (parse_py_int(v.str(), base, out)) return Value::integer(out);
    double d;
    if (parse_py_float(v.str(), d)) {
      if (!std::isfinite(d)) eval_fail("cannot convert float infinity or NaN to integer");
      if (std::fabs(d) >= 9.2e18) eval_fail("int: value too large");
      return Value::integer(int64_t(d));
    }
  }
  return dflt;
}

Value f_float(Renderer&, const Value& v, Args& a) {
  Bound b = bind(a, {"default"}, "float");
  Value dflt = b.has(0) ? b[0] : Value::real(0.0);
  if (v.is_number()) return Value::real(v.as_double());
  double d;
  if (v.is_string() && parse_py_float(v.str(), d)) return Value::real(d);
  return dflt;
}

Value f_round(Renderer&, const Value& v, Args& a) {
  Bound b = bind(a, {"precision", "method"}, "round");
  int64_t prec = b.has(0) ? want_int(b[0], "round precision") : 0;
  std::string method = b.has(1) ? want_str(b[1], "round method") : "common";
  if (!v.is_number()) eval_fail(str("round: expected a number, got ", type_name(v)));
  if (method != "common" && method != "ceil" && method != "floor")
    eval_fail("method must be 'common', 'ceil' or 'floor'");
  if (method == "common") {
    if (v.is_int_like() && prec >= 0) return Value::integer(v.as_int());  // round(int, n) stays an int
    double x = v.as_double();
    if (!std::isfinite(x) || prec > 300 || prec < -300) return Value::real(x);
    if (prec >= 0) {
      char buf[400];
      std::snprintf(buf, sizeof buf, "%.*f", int(prec), x);  // correctly rounded, half to even
      return Value::real(std::strtod(buf, nullptr));
    }
    double p = std::pow(10.0, double(-prec));
    return Value::real(std::nearbyint(x / p) * p);
  }
  double p = std::pow(10.0, double(prec));
  double x = v.as_double() * p;
  return Value::real((method == "ceil" ? std::ceil(x) : std::floor(x)) / p);
}

Value f_indent(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"width", "first", "blank"}, "indent");
  std::string ind = "    ";
  if (b.has(0)) ind = b[0].is_string() ? b[0].str() : std::string(size_t(std::clamp<int64_t>(want_int(b[0], "indent"), 0, 1000)), ' ');
  bool first = b.has(1) && truthy(b[1]), blank = b.has(2) && truthy(b[2]);
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_string()) eval_fail(str("indent: expected a string, got ", type_name(v)));
  std::string s = v.str() + "\n";
  auto lines = py_splitlines(s);
  std::string out;
  if (blank) {
    for (size_t k = 0; k < lines.size(); k++) out += (k ? "\n" + ind : "") + lines[k];
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t k = 1; k < lines.size(); k++) out += "\n" + (lines[k].empty() ? "" : ind + lines[k]);
  }
  if (first) out = ind + out;
  r.check_size(out.size());
  r.charge_bytes(out.size());
  return Value::string(std::move(out));
}

Value f_center(Renderer& r, const Value& v, Args& a) {
  Bound b = bind(a, {"width"}, "center");
  int64_t width = b.has(0) ? want_int(b[0], "center") : 80;
  std::string s = soft_str(r, v);
  int64_t len = int64_t(cp_length(s));
  if (width <= len) return Value::string(s);
  r.check_size(size_t(width));
  int64_t marg = width - len, left = marg / 2 + (marg & width & 1);
  return Value::string(std::string(size_t(left), ' ') + s + std::string(size_t(marg - left), ' '));
}

Value f_wordcount(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "wordcount");
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : to_cps(soft_str(r, v))) {
    bool w = py_isalnum_cp(c) || c == '_';
    if (w && !in_word) n++;
    in_word = w;
  }
  return Value::integer(n);
}

Value f_escape(Renderer& r, const Value& v, Args& a) {
  bind(a, {}, "escape");
  std::string out;
  for (char c : soft_str(r, v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  r.check_size(out.size());
  return Value::string(std::move(out));
}

Value f_safe(Renderer&, const Value& v, Args& a) {
  bind(a, {}, "safe");
  return v;
}

Value f_attr(Renderer&, const Value& v, Args& a) {
  Bound b = bind(a, {"name"}, "attr", 1);
  const std::string& name = want_str(b[0], "attr");
  if (v.is_mapping()) {  // a Python attribute, never a key
    auto it = dict_methods().find(name);
    if (it != dict_methods().end()) return bound_method(v, name, it->second);
    return Value::undefined(str("'dict object' has no attribute '", name, "'"));
  }
  return get_attr(v, name);
}

// map / select / reject / selectattr / rejectattr
Value f_map(Renderer& r, const Value& v, Args& a) {
  ValueList out;
  if (!truthy(v)) return Value::make_list({});  // Jinja: "if value:" before iterating
  ValueList items = iterate(v);
  r.step(items.size());
  bool by_attr = false;
  for (const auto& kv : a.kw)
    if (kv.first == "attribute") by_attr = true;
  if (by_attr) {
    Bound b = bind(a, {"attribute", "default"}, "map");
    std::string attr = opt_attribute(b, 0);
    for (const auto& x : items) {
      Value y = attr_path(x, attr);
      out.push_back(y.is_undefined() && b.has(1) ? b[1] : y);
    }
    return Value::make_list(std::move(out));
  }
  if (a.pos.empty()) eval_fail("map requires a filter name or attribute=");
  std::string name = want_str(a.pos[0], "map");
  Args rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const auto& x : items) {
    Args copy = rest;
    out.push_back(r.apply_filter_name(name, x, copy));
  }
  return Value::make_list(std::move(out));
}

Value select_impl(Renderer& r, const Value& v, Args& a, bool by_attr, bool want) {
  if (!truthy(v)) return Value::make_list({});  // Jinja: "if value:" before iterating
  ValueList items = iterate(v);
  r.step(items.size());
  size_t k = 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty()) eval_fail("selectattr/rejectattr need an attribute name");
    attr = want_str(a.pos[k++], "selectattr");
  }
  std::string test;
  if (k < a.pos.size()) test = want_str(a.pos[k++], "select");
  Args rest;
  rest.pos.assign(a.pos.begin() + std::min(k, a.pos.size()), a.pos.end());
  rest.kw = a.kw;
  ValueList out;
  for (const auto& x : items) {
    Value subject = by_attr ? attr_path(x, attr) : x;
    bool ok;
    if (test.empty()) {
      ok = truthy(subject);
    } else {
      Args copy = rest;
      ok = r.apply_test_name(test, subject, copy);
    }
    if (ok == want) out.push_back(x);
  }
  return Value::make_list(std::move(out));
}
Value f_select(Renderer& r, const Value& v, Args& a) { return select_impl(r, v, a, false, true); }
Value f_reject(Renderer& r, const Value& v, Args& a) { return select_impl(r, v, a, false, false); }
Value f_selectattr(Renderer& r, const Value& v, Args& a) { return select_impl(r, v, a, true, true); }
Value f_rejectattr(Renderer& r, const Value& v, Args& a) { return select_impl(r, v, a, true, false); }

const std::map<std::string, FilterFn>& filter_table() {
  static const std::map<std::string, FilterFn> t = {
      {"abs", f_abs},         {"attr", f_attr},         {"capitalize", f_capitalize}, {"center", f_center},
      {"count", f_length},    {"d", f_default},         {"default", f_default},       {"dictsort", f_dictsort},
      {"e", f_escape},        {"escape", f_escape},     {"first", f_first},           {"float", f_float},
      {"forceescape", f_escape}, {"indent", f_indent},  {"int", f_int},               {"items", f_items},
      {"join", f_join},       {"last", f_last},         {"length", f_length},         {"list", f_list},
      {"lower", f_lower},     {"map", f_map},           {"max", f_max},               {"min", f_min},
      {"reject", f_reject},   {"rejectattr", f_rejectattr}, {"replace", f_replace},   {"reverse", f_reverse},
      {"round", f_round},     {"safe", f_safe},         {"select", f_select},         {"selectattr", f_selectattr},
      {"sort", f_sort},       {"string", f_string},     {"sum", f_sum},               {"title", f_title},
      {"tojson", f_tojson},   {"trim", f_trim},         {"unique", f_unique},         {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Tests

bool arg0(Args& a, const char* name, Value& out) {
  Bound b = bind(a, {"other"}, name, 1);
  out = b[0];
  return true;
}

#define R1_TEST(fname, body)                                   \
  bool fname(Renderer& r, const Value& v, Args& a) {           \
    (void)r;                                                   \
    body                                                       \
  }
#define R1_NOARGS(name) bind(a, {}, name);

R1_TEST(t_defined, R1_NOARGS("defined") return !v.is_undefined();)
R1_TEST(t_undefined, R1_NOARGS("undefined") return v.is_undefined();)
R1_TEST(t_none, R1_NOARGS("none") return v.is_none();)
R1_TEST(t_boolean, R1_NOARGS("boolean") return v.type == Value::Type::Bool;)
R1_TEST(t_true, R1_NOARGS("true") return v.type == Value::Type::Bool && v.b;)
R1_TEST(t_false, R1_NOARGS("false") return v.type == Value::Type::Bool && !v.b;)
R1_TEST(t_integer, R1_NOARGS("integer") return v.type == Value::Type::Int;)
R1_TEST(t_float, R1_NOARGS("float") return v.type == Value::Type::Float;)
R1_TEST(t_number, R1_NOARGS("number") return v.is_number();)
R1_TEST(t_string, R1_NOARGS("string") return v.is_string();)
R1_TEST(t_mapping, R1_NOARGS("mapping") return v.is_mapping();)
R1_TEST(t_iterable, R1_NOARGS("iterable") return v.is_undefined() || v.is_string() || v.is_seq() || v.is_mapping();)
R1_TEST(t_sequence, R1_NOARGS("sequence") return v.is_string() || v.is_seq() || v.is_mapping();)
R1_TEST(t_callable, R1_NOARGS("callable") return v.type == Value::Type::Callable;)
R1_TEST(t_odd, R1_NOARGS("odd") if (!v.is_number()) eval_fail("odd: expected a number");
        return v.type == Value::Type::Float ? std::fmod(v.f, 2.0) != 0 : (v.as_int() % 2) != 0;)
R1_TEST(t_even, R1_NOARGS("even") if (!v.is_number()) eval_fail("even: expected a number");
        return v.type == Value::Type::Float ? std::fmod(v.f, 2.0) == 0 : (v.as_int() % 2) == 0;)
R1_TEST(t_divisibleby, Value o; arg0(a, "divisibleby", o);
        if (!v.is_number() || !o.is_number()) eval_fail("divisibleby: expected numbers");
        if (o.as_double() == 0) eval_fail("integer division or modulo by zero");
        return truthy(binary_op(r, "%", v, o)) == false;)
R1_TEST(t_lower, R1_NOARGS("lower") return str_case_test(py_str(v, r.max_str()), false);)
R1_TEST(t_upper, R1_NOARGS("upper") return str_case_test(py_str(v, r.max_str()), true);)
R1_TEST(t_eq, Value o; arg0(a, "eq", o); return py_eq(v, o);)
R1_TEST(t_ne, Value o; arg0(a, "ne", o); return !py_eq(v, o);)
R1_TEST(t_lt, Value o; arg0(a, "lt", o); return compare("<", v, o);)
R1_TEST(t_le, Value o; arg0(a, "le", o); return compare("<=", v, o);)
R1_TEST(t_gt, Value o; arg0(a, "gt", o); return compare(">", v, o);)
R1_TEST(t_ge, Value o; arg0(a, "ge", o); return compare(">=", v, o);)
R1_TEST(t_in, Value o; arg0(a, "in", o); return contains(o, v);)
R1_TEST(t_sameas, Value o; arg0(a, "sameas", o);
        if (v.type != o.type) return false;
        switch (v.type) {
          case Value::Type::Undefined:
          case Value::Type::None: return true;
          case Value::Type::Bool: return v.b == o.b;
          case Value::Type::Int: return v.i == o.i && v.i >= -5 && v.i <= 256;  // CPython's small-int cache
          case Value::Type::String: return v.sp == o.sp;
          case Value::Type::List:
          case Value::Type::Tuple: return v.list == o.list;
          case Value::Type::Dict:
          case Value::Type::Namespace: return v.dict == o.dict;
          case Value::Type::Callable: return v.fn == o.fn;
          default: return false;
        })
R1_TEST(t_filter, R1_NOARGS("filter") return v.is_string() && find_filter(v.str()) != nullptr;)
R1_TEST(t_test, R1_NOARGS("test") return v.is_string() && find_test(v.str()) != nullptr;)

const std::map<std::string, TestFn>& test_table() {
  static const std::map<std::string, TestFn> t = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},       {"boolean", t_boolean},
      {"true", t_true},         {"false", t_false},         {"integer", t_integer}, {"float", t_float},
      {"number", t_number},     {"string", t_string},       {"mapping", t_mapping}, {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable},   {"odd", t_odd},         {"even", t_even},
      {"divisibleby", t_divisibleby}, {"lower", t_lower},   {"upper", t_upper},     {"eq", t_eq},
      {"equalto", t_eq},        {"==", t_eq},               {"ne", t_ne},           {"!=", t_ne},
      {"lt", t_lt},             {"lessthan", t_lt},         {"<", t_lt},            {"le", t_le},
      {"<=", t_le},             {"gt", t_gt},               {"greaterthan", t_gt},  {">", t_gt},
      {"ge", t_ge},             {">=", t_ge},               {"in", t_in},           {"sameas", t_sameas},
      {"filter", t_filter},     {"test", t_test},
  };
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Globals

Value g_range(Renderer& r, Args& a) {
  if (!a.kw.empty()) eval_fail("range() takes no keyword arguments");
  if (a.pos.empty() || a.pos.size() > 3) eval_fail("range expected 1 to 3 arguments");
  int64_t start = 0, stop, step = 1;
  if (a.pos.size() == 1) {
    stop = want_int(a.pos[0], "range");
  } else {
    start = want_int(a.pos[0], "range");
    stop = want_int(a.pos[1], "range");
    if (a.pos.size() == 3) step = want_int(a.pos[2], "range");
  }
  if (step == 0) eval_fail("range() arg 3 must not be zero");
  double count = std::ceil((double(stop) - double(start)) / double(step));
  if (count > 100000) eval_fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  ValueList out;
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back(Value::integer(k));
  r.step(out.size());
  // A list that prints as Python's range object (tag 4, repr kept in sp).
  Value v = Value::make_list(std::move(out));
  v.i = 4;
  v.sp = std::make_shared<const std::string>(step == 1 ? str("range(", start, ", ", stop, ")")
                                                       : str("range(", start, ", ", stop, ", ", step, ")"));
  return v;
}

Value g_dict(Renderer& r, Args& a) {
  if (a.pos.size() > 1) eval_fail("dict expected at most 1 argument");
  auto d = std::make_shared<Dict>();
  if (a.pos.size() == 1) {
    if (a.pos[0].is_mapping()) d->items = a.pos[0].dict->items;
    else eval_fail("dict(): only a mapping positional argument is supported");
  }
  for (auto& kv : a.kw) d->set(Value::string(kv.first), kv.second);
  return r.checked(Value::make_dict(std::move(d)));
}

Value g_namespace(Renderer& r, Args& a) {
  if (a.pos.size() > 1) eval_fail("namespace expected at most 1 positional argument");
  Value ns = r.new_namespace();
  if (a.pos.size() == 1) {
    if (!a.pos[0].is_mapping()) eval_fail("namespace(): the positional argument must be a mapping");
    ns.dict->items = a.pos[0].dict->items;
  }
  for (auto& kv : a.kw) ns.dict->set(Value::string(kv.first), kv.second);
  for (auto& kv : ns.dict->items) ns.depth = std::max(ns.depth, kv.second.depth + 1);
  return r.checked(ns);
}

Value g_raise_exception(Renderer& r, Args& a) {
  std::string msg = a.pos.empty() ? "" : py_str(a.pos[0], r.max_str());
  eval_fail("raise_exception: " + msg);
}

Value g_strftime_now(Renderer&, Args& a) {
  Bound b = bind(a, {"format"}, "strftime_now", 1);
  const std::string& fmt = want_str(b[0], "strftime_now");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  size_t n = fmt.size() < 200 ? std::strftime(buf, sizeof buf, fmt.c_str(), &tm) : 0;
  return Value::string(std::string(buf, n));
}

const std::unordered_map<std::string, Value>& globals() {
  static const std::unordered_map<std::string, Value> g = {
      {"range", Value::make_callable("range", g_range)},
      {"dict", Value::make_callable("dict", g_dict)},
      {"namespace", Value::make_callable("namespace", g_namespace)},
      {"raise_exception", Value::make_callable("raise_exception", g_raise_exception)},
      {"strftime_now", Value::make_callable("strftime_now", g_strftime_now)},
  };
  return g;
}

}  // namespace

FilterFn find_filter(const std::string& name) {
  auto it = filter_table().find(name);
  return it == filter_table().end() ? nullptr : it->second;
}

TestFn find_test(const std::string& name) {
  auto it = test_table().find(name);
  return it == test_table().end() ? nullptr : it->second;
}

// ---------------------------------------------------------------------------------------------------------
// Renderer implementation

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
