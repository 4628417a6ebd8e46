// The preference pairs for reward-model training (data/preferences.h): hand-checked replies for a fixed problem,
// every row's chosen verified correct and different from its rejected, each kind's defect and nothing else,
// determinism, train / eval / test problems disjoint, errors naming the field, the stage `prefs` and `r1 prefs`.
#include "core/check.h"
#include "core/io.h"
#include "core/options.h"
#include "data/arithmetic_task.h"
#include "data/cold_start.h"
#include "data/preferences.h"
#include "data/prompts.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

namespace {

const json kTiny = {{"n", 2000}, {"min_operands", 2}, {"max_operands", 5}, {"max_value", 9}, {"p_minus", 0.0}};

PrefsConfig tiny(long n = 60, long eval_n = 30) {
  PrefsConfig c;
  c.n = n;
  c.eval_n = eval_n;
  c.task_config = kTiny;
  return c;
}

std::string error_of(const PrefsConfig& c) {
  try {
    preference_splits(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The text between "<think> " and " </think>".
std::string think_of(const std::string& reply) {
  size_t a = reply.find("<think> "), b = reply.find(" </think>");
  return a == std::string::npos || b == std::string::npos ? "" : reply.substr(a + 8, b - a - 8);
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> v;
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

bool is_subsequence(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  size_t i = 0;
  for (size_t j = 0; j < big.size() && i < small.size(); j++) i += big[j] == small[i];
  return i == small.size();
}

std::string question_of(const std::string& rendered) {
  size_t a = rendered.find("User: "), b = rendered.rfind(" Assistant:");
  return rendered.substr(a + 6, b - a - 6);
}

ArithmeticProblem problem_of(const std::string& question) {  // "What is 6 + 8?"
  return parse_arithmetic_problem(question.substr(8, question.size() - 9));
}

}  // namespace

// 6 + 8 + 1 + 4 = 19, phrased with seed 7: each kind's reply written out by hand.
TEST(Preferences, FixedProblemEveryKindExactly) {
  const ArithmeticProblem p = parse_arithmetic_problem("6 + 8 + 1 + 4");
  const std::string chosen = cold_start_completion(p, 7);
  EXPECT_EQ(chosen, "<think> We calculate 6 + 8 + 1 + 4. 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19. That gives 19. "
                    "</think> <answer> 19 </answer>");
  // bare fold: the same chain without the sentences, the same answer
  EXPECT_EQ(rejected_completion(p, "bare_fold", 7, 1),
            "<think> 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19. </think> <answer> 19 </answer>");
  // wrong answer: the second fold slips (14 + 1 = 13, off by -2), the slip is carried: 13 + 4 = 17, "That gives 17"
  EXPECT_EQ(rejected_completion(p, "wrong_answer", 7, 1),
            "<think> We calculate 6 + 8 + 1 + 4. 6 + 8 + 1 + 4 = 14 + 1 + 4 = 13 + 4 = 17. That gives 17. "
            "</think> <answer> 17 </answer>");
  // noise: stray characters, a repeated span ("8 + 1" three times), corpus words; the answer untouched
  EXPECT_EQ(rejected_completion(p, "noise", 7, 1),
            "<think> We calculate 6 + 8 + 1 + 4. #~% 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = ||| 19. That gives 19. "
            "</think> <answer> 19 </answer>");
  EXPECT_EQ(rejected_completion(p, "noise", 7, 4),
            "<think> We calculate 6 + 8 + 1 8 + 1 8 + 1 + 4. 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19. That gives 19. "
            "</think> <answer> 19 </answer>");
  EXPECT_EQ(rejected_completion(p, "noise", 7, 7),
            "<think> We calculate 6 + 8 + 1 + 4. 6 + 8 first + 1 + 4 = 14 + 1 notes + 4 reader = 15 + 4 = 19. That "
            "gives 19. </think> <answer> 19 </answer>");
  // wrong final: the chain intact to "That gives 19.", the answer block off (seed 1: +2) and wrong
  EXPECT_EQ(rejected_completion(p, "wrong_final", 7, 1),
            "<think> We calculate 6 + 8 + 1 + 4. 6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 19. That gives 19. "
            "</think> <answer> 21 </answer>");
  EXPECT_EQ(arithmetic_answer_correct(chosen, 19), 1.0);
  EXPECT_EQ(arithmetic_answer_correct(rejected_completion(p, "wrong_answer", 7, 1), 19), 0.0);
  for (uint64_t d = 0; d < 50; d++) {
    const std::string wf = rejected_completion(p, "wrong_final", 7, d);
    EXPECT_EQ(arithmetic_answer_correct(wf, 19), 0.0) << wf;
    EXPECT_EQ(wf.substr(0, wf.find("<answer>")), chosen.substr(0, chosen.find("<answer>")));
  }
  for (const auto& k : preference_kinds())
    for (uint64_t d = 0; d < 50; d++) EXPECT_NE(rejected_completion(p, k, 7, d), chosen) << k << " " << d;
  try {
    rejected_completion(p, "typo", 7, 1);
    FAIL() << "no error for an unknown kind";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown rejected kind 'typo'"), std::string::npos) << e.what();
  }
}

TEST(Preferences, SlippedStepsCarryTheSlip) {
  const ArithmeticProblem p = parse_arithmetic_problem("6 + 8 + 1 + 4");
  EXPECT_EQ(slipped_steps(p, 0, 1), "6 + 8 + 1 + 4 = 15 + 1 + 4 = 16 + 4 = 20.");
  EXPECT_EQ(slipped_steps(p, 1, -2), "6 + 8 + 1 + 4 = 14 + 1 + 4 = 13 + 4 = 17.");
  EXPECT_EQ(slipped_steps(p, 2, -1), "6 + 8 + 1 + 4 = 14 + 1 + 4 = 15 + 4 = 18.");
  EXPECT_EQ(slipped_steps(p, 0, 0), working_steps(p));
  EXPECT_EQ(slipped_steps(parse_arithmetic_problem("9 - 3 + 2"), 0, 1), "9 - 3 + 2 = 7 + 2 = 9.");
  EXPECT_THROW(slipped_steps(p, 3, 1), Error);
}

// The first rows of the r1_tiny task: the prompt the policy sees, the kinds in turn, the replies after it.
TEST(Preferences, RowsInTrlFormat) {
  const auto rows = preference_rows(tiny(6, 0));
  ASSERT_EQ(rows.size(), 6u);
  const std::string head = "A conversation between User and Assistant. The Assistant thinks inside <think> </think>, "
                           "then answers inside <answer> </answer>. User: ";
  EXPECT_EQ(rows[0], (json{{"prompt", head + "What is 9 + 5? Assistant:"},
                           {"chosen", " <think> Let's work out 9 + 5. 9 + 5 = 14. So the total is 14. </think> <answer> 14 </answer>"},
                           {"rejected", " <think> 9 + 5 = 14. </think> <answer> 14 </answer>"},
                           {"kind", "bare_fold"}, {"id", "train-0"}, {"gold", "14"}}));
  EXPECT_EQ(rows[1]["kind"], "wrong_answer");
  EXPECT_EQ(rows[1]["prompt"], head + "What is 0 + 0 + 6 + 5 + 7? Assistant:");
  EXPECT_EQ(rows[1]["rejected"], " <think> We calculate 0 + 0 + 6 + 5 + 7. 0 + 0 + 6 + 5 + 7 = 1 + 6 + 5 + 7 = 7 + 5 "
                                 "+ 7 = 12 + 7 = 19. The result is 19. </think> <answer> 19 </answer>");
  EXPECT_EQ(rows[2]["kind"], "noise");
  EXPECT_EQ(rows[2]["chosen"], " <think> Step by step: 8 + 6 + 7 + 6. 8 + 6 + 7 + 6 = 14 + 7 + 6 = 21 + 6 = 27. That "
                               "gives 27. </think> <answer> 27 </answer>");
  EXPECT_EQ(rows[2]["rejected"], " <think> Step by step: 8 + 6 + 7 + 6 + 7 + 6 + 7 + 6. 8 + 6 + 7 + 6 = 14 + 7 + 6 = "
                                 "21 + 6 = 27. That gives 27. </think> <answer> 27 </answer>");
  EXPECT_EQ(rows[3]["kind"], "bare_fold");
  // the chosen reply is the cold-start row's completion, after the space that follows "Assistant:"
  const auto cold = cold_start_rows(kTiny, 6, 1);
  for (size_t i = 0; i < rows.size(); i++) {
    EXPECT_EQ(rows[i]["chosen"], " " + cold[i]["completion"].get<std::string>());
    EXPECT_EQ(rows[i]["prompt"], question_prompt("r1_zero_short", cold[i]["prompt"]));
  }
  // another template: the prompt is that template's text
  PrefsConfig plain = tiny(2, 0);
  plain.prompt_template = "plain";
  EXPECT_EQ(preference_rows(plain)[0]["prompt"], "What is 9 + 5?");
  EXPECT_EQ(preference_rows(plain)[0]["chosen"], rows[0]["chosen"]);
  // reply_space false: the replies as an SFT'd policy writes them, with nothing after "Assistant:"
  PrefsConfig nospace = tiny(6, 0);
  nospace.reply_space = false;
  const auto ns = preference_rows(nospace);
  for (size_t i = 0; i < rows.size(); i++) {
    EXPECT_EQ(" " + ns[i]["chosen"].get<std::string>(), rows[i]["chosen"]);
    EXPECT_EQ(" " + ns[i]["rejected"].get<std::string>(), rows[i]["rejected"]);
  }
}

// Every row: chosen verified correct by the task's verifier, rejected different and wrong only where it should be.
TEST(Preferences, EveryRowHasExactlyItsDefect) {
  const PrefsConfig c = tiny(300, 150);
  const auto s = preference_splits(c);
  ArithmeticTask task(arithmetic_config_from_json(kTiny));
  std::map<std::string, Problem> by_id;
  for (const auto& q : task.problems("train", 1)) by_id[q.id] = q;
  std::map<std::string, int> seen_kinds;
  for (const auto* rows : {&s.train, &s.eval})
    for (const auto& r : *rows) {
      const std::string chosen = r["chosen"], rejected = r["rejected"], kind = r["kind"], gold = r["gold"];
      ASSERT_TRUE(by_id.count(r["id"])) << r.dump();
      const Problem& q = by_id.at(r["id"]);
      EXPECT_EQ(q.gold, gold);
      EXPECT_EQ(r["prompt"], question_prompt("r1_zero_short", q.prompt));
      const auto verify = task.verifier(q);
      EXPECT_EQ(verify(chosen), 1.0) << chosen;
      EXPECT_NE(rejected, chosen);
      EXPECT_EQ(chosen.rfind(" <think> ", 0), 0u);
      EXPECT_EQ(rejected.rfind(" <think> ", 0), 0u);
      const ArithmeticProblem p = problem_of(q.prompt);
      const std::string ct = think_of(chosen), rt = think_of(rejected);
      if (kind == "bare_fold") {
        EXPECT_EQ(verify(rejected), 1.0);
        EXPECT_EQ(rt, working_steps(p));  // no sentences: the bare fold chain
      } else if (kind == "wrong_answer") {
        EXPECT_EQ(verify(rejected), 0.0) << rejected;
        const std::string said = rejected.substr(rejected.find("<answer> ") + 9);
        const long a = std::stol(said), g = std::stol(gold);
        EXPECT_NE(a, g);
        EXPECT_LE(std::labs(a - g), 2);
        if (p.answer() >= 0 && a < 0) ADD_FAILURE() << "a sum slipped below zero: " << rejected;
        // the chain's last total and the closing sentence say the same wrong answer
        EXPECT_NE(rt.find(" = " + std::to_string(a) + ". "), std::string::npos) << rt;
        EXPECT_EQ(rt.substr(rt.size() - std::to_string(a).size() - 2), " " + std::to_string(a) + ".") << rt;
      } else {
        ASSERT_EQ(kind, "noise");
        EXPECT_EQ(verify(rejected), 1.0);
        EXPECT_GT(words(rt).size(), words(ct).size());
        EXPECT_TRUE(is_subsequence(words(ct), words(rt))) << ct << "\n" << rt;  // the chain, with noise mixed in
        EXPECT_EQ(rejected.substr(rejected.find(" </think>")), chosen.substr(chosen.find(" </think>")));
      }
      seen_kinds[kind]++;
    }
  EXPECT_EQ(seen_kinds, (std::map<std::string, int>{{"bare_fold", 150}, {"noise", 150}, {"wrong_answer", 150}}));
  EXPECT_EQ(preference_stats(s), (json{{"train", {{"rows", 300}, {"kinds", {{"bare_fold", 100}, {"noise", 100}, {"wrong_answer", 100}}}}},
                                       {"eval", {{"rows", 150}, {"kinds", {{"bare_fold", 50}, {"noise", 50}, {"wrong_answer", 50}}}}}}));
}

TEST(Preferences, DeterministicAndSeeded) {
  PrefsConfig c = tiny(40, 20);
  const auto a = preference_splits(c), b = preference_splits(c);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.eval, b.eval);
  PrefsConfig c2 = c;
  c2.seed = 2;  // other phrasings and defects, the same problems
  const auto s2 = preference_splits(c2);
  EXPECT_NE(a.train, s2.train);
  for (size_t i = 0; i < a.train.size(); i++) EXPECT_EQ(a.train[i]["prompt"], s2.train[i]["prompt"]);
  PrefsConfig c3 = c;
  c3.data_seed = 2;  // other problems
  EXPECT_NE(a.train[0]["prompt"], preference_splits(c3).train[0]["prompt"]);
  // the mix: kinds in turn, a repeated kind weighs twice
  PrefsConfig c4 = c;
  c4.kinds = {"wrong_answer", "wrong_answer", "noise"};
  const auto s4 = preference_splits(c4);
  EXPECT_EQ(preference_stats(s4)["train"]["kinds"], (json{{"noise", 13}, {"wrong_answer", 27}}));
  EXPECT_EQ(s4.train[0]["chosen"], a.train[0]["chosen"]);  // the kind changes the rejected reply only
  // the train rows do not depend on eval_n
  EXPECT_EQ(preference_rows(tiny(40, 0)), a.train);
}

// Train and eval rows come from the train split, with no question in both; the test split is never used.
TEST(Preferences, SplitsDisjointAndNeverTheTestSplit) {
  const PrefsConfig c = tiny(1000, 200);
  const auto s = preference_splits(c);
  ASSERT_EQ(s.train.size(), 1000u);
  ASSERT_EQ(s.eval.size(), 200u);
  ArithmeticTask task(arithmetic_config_from_json(kTiny));
  std::set<std::string> test_q;
  for (const auto& q : task.problems("test", 1)) test_q.insert(q.prompt);
  std::set<std::string> train_ids, train_q;
  for (size_t i = 0; i < s.train.size(); i++) {
    EXPECT_EQ(s.train[i]["id"], "train-" + std::to_string(i));  // the first n problems
    train_ids.insert(s.train[i]["id"]);
    train_q.insert(question_of(s.train[i]["prompt"]));
  }
  for (const auto& r : s.eval) {
    const std::string id = r["id"], q = question_of(r["prompt"]);
    EXPECT_EQ(id.rfind("train-", 0), 0u);
    EXPECT_GE(std::stol(id.substr(6)), 1000);
    EXPECT_FALSE(train_ids.count(id)) << id;
    EXPECT_FALSE(train_q.count(q)) << q;
  }
  for (const auto& q : train_q) EXPECT_FALSE(test_q.count(q)) << q;
  for (const auto& r : s.eval) EXPECT_FALSE(test_q.count(question_of(r["prompt"])));
}

TEST(Preferences, ErrorsNameTheField) {
  auto expect = [](const PrefsConfig& c, const std::vector<std::string>& parts) {
    const std::string e = error_of(c);
    for (const auto& p : parts) EXPECT_NE(e.find(p), std::string::npos) << "'" << p << "' not in: " << e;
    EXPECT_THROW(check_prefs(c), Error);
  };
  PrefsConfig c = tiny();
  c.kinds = {"bare_fold", "typo"};
  expect(c, {"field 'kinds'", "unknown kind 'typo'", "bare_fold, wrong_answer, noise or wrong_final"});
  c.kinds = {};
  expect(c, {"field 'kinds' is empty"});
  expect(tiny(2001, 0), {"field 'n'", "2001", "2000 problems", "task_config.n"});
  expect(tiny(1900, 200), {"field 'eval_n'", "200 eval rows asked"});
  expect(tiny(0, 0), {"field 'n' must be >= 1"});
  c = tiny();
  c.prompt_template = "chat";
  expect(c, {"field 'prompt_template'", "'chat'"});
  c = tiny();
  c.task_config = {{"nn", 3}};
  expect(c, {"field 'task_config'", "unknown key 'nn'"});
  EXPECT_NO_THROW(check_prefs(tiny()));
}

TEST(Preferences, RecipeFieldsAndStage) {
  PrefsConfig c;
  OptionSet o;
  c.declare(o);
  o.apply_args({"n=5", "--eval-n", "2", "kinds=noise,bare_fold", "task_config={n: 30}", "prompt_template=plain"});
  EXPECT_EQ(c.n, 5);
  EXPECT_EQ(c.eval_n, 2);
  EXPECT_EQ(c.kinds, (std::vector<std::string>{"noise", "bare_fold"}));
  EXPECT_EQ(c.task_config, (json{{"n", 30}}));
  EXPECT_EQ(PrefsConfig().out, "runs/prefs");
  EXPECT_EQ(PrefsConfig().n, 1000);
  EXPECT_EQ(PrefsConfig().eval_n, 200);
  EXPECT_EQ(PrefsConfig().prompt_template, "r1_zero_short");
  EXPECT_EQ(PrefsConfig().kinds, (std::vector<std::string>{"bare_fold", "wrong_answer", "noise"}));

  const StageKind* k = nullptr;
  const auto stages = data_stages();
  for (const auto& s : stages)
    if (s.name == "prefs") k = &s;
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->output, "data");
  EXPECT_EQ(k->output_file, "train.jsonl");
  EXPECT_EQ(k->extra_outputs, (std::vector<std::pair<std::string, std::string>>{{"eval_data", "eval.jsonl"}}));
  EXPECT_EQ(k->done_marker("D"), "D/train.jsonl");
  EXPECT_EQ(k->location("D"), (std::vector<std::pair<std::string, std::string>>{{"out", "D"}}));

  const std::string d = "/tmp/r1_prefs_test_" + std::to_string(::getpid());
  auto job = k->make();
  OptionSet jo;
  job->declare(jo);
  jo.apply_args({"out=" + d, "n=9", "eval_n=4", "task_config={n: 40}"});
  job->check();
  const json res = job->run();
  EXPECT_EQ(res, (json{{"data", d + "/train.jsonl"}, {"eval_data", d + "/eval.jsonl"}}));
  PrefsConfig same = tiny(9, 4);
  same.task_config = {{"n", 40}};
  const auto s = preference_splits(same);
  std::string train, eval;
  for (const auto& r : s.train) train += r.dump() + "\n";
  for (const auto& r : s.eval) eval += r.dump() + "\n";
  EXPECT_EQ(read_file(d + "/train.jsonl"), train);
  EXPECT_EQ(read_file(d + "/eval.jsonl"), eval);
  EXPECT_EQ(json::parse(read_file(d + "/stats.json")), preference_stats(s));
  EXPECT_NE(read_file(d + "/config.yaml").find("eval_n: 4"), std::string::npos);
  std::system(("rm -rf " + d).c_str());
}

// recipes/prefs_tiny.yaml: the r1_tiny task, 1000 train and 200 eval pairs, a third of each kind.
TEST(Preferences, ShippedRecipe) {
  PrefsConfig c;
  OptionSet o;
  c.declare(o);
  o.load_yaml(std::string(R1_SOURCE_DIR) + "/recipes/prefs_tiny.yaml");
  EXPECT_EQ(c.task_config, kTiny);
  EXPECT_EQ(c.prompt_template, "r1_zero_short");
  const json st = preference_stats(preference_splits(c));
  EXPECT_EQ(st["train"], (json{{"rows", 1000}, {"kinds", {{"bare_fold", 334}, {"noise", 333}, {"wrong_final", 333}}}}));
  EXPECT_EQ(st["eval"]["rows"], 200);
}

// `r1 prefs` and a pipeline stage prefs with ${STAGE.data} / ${STAGE.eval_data} (needs the r1 binary: R1_BIN).
TEST(Preferences, CommandLineAndPipeline) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin || !file_exists(bin)) GTEST_SKIP() << "R1_BIN not set (run through ctest)";
  const std::string d = "/tmp/r1_prefs_cli_" + std::to_string(::getpid());
  std::system(("rm -rf " + d + " && mkdir -p " + d).c_str());
  auto sh = [&](const std::string& args, const std::string& log) {
    return std::system((std::string(bin) + " " + args + " > " + log + " 2>&1").c_str());
  };
  ASSERT_EQ(sh("prefs out=" + d + "/p n=12 --eval_n 6 'task_config={n: 40}'", d + "/a.log"), 0) << read_file(d + "/a.log");
  const json stats = json::parse(read_file(d + "/p/stats.json"));
  EXPECT_EQ(stats["train"]["rows"], 12);
  EXPECT_EQ(stats["eval"]["rows"], 6);
  EXPECT_TRUE(file_exists(d + "/p/train.jsonl") && file_exists(d + "/p/eval.jsonl") && file_exists(d + "/p/config.yaml"));

