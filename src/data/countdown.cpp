// Countdown: problem generation, splits and the exact verifier (see countdown.h).
#include "data/countdown.h"

#include "core/check.h"
#include "rewards/format.h"
#include "rewards/math/rational.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace r1 {

const char* countdown_verdict_name(CountdownVerdict v) {
  switch (v) {
    case CountdownVerdict::Correct: return "correct";
    case CountdownVerdict::NoAnswer: return "no_answer";
    case CountdownVerdict::BadSyntax: return "bad_syntax";
    case CountdownVerdict::WrongNumbers: return "wrong_numbers";
    case CountdownVerdict::DivisionByZero: return "division_by_zero";
    case CountdownVerdict::Overflow: return "overflow";
    default: return "wrong_value";
  }
}

CountdownConfig countdown_config_from_json(const nlohmann::json& j) {
  CountdownConfig c;
  if (j.is_null()) return c;
  R1_CHECK(j.is_object(), "countdown config: expected an object, got ", j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto integer = [&](int64_t lo) {
      R1_CHECK(v.is_number_integer() && v.get<int64_t>() >= lo, "countdown config: '", k, "' must be an integer >= ",
               lo, ", got ", v.dump());
      return v.get<int64_t>();
    };
    if (k == "min_numbers") c.min_numbers = (int)integer(2);
    else if (k == "max_numbers") c.max_numbers = (int)integer(2);
    else if (k == "max_number") c.max_number = integer(1);
    else if (k == "max_target") c.max_target = integer(1);
    else if (k == "test_percent") c.test_percent = (int)integer(0);
    else if (k == "train_size") c.train_size = (size_t)integer(0);
    else if (k == "test_size") c.test_size = (size_t)integer(0);
    else if (k == "use_all") {
      R1_CHECK(v.is_boolean(), "countdown config: 'use_all' must be true or false");
      c.use_all = v.get<bool>();
    } else {
      fail("countdown config: unknown key '", k, "' (expected min_numbers, max_numbers, max_number, max_target, ",
           "use_all, test_percent, train_size, test_size)");
    }
  }
  R1_CHECK(c.min_numbers <= c.max_numbers && c.max_numbers <= 6, "countdown config: need 2 <= min_numbers <= ",
           "max_numbers <= 6");
  R1_CHECK(c.max_number <= 1000000 && c.max_target <= 1000000000, "countdown config: max_number <= 1e6, max_target <= 1e9");
  R1_CHECK(c.test_percent <= 100, "countdown config: test_percent must be <= 100");
  return c;
}

CountdownProblem generate_countdown(Rng& rng, const CountdownConfig& cfg) {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    int n = cfg.min_numbers + (int)rng.below((uint64_t)(cfg.max_numbers - cfg.min_numbers + 1));
    std::vector<int64_t> numbers(n);
    for (auto& x : numbers) x = 1 + (int64_t)rng.below((uint64_t)cfg.max_number);
    // Pool of (value, expression); combine two random entries until one is left.
    std::vector<std::pair<int64_t, std::string>> pool;
    for (auto x : numbers) pool.push_back({x, std::to_string(x)});
    bool ok = true;
    while (pool.size() > 1 && ok) {
      size_t i = rng.below(pool.size());
      size_t j = rng.below(pool.size() - 1);
      if (j >= i) ++j;
      auto a = pool[i], b = pool[j];
      std::vector<char> ops;
      ops.push_back('+');
      if (a.first > b.first) ops.push_back('-');
      if (a.first * b.first <= cfg.max_target * 100) ops.push_back('*');
      if (b.first != 0 && a.first % b.first == 0 && b.first != 1) ops.push_back('/');
      char op = ops[rng.below(ops.size())];
      int64_t v = op == '+' ? a.first + b.first : op == '-' ? a.first - b.first : op == '*' ? a.first * b.first
                                                                                             : a.first / b.first;
      std::string e = "(" + a.second + " " + op + " " + b.second + ")";
      pool.erase(pool.begin() + (long)std::max(i, j));
      pool.erase(pool.begin() + (long)std::min(i, j));
      pool.push_back({v, e});
    }
    int64_t target = pool[0].first;
    if (target < 1 || target > cfg.max_target) continue;
    std::string sol = pool[0].second;
    if (sol.size() >= 2 && sol.front() == '(' && sol.back() == ')') sol = sol.substr(1, sol.size() - 2);
    return {numbers, target, sol};
  }
  fail("countdown: could not generate a problem with these settings (max_number ", cfg.max_number, ", max_target ",
       cfg.max_target, ")");
}

