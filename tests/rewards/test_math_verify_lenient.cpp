// Lenient mode (Math-Verify parity, issue 17 item 6): one test per family the issue lists, each in both directions
// with the near misses that must stay unequal, and the same pairs in strict mode, which must not see them.
#include "rewards/math_verify.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace r1;

namespace {

// gold vs a bare prediction (Math-Verify's parse() reads plain text), lenient.
bool len(const std::string& gold, const std::string& pred, VerifyOptions o = lenient_options()) {
  return verify(gold, pred, o).equal;
}
// both directions
bool len2(const std::string& a, const std::string& b) { return len(a, b) && len(b, a); }
// strict mode with the prediction boxed: what the reward sees
bool strict_boxed(const std::string& gold, const std::string& pred) {
  return verify(gold, "\\boxed{" + pred + "}").equal;
}

}  // namespace

TEST(MathVerifyLenient, RelationsByRearranging) {
  EXPECT_TRUE(len2("$x < 1$", "$-x > -1$"));
  EXPECT_TRUE(len2("$x \\leq 1$", "$-x \\geq -1$"));
  EXPECT_TRUE(len2("$x < 1$", "$1 > x$"));
  EXPECT_TRUE(len2("$2x+4y-3=0$", "$y=-\\frac{1}{2}x+\\frac{3}{4}$"));
  EXPECT_TRUE(len2("$2x+4y-3=0$", "$y=-x/2+3/4$"));
  EXPECT_TRUE(len2("$2x - 4 \\le 0$", "$x \\le 2$"));                // positive factor 2
  EXPECT_TRUE(len2("$x + y \\ge 1$", "$-2x - 2y \\le -2$"));          // negative factor: the inequality flips
  EXPECT_TRUE(len2("$34x+45y-20z+100=0$", "$-34x-45y+20z-100=0$"));  // an equation takes either sign
  EXPECT_TRUE(len2("$x \\ne 3$", "$3 - x \\neq 0$"));
  EXPECT_TRUE(len2("$x < 0.5$", "$2x < 1$"));  // decimals and fractions
  // near misses
  EXPECT_FALSE(len("$x < 1$", "$x > 1$"));
  EXPECT_FALSE(len("$x < 1$", "$x > -1$"));
  EXPECT_FALSE(len("$x < 1$", "$x \\le 1$"));      // strictness differs
  EXPECT_FALSE(len("$x + y \\ge 1$", "$2x + 2y \\le 2$"));
  EXPECT_FALSE(len("$2x+4y-3=0$", "$2x+4y+3=0$"));
  EXPECT_FALSE(len("$2x+4y-3=0$", "$2x+4y-3 \\le 0$"));
  EXPECT_FALSE(len("$x = 1$", "$x \\ne 1$"));
  EXPECT_FALSE(len("$2 < 3$", "$4 < 6$"));  // no variable: nothing to rearrange
  EXPECT_FALSE(len("$7 = 11a+c$", "$11a+c$"));  // an equation is not its right-hand side
  EXPECT_TRUE(len("$1 = x = 0$", "$0$"));       // ... while a chain ending in a value still gives it
  // strict mode does not rearrange
  EXPECT_FALSE(strict_boxed("x < 1", "-x > -1"));
  EXPECT_FALSE(strict_boxed("2x+4y-3=0", "y=-x/2+3/4"));
}

TEST(MathVerifyLenient, LabelledAnswers) {
  EXPECT_TRUE(len2("$V_{1}:V_{2}=11:21$", "$11:21$"));
  EXPECT_TRUE(len2("$S_{MBCN}:S=7:32$", "$\\boxed{7:32}$"));
  EXPECT_TRUE(len2("$A:B=1$", "$1$"));
  EXPECT_TRUE(len2("$S = 10$", "$10$"));
  EXPECT_TRUE(len2("$S_{\\triangle ABC} = 6\\sqrt{3}$", "$6\\sqrt3$"));
  EXPECT_TRUE(len2("$\\text{Area} = 6$", "$6$"));
  EXPECT_TRUE(len2("$a=2, b=3$", "$b=3, a=2$"));  // labels in another order
  EXPECT_TRUE(len("$p=5,q=2;p=7,q=2$", "$(5,2),(7,2)$"));  // groups of assignments are tuples
  EXPECT_TRUE(len("$p=5,q=2;p=7,q=2$", "$(7,2),(5,2)$"));
  // near misses: another value, values swapped between labels
  EXPECT_FALSE(len("$V_{1}:V_{2}=11:21$", "$11:20$"));
  EXPECT_FALSE(len("$V_{1}:V_{2}=11:21$", "$V_{1}:V_{2}=21:11$"));
  EXPECT_FALSE(len("$S = 10$", "$S = 11$"));
  EXPECT_FALSE(len("$a=2, b=3$", "$a=3, b=2$"));
  EXPECT_FALSE(len("$p=5,q=2;p=7,q=2$", "$(2,5),(2,7)$"));
  EXPECT_FALSE(len("$\\text{Area} = 6$", "$7$"));
  // strict mode keeps the label
  EXPECT_FALSE(strict_boxed("V_{1}:V_{2}=11:21", "11:21"));
}

