// str / dict / list methods (the read-only ones; mutating methods are unsafe in the sandbox) and attribute
// access obj.name.
#include <algorithm>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

// dict.items()/keys()/values() behave as lists but print as dict_items([...]) etc. (Value::i tags them).
Value as_view(Value list, int kind) {
  list.i = kind;
  return list;
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

}  // namespace

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

ValueList dict_items(const Value& d) {
  ValueList out;
  for (const auto& kv : d.dict->items) out.push_back(Value::make_list({kv.first, kv.second}, true));
  return out;
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

}  // namespace r1::jinja
