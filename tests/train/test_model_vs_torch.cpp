// The model against the independent PyTorch reference (tools/torch_ref, float64 results): logits, masked loss,
// every parameter's gradient, 10 AdamW steps with clipping, greedy generation. Plus checkpoint round trips and
// the bad-input cases of issue 2.
#include "core/check.h"
#include "core/io.h"
#include "formats/safetensors.h"
#include "model/transformer.h"
#include "train/optim.h"

#include "allclose.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <unistd.h>

using namespace r1;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

struct Batch {
  int B, T;
  std::vector<int> ids, targets;  // masked targets are -1
};

static Batch load_batch(const SafeTensorsFile& ref) {
  Batch b;
  auto shape = ref.find("input_ids")->shape;
  b.B = (int)shape[0];
  b.T = (int)shape[1];
  auto ids = ref.read_i64("input_ids"), tg = ref.read_i64("targets");
  auto mask = ref.read_f32("loss_mask");
  for (size_t i = 0; i < ids.size(); i++) {
    b.ids.push_back((int)ids[i]);
    b.targets.push_back(mask[i] > 0 ? (int)tg[i] : -1);
  }
  return b;
}


class VsTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(VsTorch, LogitsLossAndEveryGradient) {
  std::string dir = fixture(GetParam());
  Model m = Model::load(dir);
  SafeTensorsFile ref(dir + "/reference.safetensors");
  Batch b = load_batch(ref);
  m.zero_grad();
  float loss = m.cross_entropy_step(b.ids.data(), b.targets.data(), b.B, b.T, false);
  expect_allclose(m.act().logits, ref.read_f32("logits"), 2e-5f, 1e-5f, "logits");
  EXPECT_NEAR(loss, ref.read_f32("loss")[0], 2e-6);
  m.cross_entropy_step(b.ids.data(), b.targets.data(), b.B, b.T, true);
  int checked = 0;
  for (const auto& s : m.specs) {
    auto want = ref.read_f32("grad." + s.name);
    ASSERT_EQ(want.size(), s.numel) << s.name;
    expect_allclose(m.grads() + s.offset, want, 1e-6f, 1e-4f, "grad " + s.name);
    checked++;
  }
  EXPECT_EQ(checked, (int)m.specs.size());
}

TEST_P(VsTorch, TenAdamWStepsWithClipping) {
  std::string dir = fixture(GetParam());
  Model m = Model::load(dir);
  SafeTensorsFile ref(dir + "/reference.safetensors");
  Batch b = load_batch(ref);
  OptimConfig oc;
  oc.lr = 1e-2f;
  oc.beta1 = 0.9f;
  oc.beta2 = 0.95f;
  oc.eps = 1e-8f;
  oc.weight_decay = 0.1f;
  oc.decay_all = true;  // torch's single param group decays every tensor
  oc.grad_clip = 1.0f;
  Optimizer opt(oc, m.specs, m.n_params);
  auto losses = ref.read_f32("adamw_losses"), norms = ref.read_f32("adamw_grad_norms");
  for (int s = 0; s < 10; s++) {
    m.zero_grad();
    float loss = m.cross_entropy_step(b.ids.data(), b.targets.data(), b.B, b.T, true);
    EXPECT_NEAR(loss, losses[s], 5e-5f * std::max(1.f, losses[s])) << "step " << s;
    float norm = clip_grad_norm(m.grads(), m.n_params, oc.grad_clip);
    EXPECT_NEAR(norm, norms[s], 1e-4f * std::max(1.f, norms[s])) << "step " << s;
    opt.step(m.params(), m.grads(), oc.lr);
  }
  for (const auto& t : ref.tensors()) {
    if (t.name.rfind("adamw_final.", 0) != 0) continue;
    std::string name = t.name.substr(12);
    for (const auto& s : m.specs)
      if (s.name == name) expect_allclose(m.params() + s.offset, ref.read_f32(t.name), 1e-5f, 1e-4f, "final " + name);
  }
}