TEST(MathVerifyLenient, SeveralBoxesAreOneAnswer) {
  // boxes joined as Math-Verify joins them (close together, or a separator: and / or / , / ;) form one answer
  EXPECT_TRUE(len("$$(2, 2), (6, 2)$$", "$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$"));
  EXPECT_TRUE(len("$$k = 45, n = 2$$", "$$\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}$$"));
  EXPECT_TRUE(len("$\\boxed{1}\\boxed{2}$", "$\\boxed{1,2}$"));
  EXPECT_TRUE(len("$${1,2,3}$$", "\\boxed{1} and \\boxed{2} and \\boxed{3}"));
  // several boxes are an order-free set of answers
  EXPECT_TRUE(len("so the solutions are $n = \\boxed{1,-2}.$", "roots: \\[ \\boxed{-2} \\quad \\text{and} \\quad "
                                                                   "\\boxed{1}. \\]"));
  EXPECT_TRUE(len("\\(\\boxed{1}\\) and \\(\\boxed{-2}\\).", "$\\boxed{-2,1}$."));
  EXPECT_TRUE(len("$y_{1}=-2 x^{2}+4 x+3, y_{2}=3 x^{2}+12 x+10$",
                  "\\($y_1 = \\boxed{-2(x - 1)^2 + 5} \\) and \\( y_2 = \\boxed{3(x + 2)^2 - 2} \\) "));
  // near misses: a box far from the other, a wrong member, a missing member
  EXPECT_FALSE(len("\\boxed{1} no no no no no \\boxed{2}", "$\\boxed{1,2}$"));
  EXPECT_FALSE(len("$1, 2$", "\\boxed{1} and \\boxed{3}"));
  EXPECT_FALSE(len("$1, 2, 3$", "\\boxed{1} and \\boxed{2}"));
  EXPECT_FALSE(len("$3$", "\\boxed{1}. Wait, that is wrong, it was never 1, so the answer is \\boxed{3}"));
  // math environments are joined only by ",", "and", "or"
  EXPECT_TRUE(len("$1, 2, 3$", "The roots are $1$, $2$ and $3$"));
  EXPECT_TRUE(len("$(7,6)$", "So $y = 6$. So, the ordered pair $(x, y)$ that solves the system is $(7, 6)$."));
  // strict mode keeps its own joining rule (a short connector without '=' or punctuation)
  EXPECT_TRUE(verify("1, 2", "\\boxed{1} no no no no no \\boxed{2}").equal);
}

TEST(MathVerifyLenient, PrecisionOption) {
  VerifyOptions p2 = lenient_options();
  p2.precision = 2;
  EXPECT_TRUE(len("$(\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5} \\end{pmatrix})$",
                  "$\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}$", p2));
  EXPECT_TRUE(len("$(\\frac{3}{5},\\frac{8}{3}]$", "$(0.6,2.6667]$", p2));
  EXPECT_TRUE(len("$\\frac{1}{3}$", "$0.33$", p2));
  EXPECT_FALSE(len("$\\frac{1}{3}$", "$0.34$", p2));
  EXPECT_FALSE(len("$\\frac{1}{3}$", "$0.33$"));  // without the option: relative tolerance 1e-6
  VerifyOptions p6 = lenient_options();
  p6.precision = 6;
  EXPECT_TRUE(len("$\\frac{1}{12}$", "$0.0833333333333333$", p6));
  EXPECT_TRUE(len("$(1,\\frac{9}{2})$", "$(1,4.5)$", p6));
  EXPECT_FALSE(len("$4$", "$4\\sqrt{2}$", p6));
}

