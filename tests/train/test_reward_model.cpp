// The score head (reward models, issue 18): the model against the PyTorch reference (tools/torch_ref/
// gen_rm_fixtures.py: transformers' *ForSequenceClassification with one label, float64), scores and every gradient
// of a Bradley-Terry loss; checkpoints with transformers' names; reward_model_from; the shared-prefix layout; and
// the errors (two labels, the LM calls on a reward model, mismatched checkpoints, generation and export).
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "formats/safetensors.h"
#include "model/gguf_model.h"
#include "model/infer.h"
#include "model/transformer.h"
#include "train/rm_loss.h"

#include "allclose.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }
static std::string tmpdir(const std::string& tag) {
  std::string d = "/tmp/r1_rm_test_" + std::to_string(::getpid()) + "_" + tag;
  make_dirs(d);
  return d;
}
template <class F>
static std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
static bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The fixture's right-padded rows packed as one sequence each, without the padding; each row scored at its last
// real token: the token before the first pad_token_id, as transformers finds it.
struct PackedRows {
  std::vector<int> ids, rows;
  std::vector<PackedSeq> seqs;
};
static PackedRows pack_rows(const SafeTensorsFile& ref, int pad) {
  PackedRows p;
  const int B = (int)ref.find("input_ids")->shape[0], T = (int)ref.find("input_ids")->shape[1];
  auto ids = ref.read_i64("input_ids"), lengths = ref.read_i64("lengths"), last = ref.read_i64("last_index");
  for (int b = 0; b < B; b++) {
    int len = 0;
    while (len < T && ids[(size_t)b * T + len] != pad) len++;
    EXPECT_EQ(len, lengths[b]) << "row " << b;
    EXPECT_EQ(len - 1, last[b]) << "row " << b;
    p.seqs.push_back({(int)p.ids.size(), len, -1});
    for (int t = 0; t < len; t++) p.ids.push_back((int)ids[(size_t)b * T + t]);
    p.rows.push_back((int)p.ids.size() - 1);
  }
  return p;
}

// Bradley-Terry over rows paired (0, 1), (2, 3), ...: chosen the even rows, rejected the odd ones. dscores [S].
static double bt_over_rows(std::vector<float>& dscores, const std::vector<float>& scores, const float* margin,
                           double center) {
  const int P = (int)scores.size() / 2;
  std::vector<float> rc(P), rr(P), drc(P), drr(P);
  for (int p = 0; p < P; p++) rc[p] = scores[2 * p], rr[p] = scores[2 * p + 1];
  double loss = bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), margin, P, center, P);
  dscores.assign(scores.size(), 0.f);
  for (int p = 0; p < P; p++) dscores[2 * p] = drc[p], dscores[2 * p + 1] = drr[p];
  return loss;
}

class RmVsTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(RmVsTorch, ScoresLossAndEveryGradient) {
  std::string dir = fixture(std::string("rm/") + GetParam());
  Model m = Model::load(dir);
  ASSERT_EQ(m.cfg.head, Head::Score);
  EXPECT_EQ(m.w.lm_head, nullptr);
  EXPECT_EQ(m.specs.back().name, "score.weight");
  EXPECT_EQ(m.specs.back().shape, (std::vector<int64_t>{1, m.cfg.C}));
  SafeTensorsFile ref(dir + "/reference.safetensors");
  PackedRows p = pack_rows(ref, m.cfg.raw["pad_token_id"].get<int>());
  m.zero_grad();
  m.forward_score(p.ids.data(), (int)p.ids.size(), p.seqs, p.rows);
  EXPECT_EQ(m.act().logits, nullptr);  // no [N, V] logits for a score model
  expect_allclose(m.act().scores.data(), ref.read_f32("scores"), 2e-5f, 1e-5f, "scores");
  auto margin = ref.read_f32("margin");
  std::vector<float> dscores;
  double loss = bt_over_rows(dscores, m.act().scores, margin.data(), ref.read_f32("center")[0]);
  EXPECT_NEAR(loss, ref.read_f32("loss")[0], 2e-6);
  expect_allclose(dscores.data(), ref.read_f32("dscores"), 1e-6f, 1e-4f, "dscores");
  m.backward_score(dscores.data());
  for (const auto& s : m.specs) {
    auto want = ref.read_f32("grad." + s.name);
    ASSERT_EQ(want.size(), s.numel) << s.name;
    expect_allclose(m.grads() + s.offset, want, 1e-6f, 1e-4f, "grad " + s.name);
  }
}

