// Math verifier: Math-Verify's own test table, hendrycks MATH is_equiv tests, MATH-500 self/perturbed/different
// answers, and hand-computed adversarial cases.
#include "rewards/math_verify.h"
#include "rewards/math/parse.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

using namespace r1;

namespace {

std::string r1_read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string shared(const std::string& rel) { return std::string(R1_SOURCE_DIR) + "/../shared/" + rel; }

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

#define SKIP_IF_MISSING(path) \
  if (!std::ifstream(path)) GTEST_SKIP() << "missing " << path << " (the ../shared data set)"

}  // namespace

// Rows (0-based line numbers of math_verify_cases.jsonl) where we deliberately disagree with Math-Verify.
static const std::map<int, const char*> kMathVerifyAllowList = {
    {2, "decimal comma: '1000,99' is read as the list 1000, 99 (MATH writes lists this way)"},
    {3, "decimal comma: '1,22' is read as the list 1, 22"},
    {4, "decimal comma in prose: '2,74' gives the last number 74"},
    {131, "Math-Verify quirk: 1 - 1/e and 1 + 1/e are different numbers"},
};

TEST(MathVerify, MathVerifyTable) {
  std::string path = shared("data/answer_equivalence/math_verify_cases.jsonl");
  SKIP_IF_MISSING(path);
  auto rows = read_jsonl(path);
  ASSERT_EQ(rows.size(), 134u);
  int agree = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    VerifyOptions o;
    o.pred_bare_fallback = true;  // Math-Verify's parse() reads answers out of plain text
    std::string a = r.value("assertion", "");
    if (a.find("match_types=['expr']") != std::string::npos) o.fallback_latex = false;
    if (a.find("match_types=['latex']") != std::string::npos) o.fallback_numbers = false;
    const auto& extra = r["extra"];
    if (extra.contains("precision")) o.precision = extra["precision"].get<int>();
    if (a.find("precision=5") != std::string::npos) o.precision = 5;
    if (extra.contains("strict")) o.strict = extra["strict"].get<bool>();
    if (extra.contains("allow_set_relation_comp")) o.allow_set_relation_comp = extra["allow_set_relation_comp"];
    bool expected = r["expected"].get<int>() == 1;
    VerifyResult v = verify(r["gold"], r["pred"], o);
    bool allowed = kMathVerifyAllowList.count((int)i) > 0;
    if (allowed) {
      EXPECT_NE(v.equal, expected) << "row " << i << " is allow-listed but now agrees: remove it from the list";
    } else {
      EXPECT_EQ(v.equal, expected) << "row " << i << " gold=[" << v.gold.normalized << "] (" << v.gold.how
                                   << ") pred=[" << v.pred.normalized << "] (" << v.pred.how << ") " << v.error;
    }
    agree += v.equal == expected;
  }
  // The issue asks for >= 95% agreement; every disagreement is in the allow-list above.
  EXPECT_GE(agree * 100, 95 * (int)rows.size());
  EXPECT_EQ(agree + (int)kMathVerifyAllowList.size(), (int)rows.size());
}

TEST(MathVerify, HendrycksTable) {
  std::string path = shared("data/answer_equivalence/hendrycks_math_cases.jsonl");
  SKIP_IF_MISSING(path);
  auto rows = read_jsonl(path);
  ASSERT_EQ(rows.size(), 16u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    VerifyOptions o;
    o.pred_bare_fallback = true;
    VerifyResult v = verify(r["gold"], r["pred"], o);
    EXPECT_EQ(v.equal, r["expected"].get<bool>())
        << r["test"] << ": gold=[" << v.gold.normalized << "] pred=[" << v.pred.normalized << "]";
  }
}

// Rows (0-based line numbers of math_verify_cases.jsonl) where lenient mode deliberately disagrees with
// Math-Verify (the README's table of deliberate disagreements).
static const std::map<int, const char*> kLenientDeliberate = {
    {2, "decimal comma in a bare answer: '1000,99' is read as the list 1000, 99 (MATH writes lists so: '-2,1')"},
    {3, "decimal comma in a bare answer: '1,22' is read as the list 1, 22"},
    {131, "Math-Verify quirk: 1 - 1/e and 1 + 1/e are different numbers"},
};

