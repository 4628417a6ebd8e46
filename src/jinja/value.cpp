// Python semantics for Jinja values: equality, ordering, str(), repr(), json.dumps and str helpers.
#include "core/utf8.h"
#include "jinja/value.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace r1::jinja {

void eval_fail(std::string message) { throw EvalError{std::move(message)}; }

static constexpr int kMaxTraversalDepth = 200;  // repr / json / == on nested (possibly cyclic) values

Value Value::make_list(ValueList items, bool tuple) {
  Value v;
  v.type = tuple ? Type::Tuple : Type::List;
  int d = 0;
  for (const auto& x : items) d = std::max(d, x.depth);
  v.depth = d + 1;
  v.list = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::make_dict(std::shared_ptr<Dict> d) {
  Value v;
  v.type = Type::Dict;
  int depth = 0;
  for (const auto& kv : d->items) depth = std::max({depth, kv.first.depth, kv.second.depth});
  v.depth = depth + 1;
  v.dict = std::move(d);
  return v;
}

Value Value::make_callable(std::string name, std::function<Value(Renderer&, Args&)> fn) {
  Value v;
  v.type = Type::Callable;
  v.fn = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

const Value* Dict::find(const Value& key) const {
  for (const auto& kv : items)
    if (py_eq(kv.first, key)) return &kv.second;
  return nullptr;
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& kv : items)
    if (kv.first.type == Value::Type::String && kv.first.str() == key) return &kv.second;
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  for (auto& kv : items)
    if (py_eq(kv.first, key)) {
      kv.second = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

const char* type_name(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return "Undefined";
    case Value::Type::None: return "NoneType";
    case Value::Type::Bool: return "bool";
    case Value::Type::Int: return "int";
    case Value::Type::Float: return "float";
    case Value::Type::String: return "str";
    case Value::Type::List: return "list";
    case Value::Type::Tuple: return "tuple";
    case Value::Type::Dict: return "dict";
    case Value::Type::Namespace: return "Namespace";
    case Value::Type::Callable: return "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined:
    case Value::Type::None: return false;
    case Value::Type::Bool: return v.b;
    case Value::Type::Int: return v.i != 0;
    case Value::Type::Float: return v.f != 0;
    case Value::Type::String: return !v.sp->empty();
    case Value::Type::List:
    case Value::Type::Tuple: return !v.list->empty();
    case Value::Type::Dict: return !v.dict->items.empty();
    case Value::Type::Namespace:
    case Value::Type::Callable: return true;
  }
  return false;
}

static void check_depth(int depth) {
  if (depth > kMaxTraversalDepth) eval_fail("value nested too deeply (or contains itself)");
}

bool py_eq(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  using T = Value::Type;
  if (a.is_number() && b.is_number()) {
    if (a.type == T::Float || b.type == T::Float) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case T::Undefined:
    case T::None: return true;
    case T::String: return a.str() == b.str();
    case T::List:
    case T::Tuple:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); k++)
        if (!py_eq((*a.list)[k], (*b.list)[k], depth + 1)) return false;
      return true;
    case T::Dict:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& kv : a.dict->items) {
        const Value* o = b.dict->find(kv.first);
        if (!o || !py_eq(kv.second, *o, depth + 1)) return false;
      }
      return true;
    case T::Namespace: return a.dict == b.dict;
    case T::Callable: return a.fn == b.fn;
    default: return false;
  }
}

bool py_lt(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  using T = Value::Type;
  if (a.is_number() && b.is_number()) {
    if (a.type == T::Float || b.type == T::Float) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.type == T::String && b.type == T::String) return a.str() < b.str();  // UTF-8 byte order = code point order
  if (a.type == b.type && a.is_seq()) {
    const auto &x = *a.list, &y = *b.list;
    for (size_t k = 0; k < x.size() && k < y.size(); k++) {
      if (py_eq(x[k], y[k], depth + 1)) continue;
      return py_lt(x[k], y[k], depth + 1);
    }
    return x.size() < y.size();
  }
  eval_fail(std::string("'<' not supported between instances of '") + type_name(a) + "' and '" + type_name(b) +
            "'");
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8 and code points

char32_t decode_cp(const std::string& s, size_t& pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  unsigned char c = p[pos];
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 1) {
    pos++;
    return c;
  }
  if (len == 0 || pos + len > n) {
    pos++;
    return 0xDC00 + c;  // like Python's surrogateescape: one unit per invalid byte
  }
  char32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; k++) {
    if ((p[pos + k] & 0xC0) != 0x80) {
      pos++;
      return 0xDC00 + c;
    }
    cp = (cp << 6) | (p[pos + k] & 0x3F);
  }
  pos += len;
  return cp;
}

