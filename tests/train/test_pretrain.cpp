// Pretraining end to end on tiny shapes: the loss goes down, the checkpoint loads back, a resumed run matches an
// uninterrupted one to the bit; recipes and overrides.
#include "core/check.h"
#include "core/io.h"
#include "model/transformer.h"
#include "train/checkpoint_dir.h"
#include "core/options.h"
#include "train/pretrain.h"
#include "spawn_r1.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

using namespace r1;

static std::string tmp(const std::string& tag) {
  std::string d = "/tmp/r1_pretrain_test_" + std::to_string(::getpid()) + "_" + tag;
  remove_tree(d);
  return d;
}

static PretrainConfig tiny(const std::string& out) {
  PretrainConfig c;
  c.out = out;
  c.corpus_docs = 3000;
  c.hidden = 32;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 1;
  c.ffn = 64;
  c.batch = 4;
  c.seq = 32;
  c.steps = 40;
  c.eval_every = 20;
  c.ckpt_every = 10;
  c.optim.lr = 1e-2f;
  c.optim.warmup_steps = 5;
  return c;
}

static std::vector<nlohmann::json> metrics(const std::string& run) {
  std::vector<nlohmann::json> v;
  std::istringstream in(read_file(run + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

TEST(Pretrain, LossFallsAndModelLoadsBack) {
  std::string d = tmp("fall");
  PretrainConfig c = tiny(d);
  c.log_every = 1;
  run_pretrain(c);
  auto m = metrics(d);
  ASSERT_EQ(m.size(), 40u);
  double first = m.front()["loss"], last = m.back()["loss"];
  // uniform over the 261-token byte vocabulary is ln(261) = 5.56
  EXPECT_GT(first, 5.0);
  EXPECT_LT(last, first - 2.0) << "loss did not fall";
  EXPECT_TRUE(m.back().contains("eval_loss"));
  Model back = Model::load(d + "/model");
  EXPECT_EQ(back.cfg.C, 32);
  EXPECT_TRUE(file_exists(d + "/model/tokenizer.json"));
  EXPECT_TRUE(file_exists(d + "/checkpoint/optimizer.safetensors"));
}

static void expect_same_metrics(const std::string& a, const std::string& b) {
  auto ma = metrics(a), mb = metrics(b);
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); i++) {
    ma[i].erase("tokens_per_s");
    mb[i].erase("tokens_per_s");
    EXPECT_EQ(ma[i].dump(), mb[i].dump()) << "line " << i;
  }
}

TEST(Pretrain, StopAndResumeIsBitExact) {
  std::string a = tmp("a"), b = tmp("b");
  PretrainConfig ca = tiny(a);
  ca.steps = 20;
  ca.log_every = 1;
  run_pretrain(ca);
  PretrainConfig cb = ca;
  cb.out = b;
  cb.stop_after = 7;  // between checkpoints: stop writes its own
  run_pretrain(cb);
  EXPECT_EQ(metrics(b).size(), 7u);
  cb.stop_after = 0;
  run_pretrain(cb);
  expect_same_metrics(a, b);
  Model ma = Model::load(a + "/model"), mb = Model::load(b + "/model");
  EXPECT_EQ(0, std::memcmp(ma.params(), mb.params(), sizeof(float) * ma.n_params));
}

TEST(Pretrain, KillNineAndResumeIsBitExact) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  std::string a = tmp("ka"), b = tmp("kb");
  auto args = [](const std::string& out) {
    return std::vector<std::string>{"pretrain", "out=" + out, "corpus_docs=3000", "model.hidden=32", "model.layers=2",
                                    "model.heads=2", "model.kv_heads=1", "model.ffn=64", "batch=4", "seq=32",
                                    "steps=30", "eval_every=20", "ckpt_every=5", "log_every=1", "optim.lr=0.01",
                                    "optim.warmup_steps=5"};
  };
  ASSERT_EQ(wait_exit(spawn_r1(args(a))), 0) << "uninterrupted run failed";
  pid_t pid = spawn_r1(args(b));
  // kill -9 once at least one checkpoint exists and the run is still going
  for (int i = 0; i < 200000 && find_checkpoint_dir(b).empty(); i++) usleep(100);
  usleep(20000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  ASSERT_EQ(wait_exit(spawn_r1(args(b))), 0) << "resumed run failed";
  expect_same_metrics(a, b);
}

TEST(Pretrain, CorpusMixSetsSharesAndRejectsBadMaps) {
  PretrainConfig c;
  OptionSet o;
  c.declare(o);
  o.apply_overrides({"corpus_mix={dialogue: 0.35, working: 0.4, facts: 0.1}"});
  CorpusConfig cc = builtin_corpus_config(c);
  EXPECT_DOUBLE_EQ(cc.p_dialogue, 0.35);
  EXPECT_DOUBLE_EQ(cc.p_working, 0.4);
  EXPECT_DOUBLE_EQ(cc.p_direct, CorpusConfig().p_direct);  // kinds not named keep the defaults
  // the shares reach the documents: all dialogue, no tags -> every document is a direct "User: ... Assistant: N."
  o.apply_overrides({"corpus_mix={direct: 0, dialogue: 1, working: 0, facts: 0, answer_key: 0, notes: 0, tagged: 0}",
                     "corpus_reply_tags=0", "corpus_direct_reply_tags=0", "corpus_docs=50"});
  for (const auto& d : synthetic_arithmetic_docs(builtin_corpus_config(c))) {
    EXPECT_NE(d.find("User: What is "), std::string::npos) << d;
    EXPECT_EQ(d.find("<"), std::string::npos) << d;
  }
  auto expect_error = [&](const std::string& mix, const std::string& needle) {
    PretrainConfig b;
    OptionSet ob;
    b.declare(ob);
    ob.apply_overrides({"corpus_mix=" + mix});
    try {
      builtin_corpus_config(b);
      ADD_FAILURE() << mix << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("{dialog: 0.2}", "unknown kind 'dialog'");
  expect_error("{working: 1.5}", "corpus_mix.working must be a number in [0, 1]");
  expect_error("{working: 0.9, dialogue: 0.5}", "more than 1");
  expect_error("[0.1, 0.2]", "expects a map");
}

TEST(Options, RecipeOverridesAndErrors) {
  PretrainConfig c;
  OptionSet o;
  c.declare(o);
  std::string y = tmp("yaml") + ".yaml";
  atomic_write(y, "steps: 77\nmodel:\n  hidden: 64\noptim:\n  lr: 0.5\n");
  o.load_yaml(y);
  o.apply_overrides({"model.layers=3", "optim.lr=0.25"});
  EXPECT_EQ(c.steps, 77);
  EXPECT_EQ(c.hidden, 64);
  EXPECT_EQ(c.layers, 3);
  EXPECT_FLOAT_EQ(c.optim.lr, 0.25f);
  atomic_write(y, "stepz: 1\n");
  try {
    o.load_yaml(y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field 'stepz'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(y), std::string::npos) << e.what();
  }
  EXPECT_THROW(o.apply_overrides({"steps=abc"}), Error);
  EXPECT_THROW(o.apply_overrides({"noequals"}), Error);
  atomic_write(y, "steps: [1\n");
  EXPECT_THROW(o.load_yaml(y), Error);
  EXPECT_NE(o.to_yaml().find("hidden: 64"), std::string::npos);
}
