// `r1 rm` (train/rm.h): a tiny random LM made a reward model learns a systematic preference (held-out pair accuracy
// up, loss down); the output is a *ForSequenceClassification folder that loads back with the same scores; stop and
// resume give the same metrics and bytes; the three row forms give the same ids; bad rows give one error naming
// file:line and field; centering and margins change the loss as the formula says; 1 and 2 MPI ranks agree.
#include "core/check.h"
#include "core/io.h"
#include "formats/safetensors.h"
#include "model/transformer.h"
#include "scoring/rm_input.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/rm.h"
#include "train/rm_data.h"
#include "spawn_r1.h"

#include "../tiny_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

namespace {

const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"};
const char* kTemplate = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
                        "{% if add_generation_prompt %}<|assistant|>{% endif %}";

std::string tmp(const std::string& tag) {
  std::string d = "/tmp/r1_rm_test_" + std::to_string(::getpid()) + "_" + tag;
  remove_tree(d);
  make_dirs(d);
  return d;
}

std::string tiny_lm(const std::string& dir) { return test::save_tiny_qwen2(dir, kSpecials, 128, 11, 0.05f); }

// Chosen replies are made of vowels, rejected ones of other letters: a preference any model can learn.
std::string pairs_jsonl(const std::string& path, int n, int salt, bool with_margin = false) {
  std::string s;
  const std::string good = "aeiou", bad = "xzqwk";
  for (int i = 0; i < n; i++) {
    std::string c, r;
    for (int k = 0; k < 3 + (i * 7 + salt) % 4; k++) {
      c += good[(size_t)(i * 3 + k * 5 + salt) % 5];
      r += bad[(size_t)(i * 5 + k * 3 + salt) % 5];
    }
    json row = {{"prompt", "q" + std::to_string(i + salt) + ":"}, {"chosen", c}, {"rejected", r},
                {"kind", i % 2 ? "odd" : "even"}};
    if (with_margin) row["margin"] = 0.5 * (i % 3);
    s += row.dump() + "\n";
  }
  atomic_write(path, s);
  return path;
}

std::vector<json> lines(const std::string& path) {
  std::vector<json> v;
  std::istringstream in(read_file(path));
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) {
      json j = json::parse(l);
      for (const char* k : {"pairs_per_s", "tokens_per_s", "comm_s"}) j.erase(k);
      v.push_back(j);
    }
  return v;
}

RmRecipe tiny_recipe(const std::string& d) {
  RmRecipe c;
  c.model = tiny_lm(d + "/lm");
  c.data = pairs_jsonl(d + "/train.jsonl", 40, 0);
  c.eval_data = pairs_jsonl(d + "/eval.jsonl", 16, 100);
  c.out = d + "/run";
  c.batch = 8;
  c.epochs = 8;
  c.eval_every = 10;
  c.ckpt_every = 0;
  c.optim.lr = 3e-3f;
  c.optim.warmup_steps = 2;
  c.optim.weight_decay = 0;
  return c;
}

// The gaps rc − rr of every pair of `path` under the model in `dir`, chunk pairs per forward (as the trainer's eval).
std::vector<float> gaps_of(const std::string& dir, const std::string& path, int chunk) {
  Model m = Model::load(dir);
  Tokenizer tok = Tokenizer::load(dir);
  RmPairs ps = read_rm_pairs(path, tok, m.cfg, nullptr, false, 1 << 20);
  std::vector<float> gaps;
  for (size_t lo = 0; lo < ps.pairs.size(); lo += chunk) {
    std::vector<const RmPair*> ptr;
    for (size_t i = lo; i < std::min(ps.pairs.size(), lo + chunk); i++) ptr.push_back(&ps.pairs[i]);
    PackedBatch b;
    std::vector<int> rows;
    pack_rm_pairs(ptr.data(), (int)ptr.size(), b, rows);
    m.forward_score(b.ids.data(), b.N, b.seqs, rows);
    for (size_t i = 0; i < ptr.size(); i++) gaps.push_back(m.act().scores[2 * i] - m.act().scores[2 * i + 1]);
  }
  return gaps;
}

}  // namespace

