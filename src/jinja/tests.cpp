// Jinja2 tests ({% if x is name(args) %}) and their table.
#include <cmath>

#include "jinja/internal.h"

namespace r1::jinja {

namespace {

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

}  // namespace

TestFn find_test(const std::string& name) {
  auto it = test_table().find(name);
  return it == test_table().end() ? nullptr : it->second;
}

}  // namespace r1::jinja
