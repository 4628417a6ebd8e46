// Exact rational arithmetic in __int128 with overflow detection (see rational.h).
#include "rewards/math/rational.h"

#include <algorithm>
#include <utility>

namespace r1 {
namespace {

__int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool mul_ok(__int128 a, __int128 b, __int128& out) { return !__builtin_mul_overflow(a, b, &out); }

// a + b, or a - b when `subtract`.
bool add_signed(const Rational& a, const Rational& b, bool subtract, Rational& out) {
  __int128 x, y, n, d;
  if (!mul_ok(a.num, b.den, x) || !mul_ok(b.num, a.den, y) || !mul_ok(a.den, b.den, d)) return false;
  if (subtract ? __builtin_sub_overflow(x, y, &n) : __builtin_add_overflow(x, y, &n)) return false;
  out = {n, d};
  return rational_normalize(out);
}

}  // namespace

bool rational_normalize(Rational& r) {
  if (r.den == 0) return false;
  if (r.den < 0) r.num = -r.num, r.den = -r.den;
  __int128 g = gcd128(r.num, r.den);
  if (g > 1) r.num /= g, r.den /= g;
  return true;
}

bool rational_add(const Rational& a, const Rational& b, Rational& out) { return add_signed(a, b, false, out); }

bool rational_sub(const Rational& a, const Rational& b, Rational& out) { return add_signed(a, b, true, out); }

bool rational_mul(const Rational& a, const Rational& b, Rational& out) {
  __int128 n, d;
  if (!mul_ok(a.num, b.num, n) || !mul_ok(a.den, b.den, d)) return false;
  out = {n, d};
  return rational_normalize(out);
}

bool rational_div(const Rational& a, const Rational& b, Rational& out) {
  __int128 n, d;
  if (b.num == 0 || !mul_ok(a.num, b.den, n) || !mul_ok(a.den, b.num, d)) return false;
  out = {n, d};
  return rational_normalize(out);
}

bool rational_pow(const Rational& base, __int128 e, Rational& out) {
  __int128 k = e < 0 ? -e : e;
  if (k > 128) return false;
  Rational acc{1, 1};
  for (__int128 i = 0; i < k; ++i)
    if (!mul_ok(acc.num, base.num, acc.num) || !mul_ok(acc.den, base.den, acc.den)) return false;
  if (e < 0) {
    if (acc.num == 0) return false;
    std::swap(acc.num, acc.den);
  }
  out = acc;
  return rational_normalize(out);
}

bool rational_from_decimal(const std::string& s, Rational& out) {
  __int128 n = 0, d = 1;
  int digits = 0;
  bool dot = false;
  for (char c : s) {
    if (c == '.') {
      dot = true;
      continue;
    }
    if (++digits > 36) return false;
    n = n * 10 + (c - '0');
    if (dot) d *= 10;
  }
  out = {n, d};
  return rational_normalize(out);
}

long double rational_to_long_double(const Rational& r) { return (long double)r.num / (long double)r.den; }

std::string rational_to_string(const Rational& r) {
  auto digits = [](__int128 v) {
    bool neg = v < 0;
    if (neg) v = -v;
    std::string d;
    do {
      d += char('0' + (int)(v % 10));
      v /= 10;
    } while (v);
    if (neg) d += '-';
    std::reverse(d.begin(), d.end());
    return d;
  };
  return r.den == 1 ? digits(r.num) : digits(r.num) + "/" + digits(r.den);
}

}  // namespace r1
