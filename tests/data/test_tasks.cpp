// Tasks: the Countdown generator and verifier (hand-computed cases), the benchmark JSONL loaders, and scoring.
#include "core/check.h"
#include "core/io.h"
#include "data/countdown.h"
#include "data/tasks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

using namespace r1;
using V = CountdownVerdict;

namespace {
std::string shared_dir() { return std::string(R1_SOURCE_DIR) + "/../shared/data/benchmarks"; }
bool have_shared() { return is_directory(shared_dir()); }
std::string tmp_path(const std::string& name) { return "/tmp/r1_tasks_" + std::to_string(getpid()) + "_" + name; }
}  // namespace

TEST(Countdown, ExpressionVerdicts) {
  const std::vector<int64_t> n = {2, 3, 5};
  EXPECT_EQ(check_countdown_expression("(3 + 5) * 2", n, 16), V::Correct);
  EXPECT_EQ(check_countdown_expression(" 2*(5+3) ", n, 16), V::Correct);
  EXPECT_EQ(check_countdown_expression("(3 + 5) * 2 = 16", n, 16), V::Correct);
  EXPECT_EQ(check_countdown_expression("(3 + 5) * 2 = 17", n, 16), V::WrongValue);
  EXPECT_EQ(check_countdown_expression("3 + 5 + 2", n, 16), V::WrongValue);
  EXPECT_EQ(check_countdown_expression("3 * 3 + 5 + 2", n, 16), V::WrongNumbers);   // reuses 3
  EXPECT_EQ(check_countdown_expression("(3 + 5) * 2 * 1", n, 16), V::WrongNumbers);  // 1 not given
  EXPECT_EQ(check_countdown_expression("3 + 5", n, 8), V::WrongNumbers);            // 2 unused (exactly once)
  EXPECT_EQ(check_countdown_expression("3 + 5", n, 8, /*use_all=*/false), V::Correct);  // at most once
  EXPECT_EQ(check_countdown_expression("3 + 3", n, 6, false), V::WrongNumbers);
  EXPECT_EQ(check_countdown_expression("3 / (5 - 5)", {3, 5, 5}, 1), V::DivisionByZero);
  EXPECT_EQ(check_countdown_expression("3 / (5 - 5) + 1", {3, 5, 5}, 1), V::WrongNumbers);  // 1 not given
  // Exact rationals: 6 / (1 - 3/4) = 24 needs a non-integer intermediate.
  EXPECT_EQ(check_countdown_expression("6 / (1 - 3 / 4)", {1, 3, 4, 6}, 24), V::Correct);
  // Floating point would call 1/3*3 equal to 1 only by luck; exact: (1/3)*3 = 1.
  EXPECT_EQ(check_countdown_expression("1 / 3 * 3", {1, 3, 3}, 1), V::Correct);
  EXPECT_EQ(check_countdown_expression("5 / 2 + 3", n, 5), V::WrongValue);  // 5.5
  // Syntax the verifier refuses.
  EXPECT_EQ(check_countdown_expression("-2 + 3 + 5", n, 6), V::BadSyntax);   // unary minus
  EXPECT_EQ(check_countdown_expression("2.0 * 3 + 5", n, 11), V::BadSyntax);  // decimals
  EXPECT_EQ(check_countdown_expression("2 ** 3 + 5", n, 13), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression("(2 + 3 * 5", n, 17), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression("2 + 3 * 5)", n, 17), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression("", n, 17), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression("import os", n, 17), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression("99999999999999999999 * 2", n, 17), V::WrongNumbers);
  EXPECT_EQ(check_countdown_expression(std::string(200, '(') + "2" + std::string(200, ')'), {2}, 2), V::BadSyntax);
  EXPECT_EQ(check_countdown_expression(std::string(30, '(') + "2" + std::string(30, ')'), {2}, 2), V::Correct);
}