TEST(RmTrainer, LearnsThePreferenceAndWritesAScoreModelThatLoadsBack) {
  const std::string d = tmp("learn");
  RmRecipe c = tiny_recipe(d);
  RmSummary s = run_rm(c);
  EXPECT_EQ(s.steps, 40);
  ASSERT_GE(s.first_eval_accuracy, 0);
  EXPECT_GE(s.last_eval_accuracy, 0.9) << "held-out accuracy " << s.first_eval_accuracy << " -> " << s.last_eval_accuracy;
  EXPECT_GT(s.last_eval_accuracy, s.first_eval_accuracy);
  EXPECT_LT(s.last_eval_loss, s.first_eval_loss - 0.2) << s.first_eval_loss << " -> " << s.last_eval_loss;
  EXPECT_LT(s.last_loss, s.first_loss);

  const std::string md = c.out + "/model";
  json cfg = json::parse(read_file(md + "/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "Qwen2ForSequenceClassification");
  SafeTensorsFile st(md + "/model.safetensors");
  EXPECT_EQ(st.read_f32("score.weight").size(), 32u);
  EXPECT_EQ(Model::load(md).cfg.head, Head::Score);
  EXPECT_TRUE(file_exists(md + "/tokenizer.json"));

  // eval.json: the final held-out gaps, which the saved model reproduces exactly
  json ev = json::parse(read_file(c.out + "/eval.json"));
  EXPECT_EQ(ev["pairs"], 16);
  EXPECT_EQ(ev["step"], 40);
  EXPECT_DOUBLE_EQ(ev["accuracy"].get<double>(), s.last_eval_accuracy);
  EXPECT_EQ(ev["by_kind"]["odd"]["pairs"], 8);
  std::vector<float> gaps = gaps_of(md, c.eval_data, c.batch / 8);  // the trainer's chunks: one shard (8 shards)
  ASSERT_EQ(ev["gaps"].size(), gaps.size());
  for (size_t i = 0; i < gaps.size(); i++) EXPECT_EQ(ev["gaps"][i].get<float>(), gaps[i]) << i;

  auto m = lines(c.out + "/metrics.jsonl");
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m[0]["step"], 0);
  EXPECT_TRUE(m[0].contains("eval_accuracy"));
  for (const char* k : {"loss", "accuracy", "margin_mean", "reward_chosen_mean", "reward_rejected_mean", "lr", "grad_norm"})
    EXPECT_TRUE(m[1].contains(k)) << k;
  EXPECT_TRUE(m.back().contains("eval_margin_mean"));

  // continuing from the reward model itself (not made again from an LM)
  RmRecipe again = c;
  again.model = md;
  again.out = d + "/again";
  again.steps = 1;
  again.eval_every = 0;
  RmSummary s2 = run_rm(again);
  EXPECT_NEAR(s2.first_eval_accuracy, s.last_eval_accuracy, 1e-12);
  remove_tree(d);
}

TEST(RmTrainer, StopAndResumeGiveTheSameMetricsAndBytes) {
  const std::string d = tmp("resume");
  RmRecipe c = tiny_recipe(d);
  c.epochs = 2;
  c.eval_every = 3;
  c.eval_data = "";
  c.eval_fraction = 0.1;  // 36 training pairs: each epoch ends with a short batch of 4 (stopped at step 5, right after it)
  c.ckpt_every = 4;
  run_rm(c);
  RmRecipe r = c;
  r.out = d + "/run2";
  r.stop_after = 5;
  run_rm(r);
  EXPECT_FALSE(file_exists(r.out + "/model/model.safetensors"));
  r.stop_after = 0;
  run_rm(r);
  EXPECT_EQ(lines(c.out + "/metrics.jsonl"), lines(r.out + "/metrics.jsonl"));
  EXPECT_EQ(read_file(c.out + "/model/model.safetensors"), read_file(r.out + "/model/model.safetensors"));
  EXPECT_EQ(read_file(c.out + "/eval.json"), read_file(r.out + "/eval.json"));
  remove_tree(d);
}

TEST(RmTrainer, ConversationalAndImplicitPromptRowsGiveTheStringFormsIds) {
  Tokenizer tok = Tokenizer::byte_level(kSpecials);
  ChatTemplate chat = ChatTemplate::from_string(kTemplate);
  ModelConfig cfg = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, 128);
  const json user = {{"role", "user"}, {"content", "hi"}}, yes = {{"role", "assistant"}, {"content", "yes"}},
             no = {{"role", "assistant"}, {"content", "no"}};
  RmPair s = encode_rm_row(json{{"prompt", "<|user|>hi<|end|><|assistant|>"}, {"chosen", "yes"}, {"rejected", "no"}},
                           tok, cfg, &chat, false, "x:1");
  const int U = tok.token_id("<|user|>"), A = tok.token_id("<|assistant|>"), E = tok.token_id("<|end|>");
  EXPECT_EQ(s.prompt, (std::vector<int>{U, 'h', 'i', E, A}));
  EXPECT_EQ(s.chosen, (std::vector<int>{'y', 'e', 's', tok.eos_id()}));
  EXPECT_EQ(s.rejected, (std::vector<int>{'n', 'o', tok.eos_id()}));
  RmPair conv = encode_rm_row(json{{"prompt", {user}}, {"chosen", {yes}}, {"rejected", {no}}}, tok, cfg, &chat, false, "x:2");
  RmPair impl = encode_rm_row(json{{"chosen", {user, yes}}, {"rejected", {user, no}}}, tok, cfg, &chat, false, "x:3");
  for (const RmPair* p : {&conv, &impl}) {
    EXPECT_EQ(p->prompt, s.prompt);
    EXPECT_EQ(p->chosen, s.chosen);
    EXPECT_EQ(p->rejected, s.rejected);
  }
  // a longer shared conversation is all prompt; rm_ids is what the reward model reads when it scores
  const json turn = {{"role", "assistant"}, {"content", "ok"}}, q2 = {{"role", "user"}, {"content", "and?"}};
  RmPair multi = encode_rm_row(json{{"chosen", {user, turn, q2, yes}}, {"rejected", {user, turn, q2, no}}}, tok, cfg,
                               &chat, false, "x:4");
  RmIds want = rm_ids(tok, cfg, "<|user|>hi<|end|><|assistant|>ok<|end|><|user|>and?<|end|><|assistant|>", "yes");
  EXPECT_EQ(multi.prompt, want.prompt);
  EXPECT_EQ(multi.chosen, want.response);
  // margins and kinds
  RmPair m = encode_rm_row(json{{"prompt", "p"}, {"chosen", "a"}, {"rejected", "b"}, {"margin", 2.5}, {"kind", "k"}},
                           tok, cfg, nullptr, true, "x:5");
  EXPECT_FLOAT_EQ(m.margin, 2.5f);
  EXPECT_EQ(m.kind, "k");
  EXPECT_FLOAT_EQ(encode_rm_row(json{{"prompt", "p"}, {"chosen", "a"}, {"rejected", "b"}, {"margin", 2.5}}, tok, cfg,
                                nullptr, false, "x:6").margin, 0.f);
}