TEST(MathVerifyLenient, TrailingWordsAndUnits) {
  EXPECT_TRUE(len("$28\\%$", "$\\boxed{28 percentage}"));
  EXPECT_TRUE(len("$28\\%$", "$\\boxed{28 \\text{percentage}}$"));
  EXPECT_TRUE(len("$28\\%$", "28 percentage"));
  EXPECT_TRUE(len("$28\\%$", "28 pct"));
  EXPECT_TRUE(len("$28\\%$", "$28$ percent"));
  EXPECT_TRUE(len("$28$", "\\boxed{28 \\text{ bananas}}"));
  EXPECT_TRUE(len("$5$", "\\boxed{5\\text{ dollars per hour}}"));
  EXPECT_TRUE(len("$125$ miles", "The distance is $\\boxed{125\\textnormal{ miles}}.$"));
  EXPECT_TRUE(len("$28$", "The answer is 28 apples."));
  EXPECT_TRUE(len("$2.74$", "Soucis : 2,74 $ a.."));  // a decimal comma in prose
  EXPECT_TRUE(len("$2/3$", "the probability that Alice wins is 2/3. <|im_start|>user"));
  // near misses
  EXPECT_FALSE(len("$28\\%$", "$\\boxed{29 percentage}"));
  EXPECT_FALSE(len("$28$", "\\boxed{29 \\text{ bananas}}"));
  EXPECT_FALSE(len("$\\text{Evelyn}$", "\\boxed{\\text{Briana}}"));
  EXPECT_FALSE(len("$74$", "Soucis : 2,74 $ a.."));
  EXPECT_FALSE(len("$3$", "the probability that Alice wins is 2/3."));
  EXPECT_TRUE(len("$3$", "the points are 1,2,3"));  // a list in prose is not a decimal comma
  // strict mode keeps "28 percentage" a product of letters
  EXPECT_FALSE(strict_boxed("28\\%", "28 percentage"));
}

TEST(MathVerifyLenient, IntervalsMixDecimalsAndFractions) {
  EXPECT_TRUE(len2("$(0.5, 2]$", "$(\\frac{1}{2}, 2]$"));
  EXPECT_TRUE(len2("$[0.25, \\frac{3}{4})$", "$[\\frac14, 0.75)$"));
  EXPECT_TRUE(len2("$(-\\infty, 0.5) \\cup (\\frac{3}{2}, \\infty)$", "$(-\\infty, \\frac12) \\cup (1.5, \\infty)$"));
  EXPECT_TRUE(len2("$-0.5 < x \\le \\frac{7}{4}$", "$-\\frac12 < x \\le 1.75$"));
  // near misses: another bracket, another endpoint
  EXPECT_FALSE(len("$(0.5, 2]$", "$(\\frac{1}{2}, 2)$"));
  EXPECT_FALSE(len("$(0.5, 2]$", "$[\\frac{1}{2}, 2]$"));
  EXPECT_FALSE(len("$(0.5, 2]$", "$(0.6, 2]$"));
  EXPECT_FALSE(len("$(0.5, 2]$", "$(\\frac{1}{3}, 2]$"));
  // an inequality against an interval only with allow_set_relation_comp, as in Math-Verify
  EXPECT_FALSE(len("$(-\\infty, 0.5)$", "$x < \\frac{1}{2}$"));
  VerifyOptions rel = lenient_options();
  rel.allow_set_relation_comp = true;
  EXPECT_TRUE(len("$(-\\infty, 0.5)$", "$x < \\frac{1}{2}$", rel));
}

// Deliberate disagreements with Math-Verify (the README's table): each still holds.
TEST(MathVerifyLenient, DeliberateDisagreements) {
  EXPECT_FALSE(len("1,22", "1.22"));        // a bare "1,22" is the list 1, 22 (MATH's gold "-2,1" is a list)
  EXPECT_FALSE(len("-2,1", "-2.1"));
  EXPECT_FALSE(len("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"));  // different numbers
  EXPECT_FALSE(len("\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1", "W(x)=1orW(x)=-1"));  // unclosed gold box
  EXPECT_FALSE(len("$0.0000001$", "$0.0000004$"));  // tiny numbers: relative tolerance, not 6 places
}

// Lenient mode never throws and answers quickly on malformed or hostile input.
TEST(MathVerifyLenient, MalformedInputReturnsQuickly) {
  std::vector<std::string> bad = {"=", ":=:", "a:=1", "x<", "<1", "; ; ;", "p=;q=", "p=1,q=2;p=3", "\\boxed{",
                                  "\\boxed{}\\boxed{}", "$", "$$", "1,", ",1", "percentage", "\\text{percentage}",
                                  "a:b:c:d:e=1:2:3:4:5", "x^{2^{2^{2^{2}}}} < 1", "(x+1)^{100000} > 0"};
  std::string nest;
  for (int i = 0; i < 200; ++i) nest += "\\boxed{1} and ";
  bad.push_back(nest);
  bad.push_back(std::string(3000, ';'));
  bad.push_back(std::string(3000, '='));
  for (const auto& a : bad)
    for (const auto& b : bad) {
      auto t0 = std::chrono::steady_clock::now();
      VerifyResult r;
      EXPECT_NO_THROW(r = verify(a, b, lenient_options())) << a << " vs " << b;
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_LT(s, 1.5) << a << " vs " << b;
    }
}

