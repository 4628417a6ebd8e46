// Jinja2 filters ({{ x | name(args) }}) and their table.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

}  // namespace

FilterFn find_filter(const std::string& name) {
  auto it = filter_table().find(name);
  return it == filter_table().end() ? nullptr : it->second;
}

}  // namespace r1::jinja