TEST_P(RmVsTorch, SavesTransformersNamesAndRoundTrips) {
  std::string dir = fixture(std::string("rm/") + GetParam());
  Model m = Model::load(dir);
  std::string d = tmpdir(std::string("save_") + GetParam());
  m.save(d);
  json want = json::parse(read_file(dir + "/expected_names.json"));
  SafeTensorsFile f(d + "/model.safetensors");
  ASSERT_EQ(f.tensors().size(), want["tensors"].size());
  for (const auto& t : f.tensors()) {
    ASSERT_TRUE(want["tensors"].contains(t.name)) << t.name;
    EXPECT_EQ(t.shape, want["tensors"][t.name].get<std::vector<int64_t>>()) << t.name;
  }
  json cfg = json::parse(read_file(d + "/config.json"));
  EXPECT_EQ(cfg["architectures"], want["architectures"]);
  EXPECT_EQ(cfg["id2label"], json({{"0", "LABEL_0"}}));
  EXPECT_EQ(cfg["label2id"], json({{"LABEL_0", 0}}));
  EXPECT_EQ(cfg["pad_token_id"], 0);  // the checkpoint's own, kept
  Model back = Model::load(d);
  EXPECT_EQ(back.cfg.head, Head::Score);
  ASSERT_EQ(back.n_params, m.n_params);
  EXPECT_EQ(0, std::memcmp(back.params(), m.params(), sizeof(float) * m.n_params));
}

INSTANTIATE_TEST_SUITE_P(Families, RmVsTorch, ::testing::Values("qwen2", "qwen3"));