TEST(Countdown, CompletionExtraction) {
  const std::vector<int64_t> n = {2, 3, 5};
  EXPECT_EQ(check_countdown_completion("<think>try</think> <answer> (3+5)*2 </answer>", n, 16), V::Correct);
  EXPECT_EQ(check_countdown_completion("The answer is (3+5)*2", n, 16), V::NoAnswer);  // outside the tags
  EXPECT_EQ(check_countdown_completion("<answer>3+5+2</answer><answer>(3+5)*2</answer>", n, 16), V::NoAnswer);
  EXPECT_EQ(check_countdown_completion("<answer>(3+5)*2", n, 16), V::NoAnswer);
}

TEST(Countdown, GeneratorIsSeededSolvableAndSplit) {
  CountdownConfig cfg;
  cfg.train_size = 300;
  cfg.test_size = 60;
  CountdownTask task(cfg);
  auto a = task.problems("train", 7), b = task.problems("train", 7), c = task.problems("train", 8);
  ASSERT_EQ(a.size(), 300u);
  EXPECT_EQ(a[5].prompt, b[5].prompt);
  EXPECT_NE(a[0].prompt + a[1].prompt, c[0].prompt + c[1].prompt);
  auto test = task.problems("test", 7);
  ASSERT_EQ(test.size(), 60u);
  std::set<std::string> train_keys;
  auto key = [](const Problem& p) {
    auto nums = p.meta["numbers"].get<std::vector<int64_t>>();
    std::sort(nums.begin(), nums.end());
    return nlohmann::json(nums).dump() + "=" + p.meta["target"].dump();
  };
  for (auto& p : a) train_keys.insert(key(p));
  for (auto& p : task.problems("test", 123)) EXPECT_EQ(train_keys.count(key(p)), 0u) << "test problem in train";
  for (auto& p : a) {
    auto nums = p.meta["numbers"].get<std::vector<int64_t>>();
    int64_t target = p.meta["target"].get<int64_t>();
    EXPECT_GE(nums.size(), 3u);
    EXPECT_LE(nums.size(), 4u);
    EXPECT_GE(target, 1);
    EXPECT_LE(target, 100);
    for (auto x : nums) EXPECT_TRUE(x >= 1 && x <= 99);
    EXPECT_EQ(check_countdown_expression(p.meta["solution"].get<std::string>(), nums, target), V::Correct)
        << p.meta.dump();
    EXPECT_EQ(p.gold, std::to_string(target));
  }
  EXPECT_THROW(task.problems("validation", 1), Error);
  EXPECT_THROW(countdown_config_from_json(nlohmann::json::parse(R"({"max_numbrs": 4})")), Error);
}

TEST(Countdown, TaskScoresTinyZeroScheme) {
  auto task = make_task("countdown", nlohmann::json::parse(R"({"train_size": 5, "test_size": 5})"));
  auto probs = task->problems("train", 1);
  const Problem& p = probs[0];
  std::string sol = p.meta["solution"].get<std::string>();
  EXPECT_EQ(task->score("<think>ok</think><answer>" + sol + "</answer>", p).total, 1.0);
  EXPECT_DOUBLE_EQ(task->score("<think>ok</think><answer>1 + 1</answer>", p).total, 0.1);
  EXPECT_EQ(task->score("I think " + sol, p).total, 0.0);
  EXPECT_EQ(task->accuracy("<answer>" + sol + "</answer>", p), 1.0);
  // Other reward mixes on the same task: accuracy + format.
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"accuracy": 1.0, "format": 0.5})"));
  auto b = task->score("<think>ok</think><answer>" + sol + "</answer>", p, specs);
  EXPECT_DOUBLE_EQ(b.total, 1.5);
  // The prompt already opened the think block.
  b = task->score("ok</think><answer>" + sol + "</answer>", p, specs, -1, "<think>");
  EXPECT_DOUBLE_EQ(b.total, 1.5);
}

