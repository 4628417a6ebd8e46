// `r1 pipeline` / `r1 distill` end to end on a tiny model the test makes itself: every stage writes stage.json,
// references resolve to earlier stages' outputs, a finished stage is never redone after a deterministic stop or a
// kill -9 (its stage.json and model files stay byte-identical, the log says it was skipped) and the interrupted
// GRPO stage resumes from its checkpoint; bad recipes fail before anything runs, naming the file and field.
#include "core/check.h"
#include "core/io.h"
#include "data/cold_start.h"
#include "model/transformer.h"
#include "pipeline/pipeline.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "../train/spawn_r1.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

namespace {

std::string tmp(const std::string& tag) {
  std::string d = "/tmp/r1_pipeline_test_" + std::to_string(::getpid()) + "_" + tag;
  remove_tree(d);
  make_dirs(d);
  return d;
}

// A random tiny policy with the byte-level tokenizer (the R1 tags are single tokens).
std::string tiny_model(const std::string& dir, int C = 32, int L = 1, uint64_t seed = 7) {
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), C, L, 2, 1, 2 * C, 512);
  c.eos_id = tok.eos_id();
  Model m(c);
  m.init_random(seed, 0.05f);
  m.save(dir);
  tok.save(dir);
  return dir;
}

// cold_start -> sft -> grpo -> eval, cheap: plain prompts, short completions, evaluation on 4 problems.
std::string tiny_recipe(const std::string& d, const std::string& model, int grpo_steps) {
  std::string y = "out: " + d + "/pipe\n"
                  "eval: {task: arithmetic, task_config: {n: 50}, split: test, seed: 1, prompt_template: plain,\n"
                  "       k: 2, pass_k: [1, 2], limit: 4, sampling: {max_new_tokens: 12}}\n"
                  "stages:\n"
                  "  - name: data\n"
                  "    command: cold_start\n"
                  "    set: {n: 24, task_config: {n: 50}}\n"
                  "  - name: sft\n"
                  "    command: sft\n"
                  "    set:\n"
                  "      model: " + model + "\n"
                  "      data: ${data.data}\n"
                  "      prompt_template: plain\n"
                  "      seq: 160\n"
                  "      batch: 4\n"
                  "      epochs: 2\n"
                  "      eval_fraction: 0\n"
                  "      ckpt_every: 0\n"
                  "      optim: {lr: 0.01}\n"
                  "  - name: rl\n"
                  "    command: grpo\n"
                  "    set:\n"
                  "      model: ${sft.model}\n"
                  "      task_config: {n: 50}\n"
                  "      prompt_template: plain\n"
                  "      sampling: {group_size: 4, prompts_per_step: 2, max_new_tokens: 12}\n"
                  "      grpo: {beta: 0.0}\n"
                  "      optim: {lr: 0.001}\n"
                  "      steps: " + std::to_string(grpo_steps) + "\n"
                  "      eval_problems: 4\n"
                  "      ckpt_every: 1\n"
                  "    eval: {limit: 2}\n"
                  "  - name: final\n"
                  "    command: eval\n"
                  "    set: {model: \"${rl.model}\", k: 3, pass_k: [1, 3]}\n";
  atomic_write(d + "/pipe.yaml", y);
  return d + "/pipe.yaml";
}

std::vector<json> jsonl(const std::string& path) {
  std::vector<json> v;
  std::istringstream in(read_file(path));
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

// The models here are tiny and the machine's cores are shared: one OpenMP thread per r1 process is faster and
// steadier (results do not depend on the thread count; tests/rollout checks that).
const bool one_thread = [] { return ::setenv("OMP_NUM_THREADS", "1", 1) == 0; }();

int run_r1(const std::vector<std::string>& args, const std::string& log) {
  pid_t p = spawn_r1(args, log);
  return wait_exit(p);
}

long mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return (long)st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
  return n;
}

