// Global functions: range, dict, namespace, and the raise_exception and strftime_now that transformers adds.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

}  // namespace

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

}  // namespace r1::jinja