namespace {

// Lenient options for one row: Math-Verify's per-comparison options from "extra", match_types from the assertion.
VerifyOptions row_options(const nlohmann::json& r) {
  VerifyOptions o = lenient_options();
  std::string a = r.value("assertion", "");
  if (a.find("match_types=['expr']") != std::string::npos) o.fallback_latex = false;
  if (a.find("match_types=['latex']") != std::string::npos) o.fallback_numbers = false;
  const auto& extra = r["extra"];
  if (extra.contains("precision")) o.precision = extra["precision"].get<int>();
  if (a.find("precision=5") != std::string::npos) o.precision = 5;
  if (extra.contains("strict")) o.strict = extra["strict"].get<bool>();
  if (extra.contains("allow_set_relation_comp")) o.allow_set_relation_comp = extra["allow_set_relation_comp"];
  return o;
}

bool row_expected(const nlohmann::json& r) {
  return r["expected"].is_boolean() ? r["expected"].get<bool>() : r["expected"].get<int>() == 1;
}

}  // namespace

// Lenient mode agrees with Math-Verify on >= 97% of its table, and every disagreement is a deliberate one.
TEST(MathVerify, MathVerifyTableLenient) {
  std::string path = shared("data/answer_equivalence/math_verify_cases.jsonl");
  SKIP_IF_MISSING(path);
  auto rows = read_jsonl(path);
  ASSERT_EQ(rows.size(), 134u);
  int agree = 0;
  std::string disagreements;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    bool expected = row_expected(r);
    VerifyResult v = verify(r["gold"], r["pred"], row_options(r));
    if (v.equal == expected) {
      ++agree;
      EXPECT_EQ(kLenientDeliberate.count((int)i), 0u) << "row " << i << " agrees now: remove it from the list";
      continue;
    }
    std::ostringstream d;
    d << "  row " << i << " (" << r["test"].get<std::string>() << "): Math-Verify " << expected << ", r1 " << v.equal
      << "; gold=[" << v.gold.normalized << "] (" << v.gold.how << ") pred=[" << v.pred.normalized << "] ("
      << v.pred.how << ") " << v.error << "\n";
    disagreements += d.str();
    EXPECT_EQ(kLenientDeliberate.count((int)i), 1u) << "row " << i << " disagrees and is not a deliberate case";
  }
  std::cout << "lenient agreement with Math-Verify: " << agree << "/" << rows.size() << "\n" << disagreements;
  EXPECT_GE(agree * 100, 97 * (int)rows.size()) << disagreements;
}

// The hendrycks MATH is_equiv table: 16/16 in lenient mode.
TEST(MathVerify, HendrycksTableLenient) {
  std::string path = shared("data/answer_equivalence/hendrycks_math_cases.jsonl");
  SKIP_IF_MISSING(path);
  auto rows = read_jsonl(path);
  ASSERT_EQ(rows.size(), 16u);
  int agree = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    VerifyResult v = verify(r["gold"], r["pred"], lenient_options());
    agree += v.equal == row_expected(r);
    EXPECT_EQ(v.equal, row_expected(r))
        << r["test"] << ": gold=[" << v.gold.normalized << "] pred=[" << v.pred.normalized << "]";
  }
  std::cout << "lenient agreement with the hendrycks table: " << agree << "/" << rows.size() << "\n";
}

