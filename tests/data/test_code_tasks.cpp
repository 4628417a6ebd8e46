// Code tasks: HumanEval's canonical solutions pass through `r1 verify-code` (164/164) and fail when shifted by one
// problem; the extraction rules for base and chat models on HumanEval; the tiny_code generator (every canonical
// program passes its tests, every near miss fails one, the splits are disjoint) and its corpus; code_jsonl's bad
// rows and verify-code's bad input lines.
#include "core/check.h"
#include "core/io.h"
#include "data/code_tasks.h"
#include "data/tiny_code.h"
#include "../train/spawn_r1.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

using namespace r1;
using nlohmann::json;

namespace {

const std::string kHumanEval = std::string(R1_SOURCE_DIR) + "/../shared/data/benchmarks/humaneval_test.jsonl";
std::string tmp(const std::string& name) { return "/tmp/r1_code_tasks_" + std::to_string(getpid()) + "_" + name; }

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> rows;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

// Runs `r1 verify-code` on completions; returns its output rows and (in *log) what it printed.
std::vector<json> verify_code(const std::vector<std::string>& args, const std::vector<json>& input, int* rc,
                              std::string* log) {
  const std::string in = tmp("in.jsonl"), out = tmp("out.jsonl"), lg = tmp("log.txt");
  std::string text;
  for (auto& j : input) text += j.dump() + "\n";
  atomic_write(in, text);
  std::remove(out.c_str());
  std::remove(lg.c_str());
  std::vector<std::string> a = {"verify-code", "--input", in, "--output", out};
  a.insert(a.end(), args.begin(), args.end());
  *rc = wait_exit(spawn_r1(a, lg));
  *log = file_exists(lg) ? read_file(lg) : "";
  std::vector<json> rows = file_exists(out) ? read_jsonl(out) : std::vector<json>{};
  for (auto& p : {in, out, lg}) std::remove(p.c_str());
  return rows;
}

}  // namespace

TEST(HumanEval, CanonicalSolutionsPassAndShiftedOnesFail) {
  if (!file_exists(kHumanEval)) GTEST_SKIP() << kHumanEval << " is absent (the shared benchmarks folder)";
  std::vector<json> rows = read_jsonl(kHumanEval);
  ASSERT_EQ(rows.size(), 164u);
  std::vector<json> canon, shifted;
  for (size_t i = 0; i < rows.size(); ++i) {
    canon.push_back({{"task_id", rows[i]["task_id"]}, {"completion", rows[i]["canonical_solution"]}});
    // each solution against the next problem's test
    shifted.push_back({{"task_id", rows[i]["task_id"]}, {"completion", rows[(i + 1) % rows.size()]["canonical_solution"]}});
  }
  int rc = 0;
  std::string log;
  auto out = verify_code({"--task", "humaneval"}, canon, &rc, &log);
  ASSERT_EQ(rc, 0) << log;
  ASSERT_EQ(out.size(), 164u) << log;
  int passed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i]["task_id"], rows[i]["task_id"]);
    passed += out[i]["passed"].get<bool>();
    EXPECT_TRUE(out[i]["passed"].get<bool>()) << out[i].dump();
    EXPECT_EQ(out[i]["status"], "passed");
    EXPECT_EQ(out[i]["tests_passed"], 1);
    EXPECT_EQ(out[i]["tests_total"], 1);
  }
  EXPECT_EQ(passed, 164);
  EXPECT_NE(log.find("passed 164 of 164"), std::string::npos) << log;

  out = verify_code({"--task", "humaneval", "--jobs", "2"}, shifted, &rc, &log);
  ASSERT_EQ(rc, 0) << log;
  ASSERT_EQ(out.size(), 164u);
  passed = 0;
  for (auto& o : out) {
    passed += o["passed"].get<bool>();
    EXPECT_TRUE(o["status"] == "wrong_answer" || o["status"] == "runtime_error" || o["status"] == "timeout" ||
                o["status"] == "passed")
        << o.dump();
  }
  std::printf("shifted by one problem: %d of 164 pass\n", passed);
  EXPECT_LE(passed, 2);
}