TEST_P(VsTorch, GreedyTokens) {
  std::string dir = fixture(GetParam());
  Model m = Model::load(dir);
  SafeTensorsFile ref(dir + "/reference.safetensors");
  auto prompt = ref.read_i64("generate_prompt"), want = ref.read_i64("generate_tokens");
  int B = (int)ref.find("generate_prompt")->shape[0], P = (int)ref.find("generate_prompt")->shape[1];
  int G = (int)ref.find("generate_tokens")->shape[1];
  for (int b = 0; b < B; b++) {
    std::vector<int> seq(prompt.begin() + b * P, prompt.begin() + (b + 1) * P);
    for (int k = 0; k < G; k++) {
      int T = (int)seq.size();
      std::vector<int> tg(T, 0);
      m.forward(seq.data(), tg.data(), 1, T);
      const float* row = m.act().logits + (size_t)(T - 1) * m.cfg.V;
      int best = 0;
      for (int j = 1; j < m.cfg.V; j++)
        if (row[j] > row[best]) best = j;
      EXPECT_EQ(best, want[b * G + k]) << "row " << b << " step " << k;
      seq.push_back(best);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, VsTorch, ::testing::Values("model_llama", "model_qwen2", "model_qwen3"));

// ---- checkpoints -------------------------------------------------------------------------------------------------
static std::string tmpdir(const std::string& tag) {
  std::string d = "/tmp/r1_ckpt_test_" + std::to_string(::getpid()) + "_" + tag;
  make_dirs(d);
  return d;
}

TEST(Checkpoint, RoundTripBitExactAndBF16) {
  for (const char* fx : {"model_llama", "model_qwen2", "model_qwen3"}) {
    Model m = Model::load(fixture(fx));
    std::string d = tmpdir(std::string("rt_") + fx);
    m.save(d);
    Model m2 = Model::load(d);
    ASSERT_EQ(m2.n_params, m.n_params);
    EXPECT_EQ(0, std::memcmp(m.params(), m2.params(), sizeof(float) * m.n_params)) << fx;
    EXPECT_EQ(m2.cfg.HS, m.cfg.HS);
    EXPECT_EQ(m2.cfg.tied, m.cfg.tied);
    // BF16: every value is the round-to-nearest-even bf16 of the original
    std::string d16 = tmpdir(std::string("bf16_") + fx);
    m.save(d16, DType::BF16);
    SafeTensorsFile f(d16 + "/model.safetensors");
    EXPECT_EQ(f.tensors()[0].dtype, DType::BF16);
    Model m3 = Model::load(d16);
    for (size_t i = 0; i < m.n_params; i++) ASSERT_EQ(m3.params()[i], bf16_to_f32(f32_to_bf16(m.params()[i]))) << i;
  }
}

TEST(Checkpoint, SavedConfigHasTransformersFields) {
  Model m = Model::load(fixture("model_qwen3"));
  std::string d = tmpdir("cfg");
  m.save(d);
  auto j = nlohmann::json::parse(read_file(d + "/config.json"));
  EXPECT_EQ(j["architectures"][0], "Qwen3ForCausalLM");
  EXPECT_EQ(j["model_type"], "qwen3");
  EXPECT_EQ(j["head_dim"], 16);
  EXPECT_EQ(j["num_key_value_heads"], 2);
  EXPECT_EQ(j["torch_dtype"], "float32");
}

// ---- bad input: one clear error naming the file and what is wrong -----------------------------------------------
static std::string copy_fixture(const std::string& fx, const std::string& tag) {
  std::string d = tmpdir(tag);
  atomic_write(d + "/config.json", read_file(fixture(fx) + "/config.json"));
  atomic_write(d + "/model.safetensors", read_file(fixture(fx) + "/model.safetensors"));
  return d;
}
static std::string load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BadCheckpoint, TruncatedFile) {
  std::string d = copy_fixture("model_llama", "trunc");
  std::string s = read_file(d + "/model.safetensors");
  atomic_write(d + "/model.safetensors", s.substr(0, s.size() - 100));
  std::string e = load_error(d);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

TEST(BadCheckpoint, UnknownArchitecture) {
  std::string d = copy_fixture("model_llama", "arch");
  auto j = nlohmann::json::parse(read_file(d + "/config.json"));
  j["model_type"] = "gpt_neox";
  j["architectures"] = {"GPTNeoXForCausalLM"};
  atomic_write(d + "/config.json", j.dump());
  std::string e = load_error(d);
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown architecture"), std::string::npos) << e;
}

TEST(BadCheckpoint, ConfigContradictsShapes) {
  std::string d = copy_fixture("model_llama", "shape");
  auto j = nlohmann::json::parse(read_file(d + "/config.json"));
  j["intermediate_size"] = 40;
  atomic_write(d + "/config.json", j.dump());
  std::string e = load_error(d);
  EXPECT_NE(e.find("mlp.gate_proj.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("intermediate_size"), std::string::npos) << e;
}

TEST(BadCheckpoint, MissingTensor) {
  std::string d = copy_fixture("model_llama", "missing");
  auto j = nlohmann::json::parse(read_file(d + "/config.json"));
  j["num_hidden_layers"] = 3;  // the file has 2 layers
  atomic_write(d + "/config.json", j.dump());
  std::string e = load_error(d);
  EXPECT_NE(e.find("model.layers.2."), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

TEST(BadCheckpoint, ExtraTensor) {
  std::string d = copy_fixture("model_llama", "extra");
  auto j = nlohmann::json::parse(read_file(d + "/config.json"));
  j["num_hidden_layers"] = 1;  // the file has 2 layers
  atomic_write(d + "/config.json", j.dump());
  std::string e = load_error(d);
  EXPECT_NE(e.find("unexpected tensor 'model.layers.1."), std::string::npos) << e;
}

TEST(BadCheckpoint, UnknownDtype) {
  std::string d = copy_fixture("model_llama", "dtype");
  std::string s = read_file(d + "/model.safetensors");
  size_t p = s.find("\"F32\"");
  ASSERT_NE(p, std::string::npos);
  s.replace(p, 5, "\"Q99\"");
  atomic_write(d + "/model.safetensors", s);
  std::string e = load_error(d);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("Q99"), std::string::npos) << e;
}

TEST(BadCheckpoint, MissingFolderOrConfig) {
  EXPECT_NE(load_error("/nonexistent/model").find("/nonexistent/model"), std::string::npos);
  std::string d = tmpdir("nocfg");
  EXPECT_NE(load_error(d).find("config.json"), std::string::npos);
}