// What must not change when a finished stage is skipped.
struct Snapshot {
  std::string stage_json, weights;
  long stage_mtime = 0, weights_mtime = 0;
  static Snapshot of(const std::string& stage_dir) {
    return {read_file(stage_dir + "/stage.json"), read_file(stage_dir + "/model/model.safetensors"),
            mtime_ns(stage_dir + "/stage.json"), mtime_ns(stage_dir + "/model/model.safetensors")};
  }
};
void expect_unchanged(const Snapshot& a, const std::string& stage_dir) {
  Snapshot b = Snapshot::of(stage_dir);
  EXPECT_EQ(a.stage_json, b.stage_json);
  EXPECT_EQ(a.stage_mtime, b.stage_mtime) << stage_dir << "/stage.json was rewritten";
  EXPECT_TRUE(a.weights == b.weights) << stage_dir << "/model changed";
  EXPECT_EQ(a.weights_mtime, b.weights_mtime) << stage_dir << "/model was rewritten";
}

// GRPO metrics after a resume: one line per step, in order, none repeated, ending at `steps`.
void expect_clean_grpo_log(const std::string& run, long steps) {
  auto m = jsonl(run + "/metrics.jsonl");
  ASSERT_FALSE(m.empty());
  long prev = -1;
  for (const auto& r : m) {
    long s = r["step"].get<long>();
    EXPECT_GT(s, prev) << "step " << s << " repeated or out of order";
    prev = s;
  }
  EXPECT_EQ(prev, steps);
}