// Strict mode (the reward) and the plain bare-answer fallback (eval's majority vote) give the verdicts they gave
// before lenient mode existed, row by row, on both tables.
TEST(MathVerify, StrictVerdictsUnchanged) {
  std::string mv = shared("data/answer_equivalence/math_verify_cases.jsonl");
  std::string hd = shared("data/answer_equivalence/hendrycks_math_cases.jsonl");
  SKIP_IF_MISSING(mv);
  SKIP_IF_MISSING(hd);
  struct Pinned {
    std::string path, strict, fallback;
  };
  const Pinned tables[] = {
      {mv,
       "00000000000000000000000000000000111111111111110000000001000000000000111001001111111111010000101001001110"
       "100010111111111100111000000000",
       "11000111110111111111111111111111111111111111111111111101111110100010111101111111111111111000111111111111"
       "111111111111111111111000101011"},
      {hd, "0000000000000000", "0001101101111101"},
  };
  VerifyOptions fallback;
  fallback.pred_bare_fallback = true;
  for (const auto& t : tables) {
    std::string strict, bare;
    for (auto& r : read_jsonl(t.path)) {
      strict += verify(r["gold"], r["pred"]).equal ? '1' : '0';
      bare += verify(r["gold"], r["pred"], fallback).equal ? '1' : '0';
    }
    EXPECT_EQ(strict, t.strict) << t.path;
    EXPECT_EQ(bare, t.fallback) << t.path;
  }
}

namespace {
std::vector<std::string> math500_answers() {
  std::vector<std::string> out;
  for (auto& r : read_jsonl(shared("data/benchmarks/math500_test.jsonl"))) out.push_back(r["answer"]);
  return out;
}
std::string replace_all(std::string s, const std::string& a, const std::string& b) {
  for (size_t p = 0; (p = s.find(a, p)) != std::string::npos; p += b.size()) s.replace(p, a.size(), b);
  return s;
}
}  // namespace