TEST(Tasks, BenchmarkFilesLoad) {
  if (!have_shared()) GTEST_SKIP() << "../shared/data/benchmarks absent: benchmark loaders not tested";
  nlohmann::json cfg = {{"data_dir", shared_dir()}};
  struct Case {
    const char* name;
    size_t rows;
    const char* first_gold;
  } cases[] = {{"gsm8k", 1319, "18"}, {"math500", 500, "\\left( 3, \\frac{\\pi}{2} \\right)"},
               {"aime24", 30, "204"}, {"amc23", 40, "27"}};
  for (auto& c : cases) {
    auto t = make_task(c.name, cfg);
    auto ps = t->problems("test", 0);
    EXPECT_EQ(ps.size(), c.rows) << c.name;
    EXPECT_EQ(ps[0].gold, c.first_gold) << c.name;
    for (auto& p : ps) {
      EXPECT_FALSE(p.prompt.empty()) << c.name << " " << p.id;
      EXPECT_FALSE(p.gold.empty()) << c.name << " " << p.id;
    }
  }
  auto gsm = make_task("gsm8k", cfg)->problems("test", 0);
  EXPECT_EQ(gsm[0].prompt.rfind("Janet\xE2\x80\x99s ducks lay", 0), 0u);
  for (auto& p : gsm) EXPECT_EQ(p.gold.find(','), std::string::npos) << p.gold;  // "1,000" -> "1000"
  auto m500 = make_task("math500", cfg)->problems("test", 0);
  EXPECT_EQ(m500[0].id, "test/precalculus/807.json");
  EXPECT_EQ(m500[0].meta["subject"], "Precalculus");
  EXPECT_EQ(m500[0].meta["level"], 2);
  auto aime = make_task("aime24", cfg)->problems("test", 0);
  EXPECT_EQ(aime[0].id, "60");
  EXPECT_THROW(make_task("gsm8k", cfg)->problems("train", 0), Error);
}

TEST(Tasks, MathTaskScoresWithTheMathVerifier) {
  if (!have_shared()) GTEST_SKIP() << "../shared/data/benchmarks absent";
  auto t = make_task("gsm8k", {{"data_dir", shared_dir()}});
  auto ps = t->problems("test", 0);
  auto b = t->score("<think>16 - 3 - 4 = 9 eggs, 9 * 2 = 18</think> <answer>18</answer>", ps[0]);
  EXPECT_EQ(b.get("accuracy"), 1.0);
  EXPECT_EQ(b.get("format"), 1.0);
  EXPECT_DOUBLE_EQ(b.total, 1.1);
  b = t->score("<think>guess</think> <answer>17</answer>", ps[0]);
  EXPECT_EQ(b.get("accuracy"), 0.0);
  EXPECT_DOUBLE_EQ(b.total, 0.1);
}

TEST(Tasks, GenericJsonlAndErrors) {
  const std::string path = tmp_path("gen.jsonl");
  atomic_write(path, "{\"q\": \"1+1?\", \"a\": 2, \"k\": \"x1\", \"src\": \"s\"}\n\n{\"q\": \"half\", \"a\": 0.5}\n");
  nlohmann::json cfg = {{"path", path}, {"prompt_field", "q"}, {"answer_field", "a"}, {"meta_fields", {"src"}}};
  auto ps = make_task("jsonl", cfg)->problems("test", 0);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].gold, "2");
  EXPECT_EQ(ps[1].gold, "0.5");
  EXPECT_EQ(ps[0].meta["src"], "s");
  EXPECT_EQ(ps[1].meta["line"], 3);
  EXPECT_EQ(ps[1].id, "jsonl-3");

  auto expect_msg = [&](const std::string& content, const nlohmann::json& c, const std::string& needle) {
    atomic_write(path, content);
    try {
      make_task("jsonl", c)->problems("test", 0);
      ADD_FAILURE() << "no error, expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg("{\"q\": \"a\", \"a\": 1}\n{not json\n", cfg, path + ":2: not valid JSON");
  expect_msg("{\"q\": \"a\"}\n", cfg, path + ":1: missing field 'a'");
  expect_msg("{\"q\": 5, \"a\": 1}\n", cfg, "field 'q' must be a string");
  expect_msg("{\"q\": \"x\", \"a\": [1]}\n", cfg, "expected a string or number");
  expect_msg("", cfg, "has no rows");
  nlohmann::json gcfg = {{"path", path}, {"prompt_field", "q"}, {"answer_field", "a"}, {"answer_format", "gsm8k"}};
  expect_msg("{\"q\": \"x\", \"a\": \"no marker\"}\n", gcfg, "no '#### ' line");
  EXPECT_THROW(make_task("jsonl", nlohmann::json::object()), Error);                      // no path
  EXPECT_THROW(make_task("jsonl", {{"path", path}, {"promt_field", "q"}}), Error);        // unknown key
  EXPECT_THROW(make_task("jsonl", {{"path", "/nonexistent.jsonl"}})->problems("test", 0), Error);
  EXPECT_THROW(make_task("no_such_task"), Error);
  ::unlink(path.c_str());
  EXPECT_EQ(gsm8k_gold("so 1,234 total\n#### 1,234"), "1234");
}

TEST(Tasks, RegistryIsOpen) {
  struct Echo : Task {
    std::string name() const override { return "echo"; }
    std::vector<std::string> splits() const override { return {"train"}; }
    std::vector<Problem> problems(const std::string&, uint64_t) const override { return {{"e0", "say hi", "hi", {}}}; }
    std::function<double(const std::string&)> verifier(const Problem& p) const override {
      return [gold = p.gold](const std::string& c) { return c.find(gold) != std::string::npos ? 1.0 : 0.0; };
    }
  };
  register_task("echo", [](const nlohmann::json&) { return std::make_unique<Echo>(); });
  auto t = make_task("echo");
  auto p = t->problems("train", 0)[0];
  EXPECT_DOUBLE_EQ(t->score("<think>x</think><answer>hi</answer>", p).total, 1.1);
  auto names = task_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "echo"), names.end());
  EXPECT_NE(r1_zero_prompt("What is 2+2?").find("User: What is 2+2?. Assistant:"), std::string::npos);
}

