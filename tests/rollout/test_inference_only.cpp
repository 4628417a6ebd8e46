// Inference-only loading (model/transformer.h LoadOptions::inference_only): a BF16 checkpoint loaded in bf16 without
// an fp32 copy of its weights computes exactly what the normal bf16 load computes (training-forward logits and
// log-probs, KV-cache logits at every decode step, the engine's sampled tokens and log-probs; with and without
// adapters; the three families: untied llama, tied qwen2 with q/k/v bias, qwen3 with q/k norm), an F32 checkpoint
// too (its matrices rounded on the way in as bf16 mode rounds them), and every training use is one clear error.
#include "core/check.h"
#include "core/precision.h"
#include "formats/dtype.h"
#include "formats/safetensors.h"
#include "model/infer.h"
#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "rollout/engine.h"
#include "rollout/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace r1;

namespace {

std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

// A scratch folder, removed at the end of the test.
struct TmpDir {
  std::string path;
  TmpDir() {
    std::string t = "/tmp/r1_inference_only_XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    R1_CHECK(mkdtemp(buf.data()), "mkdtemp failed");
    path = buf.data();
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Sets the process's default precision for the scope (a new Model takes it), restores it after.
struct DefaultPrecision {
  Precision old = default_precision();
  explicit DefaultPrecision(Precision p) { set_default_precision(p); }
  ~DefaultPrecision() { set_default_precision(old); }
};

LoadOptions inference_only() {
  LoadOptions o;
  o.inference_only = true;
  return o;
}

::testing::AssertionResult same_bits(const float* a, const float* b, size_t n, const std::string& what) {
  for (size_t i = 0; i < n; i++)
    if (std::memcmp(a + i, b + i, sizeof(float)) != 0)
      return ::testing::AssertionFailure() << what << ": entry " << i << " of " << n << " differs: " << a[i]
                                           << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

size_t vector_floats(const Model& m) {  // what an inference-only model keeps in fp32 (not the embedding)
  size_t n = 0;
  for (const TensorSpec& s : m.specs) n += s.matrix ? 0 : s.numel;
  return n;
}

// The training forward's logits and log-probs over a packed batch of two sequences, the second continuing the first.
void expect_same_forward(Model& a, Model& b, const std::string& what) {
  const int V = a.cfg.V;
  std::vector<int> ids, tg;
  for (int i = 0; i < 17; i++) {
    ids.push_back((i * 7 + 3) % V);
    tg.push_back((i * 11 + 5) % V);
  }
  const std::vector<PackedSeq> seqs = {{0, 9, -1}, {9, 8, 0}};
  a.forward(ids.data(), tg.data(), 17, seqs, 0.7f, true);
  b.forward(ids.data(), tg.data(), 17, seqs, 0.7f, true);
  EXPECT_TRUE(same_bits(a.act().logits, b.act().logits, (size_t)17 * V, what + " forward logits"));
  EXPECT_TRUE(same_bits(a.act().lp, b.act().lp, 17, what + " forward log-probs"));
  EXPECT_TRUE(same_bits(a.act().ent, b.act().ent, 17, what + " forward entropies"));
}

// KV-cache inference: two prompts prefilled together, then greedy decoding; the logits at every step.
void expect_same_decode(const Model& a, const Model& b, const std::string& what) {
  const int V = a.cfg.V, steps = 10;
  std::vector<std::vector<int>> seq = {{1, 5, 9, 13, 17}, {2, 4, 8}};
  KVCache ca(a.cfg, 2, 5 + steps), cb(b.cfg, 2, 5 + steps);
  Inference ia(a, ca), ib(b, cb);
  for (int t = 0; t < steps; t++) {
    std::vector<InferSeq> batch;
    for (int s = 0; s < 2; s++) {
      const int n = t == 0 ? (int)seq[s].size() : 1;
      batch.push_back({s, seq[s].data() + seq[s].size() - n, n});
    }
    const float* za = ia.forward(batch);
    std::vector<float> keep(za, za + (size_t)2 * V);
    const float* zb = ib.forward(batch);
    ASSERT_TRUE(same_bits(keep.data(), zb, (size_t)2 * V, what + " decode step " + std::to_string(t)));
    for (int s = 0; s < 2; s++) {
      const float* z = keep.data() + (size_t)s * V;
      seq[s].push_back((int)(std::max_element(z, z + V) - z));
    }
  }
}

// The engine: sampled tokens and their log-probs, three prompts with two samples each.
void expect_same_samples(const Model& a, const Model& b, const std::string& what) {
  std::vector<GenRequest> rq = {{{1, 2, 3}, 2, 0, 0}, {{4, 5, 6, 7, 8}, 2, 1, 0}, {{9}, 2, 2, 0}};
  GenConfig g;
  g.sampling.temperature = 0.9f;
  g.max_new_tokens = 12;
  g.seed = 42;
  g.max_batch = 4;
  Engine ea(a), eb(b);
  auto oa = ea.generate(rq, g), ob = eb.generate(rq, g);
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); i++) {
    EXPECT_EQ(oa[i].ids, ob[i].ids) << what << " sample " << i;
    ASSERT_EQ(oa[i].logprobs.size(), ob[i].logprobs.size());
    EXPECT_TRUE(same_bits(oa[i].logprobs.data(), ob[i].logprobs.data(), oa[i].logprobs.size(),
                          what + " sample " + std::to_string(i) + " log-probs"));
  }
}

}  // namespace

class InferenceOnly : public ::testing::TestWithParam<const char*> {};

TEST_P(InferenceOnly, Bf16CheckpointComputesTheSameBitsAsANormalBf16Load) {
  const std::string name = GetParam();
  TmpDir tmp;
  {
    DefaultPrecision fp32(Precision::FP32);
    Model::load(fixture(name)).save(tmp.path, DType::BF16);
  }
  DefaultPrecision bf16(Precision::BF16);
  Model a = Model::load(tmp.path);
  Model b = Model::load(tmp.path, inference_only());
  ASSERT_FALSE(a.inference_only());
  ASSERT_TRUE(b.inference_only());
  ASSERT_EQ(b.precision(), Precision::BF16);
  // no fp32 matrix: only the norm weights and biases (a BF16 embedding stays a bf16 table)
  EXPECT_EQ(b.params_mem.size(), vector_floats(b));
  EXPECT_EQ(a.params_mem.size(), a.n_params);
  EXPECT_EQ(b.n_params, a.n_params);
  for (int l = 0; l < b.cfg.L; l++)  // the forward layout only (a normal load's copies also hold backward_data's)
    EXPECT_LT(b.bf16_layers()[l].gu.bytes(), a.bf16_layers()[l].gu.bytes());
  expect_same_forward(a, b, name);
  expect_same_decode(a, b, name);
  expect_same_samples(a, b, name);

  // with adapters (their fp32 products are separate from the bf16 copies)
  Lora lo(LoraConfig{4, 8.f, 0.f, {"all-linear"}, "gaussian"}, a.cfg);
  lo.init(3);
  for (size_t i = 0; i < lo.n; i++) lo.params[i] += 0.01f * (float)((i * 37) % 11) - 0.05f;  // B != 0 as well
  a.attach_lora(lo);
  b.attach_lora(lo);
  expect_same_forward(a, b, name + " + LoRA");
  expect_same_decode(a, b, name + " + LoRA");
}

TEST_P(InferenceOnly, F32CheckpointIsRoundedAsBf16ModeRoundsIt) {
  // An F32 checkpoint: every matrix rounded to bf16 on the way in (what a normal bf16 load's copies hold), the
  // embedding kept fp32 (a normal load looks it up in fp32): still the same bits.
  const std::string name = GetParam();
  DefaultPrecision bf16(Precision::BF16);
  Model a = Model::load(fixture(name));
  Model b = Model::load(fixture(name), inference_only());
  ASSERT_TRUE(b.inference_only());
  EXPECT_EQ(b.params_mem.size(), vector_floats(b) + (size_t)b.cfg.V * b.cfg.C);
  expect_same_forward(a, b, name + " (F32 checkpoint)");
  expect_same_decode(a, b, name + " (F32 checkpoint)");
}

INSTANTIATE_TEST_SUITE_P(Families, InferenceOnly, ::testing::Values("model_llama", "model_qwen2", "model_qwen3"));

TEST(InferenceOnlyLoad, InFp32ItIsANormalLoad) {
  DefaultPrecision fp32(Precision::FP32);
  Model a = Model::load(fixture("model_qwen2"));
  Model b = Model::load(fixture("model_qwen2"), inference_only());
  EXPECT_FALSE(b.inference_only());
  ASSERT_EQ(b.params_mem.size(), b.n_params);
  EXPECT_TRUE(same_bits(a.params_mem.data(), b.params_mem.data(), a.n_params, "parameters"));
  b.trainable();  // trainable as any model
}

TEST(InferenceOnlyLoad, ARewardModelLoadsNormally) {
  TmpDir tmp;
  {
    DefaultPrecision fp32(Precision::FP32);
    reward_model_from(Model::load(fixture("model_qwen2")), 7).save(tmp.path, DType::BF16);
  }
  DefaultPrecision bf16(Precision::BF16);
  EXPECT_FALSE(Model::load(tmp.path, inference_only()).inference_only());
}

TEST(InferenceOnlyLoad, TrainingSavingOrChangingItIsAClearError) {
  TmpDir tmp;
  {
    DefaultPrecision fp32(Precision::FP32);
    Model::load(fixture("model_llama")).save(tmp.path, DType::BF16);
  }
  DefaultPrecision bf16(Precision::BF16);
  Model m = Model::load(tmp.path, inference_only());
  ASSERT_TRUE(m.inference_only());
  auto expect_refused = [&](const std::function<void()>& f, const std::string& call) {
    try {
      f();
      ADD_FAILURE() << call << " did not throw";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("loaded for inference only"), std::string::npos) << call << ": " << msg;
      EXPECT_NE(msg.find(call), std::string::npos) << msg;
    }
  };
  std::vector<int> ids = {1, 2, 3, 4}, tg = {2, 3, 4, 5};
  m.forward(ids.data(), tg.data(), 1, 4);  // running it is fine
  std::vector<float> dlp(4, -0.25f);
  expect_refused([&] { m.backward(dlp.data()); }, "backward()");
  expect_refused([&] { m.trainable(); }, "trainable()");
  expect_refused([&] { m.params(); }, "params()");
  expect_refused([&] { m.zero_grad(); }, "zero_grad");
  expect_refused([&] { m.init_random(1); }, "init_random");
  expect_refused([&] { m.save(tmp.path + "/again"); }, "save");
  expect_refused([&] { m.set_precision(Precision::FP32); }, "set_precision(fp32)");
  expect_refused([&] { m.params_changed(); m.forward(ids.data(), tg.data(), 1, 4); }, "params_changed()");
  EXPECT_THROW(reward_model_from(m, 1), Error);
  Model m2 = Model::load(tmp.path, inference_only());
  Lora lo(LoraConfig{2, 4.f, 0.f, {"q", "v"}, "default"}, m2.cfg);
  lo.init(1);
  m2.attach_lora(lo);
  m2.forward(ids.data(), tg.data(), 1, 4);
  expect_refused([&] { m2.backward(dlp.data()); }, "backward()");
  expect_refused([&] { m2.trainable(); }, "trainable()");
  expect_refused([&] { m2.merge_lora(); }, "merge_lora");
}