void append_cp(std::string& out, char32_t cp) { utf8_append(out, (uint32_t)cp); }

std::vector<size_t> cp_offsets(const std::string& s) {
  std::vector<size_t> off;
  off.reserve(s.size() + 1);
  size_t pos = 0;
  while (pos < s.size()) {
    off.push_back(pos);
    decode_cp(s, pos);
  }
  off.push_back(s.size());
  return off;
}

std::vector<char32_t> to_cps(const std::string& s) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < s.size()) out.push_back(decode_cp(s, pos));
  return out;
}

size_t cp_length(const std::string& s) {
  size_t n = 0, pos = 0;
  while (pos < s.size()) {
    decode_cp(s, pos);
    n++;
  }
  return n;
}

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool valid_cp(char32_t c) { return c < 0x110000 && !(c >= 0xD800 && c <= 0xDFFF); }
static int category(char32_t c) { return valid_cp(c) ? utf8proc_category(utf8proc_int32_t(c)) : 0; }

bool py_isalpha_cp(char32_t c) {
  int k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}
bool py_isdigit_cp(char32_t c) { return category(c) == UTF8PROC_CATEGORY_ND; }
bool py_isalnum_cp(char32_t c) {
  int k = category(c);
  return py_isalpha_cp(c) || (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}
static char32_t to_upper(char32_t c) { return valid_cp(c) ? char32_t(utf8proc_toupper(utf8proc_int32_t(c))) : c; }
static char32_t to_lower(char32_t c) { return valid_cp(c) ? char32_t(utf8proc_tolower(utf8proc_int32_t(c))) : c; }
static char32_t to_title(char32_t c) { return valid_cp(c) ? char32_t(utf8proc_totitle(utf8proc_int32_t(c))) : c; }
static bool is_cased(char32_t c) { return to_upper(c) != c || to_lower(c) != c || category(c) == UTF8PROC_CATEGORY_LT; }
bool py_isupper_cp(char32_t c) { return is_cased(c) && to_lower(c) != c; }
bool py_islower_cp(char32_t c) { return is_cased(c) && to_upper(c) != c; }

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  std::vector<char32_t> set;
  bool whitespace = !chars || chars->is_none() || chars->is_undefined();
  if (!whitespace) {
    if (!chars->is_string()) eval_fail("strip arg must be None or str");
    set = to_cps(chars->str());
  }
  auto strip_it = [&](char32_t c) {
    return whitespace ? py_isspace(c) : std::find(set.begin(), set.end(), c) != set.end();
  };
  auto off = cp_offsets(s);
  size_t n = off.size() - 1, a = 0, b = n;
  if (left)
    while (a < b) {
      size_t p = off[a];
      if (!strip_it(decode_cp(s, p))) break;
      a++;
    }
  if (right)
    while (b > a) {
      size_t p = off[b - 1];
      if (!strip_it(decode_cp(s, p))) break;
      b--;
    }
  return s.substr(off[a], off[b] - off[a]);
}

std::string py_upper(const std::string& s) {
  std::string out;
  size_t p = 0;
  while (p < s.size()) append_cp(out, to_upper(decode_cp(s, p)));
  return out;
}

std::string py_lower(const std::string& s) {
  std::string out;
  size_t p = 0;
  while (p < s.size()) append_cp(out, to_lower(decode_cp(s, p)));
  return out;
}

std::string py_capitalize(const std::string& s) {
  std::string out;
  size_t p = 0;
  bool first = true;
  while (p < s.size()) {
    char32_t c = decode_cp(s, p);
    append_cp(out, first ? to_title(c) : to_lower(c));
    first = false;
  }
  return out;
}