// `r1 verify --lenient` on the shared table as filed (options read from each line's "extra"): >= 97%; with the
// assertion's match_types on each line too, one row more.
TEST(MathVerifyLenient, CliAgreementOnSharedTable) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin || !std::ifstream(bin)) GTEST_SKIP() << "R1_BIN not set (run through ctest)";
  std::string table = std::string(R1_SOURCE_DIR) + "/../shared/data/answer_equivalence/math_verify_cases.jsonl";
  if (!std::ifstream(table)) GTEST_SKIP() << "missing " << table << " (the ../shared data set)";
  std::vector<nlohmann::json> rows;
  {
    std::ifstream f(table);
    std::string line;
    while (std::getline(f, line))
      if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  std::string dir = "/tmp/r1_test_verify_lenient_" + std::to_string(::getpid());
  std::string typed = dir + ".in", out = dir + ".out";
  {
    std::ofstream f(typed);
    for (auto r : rows) {
      std::string a = r.value("assertion", "");
      if (a.find("match_types=['latex']") != std::string::npos) r["match_types"] = {"latex"};
      if (a.find("match_types=['expr']") != std::string::npos) r["match_types"] = {"expr"};
      f << r.dump() << "\n";
    }
  }
  auto agreement = [&](const std::string& input) {
    EXPECT_EQ(std::system((std::string(bin) + " verify --lenient --input " + input + " > " + out).c_str()), 0);
    std::ifstream f(out);
    std::string line;
    size_t i = 0;
    int agree = 0;
    while (std::getline(f, line) && i < rows.size()) {
      bool expected = rows[i]["expected"].get<int>() == 1;
      bool equal = nlohmann::json::parse(line)["equal"].get<bool>();
      if (equal == expected) ++agree;
      else std::cout << "  disagrees: row " << i << " " << rows[i]["gold"] << " vs " << rows[i]["pred"] << "\n";
      ++i;
    }
    EXPECT_EQ(i, rows.size());
    return agree;
  };
  int as_filed = agreement(table), typed_agree = agreement(typed);
  std::cout << "r1 verify --lenient: " << as_filed << "/" << rows.size() << " as filed, " << typed_agree << "/"
            << rows.size() << " with match_types\n";
  EXPECT_GE(as_filed * 100, 97 * (int)rows.size());
  EXPECT_GE(typed_agree, as_filed);
  // Math-Verify's options on a line, at its top level or in "extra"
  {
    std::ofstream f(typed);
    f << R"({"gold": "$\\frac{1}{3}$", "pred": "$0.33$"})" << "\n"
      << R"({"gold": "$\\frac{1}{3}$", "pred": "$0.33$", "extra": {"precision": 2}})" << "\n"
      << R"({"gold": "$\\frac{1}{3}$", "pred": "$0.33$", "precision": 2})" << "\n"
      << R"({"gold": "$f(x)$", "pred": "$f(y)$", "extra": {"strict": false}})" << "\n"
      << R"j({"gold": "$9$", "pred": "Answer \\( \n 9 \n \\)", "match_types": ["latex"]})j" << "\n";
  }
  ASSERT_EQ(std::system((std::string(bin) + " verify --lenient --input " + typed + " > " + out).c_str()), 0);
  {
    std::ifstream f(out);
    std::string verdicts, line;
    while (std::getline(f, line)) verdicts += nlohmann::json::parse(line)["equal"].get<bool>() ? '1' : '0';
    EXPECT_EQ(verdicts, "01110");
  }
  // a bad option names its line
  {
    std::ofstream f(typed);
    f << R"({"gold": "1", "pred": "1"})" << "\n" << R"({"gold": "1", "pred": "1", "extra": {"precision": "x"}})";
  }
  std::string err = dir + ".err";
  EXPECT_NE(std::system((std::string(bin) + " verify --input " + typed + " > " + out + " 2> " + err).c_str()), 0);
  std::stringstream msg;
  msg << std::ifstream(err).rdbuf();
  EXPECT_NE(msg.str().find(":2: \"precision\" must be an integer"), std::string::npos) << msg.str();
  std::remove(typed.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
}
