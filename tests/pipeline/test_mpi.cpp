// Data-parallel runs over MPI (core/dist.h, train/shards.h): GRPO, SFT and pretraining on 1, 2 and 4 ranks
// (mpirun --oversubscribe on this 2-core machine) give the same model bytes, metrics (timing aside) and
// completions; a run resumes with another rank count; a rank killed with SIGKILL ends the job with a message, and
// rerunning resumes to the same bits; shard counts that the ranks cannot split are one clear error before any work.
// Skipped with a message when r1 is built without MPI or mpirun is absent.
#include "core/io.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../train/spawn_r1.h"

using json = nlohmann::json;
using r1::file_exists;
using r1::read_file;

namespace {

std::string out_of(const std::string& cmd) {
  std::string s;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) s.append(buf, n);
  ::pclose(p);
  return s;
}

bool mpi_available(std::string& why) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) {
    why = "mpirun not found (scripts/install-deps.sh installs openmpi-bin)";
    return false;
  }
  if (out_of(r1_binary() + " info").find("mpi: built in") == std::string::npos) {
    why = "r1 is built without MPI (CMake R1_MPI, libopenmpi-dev)";
    return false;
  }
  return true;
}

const std::string kMpirun = "OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root --oversubscribe -np ";

std::string launch(int n, const std::string& args, const std::string& log) {
  return (n == 1 ? r1_binary() : kMpirun + std::to_string(n) + " " + r1_binary()) + " " + args + " > " + log + " 2>&1";
}

int run(int n, const std::string& args, const std::string& log) { return std::system(launch(n, args, log).c_str()); }

std::vector<json> metrics(const std::string& path) {
  std::vector<json> v;
  std::istringstream in(read_file(path));
  std::string l;
  while (std::getline(in, l)) {
    if (l.empty()) continue;
    json j = json::parse(l);
    for (const char* k : {"gen_s", "score_s", "train_s", "step_s", "elapsed_s", "tokens_per_s", "comm_s"}) j.erase(k);
    for (auto it = j.begin(); it != j.end();) it = it.key().rfind("reward_time_s/", 0) == 0 ? j.erase(it) : std::next(it);
    v.push_back(j);
  }
  return v;
}

void expect_same_run(const std::string& a, const std::string& b, bool completions) {
  ASSERT_TRUE(file_exists(a + "/model/model.safetensors")) << a;
  ASSERT_TRUE(file_exists(b + "/model/model.safetensors")) << b;
  EXPECT_EQ(read_file(a + "/model/model.safetensors"), read_file(b + "/model/model.safetensors")) << a << " vs " << b;
  EXPECT_EQ(metrics(a + "/metrics.jsonl"), metrics(b + "/metrics.jsonl")) << a << " vs " << b;
  if (completions) {
    EXPECT_EQ(read_file(a + "/completions.jsonl"), read_file(b + "/completions.jsonl")) << a << " vs " << b;
  }
}

// A tiny base model: 30 steps of the built-in corpus (seconds).
std::string base_model(const std::string& d) {
  const std::string args = "pretrain --config " + std::string(R1_SOURCE_DIR) + "/recipes/pretrain_tiny.yaml out=" + d +
                           "/base steps=30 corpus_docs=3000 seq=128 batch=4 model.layers=2 eval_every=0 ckpt_every=0";
  EXPECT_EQ(run(1, args, d + "/base.log"), 0) << read_file(d + "/base.log");
  return d + "/base/model";
}

std::string grpo_args(const std::string& model, const std::string& out, int steps) {
  return "grpo --config " + std::string(R1_SOURCE_DIR) + "/recipes/r1_zero_tiny.yaml model=" + model + " out=" + out +
         " steps=" + std::to_string(steps) +
         " task_config='{n: 200, min_operands: 2, max_operands: 3, max_value: 9, p_minus: 0.0}'"
         " sampling.prompts_per_step=4 sampling.max_new_tokens=32 eval_problems=8 eval_every=2 ckpt_every=2"
         " rewards='{accuracy: 1.0, format: 0.1, repetition: 0.2}' check_every=1";
}

// The pid of rank `r` of the job whose command line contains `tag`.
pid_t rank_pid(const std::string& tag, int r) {
  DIR* d = opendir("/proc");
  if (!d) return -1;
  pid_t found = -1;
  while (dirent* e = readdir(d)) {
    const pid_t pid = (pid_t)std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::string cmd, env;
    try {
      cmd = read_file("/proc/" + std::string(e->d_name) + "/cmdline");
      env = read_file("/proc/" + std::string(e->d_name) + "/environ");
    } catch (...) {
      continue;
    }
    for (char& c : cmd) c = c ? c : ' ';
    for (char& c : env) c = c ? c : '\n';
    if (cmd.find(tag) != std::string::npos && cmd.find("mpirun") == std::string::npos &&
        ("\n" + env).find("\nOMPI_COMM_WORLD_RANK=" + std::to_string(r) + "\n") != std::string::npos)
      found = pid;
  }
  closedir(d);
  return found;
}