std::string error_of(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    plan_pipeline(load_pipeline(path, overrides));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(ColdStart, RowsAreCorrectR1FormatWorkings) {
  auto rows = cold_start_rows(json{{"n", 40}}, 30, 1);
  ASSERT_EQ(rows.size(), 30u);
  for (const auto& r : rows) {
    std::string q = r["prompt"], c = r["completion"], gold = r["gold"];
    ASSERT_EQ(q.rfind("What is ", 0), 0u) << q;
    EXPECT_EQ(c.rfind("<think> ", 0), 0u) << c;
    EXPECT_NE(c.find(" </think> <answer> " + gold + " </answer>"), std::string::npos) << c;
    // the working ends with the gold answer and walks through every operand
    ArithmeticProblem p = parse_arithmetic_problem(q.substr(8, q.size() - 9));
    EXPECT_EQ(std::to_string(p.answer()), gold);
    EXPECT_NE(c.find(std::to_string(p.answer()) + ". </think>"), std::string::npos) << c;
  }
  EXPECT_NE(rows, cold_start_rows(json{{"n", 40}}, 30, 2));                                   // seed phrases
  EXPECT_EQ(rows[0]["prompt"], cold_start_rows(json{{"n", 40}}, 30, 2)[0]["prompt"]);         // same problems
  EXPECT_NE(rows[0]["prompt"], cold_start_rows(json{{"n", 40}}, 30, 1, 2)[0]["prompt"]);      // data_seed draws
  EXPECT_THROW(cold_start_rows(json{{"n", 10}}, 11, 1), Error);                               // not enough problems
  EXPECT_THROW(parse_arithmetic_problem("12 * 3"), Error);
}

TEST(Pipeline, RunsEveryStageEndToEndAndSkipsThemWhenDone) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  std::string d = tmp("e2e");
  std::string recipe = tiny_recipe(d, tiny_model(d + "/model"), 3);
  std::string log = d + "/run1.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe}, log), 0) << read_file(log);
  const std::string P = d + "/pipe";
  for (const char* s : {"data", "sft", "rl", "final"}) {
    ASSERT_TRUE(file_exists(P + "/" + s + "/stage.json")) << s << "\n" << read_file(log);
    json st = json::parse(read_file(P + "/" + s + "/stage.json"));
    EXPECT_EQ(st["name"], s);
    EXPECT_GT(st["wall_s"].get<double>(), 0.0);
    EXPECT_TRUE(st["config"].is_object());
  }
  json data = json::parse(read_file(P + "/data/stage.json")), sft = json::parse(read_file(P + "/sft/stage.json"));
  json rl = json::parse(read_file(P + "/rl/stage.json")), fin = json::parse(read_file(P + "/final/stage.json"));
  // references and output locations resolved
  EXPECT_EQ(data["outputs"]["data"], P + "/data/cold_start.jsonl");
  EXPECT_EQ(jsonl(P + "/data/cold_start.jsonl").size(), 24u);
  EXPECT_EQ(sft["config"]["data"], P + "/data/cold_start.jsonl");
  EXPECT_EQ(sft["config"]["out"], P + "/sft");
  EXPECT_EQ(rl["config"]["model"], P + "/sft/model");
  EXPECT_EQ(fin["config"]["model"], P + "/rl/model");
  EXPECT_TRUE(file_exists(P + "/sft/model/model.safetensors"));
  EXPECT_TRUE(file_exists(P + "/rl/model/model.safetensors"));
  // every training stage evaluated (pipeline default, per-stage override), the eval stage wrote eval.json
  EXPECT_EQ(sft["eval"]["summary"]["problems"], 4);
  EXPECT_EQ(rl["eval"]["summary"]["problems"], 2);  // the stage's own eval: {limit: 2}
  EXPECT_TRUE(sft["eval"]["summary"].contains("pass@2"));
  EXPECT_TRUE(data["eval"].is_null());
  ASSERT_TRUE(file_exists(P + "/final/eval.json"));
  json ev = json::parse(read_file(P + "/final/eval.json"));
  EXPECT_EQ(ev["summary"], fin["eval"]["summary"]);
  EXPECT_EQ(ev["summary"]["samples_per_problem"], 3);
  EXPECT_TRUE(ev["summary"].contains("pass@3"));
  EXPECT_TRUE(file_exists(P + "/sft/eval.json"));
  json pj = json::parse(read_file(P + "/pipeline.json"));
  EXPECT_TRUE(pj["complete"].get<bool>());
  ASSERT_EQ(pj["stages"].size(), 4u);
  for (const auto& s : pj["stages"]) EXPECT_EQ(s["status"], "ran") << s.dump();
  std::string out1 = read_file(log);
  EXPECT_NE(out1.find("[stage 3/4] grpo rl"), std::string::npos) << out1;
  EXPECT_NE(out1.find("| # | stage | command | status |"), std::string::npos) << out1;

  // Started again: everything is finished, nothing runs, nothing is rewritten.
  Snapshot snap = Snapshot::of(P + "/sft");
  std::string log2 = d + "/run2.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe}, log2), 0) << read_file(log2);
  std::string out2 = read_file(log2);
  EXPECT_EQ(count(out2, "finished earlier"), 4u) << out2;
  EXPECT_EQ(out2.find("[grpo]"), std::string::npos) << out2;
  expect_unchanged(snap, P + "/sft");
  pj = json::parse(read_file(P + "/pipeline.json"));
  for (const auto& s : pj["stages"]) EXPECT_EQ(s["status"], "skipped") << s.dump();
  EXPECT_EQ(pj["stages"][3]["eval"], fin["eval"]["summary"]);  // the table keeps the recorded evaluations
  EXPECT_EQ(out2.find("different config"), std::string::npos) << out2;
  // A finished stage whose recipe changed is still skipped, with a warning naming what changed.
  std::string log3 = d + "/run3.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe, "sft.epochs=3", "eval.limit=3"}, log3), 0) << read_file(log3);
  std::string out3 = read_file(log3);
  EXPECT_NE(out3.find("warning: stage sft finished with a different config (epochs, eval.limit)"), std::string::npos) << out3;
  expect_unchanged(snap, P + "/sft");
  // A stage that fails names itself; the finished stages stay finished.
  remove_tree(P + "/rl");
  remove_tree(P + "/final");
  std::string log4 = d + "/run4.log";
  EXPECT_EQ(run_r1({"pipeline", "--config", recipe, "rl.train_split=nosuch"}, log4), 1);
  std::string out4 = read_file(log4);
  EXPECT_NE(out4.find("error: stage rl (grpo, stage 3/4) failed: "), std::string::npos) << out4;
  EXPECT_NE(out4.find("nosuch"), std::string::npos) << out4;
  expect_unchanged(snap, P + "/sft");
  // A value the command would reject is caught before any stage runs, naming the stage and the field.
  remove_tree(P + "/rl");
  std::string log5 = d + "/run5.log";
  EXPECT_EQ(run_r1({"pipeline", "--config", recipe, "rl.grpo.loss_agg=token-sum"}, log5), 1);
  std::string out5 = read_file(log5);
  EXPECT_NE(out5.find("stages[2] (rl): grpo.loss_agg: 'token-sum' is unknown"), std::string::npos) << out5;
  EXPECT_EQ(out5.find("[stage "), std::string::npos) << out5;  // nothing ran
  EXPECT_FALSE(file_exists(P + "/rl"));
  remove_tree(d);
}

