// Access to values: iteration, len(), item and slice access, attribute paths.
#include <algorithm>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

}  // namespace

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

}  // namespace r1::jinja