bool countdown_in_test_split(const CountdownProblem& p, int test_percent) {
  std::vector<int64_t> s = p.numbers;
  std::sort(s.begin(), s.end());
  uint64_t h = splitmix64(0xC0FFEEull ^ (uint64_t)p.target);
  for (auto x : s) h = splitmix64(h ^ (uint64_t)x);
  return (int)(h % 100) < test_percent;
}

namespace {

using i128 = __int128;
constexpr i128 kLimit = (i128)1 << 100;

struct Parser {
  const std::string& s;
  size_t i = 0;
  int depth = 0;
  bool evaluate = false;
  std::vector<int64_t> used;
  CountdownVerdict err = CountdownVerdict::Correct;

  explicit Parser(const std::string& str) : s(str) {}
  void ws() {
    while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
  }
  bool set_err(CountdownVerdict v) {
    if (err == CountdownVerdict::Correct) err = v;
    return false;
  }
  // Exact arithmetic (rewards/math/rational.h) under tighter limits than __int128's: every operand below 2^60 (so
  // no product can overflow) and every result below 2^100, else the verdict is Overflow.
  bool apply(Rational& a, char op, const Rational& b) {
    if (!evaluate) return true;  // first pass: syntax and the numbers used only
    auto small = [](i128 x) { return x < ((i128)1 << 60) && x > -((i128)1 << 60); };
    if (!(small(a.num) && small(a.den) && small(b.num) && small(b.den))) return set_err(CountdownVerdict::Overflow);
    if (op == '/' && b.num == 0) return set_err(CountdownVerdict::DivisionByZero);
    Rational r;
    bool ok = op == '+'   ? rational_add(a, b, r)
              : op == '-' ? rational_sub(a, b, r)
              : op == '*' ? rational_mul(a, b, r)
                          : rational_div(a, b, r);
    if (!ok) return set_err(CountdownVerdict::Overflow);  // not reached: operands below 2^60 cannot overflow
    a = r;
    if (a.num >= kLimit || a.num <= -kLimit || a.den >= kLimit) return set_err(CountdownVerdict::Overflow);
    return true;
  }
  bool factor(Rational& out) {
    ws();
    if (i >= s.size()) return set_err(CountdownVerdict::BadSyntax);
    if (s[i] == '(') {
      if (++depth > 64) return set_err(CountdownVerdict::BadSyntax);
      ++i;
      if (!expr(out)) return false;
      ws();
      if (i >= s.size() || s[i] != ')') return set_err(CountdownVerdict::BadSyntax);
      ++i;
      --depth;
      return true;
    }
    if (!std::isdigit((unsigned char)s[i])) return set_err(CountdownVerdict::BadSyntax);
    size_t b = i;
    while (i < s.size() && std::isdigit((unsigned char)s[i])) ++i;
    if (i - b > 12) return set_err(CountdownVerdict::WrongNumbers);  // no given number is this long
    int64_t v = std::stoll(s.substr(b, i - b));
    used.push_back(v);
    out = {v, 1};
    return true;
  }
  bool term(Rational& out) {
    if (!factor(out)) return false;
    while (true) {
      ws();
      if (i < s.size() && (s[i] == '*' || s[i] == '/')) {
        char op = s[i++];
        Rational r;
        if (!factor(r) || !apply(out, op, r)) return false;
      } else {
        return true;
      }
    }
  }
  bool expr(Rational& out) {
    if (!term(out)) return false;
    while (true) {
      ws();
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        char op = s[i++];
        Rational r;
        if (!term(r) || !apply(out, op, r)) return false;
      } else {
        return true;
      }
    }
  }
};

}  // namespace

CountdownVerdict check_countdown_expression(const std::string& expr_in, const std::vector<int64_t>& numbers,
                                           int64_t target, bool use_all) {
  if (expr_in.size() > 1000) return CountdownVerdict::BadSyntax;
  std::string expr = expr_in;
  // Optional "= N" suffix: N must be the target.
  size_t eq = expr.find('=');
  if (eq != std::string::npos) {
    std::string rhs = expr.substr(eq + 1);
    expr = expr.substr(0, eq);
    size_t b = rhs.find_first_not_of(" \t\r\n"), e = rhs.find_last_not_of(" \t\r\n");
    if (b == std::string::npos) return CountdownVerdict::BadSyntax;
    rhs = rhs.substr(b, e - b + 1);
    if (rhs.empty() || rhs.size() > 12 || !std::all_of(rhs.begin(), rhs.end(), [](char c) { return std::isdigit((unsigned char)c); }))
      return CountdownVerdict::BadSyntax;
    if (std::stoll(rhs) != target) return CountdownVerdict::WrongValue;
  }
  // Pass 1: syntax and the numbers used; pass 2 (only for a well-formed expression over the right numbers):
  // exact evaluation.
  Parser p(expr);
  Rational value;
  bool ok = p.expr(value);
  p.ws();
  if (!ok || p.i != expr.size()) return p.err == CountdownVerdict::WrongNumbers ? p.err : CountdownVerdict::BadSyntax;
  std::vector<int64_t> used = p.used, given = numbers;
  std::sort(used.begin(), used.end());
  std::sort(given.begin(), given.end());
  bool numbers_ok = use_all ? used == given : std::includes(given.begin(), given.end(), used.begin(), used.end());
  if (!numbers_ok) return CountdownVerdict::WrongNumbers;
  Parser q(expr);
  q.evaluate = true;
  if (!q.expr(value)) return q.err;
  if (value.den != 1 || value.num != target) return CountdownVerdict::WrongValue;
  return CountdownVerdict::Correct;
}