// Deterministic interruption: the GRPO stage stops at step 2 (stop_after, from the command line); the next run
// skips the finished stages and resumes GRPO from its step-2 checkpoint.
TEST(Pipeline, StopInsideGrpoThenResumeWithoutRedoingSft) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  std::string d = tmp("stop");
  std::string recipe = tiny_recipe(d, tiny_model(d + "/model"), 4);
  const std::string P = d + "/pipe";
  std::string log1 = d + "/run1.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe, "rl.stop_after=2"}, log1), 0) << read_file(log1);
  ASSERT_TRUE(file_exists(P + "/sft/stage.json")) << read_file(log1);
  EXPECT_FALSE(file_exists(P + "/rl/stage.json"));
  EXPECT_FALSE(file_exists(P + "/final/stage.json"));
  json pj = json::parse(read_file(P + "/pipeline.json"));
  EXPECT_FALSE(pj["complete"].get<bool>());
  EXPECT_EQ(pj["stages"][2]["status"], "stopped");
  EXPECT_EQ(pj["stages"][3]["status"], "pending");
  Snapshot snap = Snapshot::of(P + "/sft");

  std::string log2 = d + "/run2.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe}, log2), 0) << read_file(log2);
  std::string out = read_file(log2);
  EXPECT_NE(out.find("sft sft: finished earlier"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped"), std::string::npos) << out;
  EXPECT_NE(out.find("[grpo] resuming from"), std::string::npos) << out;
  EXPECT_EQ(out.find("[sft]"), std::string::npos) << "the finished SFT stage ran again:\n" << out;
  expect_unchanged(snap, P + "/sft");
  ASSERT_TRUE(file_exists(P + "/rl/stage.json"));
  ASSERT_TRUE(file_exists(P + "/final/eval.json"));
  expect_clean_grpo_log(P + "/rl", 4);
  EXPECT_TRUE(json::parse(read_file(P + "/pipeline.json"))["complete"].get<bool>());
  remove_tree(d);
}

// kill -9 while the GRPO stage runs (a real crash), then start again.
TEST(Pipeline, KillNineInsideGrpoThenResume) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  std::string d = tmp("kill");
  std::string recipe = tiny_recipe(d, tiny_model(d + "/model"), 12);
  const std::string P = d + "/pipe";
  std::string log1 = d + "/run1.log";
  pid_t p = spawn_r1({"pipeline", "--config", recipe}, log1);
  bool seen = false;
  for (int i = 0; i < 2400000 && !seen; i++) {  // up to ~10 minutes of polling (never reached in practice)
    try {  // the checkpoint folder can be swapped away between finding and reading it
      std::string ck = find_checkpoint_dir(P + "/rl");
      seen = !ck.empty() && json::parse(read_file(ck + "/state.json"))["step"].get<long>() >= 2;
    } catch (const std::exception&) {
    }
    if (!seen) usleep(250);
  }
  kill(p, SIGKILL);
  int status = 0;
  waitpid(p, &status, 0);
  ASSERT_TRUE(seen) << read_file(log1);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the pipeline finished before it could be killed\n" << read_file(log1);
  ASSERT_TRUE(file_exists(P + "/sft/stage.json"));
  EXPECT_FALSE(file_exists(P + "/rl/stage.json"));
  Snapshot snap = Snapshot::of(P + "/sft");

  std::string log2 = d + "/run2.log";
  ASSERT_EQ(run_r1({"pipeline", "--config", recipe}, log2), 0) << read_file(log2);
  std::string out = read_file(log2);
  EXPECT_NE(out.find("cold_start data: finished earlier"), std::string::npos) << out;
  EXPECT_NE(out.find("sft sft: finished earlier"), std::string::npos) << out;
  EXPECT_NE(out.find("[grpo] resuming from"), std::string::npos) << out;
  EXPECT_EQ(out.find("[sft]"), std::string::npos) << out;
  expect_unchanged(snap, P + "/sft");
  expect_clean_grpo_log(P + "/rl", 12);
  EXPECT_TRUE(file_exists(P + "/final/eval.json"));
  EXPECT_TRUE(json::parse(read_file(P + "/pipeline.json"))["complete"].get<bool>());
  remove_tree(d);
}