struct MpiTest : ::testing::Test {
  std::string d;
  void SetUp() override {
    std::string why;
    if (!mpi_available(why)) GTEST_SKIP() << why;
    d = "/tmp/r1_mpi_test_" + std::to_string(::getpid());
    std::system(("rm -rf " + d + " && mkdir -p " + d).c_str());
  }
  void TearDown() override {
    if (!d.empty() && !HasFailure()) std::system(("rm -rf " + d).c_str());
  }
};

}  // namespace

TEST_F(MpiTest, GrpoSameBitsOnOneTwoFourRanksAndResumeWithAnotherCount) {
  const std::string base = base_model(d);
  for (int n : {1, 2, 4}) {
    const std::string out = d + "/grpo" + std::to_string(n);
    ASSERT_EQ(run(n, grpo_args(base, out, 4), out + ".log"), 0) << read_file(out + ".log");
  }
  expect_same_run(d + "/grpo1", d + "/grpo2", true);
  expect_same_run(d + "/grpo1", d + "/grpo4", true);
  // stopped on 2 ranks at step 2, resumed on 1 (and the other way round)
  ASSERT_EQ(run(2, grpo_args(base, d + "/r21", 4) + " stop_after=2", d + "/r21a.log"), 0) << read_file(d + "/r21a.log");
  ASSERT_FALSE(file_exists(d + "/r21/model/model.safetensors"));
  ASSERT_EQ(run(1, grpo_args(base, d + "/r21", 4), d + "/r21b.log"), 0) << read_file(d + "/r21b.log");
  expect_same_run(d + "/grpo1", d + "/r21", true);
  ASSERT_EQ(run(1, grpo_args(base, d + "/r14", 4) + " stop_after=2", d + "/r14a.log"), 0);
  ASSERT_EQ(run(4, grpo_args(base, d + "/r14", 4), d + "/r14b.log"), 0) << read_file(d + "/r14b.log");
  expect_same_run(d + "/grpo1", d + "/r14", true);
}

TEST_F(MpiTest, SftAndPretrainSameBitsOnOneTwoFourRanks) {
  const std::string base = base_model(d);
  std::string rows;
  for (int i = 0; i < 12; i++)
    rows += "{\"prompt\": \"" + std::to_string(i) + " + 2 =\", \"completion\": \" " + std::to_string(i + 2) + "\"}\n";
  r1::atomic_write(d + "/sft.jsonl", rows);
  for (int n : {1, 2, 4}) {
    const std::string s = d + "/sft" + std::to_string(n), p = d + "/pt" + std::to_string(n);
    ASSERT_EQ(run(n, "sft model=" + base + " data=" + d + "/sft.jsonl out=" + s +
                         " seq=32 batch=4 grad_accum=2 epochs=2 eval_fraction=0.25 ckpt_every=2", s + ".log"), 0)
        << read_file(s + ".log");
    ASSERT_EQ(run(n, "pretrain --config " + std::string(R1_SOURCE_DIR) + "/recipes/pretrain_tiny.yaml out=" + p +
                         " steps=6 corpus_docs=2000 seq=64 batch=4 grad_accum=2 model.layers=1 eval_every=3 ckpt_every=3",
                  p + ".log"), 0)
        << read_file(p + ".log");
  }
  for (const char* k : {"sft", "pt"}) {
    expect_same_run(d + "/" + k + "1", d + "/" + k + "2", false);
    expect_same_run(d + "/" + k + "1", d + "/" + k + "4", false);
  }
}

// The model rewards over MPI: a reward model normalised over the whole step's batch (every rank's rollouts) and a
// generative judge give the same bits on 1 and 2 ranks.
TEST_F(MpiTest, ModelRewardsSameBitsOnOneAndTwoRanks) {
  const std::string base = base_model(d);
  const std::string rm = d + "/rm";
  r1::reward_model_from(r1::Model::load(base), 5, 0.5f).save(rm);
  r1::Tokenizer::load(base).save(rm);
  const std::string rewards =
      " rewards='{accuracy: 1.0, reward_model: {weight: 0.5, path: " + rm + ", on: full, normalize: batch}, "
      "judge: {weight: 0.1, model: " + base + ", template: \"Question: {{ question }} Reply: {{ summary }} Score:\", "
      "max_new_tokens: 4, default: 0.5}}'";
  for (int n : {1, 2}) {
    const std::string g = d + "/mr" + std::to_string(n);
    ASSERT_EQ(run(n, grpo_args(base, g, 2) + rewards, g + ".log"), 0) << read_file(g + ".log");
  }
  expect_same_run(d + "/mr1", d + "/mr2", true);
  auto m = metrics(d + "/mr1/metrics.jsonl");
  ASSERT_GE(m.size(), 2u);
  EXPECT_TRUE(m[1].contains("reward/reward_model/mean")) << m[1].dump();
  EXPECT_TRUE(m[1].contains("reward/judge/mean"));
  EXPECT_EQ(m[1]["judge_judged"].get<double>(), 32.0);  // 4 prompts x G = 8, on both ranks together
  EXPECT_TRUE(m[1].contains("judge_unparsed"));
}