// The extraction rules on real problems: a base model's continuation, a chat model's block (after thinking),
// the instruct prompt, and completions with no code.
TEST(HumanEval, BaseAndChatCompletions) {
  if (!file_exists(kHumanEval)) GTEST_SKIP() << kHumanEval << " is absent (the shared benchmarks folder)";
  auto task = make_task("humaneval");
  auto probs = task->problems("test", 1);
  ASSERT_EQ(probs.size(), 164u);
  const Problem& p0 = probs[0];  // has_close_elements
  EXPECT_EQ(p0.id, "HumanEval/0");
  EXPECT_EQ(p0.meta["entry_point"], "has_close_elements");
  EXPECT_EQ(p0.meta["code_prompt"], p0.prompt);
  const Problem& p2 = probs[2];  // truncate_number: return number % 1.0
  std::vector<std::string> comps = {
      p0.gold + "\n\ndef unrelated():\n    return 1 / 0\n",                       // base: cut at "\ndef"
      p0.gold + "\nprint(has_close_elements([1.0], 0.5))\n",                       // base: cut at "\nprint"
      "<think>Compare every pair.</think>\n```python\n" + p0.prompt + p0.gold + "```\nThat is all.",  // chat
      "```python\ndef truncate_number(number: float) -> float:\n    return number - int(number)\n```",  // chat
      "    return int(number)\n",                                               // wrong
      "The decimal part is number minus its floor.",                              // no code
      "<think>\n    return number % 1.0\n</think>",                               // code only while thinking
  };
  std::vector<const Problem*> ps = {&p0, &p0, &p0, &p2, &p2, &p2, &p2};
  auto js = task->judge_batch(comps, ps);
  const std::vector<std::string> want = {"passed", "passed", "passed", "passed", "wrong_answer", "no_code", "no_code"};
  for (size_t i = 0; i < js.size(); ++i) {
    EXPECT_EQ(js[i].status, want[i]) << i << ": " << js[i].detail << "\n" << js[i].stderr_tail;
    EXPECT_EQ(js[i].correct, want[i] == "passed" ? 1.0 : 0.0);
  }
  // The verifier (accuracy) agrees; the default reward is the code reward.
  EXPECT_EQ(task->accuracy(comps[3], p2), 1.0);
  EXPECT_EQ(task->accuracy(comps[4], p2), 0.0);
  EXPECT_EQ(task->score(comps[3], p2).get("code"), 1.0);
  EXPECT_FALSE(task->answers_vote());
  // style: instruct wraps the prompt in an instruction for chat models.
  auto chat = make_task("humaneval", json{{"style", "instruct"}});
  auto cp = chat->problems("test", 1);
  EXPECT_NE(cp[0].prompt.find("```python\n" + p0.prompt + "```"), std::string::npos) << cp[0].prompt;
  EXPECT_EQ(cp[0].meta["code_prompt"], p0.prompt);
  EXPECT_THROW(make_task("humaneval", json{{"style", "chatty"}}), Error);
  EXPECT_THROW(make_task("humaneval", json{{"wall_secs", 3}}), Error);
}

