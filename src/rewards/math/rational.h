// Exact rational numbers in __int128 with overflow detection: the math verifier's fast path for numbers
// (rewards/math/numbers.cpp; GiNaC takes what does not fit) and the countdown task's exact evaluation
// (data/countdown.cpp, which adds its own tighter limits).
#pragma once
#include <string>

namespace r1 {

// num/den. Canonical after rational_normalize: den > 0 and gcd(|num|, den) == 1.
struct Rational {
  __int128 num = 0, den = 1;
};

// Moves the sign into the numerator and reduces; false when den == 0.
bool rational_normalize(Rational& r);

// Checked arithmetic on normalised operands: the result is normalised; false on __int128 overflow (out is then
// unspecified) or, for rational_div, a zero divisor.
bool rational_add(const Rational& a, const Rational& b, Rational& out);
bool rational_sub(const Rational& a, const Rational& b, Rational& out);
bool rational_mul(const Rational& a, const Rational& b, Rational& out);
bool rational_div(const Rational& a, const Rational& b, Rational& out);
// base^e for an integer exponent with |e| <= 128; false beyond that, on overflow and for 0^(negative).
bool rational_pow(const Rational& base, __int128 e, Rational& out);

// A decimal literal: digits with an optional '.', at most 36 digits ("12", "0.5", ".25"); false beyond that.
bool rational_from_decimal(const std::string& s, Rational& out);

long double rational_to_long_double(const Rational& r);
// "n" or "n/d".
std::string rational_to_string(const Rational& r);

}  // namespace r1