TEST(Pipeline, BadRecipesFailBeforeRunningNamingFileAndField) {
  std::string d = tmp("bad");
  auto recipe = [&](const std::string& name, const std::string& stages, const std::string& head = "out: " + std::string("/tmp/x")) {
    std::string p = d + "/" + name + ".yaml";
    atomic_write(p, head + "\nstages:\n" + stages);
    return p;
  };
  const std::string ok1 = "  - {name: data, command: cold_start}\n";
  auto expect_error = [](const std::string& msg, std::vector<std::string> parts) {
    for (const auto& s : parts) EXPECT_NE(msg.find(s), std::string::npos) << "'" << s << "' not in: " << msg;
  };
  std::string f = recipe("cmd", ok1 + "  - {name: train, command: train}\n");
  expect_error(error_of(f), {f, "stages[1] (train)", "'command'", "unknown command 'train'", "grpo"});
  f = recipe("ref", ok1 + "  - {name: s, command: sft, set: {model: \"${nope.model}\", data: \"${data.data}\"}}\n");
  expect_error(error_of(f), {f, "stages[1] (s)", "set.model", "unknown stage 'nope'", "earlier stages: data"});
  f = recipe("later", "  - {name: s, command: sft, set: {model: \"${m.model}\", data: x.jsonl}}\n  - {name: m, command: pretrain}\n");
  expect_error(error_of(f), {f, "stages[0] (s)", "set.model", "'m'", "does not run before"});
  f = recipe("noout", ok1 + "  - {name: s, command: sft, set: {model: \"${data.model}\", data: \"${data.data}\"}}\n");
  expect_error(error_of(f), {f, "set.model", "has no output 'model'", "data"});
  f = recipe("dup", ok1 + ok1);
  expect_error(error_of(f), {f, "stages[1] (data)", "'name'", "duplicate stage name 'data'"});
  f = recipe("nocmd", "  - {name: s}\n");
  expect_error(error_of(f), {f, "stages[0] (s)", "field 'command' is required"});
  f = recipe("nomodel", ok1 + "  - {name: s, command: sft, set: {data: \"${data.data}\"}}\n");
  expect_error(error_of(f), {f, "stages[1] (s)", "field 'model'", "empty"});
  f = recipe("field", ok1 + "  - {name: s, command: sft, set: {model: m, data: d, no_such_field: 1}}\n");
  expect_error(error_of(f), {f, "stages[1] (s) set", "unknown field 'no_such_field'"});
  f = recipe("setout", "  - {name: s, command: cold_start, set: {out: elsewhere}}\n");
  expect_error(error_of(f), {f, "set.out", "the pipeline sets 'out'"});
  f = recipe("evalsample", "  - {name: s, command: sample, set: {model: m}, eval: {k: 1}}\n");
  expect_error(error_of(f), {f, "stages[0] (s)", "field 'eval'", "only training stages"});
  f = recipe("cfg", "  - {name: s, command: sft, config: /nonexistent.yaml, set: {model: m, data: d}}\n");
  expect_error(error_of(f), {f, "field 'config'", "/nonexistent.yaml"});
  f = recipe("stagekey", "  - {name: s, command: sft, sett: {}}\n");
  expect_error(error_of(f), {f, "stages[0] (s)", "unknown field 'sett'"});
  f = recipe("noouttop", ok1, "eval: {k: 1}");
  expect_error(error_of(f), {f, "field 'out' is required"});
  f = recipe("evalfield", ok1 + "  - {name: s, command: pretrain, eval: {kk: 1}}\n", "out: /tmp/x\neval: {k: 1}");
  expect_error(error_of(f), {f, "stages[1] (s) eval", "unknown field 'kk'"});
  f = recipe("good", ok1);
  expect_error(error_of(f, {"nostage.n=3"}), {"command line", "nostage.n=3", "no stage named 'nostage'", "data"});
  expect_error(error_of(f, {"data.n=abc"}), {"command line", "'n'", "abc"});
  EXPECT_EQ(error_of(f, {"data.n=3", "out=/tmp/y"}), "(no error)");

  // through the binary: exit status 1, the message on stderr, nothing created
  if (file_exists(r1_binary())) {
    f = recipe("cli", ok1 + "  - {name: train, command: train}\n", "out: " + d + "/cli_out");
    std::string log = d + "/cli.log";
    EXPECT_EQ(run_r1({"pipeline", "--config", f}, log), 1);
    expect_error(read_file(log), {"error:", f, "'command'", "unknown command 'train'"});
    EXPECT_FALSE(file_exists(d + "/cli_out"));
    f = recipe("cli2", ok1 + ok1, "out: " + d + "/cli_out");
    EXPECT_EQ(run_r1({"pipeline", "--config", f}, log), 1);
    expect_error(read_file(log), {"duplicate stage name 'data'"});
    EXPECT_FALSE(file_exists(d + "/cli_out"));
  }
  remove_tree(d);
}