std::string py_title(const std::string& s) {
  std::string out;
  size_t p = 0;
  bool prev_cased = false;
  while (p < s.size()) {
    char32_t c = decode_cp(s, p);
    append_cp(out, prev_cased ? to_lower(c) : to_title(c));
    prev_cased = is_cased(c);
  }
  return out;
}

std::vector<std::string> py_splitlines(const std::string& s) {
  std::vector<std::string> lines;
  size_t p = 0, start = 0;
  while (p < s.size()) {
    size_t here = p;
    char32_t c = decode_cp(s, p);
    bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
               c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    lines.push_back(s.substr(start, here - start));
    if (c == '\r' && p < s.size() && s[p] == '\n') p++;
    start = p;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// str() / repr()

std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci = [-]D[.DDD]e[+-]XX : shortest digits that round-trip, as Python's repr uses.
  bool neg = sci[0] == '-';
  size_t epos = sci.find('e');
  std::string mant = sci.substr(neg ? 1 : 0, epos - (neg ? 1 : 0));
  int exp10 = std::atoi(sci.c_str() + epos + 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  int decpt = exp10 + 1;  // position of the decimal point relative to the digits
  std::string out = neg ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(-decpt, '0') + digits;
    } else if (size_t(decpt) >= digits.size()) {
      out += digits + std::string(decpt - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, decpt) + "." + digits.substr(decpt);
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += e;
  }
  return out;
}

static bool py_printable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (!valid_cp(c)) return false;
  switch (utf8proc_category(utf8proc_int32_t(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}

static void repr_string(const std::string& s, std::string& out) {
  bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  out += q;
  size_t p = 0;
  while (p < s.size()) {
    size_t start = p;
    char32_t c = decode_cp(s, p);
    char buf[16];
    if (c == char32_t(q) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (py_printable(c)) {
      out.append(s, start, p - start);
    } else {
      if (c <= 0xFF) std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
      else if (c <= 0xFFFF) std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      else std::snprintf(buf, sizeof buf, "\\U%08x", unsigned(c));
      out += buf;
    }
  }
  out += q;
}

static void repr_into(const Value& v, std::string& out, size_t max_len, int depth, bool top_str);

static void check_len(const std::string& out, size_t max_len) {
  if (out.size() > max_len) eval_fail("rendered value exceeds the output size limit");
}

static void repr_into(const Value& v, std::string& out, size_t max_len, int depth, bool top_str) {
  check_depth(depth);
  using T = Value::Type;
  switch (v.type) {
    case T::Undefined: out += top_str ? "" : "Undefined"; break;
    case T::None: out += "None"; break;
    case T::Bool: out += v.b ? "True" : "False"; break;
    case T::Int: out += std::to_string(v.i); break;
    case T::Float: out += py_float_repr(v.f); break;
    case T::String:
      if (top_str) out += v.str();
      else repr_string(v.str(), out);
      break;
    case T::List:
    case T::Tuple: {
      bool tuple = v.type == T::Tuple;
      if (v.type == T::List && v.i == 4 && v.sp) {  // range object
        out += *v.sp;
        break;
      }
      static const char* views[] = {"", "dict_items(", "dict_keys(", "dict_values("};
      bool view = v.type == T::List && v.i >= 1 && v.i <= 3;
      if (view) out += views[v.i];
      out += tuple ? '(' : '[';
      for (size_t k = 0; k < v.list->size(); k++) {
        if (k) out += ", ";
        repr_into((*v.list)[k], out, max_len, depth + 1, false);
        check_len(out, max_len);
      }
      if (tuple && v.list->size() == 1) out += ',';
      out += tuple ? ')' : ']';
      if (view) out += ')';
      break;
    }
    case T::Dict:
    case T::Namespace: {
      if (v.type == T::Namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& kv : v.dict->items) {
        if (!first) out += ", ";
        first = false;
        repr_into(kv.first, out, max_len, depth + 1, false);
        out += ": ";
        repr_into(kv.second, out, max_len, depth + 1, false);
        check_len(out, max_len);
      }
      out += '}';
      if (v.type == T::Namespace) out += '>';
      break;
    }
    case T::Callable: out += "<function " + v.fn->name + ">"; break;
  }
  check_len(out, max_len);
}

std::string py_str(const Value& v, size_t max_len) {
  if (v.type == Value::Type::String) return v.str();
  std::string out;
  repr_into(v, out, max_len, 0, true);
  return out;
}

std::string py_repr(const Value& v, size_t max_len) {
  std::string out;
  repr_into(v, out, max_len, 0, false);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// json.dumps

static void json_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  size_t p = 0;
  char buf[16];
  while (p < s.size()) {
    size_t start = p;
    char32_t c = decode_cp(s, p);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else if (ensure_ascii && c >= 0x7F) {  // Python escapes all but printable ASCII
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", unsigned(0xD800 + (v >> 10)),
                          unsigned(0xDC00 + (v & 0x3FF)));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          }
          out += buf;
        } else {
          out.append(s, start, p - start);
        }
    }
  }
  out += '"';
}

static std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return py_float_repr(d);
}