TEST(RewardModel, FromAnLmKeepsTheBodyAndAddsAScoreHead) {
  for (const char* fx : {"model_qwen2", "model_qwen3"}) {  // tied and untied
    Model lm = Model::load(fixture(fx));
    Model rm = reward_model_from(lm, 7);
    EXPECT_EQ(rm.cfg.head, Head::Score);
    EXPECT_EQ(rm.cfg.raw["architectures"][0], rm.cfg.architecture());
    ASSERT_EQ(rm.specs.size(), lm.specs.size() + (lm.cfg.tied ? 1 : 0));
    for (const auto& s : rm.specs) {
      if (s.name == "score.weight") {
        EXPECT_EQ(s.shape, (std::vector<int64_t>{1, lm.cfg.C}));
        EXPECT_TRUE(s.matrix);
        Rng rng(7);  // init_random's draws: Normal(0, 0.02)
        for (size_t i = 0; i < s.numel; i++) ASSERT_EQ(rm.params()[s.offset + i], (float)(rng.normal() * 0.02f)) << i;
        continue;
      }
      auto it = std::find_if(lm.specs.begin(), lm.specs.end(), [&](const TensorSpec& t) { return t.name == s.name; });
      ASSERT_NE(it, lm.specs.end()) << s.name;
      EXPECT_EQ(it->shape, s.shape);
      EXPECT_EQ(0, std::memcmp(rm.params() + s.offset, lm.params() + it->offset, sizeof(float) * s.numel)) << s.name;
    }
    for (const auto& s : rm.specs) EXPECT_NE(s.name, "lm_head.weight");
    // saved: a reward-model config (pad id = eos when the LM had none), and it loads back as one
    std::string d = tmpdir(std::string("from_") + fx);
    rm.save(d);
    json cfg = json::parse(read_file(d + "/config.json"));
    EXPECT_EQ(cfg["architectures"][0], lm.cfg.arch == Arch::Qwen2 ? "Qwen2ForSequenceClassification"
                                                                   : "Qwen3ForSequenceClassification");
    EXPECT_EQ(cfg["pad_token_id"], lm.cfg.eos_id);
    Model back = Model::load(d);
    EXPECT_EQ(back.cfg.head, Head::Score);
    EXPECT_EQ(0, std::memcmp(back.params(), rm.params(), sizeof(float) * rm.n_params));
    // the LM's own config is unchanged
    EXPECT_EQ(lm.cfg.to_json()["architectures"][0], lm.cfg.arch == Arch::Qwen2 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM");
  }
}

// GRPO's packing for preference pairs: the prompt once as a prefix, chosen and rejected as two continuations,
// scored at each continuation's last row (and the prompt's last row), equals the two sequences unshared.
TEST(RewardModel, SharedPrefixEqualsUnsharedSequences) {
  Model m = Model::load(fixture("rm/qwen3"));
  std::vector<int> prompt = {5, 9, 13, 2, 40}, chosen = {7, 7, 31, 50}, rejected = {11, 3, 60};
  const int P = 5, Lc = 4, Lr = 3;
  std::vector<int> shared = prompt;
  shared.insert(shared.end(), chosen.begin(), chosen.end());
  shared.insert(shared.end(), rejected.begin(), rejected.end());
  std::vector<PackedSeq> s_seqs = {{0, P, -1}, {P, Lc, 0}, {P + Lc, Lr, 0}};
  std::vector<int> s_rows = {P + Lc - 1, P + Lc + Lr - 1, P - 1};
  std::vector<int> flat = prompt;
  flat.insert(flat.end(), chosen.begin(), chosen.end());
  flat.insert(flat.end(), prompt.begin(), prompt.end());
  flat.insert(flat.end(), rejected.begin(), rejected.end());
  std::vector<PackedSeq> f_seqs = {{0, P + Lc, -1}, {P + Lc, P + Lr, -1}};
  std::vector<int> f_rows = {P + Lc - 1, 2 * P + Lc + Lr - 1, P - 1};
  const std::vector<float> dscores = {0.7f, -1.3f, 0.4f};

  m.zero_grad();
  m.forward_score(shared.data(), (int)shared.size(), s_seqs, s_rows);
  std::vector<float> s_scores = m.act().scores;
  m.backward_score(dscores.data());
  BlockVector<float> s_grads = m.grads_mem;
  m.zero_grad();
  m.forward_score(flat.data(), (int)flat.size(), f_seqs, f_rows);
  expect_allclose(s_scores.data(), m.act().scores, 1e-5f, 1e-5f, "scores");
  m.backward_score(dscores.data());
  for (const auto& s : m.specs)
    expect_allclose(s_grads.data() + s.offset,
                    std::vector<float>(m.grads() + s.offset, m.grads() + s.offset + s.numel), 1e-6f, 1e-4f,
                    "grad " + s.name);
}

// ---- errors ------------------------------------------------------------------------------------------------------
static std::string copy_rm(const std::string& kind, const std::string& tag, const std::function<void(json&)>& edit) {
  std::string d = tmpdir(tag);
  json j = json::parse(read_file(fixture("rm/" + kind) + "/config.json"));
  edit(j);
  atomic_write(d + "/config.json", j.dump(2));
  atomic_write(d + "/model.safetensors", read_file(fixture("rm/" + kind) + "/model.safetensors"));
  return d;
}

TEST(RewardModel, MoreThanOneLabelIsAnError) {
  std::string e = error_of([&] { Model::load(copy_rm("qwen2", "nl2", [](json& j) { j["num_labels"] = 2; })); });
  EXPECT_TRUE(has(e, "config.json") && has(e, "'num_labels'") && has(e, "expected 1")) << e;
  e = error_of([&] {
    Model::load(copy_rm("qwen2", "id2", [](json& j) { j["id2label"] = {{"0", "NEG"}, {"1", "POS"}}; }));
  });
  EXPECT_TRUE(has(e, "config.json") && has(e, "'id2label'") && has(e, "one label")) << e;
  e = error_of([&] { Model::load(copy_rm("qwen3", "nolabels", [](json& j) { j.erase("id2label"); })); });
  EXPECT_TRUE(has(e, "config.json") && has(e, "2 labels") && has(e, "num_labels: 1")) << e;
  // num_labels 1 alone is enough
  Model ok = Model::load(copy_rm("qwen3", "nl1", [](json& j) {
    j.erase("id2label");
    j["num_labels"] = 1;
  }));
  EXPECT_EQ(ok.cfg.head, Head::Score);
}

TEST(RewardModel, TokenLogProbCallsOnARewardModelAreErrors) {
  Model m = Model::load(fixture("rm/qwen2"));
  std::vector<int> ids = {3, 4, 5}, tg = {4, 5, 6};
  std::string e = error_of([&] { m.forward(ids.data(), tg.data(), 1, 3); });
  EXPECT_TRUE(has(e, "forward()") && has(e, "is a reward model (Qwen2ForSequenceClassification)") &&
              has(e, "it does not give token log-probs"))
      << e;
  std::vector<float> dlp(3);
  EXPECT_TRUE(has(error_of([&] { m.backward(dlp.data()); }), "reward model"));
  EXPECT_TRUE(has(error_of([&] { m.cross_entropy_step(ids.data(), tg.data(), 1, 3, false); }), "reward model"));
  LoraConfig lc;
  lc.r = 2;
  e = error_of([&] { m.attach_lora(Lora(lc, m.cfg)); });
  EXPECT_TRUE(has(e, "attach_lora") && has(e, "reward model")) << e;
  KVCache cache(m.cfg, 1, 16);
  e = error_of([&] { Inference inf(m, cache); });
  EXPECT_TRUE(has(e, "reward model") && has(e, "generat")) << e;
  e = error_of([&] { export_gguf(m, nullptr, tmpdir("gguf") + "/rm.gguf", DType::F32); });
  EXPECT_TRUE(has(e, "reward model") && has(e, "GGUF")) << e;
  // and the reverse: an LM has no score head
  Model lm = Model::load(fixture("model_qwen2"));
  std::vector<PackedSeq> seqs = {{0, 3, -1}};
  e = error_of([&] { lm.forward_score(ids.data(), 3, seqs, {2}); });
  EXPECT_TRUE(has(e, "forward_score()") && has(e, "causal language model (Qwen2ForCausalLM)")) << e;
  // a score row outside the batch
  e = error_of([&] { m.forward_score(ids.data(), 3, seqs, {3}); });
  EXPECT_TRUE(has(e, "outside the batch")) << e;
}

TEST(RewardModel, CheckpointAndConfigHeadsMustAgree) {
  auto as_lm = [](json& j) {
    j["architectures"] = {j["model_type"] == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"};
    j.erase("id2label");
    j.erase("label2id");
  };
  // a reward-model checkpoint under a causal-LM config: tied (score.weight unexpected) and untied (lm_head missing)
  std::string e = error_of([&] { Model::load(copy_rm("qwen2", "rm_as_lm2", as_lm)); });
  EXPECT_TRUE(has(e, "unexpected tensor 'score.weight'") && has(e, "architectures")) << e;
  e = error_of([&] { Model::load(copy_rm("qwen3", "rm_as_lm3", as_lm)); });
  EXPECT_TRUE(has(e, "'lm_head.weight' is missing") && has(e, "score.weight") && has(e, "Qwen3ForSequenceClassification"))
      << e;
  // a causal-LM checkpoint under a reward-model config
  std::string d = tmpdir("lm_as_rm");
  atomic_write(d + "/config.json", read_file(fixture("rm/qwen3") + "/config.json"));
  atomic_write(d + "/model.safetensors", read_file(fixture("model_qwen3") + "/model.safetensors"));
  e = error_of([&] { Model::load(d); });
  EXPECT_TRUE(has(e, "'score.weight' is missing") && has(e, "architectures") &&
              has(e, "Qwen3ForSequenceClassification"))
      << e;
  // a reward-model checkpoint that also carries lm_head.weight
  Model rm = Model::load(fixture("rm/qwen3"));
  std::string d2 = tmpdir("rm_with_lm_head");
  rm.save(d2);
  std::vector<TensorToWrite> ts;
  for (const auto& s : rm.specs) ts.push_back({s.name, s.shape, DType::F32, rm.params() + s.offset});
  std::vector<float> head((size_t)rm.cfg.V * rm.cfg.C, 0.5f);
  ts.push_back({"lm_head.weight", {rm.cfg.V, rm.cfg.C}, DType::F32, head.data()});
  write_safetensors(d2 + "/model.safetensors", ts);
  e = error_of([&] { Model::load(d2); });
  EXPECT_TRUE(has(e, "unexpected tensor 'lm_head.weight'") && has(e, "architectures")) << e;
}