// The shipped recipes resolve: every stage's config and references check out (nothing runs).
TEST(Pipeline, ShippedRecipesPlan) {
  ASSERT_EQ(::chdir(R1_SOURCE_DIR), 0);  // recipes name each other relative to the repository root
  json plan = plan_pipeline(load_pipeline("recipes/r1_tiny.yaml"));
  ASSERT_EQ(plan.size(), 10u);
  std::vector<std::string> cmds;
  for (const auto& s : plan) cmds.push_back(s["command"]);
  EXPECT_EQ(cmds, (std::vector<std::string>{"pretrain", "prefs", "rm", "cold_start", "sft", "grpo", "sample", "sft",
                                            "grpo", "eval"}));
  // the reward model: trained from the base on the prefs stage's pairs, not evaluated by generation
  EXPECT_EQ(plan[2]["config"]["model"], "runs/r1_tiny/base/model");
  EXPECT_EQ(plan[2]["config"]["data"], "runs/r1_tiny/prefs/train.jsonl");
  EXPECT_EQ(plan[2]["config"]["eval_data"], "runs/r1_tiny/prefs/eval.jsonl");
  EXPECT_TRUE(plan[2]["eval"].is_null());
  EXPECT_EQ(plan[4]["config"]["model"], "runs/r1_tiny/base/model");
  EXPECT_EQ(plan[4]["config"]["data"], "runs/r1_tiny/cold_data/cold_start.jsonl");
  EXPECT_EQ(plan[5]["config"]["rewards"], (json{{"accuracy", 1.0}, {"format", 0.1}, {"language", 0.1}}));
  EXPECT_EQ(plan[6]["config"]["output"], "runs/r1_tiny/rs/traces.jsonl");
  EXPECT_EQ(plan[7]["config"]["data"], "runs/r1_tiny/rs/traces.jsonl");
  // the final RL: the rule-based rewards and the reward model; readability measured before and after it
  EXPECT_EQ(plan[8]["config"]["rewards"]["reward_model"],
            (json{{"weight", 0.25}, {"path", "runs/r1_tiny/rm/model"}, {"on", "full"}, {"normalize", "batch"}}));
  EXPECT_EQ(plan[7]["eval"]["reward_model"], "runs/r1_tiny/rm/model");
  EXPECT_EQ(plan[8]["eval"]["reward_model"], "runs/r1_tiny/rm/model");
  EXPECT_EQ(plan[9]["config"]["model"], "runs/r1_tiny/rl_final/model");
  EXPECT_EQ(plan[9]["config"]["reward_model"], "runs/r1_tiny/rm/model");
  EXPECT_EQ(plan[9]["config"]["k"], 16);  // final_eval samples 16 per problem
  EXPECT_EQ(plan[9]["config"]["sampling"]["max_new_tokens"], 160);  // from the pipeline's eval default
  for (int i : {0, 4, 5, 7, 8}) EXPECT_TRUE(plan[i]["eval"].is_object()) << i;
  EXPECT_TRUE(plan[3]["eval"].is_null());
  // base.reuse: an existing model replaces pretraining; the references follow it
  plan = plan_pipeline(load_pipeline("recipes/r1_tiny.yaml", {"base.reuse=runs/pretrain_tiny/model", "out=/tmp/o"}));
  EXPECT_EQ(plan[0]["outputs"]["model"], "runs/pretrain_tiny/model");
  EXPECT_EQ(plan[4]["config"]["model"], "runs/pretrain_tiny/model");
  EXPECT_EQ(plan[7]["config"]["model"], "runs/pretrain_tiny/model");
  EXPECT_EQ(plan[2]["config"]["model"], "runs/pretrain_tiny/model");
  EXPECT_EQ(plan[4]["config"]["out"], "/tmp/o/cold_sft");

  plan = plan_pipeline(load_distill("recipes/distill_tiny.yaml", {"sft.epochs=1", "eval.k=2"}));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0]["name"], "teacher_eval");
  EXPECT_EQ(plan[0]["config"]["model"], "runs/r1_zero_tiny/model");
  EXPECT_EQ(plan[0]["config"]["k"], 2);
  EXPECT_EQ(plan[1]["config"]["model"], "runs/r1_zero_tiny/model");
  EXPECT_EQ(plan[2]["config"]["model"], "runs/pretrain_student/model");
  EXPECT_EQ(plan[2]["config"]["data"], "runs/distill_tiny/sample/traces.jsonl");
  EXPECT_EQ(plan[2]["config"]["epochs"], 1);
  EXPECT_EQ(plan[2]["eval"]["model"], "runs/distill_tiny/sft/model");
  EXPECT_EQ(plan[2]["eval"]["k"], 2);

  // The bf16 demo is the main job's demo with every stage and evaluation in bf16 and the fact-richer corpus mix,
  // and nothing else: the two plans differ in exactly those fields (and the run folder).
  json fp = plan_pipeline(load_pipeline("recipes/r1_zero_demo.yaml", {"out=/tmp/demo"}));
  json bf = plan_pipeline(load_pipeline("recipes/r1_zero_demo_bf16.yaml", {"out=/tmp/demo"}));
  ASSERT_EQ(fp.size(), 2u);
  ASSERT_EQ(bf.size(), 2u);
  for (int i : {0, 1}) {
    EXPECT_EQ(fp[i]["config"]["precision"], "fp32") << i;
    EXPECT_EQ(bf[i]["config"]["precision"], "bf16") << i;
    EXPECT_EQ(bf[i]["eval"]["precision"], "bf16") << i;
    EXPECT_EQ(fp[i]["eval"]["precision"], "fp32") << i;
    for (json* p : {&fp, &bf}) {
      (*p)[i]["config"].erase("precision");
      (*p)[i]["eval"].erase("precision");
    }
  }
  EXPECT_EQ(bf[0]["config"]["corpus_mix"],
            (json{{"direct", 0.05}, {"dialogue", 0.35}, {"working", 0.40}, {"facts", 0.155}}));
  EXPECT_EQ(fp[0]["config"]["corpus_mix"], (json{{"direct", 0.05}, {"dialogue", 0.35}, {"working", 0.40}, {"facts", 0.10}}));
  bf[0]["config"].erase("corpus_mix");
  fp[0]["config"].erase("corpus_mix");
  EXPECT_EQ(bf, fp);
}