static void json_into(const Value& v, const JsonOptions& opt, std::string& out, size_t max_len, int depth) {
  check_depth(depth);
  using T = Value::Type;
  auto newline = [&](int level) {
    out += '\n';
    for (int k = 0; k < level; k++) out += opt.indent;
  };
  switch (v.type) {
    case T::None: out += "null"; break;
    case T::Bool: out += v.b ? "true" : "false"; break;
    case T::Int: out += std::to_string(v.i); break;
    case T::Float: out += json_float(v.f); break;
    case T::String: json_string(v.str(), opt.ensure_ascii, out); break;
    case T::List:
    case T::Tuple: {
      if (v.list->empty()) {
        out += "[]";
        break;
      }
      out += '[';
      if (opt.pretty) newline(depth + 1);
      for (size_t k = 0; k < v.list->size(); k++) {
        if (k) {
          out += opt.item_sep;
          if (opt.pretty) newline(depth + 1);
        }
        json_into((*v.list)[k], opt, out, max_len, depth + 1);
        check_len(out, max_len);
      }
      if (opt.pretty) newline(depth);
      out += ']';
      break;
    }
    case T::Dict: {
      if (v.dict->items.empty()) {
        out += "{}";
        break;
      }
      std::vector<std::pair<std::string, const Value*>> items;
      for (const auto& kv : v.dict->items) {
        const Value& k = kv.first;
        std::string key;
        if (k.type == T::String) key = k.str();
        else if (k.type == T::Int) key = std::to_string(k.i);
        else if (k.type == T::Bool) key = k.b ? "true" : "false";
        else if (k.type == T::None) key = "null";
        else if (k.type == T::Float) key = json_float(k.f);
        else eval_fail(std::string("keys must be str, int, float, bool or None, not ") + type_name(k));
        items.emplace_back(std::move(key), &kv.second);
      }
      if (opt.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      if (opt.pretty) newline(depth + 1);
      bool first = true;
      for (const auto& kv : items) {
        if (!first) {
          out += opt.item_sep;
          if (opt.pretty) newline(depth + 1);
        }
        first = false;
        json_string(kv.first, opt.ensure_ascii, out);
        out += opt.key_sep;
        json_into(*kv.second, opt, out, max_len, depth + 1);
        check_len(out, max_len);
      }
      if (opt.pretty) newline(depth);
      out += '}';
      break;
    }
    default: eval_fail(std::string("Object of type ") + type_name(v) + " is not JSON serializable");
  }
  check_len(out, max_len);
}

std::string py_json_dumps(const Value& v, const JsonOptions& opt, size_t max_len) {
  std::string out;
  json_into(v, opt, out, max_len, 0);
  return out;
}

Value from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > 128) eval_fail("JSON input nested too deeply");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > uint64_t(INT64_MAX)) eval_fail("integer in the input JSON is too large");
      return Value::integer(int64_t(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::real(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      for (const auto& x : j) items.push_back(from_json(x, depth + 1));
      return Value::make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it)
        d->items.emplace_back(Value::string(it.key()), from_json(it.value(), depth + 1));
      return Value::make_dict(std::move(d));
    }
    default: eval_fail("unsupported JSON value (binary)");
  }
}

}  // namespace r1::jinja