TEST(RmTrainer, BadRowsAreOneErrorNamingFileLineAndField) {
  const std::string d = tmp("bad");
  Tokenizer tok = Tokenizer::byte_level(kSpecials);
  ChatTemplate chat = ChatTemplate::from_string(kTemplate);
  ModelConfig cfg = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, 128);
  const std::string good = R"({"prompt": "p", "chosen": "a", "rejected": "b"})";
  struct Case {
    std::string row, field, what;
  };
  const std::vector<Case> cases = {
      {R"({"prompt": "p", "chosen": "a"})", "\"rejected\" is missing", "expected a string, or a list"},
      {R"({"prompt": "p", "chosen": 3, "rejected": "b"})", "field \"chosen\"", "expected a string, or a list"},
      {R"({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "user", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]})",
       "field \"chosen\"", "assistant"},
      {R"({"chosen": [{"role": "user", "content": "q"}], "rejected": [{"role": "user", "content": "r"}]})",
       "field \"chosen\"", "assistant"},
      {R"({"prompt": [{"role": "user"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]})",
       "field \"prompt\"[0]", "\"content\": string"},
      {R"({"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"})", "field \"margin\"", "a number"},
      {R"({"prompt": "p", "chosen": "a", "rejected": [{"role": "assistant", "content": "b"}]})", "field \"chosen\"",
       "list of messages"},
      {"[1, 2]", "expected an object", "\"chosen\""},
      {"{not json", "not valid JSON", ""},
  };
  for (size_t i = 0; i < cases.size(); i++) {
    const std::string path = d + "/bad" + std::to_string(i) + ".jsonl";
    atomic_write(path, good + "\n\n" + cases[i].row + "\n");
    try {
      read_rm_pairs(path, tok, cfg, &chat, true, 1000);
      ADD_FAILURE() << "no error for " << cases[i].row;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path + ":3"), std::string::npos) << msg;
      EXPECT_NE(msg.find(cases[i].field), std::string::npos) << msg;
      EXPECT_NE(msg.find(cases[i].what), std::string::npos) << msg;
    }
  }
  // conversational rows without a chat template
  atomic_write(d + "/conv.jsonl", R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]})" "\n");
  EXPECT_THROW(read_rm_pairs(d + "/conv.jsonl", tok, cfg, nullptr, false, 1000), Error);
  // too long: dropped and counted
  atomic_write(d + "/long.jsonl", good + "\n" + R"({"prompt": "pppppppp", "chosen": "a", "rejected": "b"})" + "\n");
  RmPairs lp = read_rm_pairs(d + "/long.jsonl", tok, cfg, nullptr, false, 4);
  EXPECT_EQ(lp.pairs.size(), 1u);
  EXPECT_EQ(lp.too_long, 1);

  // the recipe: LoRA refused, bad fields, and a bad row reaches the user with file:line
  RmRecipe c = tiny_recipe(d);
  c.lora_r = 8;
  try {
    run_rm(c);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("LoRA is not supported"), std::string::npos) << e.what();
  }
  c.lora_r = 0;
  c.shards = 3;
  EXPECT_THROW(run_rm(c), Error);
  c.shards = 0;
  c.data = d + "/bad0.jsonl";
  try {
    run_rm(c);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad0.jsonl:3"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(c.out)) << "nothing written before the inputs are known to be usable";
  remove_tree(d);
}