// r1 distill end to end: a teacher that knows one verified trace, a random student; the student learns the
// teacher's traces.
TEST(Distill, TeacherTracesTrainTheStudent) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  std::string d = tmp("distill");
  const std::string trace = "<think> two and three make five </think> <answer>5</answer>";
  std::string data, probs;
  for (const char* q : {"What is 2+3?", "What is 1+4?", "What is 0+5?", "What is 3+2?"}) {
    data += json{{"prompt", q}, {"completion", trace}}.dump() + "\n";
    probs += json{{"prompt", q}, {"answer", "5"}}.dump() + "\n";
  }
  atomic_write(d + "/teach.jsonl", data);
  atomic_write(d + "/probs.jsonl", probs);
  // the teacher: a tiny model that memorises the trace (r1 sft)
  std::string teacher_log = d + "/teacher.log";
  ASSERT_EQ(run_r1({"sft", "model=" + tiny_model(d + "/teacher_base", 32, 1, 5), "data=" + d + "/teach.jsonl",
                    "out=" + d + "/teacher", "prompt_template=plain", "seq=96", "batch=4", "epochs=60", "eval_fraction=0",
                    "ckpt_every=0", "log_every=100", "optim.lr=0.01", "optim.weight_decay=0"},
                   teacher_log),
            0)
      << read_file(teacher_log);
  std::string student = tiny_model(d + "/student", 32, 1, 9);  // another random init
  std::string y = "out: " + d + "/run\nteacher: " + d + "/teacher/model\nstudent: " + student +
                  "\nsample: {task: " + d + "/probs.jsonl, prompt_template: plain, k: 4, sampling: {max_new_tokens: 40}}\n"
                  "sft: {prompt_template: plain, seq: 96, batch: 4, epochs: 60, eval_fraction: 0, ckpt_every: 0,\n"
                  "      optim: {lr: 0.01, weight_decay: 0.0}}\n"
                  "eval: {task: " + d + "/probs.jsonl, prompt_template: plain, k: 2, pass_k: [1, 2], sampling: {max_new_tokens: 40}}\n"
                  "eval_teacher: true\n";
  atomic_write(d + "/distill.yaml", y);
  std::string log = d + "/distill.log";
  ASSERT_EQ(run_r1({"distill", "--config", d + "/distill.yaml"}, log), 0) << read_file(log);
  const std::string P = d + "/run";
  for (const char* st : {"teacher_eval", "sample", "sft"}) EXPECT_TRUE(file_exists(P + "/" + st + "/stage.json")) << st;
  auto traces = jsonl(P + "/sample/traces.jsonl");
  ASSERT_FALSE(traces.empty()) << read_file(log);
  for (const auto& t : traces) EXPECT_EQ(t["completion"], trace);
  json teacher = json::parse(read_file(P + "/teacher_eval/stage.json"))["eval"]["summary"];
  json distilled = json::parse(read_file(P + "/sft/stage.json"))["eval"]["summary"];
  EXPECT_GT(teacher["greedy_accuracy"].get<double>(), 0.5) << teacher.dump();
  EXPECT_GT(distilled["greedy_accuracy"].get<double>(), 0.5) << "the student did not learn the traces: " << distilled.dump();
  // the whole recipe is resumable like any pipeline: a second run skips all three stages
  std::string log2 = d + "/distill2.log";
  ASSERT_EQ(run_r1({"distill", "--config", d + "/distill.yaml"}, log2), 0);
  EXPECT_EQ(count(read_file(log2), "finished earlier"), 3u) << read_file(log2);
  remove_tree(d);
}