// ---- the built-in pretraining corpus (data/corpus.h) ----
#include "data/corpus.h"

#include <regex>
#include <sstream>

namespace {
// "6 + 8 - 1" -> first operand 6, then the signed terms {+8, -1}.
std::vector<long> terms_of(const std::string& e) {
  std::istringstream in(e);
  std::vector<long> t;
  long x = 0;
  std::string op = "+";
  while (in >> x) {
    t.push_back(op == "+" ? x : -x);
    if (!(in >> op)) break;
  }
  return t;
}
// Checks every working chain "6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19." in s: each part folds the first two
// terms of the one before (correctly) and copies the rest. Returns the number of steps (-1 if one is wrong).
int check_steps(const std::string& s) {
  static const std::regex chain(R"(((?:-?\d+ [+-] )*-?\d+(?: = (?:-?\d+ [+-] )*-?\d+)+)\.)");
  int n = 0;
  for (std::sregex_iterator it(s.begin(), s.end(), chain), end; it != end; ++it) {
    std::string c = (*it)[1];
    std::vector<long> prev;
    size_t pos = 0;
    for (int part = 0;; part++) {
      size_t eq = c.find(" = ", pos);
      std::vector<long> t = terms_of(c.substr(pos, eq == std::string::npos ? std::string::npos : eq - pos));
      if (part > 0) {
        std::vector<long> want(prev.begin() + 1, prev.end());
        want[0] = prev[0] + prev[1];
        if (t != want) return -1;
        n++;
      }
      prev = t;
      if (eq == std::string::npos) break;
      pos = eq + 3;
    }
  }
  return n;
}
}  // namespace