// One step over every training pair: the recorded loss is Σ [−log σ(rc − rr − m) + center (rc + rr)²] / P of the
// initial reward model's scores, computed here by hand.
TEST(RmTrainer, CenteringAndMarginChangeTheLossAsTheFormulaSays) {
  const std::string d = tmp("formula");
  RmRecipe c = tiny_recipe(d);
  c.data = pairs_jsonl(d + "/m.jsonl", 8, 3, true);
  c.eval_data = "";
  c.eval_fraction = 0;
  c.batch = 8;
  c.steps = 1;
  Model lm = Model::load(c.model);
  Model rmod = reward_model_from(lm, (uint64_t)c.seed);
  const std::string init = d + "/rm_init";
  rmod.save(init);
  Tokenizer::load(c.model).save(init);
  std::vector<float> rc, rr, mg;
  {
    Tokenizer tok = Tokenizer::load(c.model);
    RmPairs ps = read_rm_pairs(c.data, tok, rmod.cfg, nullptr, true, 1000);
    for (const RmPair& p : ps.pairs) {
      const RmPair* one = &p;
      PackedBatch b;
      std::vector<int> rows;
      pack_rm_pairs(&one, 1, b, rows);
      rmod.forward_score(b.ids.data(), b.N, b.seqs, rows);
      rc.push_back(rmod.act().scores[0]);
      rr.push_back(rmod.act().scores[1]);
      mg.push_back(p.margin);
    }
  }
  auto by_hand = [&](double center, bool margin) {
    double l = 0;
    for (size_t i = 0; i < rc.size(); i++) {
      const double x = (double)rc[i] - rr[i] - (margin ? mg[i] : 0.0), s = (double)rc[i] + rr[i];
      l += std::log1p(std::exp(-x)) + center * s * s;
    }
    return l / rc.size();
  };
  std::vector<double> got;
  for (auto [center, margin] : std::vector<std::pair<double, bool>>{{0, false}, {0.5, false}, {0, true}, {0.5, true}}) {
    RmRecipe r = c;
    r.out = d + "/run_" + std::to_string(got.size());
    r.center_rewards_coefficient = center;
    r.margin = margin;
    run_rm(r);
    const double loss = lines(r.out + "/metrics.jsonl").back()["loss"].get<double>();
    EXPECT_NEAR(loss, by_hand(center, margin), 1e-5 * (1 + by_hand(center, margin))) << center << " " << margin;
    got.push_back(loss);
  }
  EXPECT_GT(std::fabs(got[1] - got[0]), 1e-6);  // the centring term is there...
  EXPECT_GT(got[2], got[0]);                    // ...and margins m >= 0 make −log σ(rc − rr − m) larger
  // a reward model given as `model` starts from exactly these scores
  RmRecipe r = c;
  r.model = init;
  r.out = d + "/from_rm";
  run_rm(r);
  EXPECT_NEAR(lines(r.out + "/metrics.jsonl").back()["loss"].get<double>(), by_hand(0, false), 1e-5);
  remove_tree(d);
}