TEST(CodeJsonl, BadRowsScoreZeroWithAStatus) {
  const std::string path = tmp("problems.jsonl");
  atomic_write(path,
               "{\"task_id\": \"add\", \"prompt\": \"def add(a, b):\\n\", \"code_prompt\": \"def add(a, b):\\n\", "
               "\"test_code\": \"def check(f):\\n    assert f(2, 3) == 5\\n\", \"entry_point\": \"add\"}\n"
               "{\"task_id\": \"noentry\", \"prompt\": \"def add(a, b):\\n\", \"test_code\": \"def check(f):\\n    "
               "assert f(2, 3) == 5\\n\"}\n"
               "{\"task_id\": \"io\", \"prompt\": \"Print the sum.\", \"inputs\": [\"1 2\"], \"outputs\": [\"3\"]}\n"
               "{\"task_id\": \"unknown\", \"prompt\": \"Do it.\", \"checks\": []}\n");
  auto task = make_task("code_jsonl", json{{"path", path}});
  auto probs = task->problems("test", 0);
  ASSERT_EQ(probs.size(), 4u);
  const std::string sum_block = "```python\nprint(sum(map(int, input().split())))\n```";
  auto js = task->judge_batch({"    return a + b\n", "    return a + b\n", sum_block, sum_block},
                              {&probs[0], &probs[1], &probs[2], &probs[3]});
  EXPECT_EQ(js[0].status, "passed") << js[0].detail;
  EXPECT_EQ(js[1].status, "bad_tests");
  EXPECT_NE(js[1].detail.find(path + ":2: code tests: field 'entry_point' is missing"), std::string::npos)
      << js[1].detail;
  EXPECT_EQ(js[2].status, "passed") << js[2].detail;
  EXPECT_EQ(js[3].status, "bad_tests");
  EXPECT_NE(js[3].detail.find(path + ":4:"), std::string::npos) << js[3].detail;
  // A row that is not JSON, or has no prompt, names its line.
  atomic_write(path, "{\"prompt\": \"x\", \"tests\": []}\n{\"prompt\": \n");
  try {
    task->problems("test", 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2: not valid JSON"), std::string::npos) << e.what();
  }
  atomic_write(path, "{\"question\": \"x\", \"tests\": []}\n");
  EXPECT_THROW(task->problems("test", 0), Error);
  std::remove(path.c_str());
  EXPECT_THROW(make_task("code_jsonl"), Error);  // needs a path
}

TEST(VerifyCode, BadInputLinesNameTheirLine) {
  if (!file_exists(kHumanEval)) GTEST_SKIP() << kHumanEval << " is absent (the shared benchmarks folder)";
  int rc = 0;
  std::string log;
  struct Case {
    std::vector<json> input;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{json{{"task_id", "HumanEval/0"}, {"completion", "    return True\n"}}, json::array({1, 2})},
       "in.jsonl:2: expected a JSON object"},
      {{json{{"task_id", "HumanEval/999"}, {"completion", ""}}}, "in.jsonl:1: task_id 'HumanEval/999' is not a problem"},
      {{json{{"index", 164}, {"completion", ""}}}, "in.jsonl:1: index 164 is out of range"},
      {{json{{"task_id", "HumanEval/0"}}}, "in.jsonl:1: field \"completion\" is missing"},
  };
  for (auto& c : cases) {
    auto out = verify_code({"--task", "humaneval"}, c.input, &rc, &log);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(out.empty());
    EXPECT_NE(log.find(c.says), std::string::npos) << log;
  }
  // By index, with a completion that has no code: one status, the run goes on.
  auto out = verify_code({"--task", "humaneval"},
                         {json{{"index", 2}, {"completion", "No idea."}}, json{{"index", 2}, {"completion", "    return number % 1.0\n"}}},
                         &rc, &log);
  ASSERT_EQ(rc, 0) << log;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["status"], "no_code");
  EXPECT_EQ(out[0]["index"], 2);
  EXPECT_EQ(out[1]["status"], "passed");
}