TEST(InferenceOnlyLoad, PolicyLoadsInferenceOnlyWhenAsked) {
  TmpDir tmp;
  {
    DefaultPrecision fp32(Precision::FP32);
    Model::load(fixture("model_qwen3")).save(tmp.path, DType::BF16);
  }
  DefaultPrecision bf16(Precision::BF16);
  PolicySource src{tmp.path, "", "", ""};
  src.tokenizer_optional = true;
  EXPECT_FALSE(Policy::load(src, "plain", "", "test").model().inference_only());  // a trainer's policy
  src.inference_only = true;
  EXPECT_TRUE(Policy::load(src, "plain", "", "test").model().inference_only());
}

TEST(InferenceOnlyLoad, SafetensorsPagesAreReleasedAndStayReadable) {
  // FileBytes::release drops this process's pages of a tensor; the bytes read the same afterwards.
  TmpDir tmp;
  const size_t n = (size_t)4 << 20;  // 16 MB of F32
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = (float)i * 0.5f;
  const std::string path = tmp.path + "/t.safetensors";
  write_safetensors(path, {{"a", {(int64_t)n}, DType::F32, v.data()}, {"b", {3}, DType::F32, v.data()}});
  SafeTensorsFile f(path);
  auto rss_file_kb = [] {  // RssFile from /proc/self/status, or -1
    FILE* s = std::fopen("/proc/self/status", "r");
    if (!s) return -1L;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, s))
      if (std::strncmp(line, "RssFile:", 8) == 0) kb = std::atol(line + 8);
    std::fclose(s);
    return kb;
  };
  std::vector<float> a = f.read_f32("a");
  const long before = rss_file_kb();
  f.release(*f.find("a"));
  const long after = rss_file_kb();
  if (before >= 0) {
    EXPECT_LT(after, before - 8 * 1024) << "RssFile " << before << " kB -> " << after << " kB";
  }
  EXPECT_EQ(f.read_f32("a"), v);
  EXPECT_EQ(f.read_f32("b"), std::vector<float>(v.begin(), v.begin() + 3));
}