TEST(MathVerify, Math500SelfAndPerturbed) {
  std::string path = shared("data/benchmarks/math500_test.jsonl");
  SKIP_IF_MISSING(path);
  auto answers = math500_answers();
  ASSERT_EQ(answers.size(), 500u);
  for (auto& a : answers) {
    std::string completion = "Let me think. So the answer is $\\boxed{" + a + "}$.";
    EXPECT_TRUE(verify(a, completion).equal) << a;
    EXPECT_EQ(math_accuracy_reward(completion, a), 1.0) << a;
    // safe perturbations
    std::string p1 = replace_all(replace_all(a, "\\dfrac", "\\frac"), "\\frac", "\\dfrac");
    std::string p2 = replace_all(replace_all(replace_all(a, "+", " + "), ",", ", "), "=", " = ");
    p2 = replace_all(p2, ", \\!", ",\\!");  // "10,\!080" keeps its thousands mark
    std::string p3 = "\\left(" + a + "\\right)";
    EXPECT_TRUE(verify(a, "\\boxed{" + p1 + "}").equal) << a << " vs " << p1;
    EXPECT_TRUE(verify(a, "\\boxed{" + p2 + "}").equal) << a << " vs " << p2;
    EXPECT_TRUE(verify(a, "<answer>" + a + " </answer>").equal) << a;
    EXPECT_EQ(canonical_answer(a), canonical_answer(p1)) << a;
    if (a.find(',') == std::string::npos || a.find("\\!") != std::string::npos) {  // "(58,500)" is a pair
      EXPECT_TRUE(verify(a, "\\boxed{" + p3 + "}").equal) << a << " vs " << p3;
    }
    // obviously different: the answer plus one
    std::string d = a + " + 1";
    EXPECT_FALSE(verify(a, "\\boxed{" + d + "}").equal) << a << " vs " << d;
  }
  // different integer answers never match
  int checked = 0;
  for (size_t i = 0; i + 1 < answers.size(); ++i) {
    const std::string &a = answers[i], &b = answers[i + 1];
    bool ints = !a.empty() && !b.empty() && a.find_first_not_of("0123456789") == std::string::npos &&
                b.find_first_not_of("0123456789") == std::string::npos;
    if (!ints || a == b) continue;
    EXPECT_FALSE(verify(a, "\\boxed{" + b + "}").equal) << a << " vs " << b;
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

TEST(MathVerify, ExtractionStrict) {
  // \boxed forms
  EXPECT_EQ(extract_answer("so \\boxed{\\frac{1}{2}} done").normalized, "\\frac{1}{2}");
  EXPECT_EQ(extract_answer("nested \\boxed{\\{1, \\{2\\}\\}}").raw, "\\{1, \\{2\\}\\}");
  EXPECT_EQ(extract_answer("answer: \\boxed 5.").normalized, "5");
  EXPECT_EQ(extract_answer("\\fbox{7}").how, "boxed");
  EXPECT_EQ(extract_answer("<answer>42</answer>").how, "answer_tag");
  EXPECT_EQ(extract_answer("blah\n#### 1,234\n").normalized, "1,234");
  EXPECT_EQ(extract_answer("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.").normalized,
            "\\frac{3}{4}");
  // strict: no marker, no answer
  EXPECT_FALSE(extract_answer("The answer is 42").found);
  EXPECT_EQ(math_accuracy_reward("The answer is 42", "42"), 0.0);
  // two boxes separated by a sentence: the last wins
  EXPECT_EQ(math_accuracy_reward("\\boxed{3}. Wait, that is wrong. The answer is \\boxed{5}.", "5"), 1.0);
  EXPECT_EQ(math_accuracy_reward("\\boxed{3}. Wait, that is wrong. The answer is \\boxed{5}.", "3"), 0.0);
  // empty box: no answer
  EXPECT_FALSE(extract_answer("\\boxed{}").found);
  EXPECT_EQ(math_accuracy_reward("\\boxed{}", "0"), 0.0);
  // unfinished answer
  Extracted u = extract_answer("so the answer is \\boxed{12");
  EXPECT_FALSE(u.found);
  EXPECT_EQ(u.how, "unclosed_boxed");
  EXPECT_EQ(math_accuracy_reward("\\boxed{7} hmm, actually \\boxed{12", "7"), 0.0);
  // R1 format: only the answer tag counts, an answer outside the tags does not
  EXPECT_EQ(math_accuracy_reward("<think>it is \\boxed{42}</think><answer>I am not sure</answer>", "42"), 0.0);
  EXPECT_EQ(math_accuracy_reward("<think>it is 41</think><answer>\\boxed{42}</answer>", "42"), 1.0);
  EXPECT_EQ(math_accuracy_reward("<think>still thinking \\boxed{42}", "42"), 0.0);  // unclosed think
  EXPECT_EQ(math_accuracy_reward("<answer>42", "42"), 0.0);                        // unclosed answer tag
  EXPECT_EQ(math_accuracy_reward("<think>x</think> The final answer is 42.", "42"), 1.0);
}

TEST(MathVerify, GoldErrors) {
  // An unparseable gold answer must never score 1 (open-r1 PR #566).
  for (const char* gold : {"", "   ", "\\boxed{", "\\boxed{}", "$$", "\\frac{1}{2"}) {
    VerifyResult v = verify(gold, "\\boxed{1}");
    EXPECT_FALSE(v.equal) << gold;
    EXPECT_FALSE(v.error.empty()) << gold;
    EXPECT_EQ(math_accuracy_reward("\\boxed{" + std::string(gold) + "}", gold), 0.0) << gold;
  }
}

TEST(MathVerify, Normalisation) {
  auto eq = [](const char* a, const char* b) { return verify(a, std::string("\\boxed{") + b + "}").equal; };
  EXPECT_TRUE(eq("\\frac{1}{2}", "\\dfrac12"));
  EXPECT_TRUE(eq("\\frac{1}{2}", "\\tfrac{1}{2}"));
  EXPECT_TRUE(eq("2\\sqrt{2}", "2\\sqrt2"));
  EXPECT_TRUE(eq("\\sqrt{8}", "2\\sqrt{2}"));
  EXPECT_TRUE(eq("(1,2)", "\\left( 1, 2 \\right)"));
  EXPECT_TRUE(eq("\\text{Evelyn}", "\\textbf{Evelyn}"));
  EXPECT_TRUE(eq("90^\\circ", "90"));
  EXPECT_TRUE(eq("90^{\\circ}", "90"));
  EXPECT_TRUE(eq("50\\%", "50"));
  EXPECT_TRUE(eq("50\\%", "0.5"));
  EXPECT_TRUE(eq("\\$18.90", "18.9"));
  EXPECT_TRUE(eq("1000000", "1,000,000"));
  EXPECT_TRUE(eq("10080", "10,\\!080"));
  EXPECT_TRUE(eq("15", "15 \\text{ cm}^2"));
  EXPECT_TRUE(eq("5", "5 \\text{ meters}"));
  EXPECT_TRUE(eq("5", "5."));
  EXPECT_TRUE(eq("x+1", "x \\! + \\, 1"));
  EXPECT_TRUE(eq("1\\frac{4}{5}", "9/5"));
  EXPECT_FALSE(eq("15", "150"));
  EXPECT_FALSE(eq("(2,100)", "2100"));  // a comma inside a tuple is not a thousands separator
}

TEST(MathVerify, Equivalence) {
  auto eq = [](const char* a, const char* b) { return verify(a, std::string("\\boxed{") + b + "}").equal; };
  // exact rationals
  EXPECT_TRUE(eq("1/2", "0.5"));
  EXPECT_TRUE(eq("0.5", "\\frac{1}{2}"));
  EXPECT_TRUE(eq("\\frac{2}{4}", "\\frac{1}{2}"));
  EXPECT_FALSE(eq("\\frac{1}{3}", "0.33"));
  EXPECT_TRUE(eq("\\frac{1}{3}", "0.3333333"));  // relative tolerance 1e-6
  EXPECT_FALSE(eq("\\frac{1}{3}", "0.3333"));
  EXPECT_TRUE(eq("7.78", "\\frac{70}{9}"));  // a gold decimal with 2 places: pred rounded to 2 places
  EXPECT_FALSE(eq("7.78", "7.7"));
  EXPECT_FALSE(eq("100000000000000000001", "100000000000000000000"));  // exact, no float rounding
  // symbolic
  EXPECT_TRUE(eq("(x+1)^2", "x^2+2x+1"));
  EXPECT_TRUE(eq("\\frac{x^2-1}{x-1}", "x+1"));
  EXPECT_TRUE(eq("\\sin^2 x + \\cos^2 x", "1"));
  EXPECT_FALSE(eq("x^2+2x+1", "x^2+2x+2"));
  EXPECT_TRUE(eq("6 - 5i", "-5i+6"));
  EXPECT_TRUE(eq("2\\pi", "\\pi + \\pi"));
  EXPECT_FALSE(eq("\\pi", "3.14"));
  // tuples, sets, intervals
  EXPECT_TRUE(eq("(1,2)", "(1, 2)"));
  EXPECT_FALSE(eq("(1,2)", "(2,1)"));
  EXPECT_TRUE(eq("\\{1,2,3\\}", "\\{3,2,1\\}"));
  EXPECT_FALSE(eq("\\{1,2,3\\}", "\\{1,2\\}"));
  EXPECT_TRUE(eq("[0,1)", "[0, 1)"));
  EXPECT_FALSE(eq("[0,1)", "[0,1]"));
  EXPECT_FALSE(eq("(0,1)", "[0,1)"));
  EXPECT_TRUE(eq("(-\\infty, 0] \\cup (1, \\infty)", "(1,\\infty) \\cup (-\\infty,0]"));
  EXPECT_TRUE(eq("x \\in [-2,7]", "[-2,7]"));
  EXPECT_TRUE(eq("x > 3", "(3, \\infty)"));
  EXPECT_TRUE(eq("x<-2 \\text{ or } x>3", "(-\\infty,-2)\\cup(3,\\infty)"));
  EXPECT_FALSE(eq("x<-2 \\text{ or } x>3", "(-\\infty,-2]\\cup(3,\\infty)"));
  EXPECT_TRUE(eq("-1", "e^{i\\pi}"));
  EXPECT_FALSE(eq("0", "0.1^{100000}"));  // underflow is not zero
  EXPECT_FALSE(eq("5", "\\frac{1}{0}"));
  EXPECT_TRUE(eq("3", "\\log_2 8"));
  EXPECT_TRUE(eq("120", "5!"));
  EXPECT_TRUE(eq("10", "\\binom{5}{2}"));
  EXPECT_FALSE(eq("3", "3, 4"));  // hedging with two answers
  EXPECT_FALSE(eq("5", "x"));
  EXPECT_TRUE(eq("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"));
  EXPECT_TRUE(eq("x=1, x=2", "2, 1"));  // a solution list is order-free
  EXPECT_FALSE(eq("3, 5, 7", "5, 3, 7"));  // a plain list is ordered (hendrycks)
  // equations
  EXPECT_TRUE(eq("x = 3", "3"));
  EXPECT_TRUE(eq("3", "x = 3"));
  EXPECT_TRUE(eq("y = 2x + 3", "2x+3"));
  EXPECT_TRUE(eq("2x + 4y = 6", "x + 2y - 3 = 0"));
  EXPECT_FALSE(eq("a + 3z = 0", "0"));
  // multiple choice
  EXPECT_TRUE(eq("\\text{(B)}", "B"));
  EXPECT_TRUE(eq("(B)", "\\text{(B)}"));
  EXPECT_FALSE(eq("(B)", "C"));
  // matrices
  EXPECT_TRUE(eq("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}"));
  EXPECT_FALSE(eq("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\end{pmatrix}"));
  // text
  EXPECT_TRUE(eq("\\text{east}", "East"));
  EXPECT_FALSE(eq("\\text{east}", "west"));
}

TEST(MathVerify, HugeExponentsReturnQuickly) {
  for (const char* p : {"2^{10^{10}}", "9^{9^{9}}", "9^9^9", "(x+1)^{100000}", "10^{10^{10}} - 1", "100000!",
                        "2^{2^{2^{2^{2^{2}}}}}", "\\binom{100000000}{50000000}",
                        "(a+b+c+d+e+f+g)^{60}", "3^{100}", "e^{100}", "(x+1)^{60}(y+1)^{60}(z+1)^{60}(w+1)^{60}"}) {
    auto t0 = std::chrono::steady_clock::now();
    VerifyResult v = verify("5", std::string("\\boxed{") + p + "}");
    VerifyResult w = verify(p, std::string("\\boxed{") + p + "+1}");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_FALSE(v.equal) << p;
    EXPECT_FALSE(w.equal) << p;
    EXPECT_LT(s, 1.0) << p;
  }
  EXPECT_TRUE(verify("2^{10^{10}}", "\\boxed{2^{10^{10}}}").equal);  // identical strings still match
}

TEST(MathVerify, CanonicalAnswer) {
  EXPECT_EQ(canonical_answer("\\frac{1}{2}"), canonical_answer("0.5"));
  EXPECT_EQ(canonical_answer("\\boxed{\\dfrac{2}{4}}"), canonical_answer("1/2"));
  EXPECT_EQ(canonical_answer("\\{1,2\\}"), canonical_answer("\\{2,1\\}"));
  EXPECT_EQ(canonical_answer("x = 3"), canonical_answer("3"));
  EXPECT_EQ(canonical_answer("(x+1)^2"), canonical_answer("x^2+2x+1"));
  EXPECT_EQ(canonical_answer("\\text{(B)}"), canonical_answer("B"));
  EXPECT_NE(canonical_answer("1/2"), canonical_answer("1/3"));
  EXPECT_NE(canonical_answer("(1,2)"), canonical_answer("(2,1)"));
}

// Malformed answers: parsing and verification return (never throw), a failed parse says why, and an answer still
// matches itself in a box unless the gold is rejected with a reason (unbalanced braces).
TEST(MathVerify, ParserNeverThrows) {
  for (const char* s : {"\\frac{", "((((", "\\begin{pmatrix} 1 & \\end{pmatrix}", "|x", "\\sqrt[", "x^", "}}}",
                        "\\left(", "1,,,2", "\\text{", "a \\in", "\\lfloor x", "\\{1,2"}) {
    latex::ParseResult r;
    EXPECT_NO_THROW(r = latex::parse_answer(latex::normalize_latex(s))) << s;
    EXPECT_EQ(r.ok, r.error.empty()) << s << ": " << r.error;
    VerifyResult boxed, bare;
    EXPECT_NO_THROW(boxed = verify(s, std::string("\\boxed{") + s + "}")) << s;
    EXPECT_TRUE(boxed.equal || !boxed.error.empty()) << s << ": " << boxed.error;
    EXPECT_NO_THROW(bare = verify(s, s)) << s;
    EXPECT_FALSE(bare.equal) << s;  // strict: a bare prediction holds no marked answer
  }
}

// `r1 verify` end to end (needs the r1 binary: R1_BIN is set by ctest).
TEST(MathVerify, CliVerify) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin || !std::ifstream(bin)) GTEST_SKIP() << "R1_BIN not set (run through ctest)";
  std::string dir = "/tmp/r1_test_verify_" + std::to_string(::getpid());
  std::string in = dir + ".jsonl", out = dir + ".out", err = dir + ".err";
  {
    std::ofstream f(in);
    f << R"({"gold": "\\frac{1}{2}", "pred": "so \\boxed{0.5}"})" << "\n";
    f << R"({"gold": "3", "pred": "The answer is 3"})" << "\n";
    f << "\n";
    f << R"({"gold": "", "pred": "\\boxed{1}"})" << "\n";
    f << R"({"gold": 42, "pred": "#### 42"})" << "\n";
  }
  ASSERT_EQ(std::system((std::string(bin) + " verify --input " + in + " > " + out + " 2> " + err).c_str()), 0);
  std::vector<nlohmann::json> lines = read_jsonl(out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["equal"], true);
  EXPECT_EQ(lines[0]["gold_extracted"], "\\frac{1}{2}");
  EXPECT_EQ(lines[0]["pred_extracted"], "0.5");
  EXPECT_EQ(lines[1]["equal"], false);  // strict: no marked answer
  EXPECT_TRUE(lines[1]["pred_extracted"].is_null());
  EXPECT_EQ(lines[2]["equal"], false);
  EXPECT_TRUE(lines[2].contains("error"));
  EXPECT_EQ(lines[3]["equal"], true);
  // --lenient reads the bare "3"; stdin works without --input
  ASSERT_EQ(std::system(("echo '{\"gold\": \"3\", \"pred\": \"The answer is 3\"}' | " + std::string(bin) +
                         " verify --lenient > " + out)
                            .c_str()),
            0);
  EXPECT_EQ(read_jsonl(out).at(0)["equal"], true);
  // a bad line: one clear error naming the line
  {
    std::ofstream f(in);
    f << R"({"gold": "1", "pred": "\\boxed{1}"})" << "\n" << R"({"gold": "1"})" << "\n";
  }
  EXPECT_NE(std::system((std::string(bin) + " verify --input " + in + " > " + out + " 2> " + err).c_str()), 0);
  std::string msg = r1_read(err);
  EXPECT_NE(msg.find(":2: missing field \"pred\""), std::string::npos) << msg;
  {
    std::ofstream f(in);
    f << "not json\n";
  }
  EXPECT_NE(std::system((std::string(bin) + " verify --input " + in + " > " + out + " 2> " + err).c_str()), 0);
  EXPECT_NE(r1_read(err).find(":1: not a JSON object"), std::string::npos) << r1_read(err);
  EXPECT_NE(std::system((std::string(bin) + " verify --input /nonexistent/x.jsonl > " + out + " 2> " + err).c_str()),
            0);
  EXPECT_NE(r1_read(err).find("cannot open input file /nonexistent/x.jsonl"), std::string::npos);
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
}