// LoRA over MPI: the adapters' gradients go through the same fixed tree, the replicas hash the adapters.
TEST_F(MpiTest, LoraGrpoAndSftSameBitsOnOneAndTwoRanks) {
  const std::string base = base_model(d);
  r1::atomic_write(d + "/sft.jsonl", "{\"prompt\": \"1 + 2 =\", \"completion\": \" 3\"}\n"
                                     "{\"prompt\": \"2 + 2 =\", \"completion\": \" 4\"}\n"
                                     "{\"prompt\": \"3 + 2 =\", \"completion\": \" 5\"}\n"
                                     "{\"prompt\": \"4 + 2 =\", \"completion\": \" 6\"}\n");
  for (int n : {1, 2}) {
    const std::string g = d + "/lg" + std::to_string(n), s = d + "/ls" + std::to_string(n);
    ASSERT_EQ(run(n, grpo_args(base, g, 3) + " lora.r=8 lora.alpha=16 optim.lr=0.003", g + ".log"), 0) << read_file(g + ".log");
    ASSERT_EQ(run(n, "sft model=" + base + " data=" + d + "/sft.jsonl out=" + s +
                         " seq=32 batch=2 epochs=2 eval_fraction=0 ckpt_every=0 lora.r=4 lora.targets=q,v", s + ".log"), 0)
        << read_file(s + ".log");
  }
  for (const char* k : {"lg", "ls"}) {
    expect_same_run(d + "/" + k + "1", d + "/" + k + "2", std::string(k) == "lg");
    EXPECT_EQ(read_file(d + "/" + k + "1/adapter/adapter_model.safetensors"),
              read_file(d + "/" + k + "2/adapter/adapter_model.safetensors"));
  }
}

TEST_F(MpiTest, KilledRankEndsTheJobWithAMessageAndTheRerunResumesExactly) {
  const std::string base = base_model(d);
  ASSERT_EQ(run(1, grpo_args(base, d + "/full", 24), d + "/full.log"), 0) << read_file(d + "/full.log");
  const std::string out = d + "/killed", log = d + "/killed.log";
  const std::string cmd = "sh -c \"" + launch(2, grpo_args(base, out, 24), log) + "; echo \\$? > " + d + "/rc\" &";
  std::system(cmd.c_str());
  // kill rank 1 once a checkpoint exists
  pid_t victim = -1;
  for (int i = 0; i < 600 && victim < 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (file_exists(out + "/checkpoint/state.json")) victim = rank_pid("out=" + out + " ", 1);
  }
  ASSERT_GT(victim, 0) << "rank 1 of the job was not found running after its first checkpoint";
  ::kill(victim, SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  while (!file_exists(d + "/rc") && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(file_exists(d + "/rc")) << "the job did not end within 60 s of the kill";
  const double ended_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ended_s, 15.0);
  EXPECT_NE(read_file(d + "/rc"), "0\n");
  const std::string said = read_file(log);
  EXPECT_NE(said.find("[rank 0] stopping: the job is ending"), std::string::npos) << said;
  EXPECT_FALSE(file_exists(out + "/model/model.safetensors"));
  // the same command again resumes from the last complete checkpoint, to the uninterrupted run's bits
  ASSERT_EQ(run(2, grpo_args(base, out, 24), d + "/resumed.log"), 0) << read_file(d + "/resumed.log");
  EXPECT_NE(read_file(d + "/resumed.log").find("resuming from"), std::string::npos);
  expect_same_run(d + "/full", out, true);
}

TEST_F(MpiTest, ShardsTheRanksCannotSplitAreOneClearErrorBeforeAnyWork) {
  const std::string base = base_model(d);
  EXPECT_NE(run(3, grpo_args(base, d + "/bad3", 2) + " shards=4", d + "/bad3.log"), 0);
  EXPECT_NE(read_file(d + "/bad3.log").find("3 ranks do not divide shards = 4"), std::string::npos) << read_file(d + "/bad3.log");
  EXPECT_FALSE(file_exists(d + "/bad3/completions.jsonl"));
  EXPECT_NE(run(1, grpo_args(base, d + "/bad6", 2) + " shards=3", d + "/bad6.log"), 0);
  EXPECT_NE(read_file(d + "/bad6.log").find("'shards' must be a power of two"), std::string::npos) << read_file(d + "/bad6.log");
  EXPECT_NE(run(1, grpo_args(base, d + "/bad8", 2) + " shards=8", d + "/bad8.log"), 0);  // 4 groups per step
  EXPECT_NE(read_file(d + "/bad8.log").find("shards = 8 must divide the 4 groups"), std::string::npos) << read_file(d + "/bad8.log");
  EXPECT_NE(run(2, grpo_args(base, d + "/dyn", 2) + " dynamic_sampling=true", d + "/dyn.log"), 0);
  EXPECT_NE(read_file(d + "/dyn.log").find("dynamic_sampling"), std::string::npos) << read_file(d + "/dyn.log");
}
