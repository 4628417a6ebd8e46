// Argument binding for filters, tests, methods and globals: Python's positional/keyword rules.
#include "jinja/internal.h"

namespace r1::jinja {

Bound bind(const Args& a, std::initializer_list<const char*> names, const std::string& what, size_t required) {
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

}  // namespace r1::jinja