TEST(TinyCode, CanonicalProgramsPassAndNearMissesFail) {
  TinyCodeConfig c;
  c.n = 60;
  auto train = tiny_code_split(c, "train", 1), test = tiny_code_split(c, "test", 1);
  ASSERT_EQ(train.size(), 60u);
  ASSERT_FALSE(test.empty());
  std::set<std::string> tq, kinds;
  for (auto& p : train) tq.insert(p.question), kinds.insert(p.kind);
  for (auto& p : test) EXPECT_FALSE(tq.count(p.question)) << p.question;  // held out
  EXPECT_EQ(kinds.size(), 12u);
  // The same draw every time.
  EXPECT_EQ(tiny_code_split(c, "train", 1)[7].question, train[7].question);
  EXPECT_NE(tiny_code_split(c, "train", 2)[7].question + tiny_code_split(c, "train", 2)[8].question,
            train[7].question + train[8].question);
  TinyCodeTask task(c);
  auto probs = task.problems("train", 1);
  std::vector<std::string> comps;
  std::vector<const Problem*> ps;
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(probs[i].prompt, train[i].question);
    comps.push_back(tiny_code_reply(train[i].program)), ps.push_back(&probs[i]);
    comps.push_back(tiny_code_reply(train[i].near_miss)), ps.push_back(&probs[i]);
    comps.push_back("\n" + train[i].program), ps.push_back(&probs[i]);  // no block: no code
  }
  auto js = task.judge_batch(comps, ps);
  int near_passes = 0;
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(js[3 * i].status, "passed") << train[i].question << "\n" << train[i].program << "\n" << js[3 * i].detail;
    // A near miss runs and prints a wrong answer (product's raises a NameError), unless the numbers make it
    // right ("the largest of 6, 6").
    near_passes += js[3 * i + 1].correct > 0;
    const std::string want = train[i].kind == "product" ? "runtime_error" : "wrong_answer";  // no import
    EXPECT_TRUE(js[3 * i + 1].status == want || js[3 * i + 1].status == "passed")
        << train[i].near_miss << ": " << js[3 * i + 1].status << " " << js[3 * i + 1].detail;
    EXPECT_EQ(js[3 * i + 2].status, "no_code");
  }
  std::printf("near misses that happen to be right: %d of %zu\n", near_passes, train.size());
  EXPECT_LE(near_passes, (int)train.size() / 8);
  // Hand-made cases of the degenerate ones: the near miss of "the largest of 6, 6" is right, of 6, 7 wrong.
  Problem same{"p", "Write a program that prints the largest of 6, 6.", "print(max([6, 6]))",
               json{{"tests", {{{"input", ""}, {"output", "6\n"}}}}}};
  Problem diff{"q", "Write a program that prints the largest of 6, 7.", "print(max([6, 7]))",
               json{{"tests", {{{"input", ""}, {"output", "7\n"}}}}}};
  auto hj = task.judge_batch({tiny_code_reply("print(min([6, 6]))"), tiny_code_reply("print(min([6, 7]))")},
                             {&same, &diff});
  EXPECT_EQ(hj[0].status, "passed");
  EXPECT_EQ(hj[1].status, "wrong_answer");
}

