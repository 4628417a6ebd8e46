// Evaluation metrics against hand-computed cases (pass@k, cons@k with ties and problems without answers) and an
// end-to-end evaluation of a tiny random model on the arithmetic task (library and CLI).
#include "core/check.h"
#include "core/io.h"
#include "eval/eval.h"
#include "eval/metrics.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

TEST(PassAtK, HandComputed) {
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 2), 0.5);          // 1 - C(3,2)/C(4,2) = 1 - 3/6
  EXPECT_NEAR(pass_at_k(5, 2, 3), 0.9, 1e-15);        // 1 - C(3,3)/C(5,3) = 1 - 1/10
  EXPECT_NEAR(pass_at_k(6, 2, 3), 0.8, 1e-15);        // 1 - C(4,3)/C(6,3) = 1 - 4/20
  EXPECT_NEAR(pass_at_k(10, 3, 1), 0.3, 1e-15);       // pass@1 = c/n
  EXPECT_NEAR(pass_at_k(8, 2, 4), 1.0 - 15.0 / 70.0, 1e-15);  // 1 - C(6,4)/C(8,4)
  EXPECT_EQ(pass_at_k(8, 0, 4), 0.0);
  EXPECT_EQ(pass_at_k(8, 8, 1), 1.0);
  EXPECT_EQ(pass_at_k(3, 2, 2), 1.0);                 // n - c < k: every pair holds a correct one
}

TEST(PassAtK, StableForLargeN) {
  // 1 - C(1000,500)/C(2000,500): binomials overflow doubles, the product form does not. Reference by lgamma.
  double lc = [](double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); }(1000, 500) -
              [](double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); }(2000, 500);
  double p = pass_at_k(2000, 1000, 500);
  EXPECT_TRUE(std::isfinite(p));
  EXPECT_NEAR(p, 1.0 - std::exp(lc), 1e-12);
  EXPECT_NEAR(pass_at_k(2000, 1, 1), 1.0 / 2000, 1e-15);
}

TEST(PassAtK, BadArguments) {
  EXPECT_THROW(pass_at_k(4, 5, 1), Error);
  EXPECT_THROW(pass_at_k(4, 1, 5), Error);
  EXPECT_THROW(pass_at_k(4, 1, 0), Error);
  EXPECT_THROW(pass_at_k(0, 0, 1), Error);
}

static VoteSample vs(const std::string& a, bool correct = false) {
  VoteSample v;
  v.has_answer = !a.empty();
  v.answer = a;
  v.correct = correct;
  return v;
}

TEST(MajorityVote, PluralityWins) {
  auto r = majority_vote({vs("7"), vs("5", true), vs("5", true), vs(""), vs("7"), vs("5", true)});
  EXPECT_EQ(r.answer, "5");
  EXPECT_EQ(r.votes, 3);
  EXPECT_EQ(r.voters, 5);
  EXPECT_EQ(r.groups, 2);
  EXPECT_EQ(r.winner, 1);
  EXPECT_TRUE(r.correct);
  EXPECT_EQ(r.group_of, (std::vector<int>{0, 1, 1, -1, 0, 1}));
}

TEST(MajorityVote, TieGoesToTheAnswerVotedFirst) {
  auto r = majority_vote({vs("A", true), vs("B"), vs("A", true), vs(""), vs("B")});
  EXPECT_EQ(r.answer, "A");
  EXPECT_TRUE(r.correct);
  auto r2 = majority_vote({vs(""), vs("B"), vs("A", true), vs("A", true), vs("B")});
  EXPECT_EQ(r2.answer, "B");  // B's first vote (sample 1) precedes A's (sample 2)
  EXPECT_EQ(r2.votes, 2);
  EXPECT_FALSE(r2.correct);
  // Unanswered samples never break a tie, however many there are.
  auto r3 = majority_vote({vs(""), vs(""), vs(""), vs("9"), vs("4", true)});
  EXPECT_EQ(r3.answer, "9");
  EXPECT_FALSE(r3.correct);
}

TEST(MajorityVote, NoValidAnswerScoresZero) {
  auto r = majority_vote({vs(""), vs(""), vs("")});
  EXPECT_EQ(r.winner, -1);
  EXPECT_EQ(r.votes, 0);
  EXPECT_EQ(r.voters, 0);
  EXPECT_FALSE(r.correct);
  EXPECT_EQ(majority_vote({}).winner, -1);
}

