// The rollout path against independent references: KV-cache inference vs the full training forward (every step,
// all three families) and vs PyTorch's greedy tokens; the engine's log-probs vs the trainer's recomputation;
// determinism across batch composition and thread count; shared-prefix sampling vs separate sampling; memory
// planning errors.
#include "core/check.h"
#include "formats/safetensors.h"
#include "model/infer.h"
#include "model/kv_cache.h"
#include "model/transformer.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

using namespace r1;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

static int argmax(const float* z, int V) { return (int)(std::max_element(z, z + V) - z); }

// Logits of the last position of `seq` from the training forward (B = 1, T = seq.size()).
static std::vector<float> full_last_logits(Model& m, const std::vector<int>& seq) {
  std::vector<int> tg(seq.size(), -1);
  m.forward(seq.data(), tg.data(), 1, (int)seq.size());
  const float* z = m.act().logits + (seq.size() - 1) * (size_t)m.cfg.V;
  return std::vector<float>(z, z + m.cfg.V);
}

static double max_abs_diff(const float* a, const float* b, int n) {
  double d = 0;
  for (int i = 0; i < n; i++) d = std::max(d, (double)std::fabs(a[i] - b[i]));
  return d;
}

// Greedy decode of several prompts at once through the cache; at every step the cached logits must match the
// full forward's and the chosen token must be the full forward's argmax.
static std::vector<std::vector<int>> greedy_cached_vs_full(Model& m, const std::vector<std::vector<int>>& prompts,
                                                           int steps, double tol, int prefill_chunks = 1) {
  const int V = m.cfg.V, S = (int)prompts.size();
  size_t maxp = 0;
  for (auto& p : prompts) maxp = std::max(maxp, p.size());
  KVCache cache(m.cfg, S + 1, (int)maxp + steps);
  Inference inf(m, cache);
  // Use slots in reverse order and leave slot 0 unused: slot bookkeeping must not assume slot == index.
  std::vector<std::vector<int>> seqs = prompts;
  std::vector<float> last((size_t)S * V);
  for (int c = 0; c < prefill_chunks; c++) {
    std::vector<InferSeq> batch;
    std::vector<int> owner;
    for (int s = 0; s < S; s++) {
      int P = (int)prompts[s].size(), a = P * c / prefill_chunks, b = P * (c + 1) / prefill_chunks;
      if (b > a) {
        batch.push_back({S - s, prompts[s].data() + a, b - a});
        owner.push_back(s);
      }
    }
    const float* z = inf.forward(batch);
    for (size_t i = 0; i < batch.size(); i++)
      if (cache.len(batch[i].slot) == (int)prompts[owner[i]].size())
        std::copy(z + i * V, z + (i + 1) * V, last.begin() + (size_t)owner[i] * V);
  }
  std::vector<std::vector<int>> out(S);
  for (int step = 0; step < steps; step++) {
    std::vector<int> next(S);
    for (int s = 0; s < S; s++) {
      auto ref = full_last_logits(m, seqs[s]);
      const float* z = last.data() + (size_t)s * V;
      double d = max_abs_diff(z, ref.data(), V);
      EXPECT_LE(d, tol) << "sequence " << s << " step " << step << ": cached logits differ from the full forward";
      next[s] = argmax(z, V);
      EXPECT_EQ(next[s], argmax(ref.data(), V)) << "sequence " << s << " step " << step;
      seqs[s].push_back(next[s]);
      out[s].push_back(next[s]);
    }
    std::vector<InferSeq> batch;
    for (int s = 0; s < S; s++) batch.push_back({S - s, &seqs[s].back(), 1});
    const float* z = inf.forward(batch);
    std::copy(z, z + (size_t)S * V, last.begin());
  }
  return out;
}

class Families : public ::testing::TestWithParam<const char*> {};

TEST_P(Families, GreedyWithCacheMatchesFullForwardAndPyTorch) {
  std::string dir = fixture(GetParam());
  Model m = Model::load(dir);
  SafeTensorsFile ref(dir + "/reference.safetensors");
  auto prompt = ref.read_i64("generate_prompt"), want = ref.read_i64("generate_tokens");
  int B = (int)ref.find("generate_prompt")->shape[0], P = (int)ref.find("generate_prompt")->shape[1];
  int G = (int)ref.find("generate_tokens")->shape[1];
  std::vector<std::vector<int>> prompts(B);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < P; t++) prompts[b].push_back((int)prompt[(size_t)b * P + t]);
  auto got = greedy_cached_vs_full(m, prompts, G, 1e-4);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < G; t++)
      EXPECT_EQ(got[b][t], (int)want[(size_t)b * G + t]) << GetParam() << " row " << b << " token " << t;
}

TEST_P(Families, RaggedChunkedPrefillMatchesFullForward) {
  // Random weights at std 0.3 (far from uniform attention), ragged prompts, prefill in 3 chunks (Tq < Tk).
  Model base = Model::load(fixture(GetParam()));
  Model m(base.cfg);
  m.init_random(7, 0.3f);
  std::vector<std::vector<int>> prompts = {{1, 5, 9, 13, 17, 21, 3, 4, 8, 40, 41}, {2, 60}, {7}, {9, 9, 9, 9, 9, 9}};
  greedy_cached_vs_full(m, prompts, 12, 1e-4, 3);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Families, ::testing::Values("model_llama", "model_qwen2", "model_qwen3"));

TEST(Inference, BiggerRandomModelMatchesFullForward) {
  ModelConfig cfg = ModelConfig::tiny(Arch::Qwen2, 512, 128, 3, 4, 2, 256, 256);
  Model m(cfg);
  m.init_random(11, 0.05f);
  std::vector<std::vector<int>> prompts;
  for (int s = 0; s < 5; s++) {
    std::vector<int> p;
    for (int t = 0; t < 3 + 9 * s; t++) p.push_back((s * 131 + t * 17) % cfg.V);
    prompts.push_back(p);
  }
  greedy_cached_vs_full(m, prompts, 10, 1e-4, 2);
}

TEST(Inference, BadInputsAreClearErrors) {
  Model m = Model::load(fixture("model_llama"));
  KVCache cache(m.cfg, 2, 8);
  Inference inf(m, cache);
  std::vector<int> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_THROW(inf.forward({{0, ids.data(), 9}}), Error);        // longer than planned
  EXPECT_THROW(inf.forward({{2, ids.data(), 1}}), Error);        // slot out of range
  EXPECT_THROW(inf.forward({{0, ids.data(), 1}, {0, ids.data(), 1}}), Error);  // slot twice
  std::vector<int> bad = {64};
  EXPECT_THROW(inf.forward({{0, bad.data(), 1}}), Error);        // outside the vocabulary
  EXPECT_EQ(cache.len(0), 0);
}

TEST(KVCachePlan, OverBudgetIsAClearErrorNamingSizes) {
  ModelConfig cfg = ModelConfig::tiny(Arch::Llama, 64, 32, 2, 4, 2, 48, 128);
  size_t need = KVCache::bytes_needed(cfg, 16, 128);
  EXPECT_EQ(need, (size_t)2 * 16 * 2 * 128 * 16 * 4);
  try {
    KVCache c(cfg, 16, 128, need - 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("16 sequences"), std::string::npos) << msg;
    EXPECT_NE(msg.find("128 positions"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(need) + " bytes"), std::string::npos) << msg;
  }
  KVCache ok(cfg, 16, 128, need);
  EXPECT_EQ(ok.bytes(), need);
  EXPECT_THROW(KVCache(cfg, 1, 129), Error);  // beyond max_position_embeddings
}
