// Operators with Python semantics: arithmetic (+ - * / // % **, "str % args"), comparisons and "in".
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

}  // namespace

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

}  // namespace r1::jinja