TEST(MajorityVote, CanonicalKeysAndEquivalenceMergeVotes) {
  // Without an equivalence, distinct strings are distinct answers: "3" wins with 2 votes.
  std::vector<VoteSample> s = {vs("0.5", true), vs("1/2", true), vs("3"), vs("3"), vs("\\frac{1}{2}", true)};
  auto plain = majority_vote(s);
  EXPECT_EQ(plain.answer, "3");
  // The math verifier merges 0.5, 1/2 and \frac{1}{2}: 3 votes beat 2.
  auto merged = majority_vote(s, math_answers_equivalent);
  EXPECT_EQ(merged.answer, "0.5");
  EXPECT_EQ(merged.votes, 3);
  EXPECT_EQ(merged.groups, 2);
  EXPECT_TRUE(merged.correct);
  // Equal canonical keys vote together without consulting the equivalence.
  std::vector<VoteSample> k = {vs("x"), vs("y", true), vs("z", true)};
  k[1].key = "K";
  k[2].key = "K";
  auto byk = majority_vote(k, [](const std::string&, const std::string&) { return false; });
  EXPECT_EQ(byk.answer, "y");
  EXPECT_EQ(byk.votes, 2);
  // A custom equivalence (case-insensitive) with a tie between merged groups: the earlier group wins.
  auto ci = [](const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
      if (std::tolower(a[i]) != std::tolower(b[i])) return false;
    return true;
  };
  auto r = majority_vote({vs("b"), vs("a", true), vs("B"), vs("A", true)}, ci);
  EXPECT_EQ(r.answer, "b");
  EXPECT_EQ(r.votes, 2);
  EXPECT_FALSE(r.correct);
}

TEST(Summary, ReadabilityMeansWhenARewardModelScoredTheSamples) {
  auto smp = [](double rm, double rep) {
    return json{{"correct", true}, {"length", 1}, {"format", 1.0}, {"rm_score", rm}, {"repetition", rep}};
  };
  json probs = json::array();
  probs.push_back({{"n_correct", 2}, {"samples", {smp(1.0, 0.5), smp(3.0, 0.0)}}});
  probs.push_back({{"n_correct", 2}, {"samples", {smp(-2.0, 0.25), smp(2.0, 0.25)}}});
  json s = summarize_eval(probs, 2, {1}, false);
  EXPECT_DOUBLE_EQ(s["rm_score_mean"].get<double>(), 1.0);  // (1 + 3 - 2 + 2) / 4
  EXPECT_DOUBLE_EQ(s["repetition_mean"].get<double>(), 0.25);
  probs[0]["samples"][0].erase("rm_score");  // without a reward model: no readability fields
  for (auto& p : probs)
    for (auto& x : p["samples"]) x.erase("rm_score");
  EXPECT_FALSE(summarize_eval(probs, 2, {1}, false).contains("rm_score_mean"));
}