TEST(Corpus, MixTagsAndLatentSkill) {
  CorpusConfig c;
  c.n_docs = 40000;
  c.p_reply_tags = 0.3;          // worked replies and direct replies are marked up at different rates
  c.p_direct_reply_tags = 0.1;
  auto docs = synthetic_arithmetic_docs(c);
  ASSERT_EQ((long)docs.size(), c.n_docs);
  EXPECT_EQ(docs, synthetic_arithmetic_docs(c));  // a pure function of the config
  // (an optional preamble of prose sentences, then) a question answered at once
  static const std::regex direct(R"(^(?:[A-Z][a-z ]*[a-z]\. )*(?:Q:|User:) What is ([-+ 0-9]+)\? (?:A:|Assistant:) (-?\d+)\.$)");
  long n_direct = 0, n_dialogue = 0, hard = 0, hard_wrong = 0, easy = 0, easy_wrong = 0, working = 0, replies = 0,
       tagged_replies = 0, full_format = 0, preambles = 0;
  for (const auto& d : docs) {
    EXPECT_EQ(d.find("A conversation between User and Assistant"), std::string::npos);  // never the template
    bool think = d.find("<think>") != std::string::npos, answer = d.find("<answer>") != std::string::npos;
    if (d.find("User: ") != std::string::npos) {
      replies++;
      tagged_replies += think || answer;
    }
    if (think && answer) full_format++;
    std::smatch m;
    if (std::regex_match(d, m, direct)) {
      (d.rfind("Q: ", 0) == 0 ? n_direct : n_dialogue)++;
      preambles += d.rfind("User: ", 0) != 0 && d.rfind("Q: ", 0) != 0;
      // evaluate the question
      std::string e = m[1];
      long v = 0, sign = 1;
      size_t i = 0;
      int operands = 0;
      while (i < e.size()) {
        if (e[i] == '+') sign = 1, i++;
        else if (e[i] == '-') sign = -1, i++;
        else if (std::isdigit((unsigned char)e[i])) {
          size_t j = i;
          while (j < e.size() && std::isdigit((unsigned char)e[j])) j++;
          v += sign * std::stol(e.substr(i, j - i));
          operands++;
          i = j;
        } else i++;
      }
      bool wrong = v != std::stol(m[2]);
      if (operands >= 3) hard++, hard_wrong += wrong;
      else easy++, easy_wrong += wrong;
    }
    if (d.find(" = ") != std::string::npos && d.find(". ") != std::string::npos) {
      int n = check_steps(d);
      EXPECT_GE(n, 0) << "wrong working step in: " << d;
      working += n > 0;
    }
  }
  // Proportions (40000 docs: a few standard errors of slack).
  EXPECT_NEAR(n_direct / 40000.0, c.p_direct, 0.01);
  EXPECT_NEAR(n_dialogue / 40000.0, c.p_dialogue * (1 - c.p_direct_reply_tags), 0.01);
  EXPECT_NEAR(double(preambles) / n_dialogue, c.p_preamble, 0.03);  // half the dialogues follow a paragraph
  EXPECT_EQ(easy_wrong, 0);                                          // two-operand direct answers are right
  EXPECT_NEAR(double(hard_wrong) / hard, c.p_wrong_hard, 0.02);     // hard direct answers are unreliable
  EXPECT_GT(working, 0.3 * 40000 * 0.9);                             // the latent skill is common, and correct
  // tags after "Assistant:" in a few replies: direct ones and worked ones at their own rates
  const double worked_replies = c.p_working * c.p_working_reply;
  EXPECT_NEAR(double(tagged_replies) / replies,
              (c.p_dialogue * c.p_direct_reply_tags + worked_replies * c.p_reply_tags) / (c.p_dialogue + worked_replies),
              0.02);
  // the full format: tagged worked replies and worked examples only
  EXPECT_NEAR(full_format / 40000.0, c.p_working * c.p_working_reply * c.p_reply_tags + c.p_tagged, 0.006);
}

TEST(Corpus, WorkedSolutionIsCorrect) {
  uint64_t st = 5;
  for (int i = 0; i < 200; i++) {
    ArithmeticProblem p = random_problem(st, 2 + i % 4, 99);
    std::string w = worked_solution(p, i);
    EXPECT_EQ(check_steps(w), (int)p.operands.size() - 1) << w;
    EXPECT_NE(w.find(std::to_string(p.answer()) + "."), std::string::npos) << w;
    EXPECT_EQ(check_steps(working_steps(p)), (int)p.operands.size() - 1);
  }
  ArithmeticProblem p{{23, 58, 7}, {'+', '-'}};
  EXPECT_EQ(working_steps(p), "23 + 58 - 7 = 81 - 7 = 74.");
  ArithmeticProblem q{{3, 9, 4}, {'-', '+'}};
  EXPECT_EQ(working_steps(q), "3 - 9 + 4 = -6 + 4 = -2.");
  EXPECT_EQ(check_steps("1 + 2 + 3 = 3 + 3 = 7."), -1);  // the checker can fail
  EXPECT_EQ(check_steps("1 + 2 + 3 = 4 + 2 = 6."), -1);  // right total, wrong step
}