TEST(RmTrainer, ShippedRecipeParses) {
  RmRecipe c;
  OptionSet o;
  c.declare(o);
  EXPECT_NO_THROW(o.load_yaml(std::string(R1_SOURCE_DIR) + "/recipes/rm_tiny.yaml"));
  EXPECT_FALSE(c.data.empty());
  EXPECT_FALSE(c.eval_data.empty());
  EXPECT_NO_THROW(check_rm(c));
  EXPECT_THROW(o.apply_overrides({"lora.alpha=16"}), Error);
}

// `r1 rm` from the command line on 1, 2 and 4 MPI ranks: the same model bytes and metrics (timing aside). 44 pairs
// in steps of 8: every sixth step has 4 pairs, so the shards of the second half (the second rank's) are empty.
TEST(RmTrainer, OneTwoAndFourMpiRanksGiveTheSameBits) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not found";
  const std::string d = tmp("mpi");
  std::string info;
  {
    FILE* p = ::popen((r1_binary() + " info 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) info.append(buf, n);
    if (p) ::pclose(p);
  }
  if (info.find("mpi: built in") == std::string::npos) GTEST_SKIP() << "r1 is built without MPI";
  RmRecipe c = tiny_recipe(d);
  const std::string args = " rm model=" + c.model + " data=" + pairs_jsonl(d + "/mpi.jsonl", 44, 0) +
                           " eval_data=" + c.eval_data + " batch=8 epochs=2 eval_every=3 ckpt_every=2 optim.lr=0.003 out=";
  const std::string mpirun = "OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root --oversubscribe -np ";
  for (int n : {1, 2, 4}) {
    const std::string out = d + "/n" + std::to_string(n);
    const std::string cmd = (n == 1 ? "" : mpirun + std::to_string(n) + " ") + r1_binary() + args + out;
    ASSERT_EQ(std::system((cmd + " > " + out + ".log 2>&1").c_str()), 0) << read_file(out + ".log");
  }
  EXPECT_EQ(lines(d + "/n1/metrics.jsonl").size(), 13u);  // step 0 (eval) and 12 steps of 6 per epoch
  for (const char* n : {"/n2", "/n4"}) {
    EXPECT_EQ(read_file(d + "/n1/model/model.safetensors"), read_file(d + n + "/model/model.safetensors")) << n;
    EXPECT_EQ(lines(d + "/n1/metrics.jsonl"), lines(d + n + "/metrics.jsonl")) << n;
  }
  remove_tree(d);
}