TEST(Summary, HandComputed) {
  // Two problems, k = 4: 1/4 and 3/4 correct; votes wrong / right; greedy right / wrong.
  auto smp = [](bool c, int len, double fmt) { return json{{"correct", c}, {"length", len}, {"format", fmt}}; };
  json probs = json::array();
  probs.push_back({{"n_correct", 1}, {"vote", {{"correct", false}}}, {"greedy", {{"correct", true}, {"length", 5}, {"format", 1.0}}},
                   {"samples", {smp(true, 10, 1), smp(false, 20, 0), smp(false, 30, 0), smp(false, 40, 1)}}});
  probs.push_back({{"n_correct", 3}, {"vote", {{"correct", true}}}, {"greedy", {{"correct", false}, {"length", 5}, {"format", 0.0}}},
                   {"samples", {smp(true, 1, 1), smp(true, 2, 1), smp(true, 3, 1), smp(false, 4, 1)}}});
  json s = summarize_eval(probs, 4, {1, 2, 4}, true);
  EXPECT_DOUBLE_EQ(s["pass@1"].get<double>(), 0.5);
  // pass@2: problem 1: 1 - C(3,2)/C(4,2) = 0.5; problem 2: 1 (n-c = 1 < 2) -> 0.75
  EXPECT_DOUBLE_EQ(s["pass@2"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(s["pass@4"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["cons@4"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["greedy_accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["mean_length"].get<double>(), 110.0 / 8);
  EXPECT_DOUBLE_EQ(s["format_rate"].get<double>(), 6.0 / 8);
  EXPECT_NE(eval_markdown(json{{"task", "t"}, {"summary", s}}).find("| cons@4 | 50.0% |"), std::string::npos);
}

TEST(Summary, CodeTaskStatuses) {
  // Two problems, k = 4, no votes (a code task): statuses counted over the 8 samples; greedy ones do not count.
  auto smp = [](const char* st) {
    return json{{"correct", std::string(st) == "passed"}, {"length", 10}, {"format", 0.0}, {"status", st}};
  };
  json probs = json::array();
  probs.push_back({{"n_correct", 2}, {"greedy", smp("timeout")},
                   {"samples", {smp("passed"), smp("wrong_answer"), smp("passed"), smp("no_code")}}});
  probs.push_back({{"n_correct", 0}, {"greedy", smp("passed")},
                   {"samples", {smp("syntax_error"), smp("wrong_answer"), smp("wrong_answer"), smp("bad_tests")}}});
  json s = summarize_eval(probs, 4, {1, 4}, true);
  EXPECT_DOUBLE_EQ(s["pass@1"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(s["pass@4"].get<double>(), 0.5);
  EXPECT_FALSE(s.contains("cons@4"));  // nothing voted
  EXPECT_DOUBLE_EQ(s["greedy_accuracy"].get<double>(), 0.5);
  const json& f = s["failure_kinds"];
  EXPECT_DOUBLE_EQ(f["passed"].get<double>(), 2.0 / 8);
  EXPECT_DOUBLE_EQ(f["wrong_answer"].get<double>(), 3.0 / 8);
  EXPECT_DOUBLE_EQ(f["syntax_error"].get<double>(), 1.0 / 8);
  EXPECT_DOUBLE_EQ(f["no_code"].get<double>(), 1.0 / 8);
  EXPECT_DOUBLE_EQ(f["bad_tests"].get<double>(), 1.0 / 8);
  EXPECT_DOUBLE_EQ(f["timeout"].get<double>(), 0.0);       // always listed
  EXPECT_DOUBLE_EQ(f["runtime_error"].get<double>(), 0.0);
  EXPECT_FALSE(f.contains("compile_error"));                // listed only when it occurs
  std::string md = eval_markdown(json{{"task", "t"}, {"summary", s}});
  EXPECT_NE(md.find("| wrong_answer | 37.5% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bad_tests | 12.5% |"), std::string::npos) << md;
  EXPECT_EQ(md.find("cons@"), std::string::npos) << md;
  // Greedy only: the greedy statuses.
  json g = summarize_eval(probs, 0, {1}, true);
  EXPECT_DOUBLE_EQ(g["failure_kinds"]["timeout"].get<double>(), 0.5);
  // A task without statuses has no failure kinds.
  probs[0]["samples"][0].erase("status");
  for (auto& p : probs)
    for (auto& x : p["samples"]) x.erase("status");
  EXPECT_FALSE(summarize_eval(probs, 4, {1}, false).contains("failure_kinds"));
}

static std::string tiny_model(int max_pos = 512) {
  std::string d = "/tmp/r1_eval_test_" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, max_pos);
  c.eos_id = tok.eos_id();
  Model m(c);
  m.init_random(3, 0.05f);
  m.save(d);
  tok.save(d);
  return d;
}

TEST(EvalEndToEnd, TinyRandomModelOnArithmetic) {
  std::string dir = tiny_model();
  EvalConfig c;
  c.model = dir;
  c.task = {"arithmetic"};
  c.k = 4;
  c.pass_k = {1, 2, 4, 8};
  c.limit = 3;
  c.sampling.max_new_tokens = 12;
  c.seed = 5;
  json r = run_eval(c);
  ASSERT_EQ(r["problems"].size(), 3u);
  double p1 = 0;
  for (const auto& p : r["problems"]) {
    ASSERT_EQ(p["samples"].size(), 4u);
    int nc = 0;
    for (const auto& s : p["samples"]) {
      nc += s["correct"].get<bool>();
      EXPECT_LE(s["length"].get<int>(), 12);
      EXPECT_TRUE(s.contains("answer") && s.contains("text") && s.contains("group"));
    }
    EXPECT_EQ(p["n_correct"].get<int>(), nc);
    EXPECT_TRUE(p["vote"].contains("correct"));
    EXPECT_TRUE(p["greedy"].contains("correct"));
    p1 += nc / 4.0;
  }
  const json& s = r["summary"];
  EXPECT_DOUBLE_EQ(s["pass@1"].get<double>(), p1 / 3);
  EXPECT_TRUE(s.contains("pass@4") && s.contains("cons@4") && s.contains("greedy_accuracy") &&
              s.contains("mean_length") && s.contains("format_rate"));
  EXPECT_FALSE(s.contains("pass@8"));  // more than k: skipped
  // Same seed, same results (samples are seeded per problem and sample).
  json again = run_eval(c);
  EXPECT_EQ(again["problems"], r["problems"]);

  // Greedy only (k = 0): accuracy, length and format come from the greedy pass; no sampled metrics.
  EvalConfig g = c;
  g.k = 0;
  json gr = run_eval(g);
  EXPECT_TRUE(gr["summary"].contains("greedy_accuracy") && gr["summary"].contains("mean_length"));
  EXPECT_FALSE(gr["summary"].contains("pass@1") || gr["summary"].contains("cons@0"));
  for (int i = 0; i < 3; i++) EXPECT_EQ(gr["problems"][i]["greedy"], r["problems"][i]["greedy"]);

  // Bad input: one clear error each.
  EvalConfig bad = c;
  bad.prompt_template = "fancy";
  EXPECT_THROW(run_eval(bad), Error);
  bad = c;
  bad.task = {"/nonexistent/problems.jsonl"};
  EXPECT_THROW(run_eval(bad), Error);
  bad = c;
  bad.task = {"no_such_task"};
  EXPECT_THROW(run_eval(bad), Error);
  bad = c;
  bad.k = -1;
  EXPECT_THROW(run_eval(bad), Error);
  std::filesystem::remove_all(dir);
}

TEST(EvalEndToEnd, TinyRandomModelOnTinyCode) {
  if (!file_exists("/usr/bin/bwrap")) GTEST_SKIP() << "bubblewrap is not installed (scripts/install-deps.sh)";
  std::string dir = tiny_model();
  EvalConfig c;
  c.model = dir;
  c.task = {"tiny_code"};
  c.task_config = {{"n", 50}};
  c.prompt_template = "plain";
  c.k = 3;
  c.pass_k = {1, 3};
  c.limit = 4;
  c.sampling.max_new_tokens = 16;
  json r = run_eval(c);
  ASSERT_EQ(r["problems"].size(), 4u);
  for (const auto& p : r["problems"]) {
    EXPECT_FALSE(p.contains("vote"));
    for (const auto& s : p["samples"]) {
      EXPECT_EQ(s["status"], "no_code");  // random bytes hold no ```python block
      EXPECT_FALSE(s["correct"].get<bool>());
      EXPECT_EQ(s["tests_passed"], 0);
      EXPECT_FALSE(s.contains("answer"));
    }
    EXPECT_EQ(p["greedy"]["status"], "no_code");
  }
  const json& s = r["summary"];
  EXPECT_DOUBLE_EQ(s["pass@1"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(s["failure_kinds"]["no_code"].get<double>(), 1.0);
  EXPECT_FALSE(s.contains("cons@3"));
  std::filesystem::remove_all(dir);
}

TEST(EvalEndToEnd, CliWithJsonlTask) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin) GTEST_SKIP() << "R1_BIN not set (run through ctest to test the CLI)";
  std::string dir = tiny_model();
  std::string jl = dir + "/probs.jsonl", out = dir + "/res.json";
  atomic_write(jl, "{\"prompt\": \"What is 2+3?\", \"answer\": \"5\"}\n{\"prompt\": \"What is 1+1?\", \"answer\": \"2\"}\n");
  std::string cmd = std::string(bin) + " eval --model " + dir + " --task " + jl +
                    " -k 3 --pass-k 1,2 --max-new-tokens 8 --output " + out + " > " + dir + "/table.md";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  json r = json::parse(read_file(out));
  EXPECT_EQ(r["problems"].size(), 2u);
  EXPECT_TRUE(r["summary"].contains("cons@3"));
  EXPECT_NE(read_file(dir + "/table.md").find("| pass@2 |"), std::string::npos);
  std::string badcmd = std::string(bin) + " eval --model " + dir + " --task " + jl + " --pass-k 0 2>/dev/null";
  EXPECT_NE(std::system(badcmd.c_str()), 0);
  std::filesystem::remove_all(dir);
}

// `r1 eval --task humaneval`: R1's protocol with the sandbox, the table with its status rows (a random model writes
// no code, or code that does not parse or run).
TEST(EvalEndToEnd, CliOnHumanEval) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin) GTEST_SKIP() << "R1_BIN not set (run through ctest to test the CLI)";
  const std::string he = "../shared/data/benchmarks/humaneval_test.jsonl";
  if (!file_exists(he)) GTEST_SKIP() << he << " absent (read-only shared data)";
  std::string dir = tiny_model(4096);  // HumanEval prompts run to 1.4k bytes
  const std::string out = dir + "/he.json", table = dir + "/table.md";
  std::string cmd = std::string(bin) + " eval --model " + dir + " --task humaneval --template plain -k 2 " +
                    "--pass-k 1,2 --limit 3 --max-new-tokens 8 --output " + out + " > " + table + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  json r = json::parse(read_file(out));
  ASSERT_EQ(r["problems"].size(), 3u);
  EXPECT_EQ(r["problems"][0]["id"], "HumanEval/0");
  const json& s = r["summary"];
  EXPECT_TRUE(s.contains("pass@1") && s.contains("pass@2") && s.contains("greedy_accuracy"));
  EXPECT_FALSE(s.contains("cons@2"));
  double total = 0;
  for (auto& [k, v] : s["failure_kinds"].items()) total += v.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-12);
  for (const auto& p : r["problems"])
    for (const auto& smp : p["samples"]) {
      EXPECT_EQ(smp["tests_total"], 1);
      EXPECT_NE(smp["status"], "bad_tests");
    }
  const std::string md = read_file(table);
  for (const char* row : {"| pass@1 |", "| pass@2 |", "| status (of the k samples) | share |", "| no_code |",
                          "| wrong_answer |", "| syntax_error |", "| timeout |", "| runtime_error |"})
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  std::filesystem::remove_all(dir);
}

TEST(EvalEndToEnd, BenchmarkFiles) {
  const std::string dir = "../shared/data/benchmarks";
  if (!file_exists(dir + "/math500_test.jsonl")) GTEST_SKIP() << dir << " absent (read-only shared data)";
  std::string m = tiny_model(4096);  // byte-level prompts of competition problems run to ~2k tokens
  for (const char* t : {"gsm8k", "math500", "aime24", "amc23"}) {
    EvalConfig c;
    c.model = m;
    c.task = {t};
    c.k = 2;
    c.limit = 2;
    c.sampling.max_new_tokens = 4;
    json r = run_eval(c);
    EXPECT_EQ(r["problems"].size(), 2u) << t;
    EXPECT_FALSE(r["problems"][0]["gold"].get<std::string>().empty()) << t;
    EXPECT_TRUE(r["summary"].contains("cons@2")) << t;
  }
  // A benchmark file given as FILE.jsonl (the generic task) reads the same problems as the built-in name
  // when told its fields.
  EvalConfig c;
  c.model = m;
  c.task = {dir + "/aime24_test.jsonl"};
  c.task_config = {{"prompt_field", "problem"}};
  c.k = 1;
  c.limit = 3;
  c.sampling.max_new_tokens = 2;
  json r = run_eval(c);
  c.task = {"aime24"};
  c.task_config = json::object();
  json b = run_eval(c);
  for (int i = 0; i < 3; i++) EXPECT_EQ(r["problems"][i]["gold"], b["problems"][i]["gold"]);
  std::filesystem::remove_all(m);
}