TEST(TinyCode, HandWrittenProblems) {
  // Every kind's question and program, by hand, from a fixed draw.
  TinyCodeConfig c;
  std::map<std::string, TinyCodeProblem> one;
  Rng r(5);
  for (int i = 0; i < 400 && one.size() < 12; ++i) {
    TinyCodeProblem p = random_tiny_code_problem(r, c);
    one.emplace(p.kind, p);
  }
  ASSERT_EQ(one.size(), 12u);
  for (auto& [kind, p] : one) std::printf("%-8s %s\n         %s\n", kind.c_str(), p.question.c_str(), p.program.c_str());
  // Hand checks of the formulas on each drawn problem's own numbers.
  const auto& s = one["largest"];
  std::vector<int> nums;
  std::string rest = s.question.substr(std::string("Write a program that prints the largest of ").size());
  for (size_t i = 0; i < rest.size(); ++i)
    if (std::isdigit((unsigned char)rest[i])) nums.push_back(rest[i] - '0');
  std::string list = "[";
  for (size_t i = 0; i < nums.size(); ++i) list += (i ? ", " : "") + std::to_string(nums[i]);
  list += "]";
  EXPECT_EQ(s.program, "print(max(" + list + "))") << s.question;
  EXPECT_EQ(s.near_miss, "print(min(" + list + "))");
  EXPECT_EQ(s.tests.at(0).output, std::to_string(*std::max_element(nums.begin(), nums.end())) + "\n");
  const auto& prod = one["product"];
  EXPECT_EQ(prod.program.rfind("import math\nprint(math.prod([", 0), 0u) << prod.program;
  const auto& cnt = one["count"];
  int a = 0, b = 0;
  ASSERT_EQ(std::sscanf(cnt.question.c_str(), "Write a program that prints the numbers from %d to %d.", &a, &b), 2);
  std::string want;
  for (int i = a; i <= b; ++i) want += std::to_string(i) + "\n";
  EXPECT_EQ(cnt.tests.at(0).output, want);
  EXPECT_EQ(cnt.program, "for i in range(" + std::to_string(a) + ", " + std::to_string(b) + " + 1):\n    print(i)");
  const auto& pair = one["pair"];
  ASSERT_EQ(pair.tests.size(), 3u);
  int x = 0, y = 0;
  ASSERT_EQ(std::sscanf(pair.tests[0].input.c_str(), "%d %d", &x, &y), 2);
  const std::string& q = pair.question;
  long v = q.find("their sum") != std::string::npos          ? x + y
           : q.find("their difference") != std::string::npos ? x - y
           : q.find("their product") != std::string::npos    ? (long)x * y
           : q.find("the larger") != std::string::npos       ? std::max(x, y)
                                                              : std::min(x, y);
  EXPECT_EQ(pair.tests[0].output, std::to_string(v) + "\n") << q;
  EXPECT_EQ(pair.program.rfind("a, b = map(int, input().split())\nprint(", 0), 0u) << pair.program;
  EXPECT_EQ(q.find_first_of("0123456789"), std::string::npos) << q;  // worded: no number in the question
  const auto& many = one["many"];
  std::istringstream in(many.tests[1].input);
  std::vector<long> xs;
  for (long t; in >> t;) xs.push_back(t);
  ASSERT_GE(xs.size(), 2u);
  long want_many = many.question.find("their sum") != std::string::npos      ? std::accumulate(xs.begin(), xs.end(), 0l)
                   : many.question.find("the largest") != std::string::npos  ? *std::max_element(xs.begin(), xs.end())
                   : many.question.find("the smallest") != std::string::npos ? *std::min_element(xs.begin(), xs.end())
                                                                              : (long)xs.size();
  EXPECT_EQ(many.tests[1].output, std::to_string(want_many) + "\n") << many.question;
  EXPECT_THROW(tiny_code_config_from_json(json{{"kinds", {"sum", "sort"}}}), Error);
  EXPECT_THROW(tiny_code_config_from_json(json{{"max_value", 1}}), Error);
  EXPECT_THROW(tiny_code_config_from_json(json{{"n", "ten"}}), Error);
}

TEST(TinyCode, CorpusKeepsTheTestSplitOut) {
  CodeCorpusConfig cc;
  cc.docs = 4000;
  cc.task_config = {{"n", 200}};
  auto docs = tiny_code_docs(cc);
  ASSERT_EQ(docs.size(), 4000u);
  TinyCodeConfig c = tiny_code_config_from_json(cc.task_config);
  std::set<std::string> held;
  for (auto& p : tiny_code_split(c, "test", 1)) held.insert(p.question);
  int blocks = 0, prose = 0;
  for (auto& d : docs) {
    std::string q = d.substr(0, d.find('\n'));
    EXPECT_FALSE(held.count(q)) << q;
    blocks += d.find("```python\n") != std::string::npos;
    prose += d.find("\nThe answer is ") != std::string::npos;
  }
  // correct 0.35 + near miss 0.25 in blocks, prose 0.25: within 4 standard deviations of 4000 draws
  EXPECT_NEAR(blocks / 4000.0, 0.60, 0.031);
  EXPECT_NEAR(prose / 4000.0, 0.25, 0.028);
  cc.repl = 0.2;  // Python sessions echoing lists
  int sessions = 0;
  for (auto& d : tiny_code_docs(cc)) sessions += d.rfind(">>> ", 0) == 0;
  EXPECT_NEAR(sessions / 4000.0, 0.2, 0.026);
  cc.correct = 0.9;
  EXPECT_THROW(tiny_code_docs(cc), Error);  // shares above 1
}