CountdownVerdict check_countdown_completion(const std::string& completion, const std::vector<int64_t>& numbers,
                                           int64_t target, bool use_all) {
  auto ans = extract_answer_block(completion);
  if (!ans) return CountdownVerdict::NoAnswer;
  return check_countdown_expression(*ans, numbers, target, use_all);
}

std::string countdown_question(const std::vector<int64_t>& numbers, int64_t target, bool use_all) {
  std::string list;
  for (size_t k = 0; k < numbers.size(); ++k) list += (k ? ", " : "") + std::to_string(numbers[k]);
  return "Using the numbers [" + list + "], write an arithmetic expression that equals " + std::to_string(target) +
         ". You may use +, -, *, / and parentheses, and must use " +
         (use_all ? "every number exactly once" : "each number at most once") +
         ". Put only the expression inside <answer> </answer>, for example <answer> (1 + 2) * 3 </answer>";
}

std::vector<Problem> CountdownTask::problems(const std::string& split, uint64_t seed) const {
  R1_CHECK(split == "train" || split == "test", "countdown: unknown split '", split, "' (expected train or test)");
  const bool test = split == "test";
  const size_t want = test ? cfg_.test_size : cfg_.train_size;
  R1_CHECK(want == 0 || (test ? cfg_.test_percent > 0 : cfg_.test_percent < 100), "countdown: split '", split,
           "' is empty with test_percent ", cfg_.test_percent);
  Rng rng(splitmix64(seed) ^ (test ? 0x7E57ull : 0x7A14ull));
  std::vector<Problem> out;
  std::set<std::pair<std::vector<int64_t>, int64_t>> seen;
  size_t draws = 0;
  while (out.size() < want) {
    R1_CHECK(++draws < want * 1000 + 100000, "countdown: cannot find ", want, " distinct ", split,
             " problems with these settings");
    CountdownProblem cp = generate_countdown(rng, cfg_);
    if (countdown_in_test_split(cp, cfg_.test_percent) != test) continue;
    std::vector<int64_t> key = cp.numbers;
    std::sort(key.begin(), key.end());
    if (!seen.insert({key, cp.target}).second) continue;
    Problem p;
    p.id = "countdown-" + split + "-" + std::to_string(seed) + "-" + std::to_string(out.size());
    p.prompt = countdown_question(cp.numbers, cp.target, cfg_.use_all);
    p.gold = std::to_string(cp.target);
    p.meta = {{"numbers", cp.numbers}, {"target", cp.target}, {"solution", cp.solution}};
    out.push_back(std::move(p));
  }
  return out;
}

std::function<double(const std::string&)> CountdownTask::verifier(const Problem& p) const {
  R1_CHECK(p.meta.is_object() && p.meta.contains("numbers") && p.meta["numbers"].is_array() &&
               p.meta.contains("target") && p.meta["target"].is_number_integer(),
           "countdown: problem '", p.id, "' needs meta.numbers (array) and meta.target (integer)");
  std::vector<int64_t> numbers;
  for (auto& x : p.meta["numbers"]) {
    R1_CHECK(x.is_number_integer(), "countdown: problem '", p.id, "' has a non-integer in meta.numbers");
    numbers.push_back(x.get<int64_t>());
  }
  int64_t target = p.meta["target"].get<int64_t>();
  bool use_all = cfg_.use_all;
  return [numbers, target, use_all](const std::string& completion) {
    return check_countdown_completion(completion, numbers, target, use_all) == CountdownVerdict::Correct ? 1.0 : 0.0;
  };
}

std::vector<RewardSpec> CountdownTask::default_rewards() const { return {{"tinyzero", 1.0, nlohmann::json::object()}}; }

}  // namespace r1