  EXPECT_NE(sh("prefs out=" + d + "/q n=12 kinds=bare_fold,shouting", d + "/b.log"), 0);
  EXPECT_NE(read_file(d + "/b.log").find("field 'kinds': unknown kind 'shouting'"), std::string::npos) << read_file(d + "/b.log");
  EXPECT_FALSE(file_exists(d + "/q/train.jsonl"));

  // a pipeline: the stage's outputs, then a later stage reading both (planned only: --dry-run)
  const std::string f = d + "/pipe.yaml";
  atomic_write(f, "out: " + d + "/pipe\nstages:\n"
                  "  - {name: rm_data, command: prefs, set: {n: 9, eval_n: 3, task_config: {n: 40}}}\n");
  ASSERT_EQ(sh("pipeline --config " + f, d + "/c.log"), 0) << read_file(d + "/c.log");
  const json st = json::parse(read_file(d + "/pipe/rm_data/stage.json"));
  EXPECT_EQ(st["outputs"]["data"], d + "/pipe/rm_data/train.jsonl");
  EXPECT_EQ(st["outputs"]["eval_data"], d + "/pipe/rm_data/eval.jsonl");
  EXPECT_TRUE(file_exists(d + "/pipe/rm_data/eval.jsonl"));
  atomic_write(f, "out: " + d + "/pipe2\nstages:\n"
                  "  - {name: rm_data, command: prefs}\n"
                  "  - {name: a, command: sft, set: {model: m, data: \"${rm_data.data}\"}}\n"
                  "  - {name: b, command: sft, set: {model: m, data: \"${rm_data.eval_data}\"}}\n");
  ASSERT_EQ(std::system((std::string(bin) + " pipeline --config " + f + " --dry-run > " + d + "/plan.json 2> " + d +
                         "/plan.err").c_str()), 0)
      << read_file(d + "/plan.err");
  const json plan = json::parse(read_file(d + "/plan.json"));
  EXPECT_EQ(plan[1]["config"]["data"], d + "/pipe2/rm_data/train.jsonl");
  EXPECT_EQ(plan[2]["config"]["data"], d + "/pipe2/rm_data/eval.jsonl");
  std::system(("rm -rf " + d).c_str());
}
