// The rollout path against independent references: KV-cache inference vs the full training forward (every step,
// all three families) and vs PyTorch's greedy tokens; the engine's log-probs vs the trainer's recomputation;
// determinism across batch composition and thread count; shared-prefix sampling vs separate sampling; memory
// planning errors.
#include "core/bits.h"
#include "core/check.h"
#include "formats/safetensors.h"
#include "model/infer.h"
#include "model/kv_cache.h"
#include "model/transformer.h"
#include "rollout/engine.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <map>
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

// Every parameter rounded to a bf16 value (truncation), as a bf16 checkpoint loads.
static void round_params_to_bf16(Model& m) {
  float* p = m.params();
  for (size_t i = 0; i < m.n_params; i++) p[i] = f32_from_bits(f32_bits(p[i]) & 0xFFFF0000u);
}

TEST(Inference, Bf16CheckpointDecodesFromBf16CopyAndMatchesFullForward) {
  // A model whose weights are bf16 values decodes one or two sequences from bf16 copies of its matrices (half
  // the bytes); the products are the same numbers, so the cached logits still equal the training forward's.
  ModelConfig cfg = ModelConfig::tiny(Arch::Qwen2, 300, 96, 2, 4, 2, 200, 128);
  Model m(cfg);
  m.init_random(13, 0.1f);
  {
    KVCache cache(m.cfg, 1, 8);
    EXPECT_EQ(Inference(m, cache).bf16_matrices(), 0) << "fp32 weights must not be rounded";
  }
  round_params_to_bf16(m);
  KVCache cache(m.cfg, 1, 8);
  EXPECT_EQ(Inference(m, cache).bf16_matrices(), 4 * cfg.L + 1);
  greedy_cached_vs_full(m, {{1, 5, 9, 13, 17}}, 12, 1e-4);      // batch 1: every decode step on the bf16 copies
  greedy_cached_vs_full(m, {{2, 60, 7}, {9, 9, 9}}, 8, 1e-4);   // batch 2
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

// ---- engine ---------------------------------------------------------------------------------------------------

static std::vector<GenRequest> some_requests(int V, int n_prompts, int G) {
  std::vector<GenRequest> rq;
  for (int p = 0; p < n_prompts; p++) {
    GenRequest q;
    for (int t = 0; t < 2 + 3 * p; t++) q.prompt.push_back((p * 29 + t * 11 + 3) % V);
    q.n = G;
    rq.push_back(q);
  }
  return rq;
}

static GenConfig sampled_config() {
  GenConfig c;
  c.sampling.temperature = 0.8f;
  c.sampling.top_p = 0.9f;
  c.sampling.top_k = 20;
  c.max_new_tokens = 12;
  c.seed = 1234;
  return c;
}

static void expect_same(const std::vector<GenSample>& a, const std::vector<GenSample>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); i++) {
    EXPECT_EQ(a[i].prompt_index, b[i].prompt_index) << what << " sample " << i;
    EXPECT_EQ(a[i].sample_index, b[i].sample_index) << what << " sample " << i;
    EXPECT_EQ(a[i].ids, b[i].ids) << what << " sample " << i;
    EXPECT_EQ(a[i].finish_reason, b[i].finish_reason) << what << " sample " << i;
    ASSERT_EQ(a[i].logprobs.size(), b[i].logprobs.size()) << what << " sample " << i;
    for (size_t t = 0; t < a[i].logprobs.size(); t++)
      // Token ids must match exactly. Log-probs agree to float rounding only: oneDNN sgemm picks its summation
      // order from the row count and thread count, so logits move by a few ulps with the batch (measured <= 2e-6).
      EXPECT_NEAR(a[i].logprobs[t], b[i].logprobs[t], 1e-5) << what << " sample " << i << " token " << t;
  }
}

TEST_P(Families, EngineGreedyMatchesPyTorch) {
  std::string dir = fixture(GetParam());
  Model m = Model::load(dir);
  SafeTensorsFile ref(dir + "/reference.safetensors");
  auto prompt = ref.read_i64("generate_prompt"), want = ref.read_i64("generate_tokens");
  int B = (int)ref.find("generate_prompt")->shape[0], P = (int)ref.find("generate_prompt")->shape[1];
  int G = (int)ref.find("generate_tokens")->shape[1];
  std::vector<GenRequest> rq(B);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < P; t++) rq[b].prompt.push_back((int)prompt[(size_t)b * P + t]);
  GenConfig c;
  c.sampling.greedy = true;
  c.max_new_tokens = G;
  Engine e(m);
  auto out = e.generate(rq, c);
  ASSERT_EQ((int)out.size(), B);
  for (int b = 0; b < B; b++) {
    ASSERT_EQ((int)out[b].ids.size(), G);
    for (int t = 0; t < G; t++) EXPECT_EQ(out[b].ids[t], (int)want[(size_t)b * G + t]) << "row " << b << " token " << t;
    EXPECT_EQ(out[b].finish_reason, "length");
    EXPECT_TRUE(out[b].truncated);
  }
}

// The property that makes importance-sampling patches unnecessary: the trainer's recomputation (Model::forward
// at the sampling temperature, act().lp) equals the log-probs the engine reported.
// Recomputes every sample's sequence with the training forward at temperature T and compares its per-token
// log-probs with the engine's; returns how many tokens were compared.
static int expect_logprobs_equal_trainer(Model& m, const std::vector<GenRequest>& rq,
                                         const std::vector<GenSample>& out, float T) {
  int checked = 0;
  for (auto& s : out) {
    std::vector<int> seq = rq[s.request].prompt;
    const int P = (int)seq.size();
    seq.insert(seq.end(), s.ids.begin(), s.ids.end());
    std::vector<int> tg(seq.size(), -1);
    for (size_t t = P - 1; t + 1 < seq.size(); t++) tg[t] = seq[t + 1];
    m.forward(seq.data(), tg.data(), 1, (int)seq.size(), T);
    for (size_t t = 0; t < s.ids.size(); t++, checked++)
      EXPECT_NEAR(s.logprobs[t], m.act().lp[P - 1 + t], 1e-5) << "T " << T << " sample " << s.sample_index
                                                               << " token " << t;
  }
  return checked;
}

// The same in bf16 mode: the engine decodes through the trainer's own bf16 copies and kernels (rows independent of
// the batch), so its log-probs equal the bf16 trainer's, at batch sizes 1 to 12 (continuous batching) and two
// temperatures. And bf16 is really in use: its log-probs differ from fp32's by far more than the tolerance.
TEST_P(Families, Bf16SampledLogprobsEqualTrainerRecomputation) {
  Model m = Model::load(fixture(GetParam()));
  m.set_precision(Precision::BF16);
  Engine e(m);
  for (float T : {1.0f, 0.6f})
    for (int mb : {1, 5, 64}) {
      GenConfig c = sampled_config();
      c.sampling.temperature = T;
      c.max_batch = mb;
      auto rq = some_requests(m.cfg.V, 3, 4);
      auto out = e.generate(rq, c);
      ASSERT_EQ(out.size(), 12u);
      EXPECT_GT(expect_logprobs_equal_trainer(m, rq, out, T), 50);
      if (mb != 5 || T != 1.0f) continue;
      double diff = 0;  // the same tokens scored in fp32
      m.set_precision(Precision::FP32);
      for (auto& s : out) {
        std::vector<int> seq = rq[s.request].prompt;
        const int P = (int)seq.size();
        seq.insert(seq.end(), s.ids.begin(), s.ids.end());
        std::vector<int> tg(seq.size(), -1);
        for (size_t t = P - 1; t + 1 < seq.size(); t++) tg[t] = seq[t + 1];
        m.forward(seq.data(), tg.data(), 1, (int)seq.size(), T);
        for (size_t t = 0; t < s.ids.size(); t++) diff = std::max(diff, (double)std::fabs(s.logprobs[t] - m.act().lp[P - 1 + t]));
      }
      m.set_precision(Precision::BF16);
      EXPECT_GT(diff, 1e-4) << "bf16 log-probs should differ from fp32's by bf16 rounding";
    }
}

// kv_dtype bf16: half the cache memory; keys and values are rounded to bf16 as they are stored, so the log-probs
// move from the trainer's recomputation by about bf16's precision (small, nonzero), nothing else changes.
TEST_P(Families, Bf16KVCacheHalvesMemoryAndMovesLogprobsSlightly) {
  Model m = Model::load(fixture(GetParam()));
  Engine e(m);
  GenConfig c = sampled_config();
  c.sampling.greedy = true;  // the same tokens in both runs (unless a near tie flips), so log-probs compare 1:1
  auto rq = some_requests(m.cfg.V, 3, 1);
  auto a = e.generate(rq, c);
  const size_t bytes32 = e.stats().kv_cache_bytes;
  c.kv_dtype = KVDtype::BF16;
  auto b = e.generate(rq, c);
  EXPECT_EQ(e.stats().kv_cache_bytes * 2, bytes32);
  double worst = 0;
  int compared = 0;
  for (size_t i = 0; i < a.size(); i++)
    for (size_t t = 0; t < a[i].ids.size() && t < b[i].ids.size() && a[i].ids[t] == b[i].ids[t]; t++, compared++)
      worst = std::max(worst, (double)std::fabs(a[i].logprobs[t] - b[i].logprobs[t]));
  EXPECT_GT(compared, 10);
  std::printf("[kv bf16] %s: max |log-prob change| %.3g over %d tokens\n", GetParam(), worst, compared);
  EXPECT_GT(worst, 0.0) << "a bf16 cache that changes nothing is not rounding";
  EXPECT_LT(worst, 0.05) << "keys/values rounded to 8 mantissa bits move a log-prob by far less than this";
}

// In bf16 mode keys and values are bf16 values already (the trainer rounds them after rotary as the engine does), so
// a bf16 KV cache holds them exactly: half the memory, the same samples and log-probs bit for bit as an fp32 cache,
// still equal to the trainer's recomputation. kv_dtype auto (the default) takes bf16 here, f32 for an fp32 model.
TEST_P(Families, Bf16ModeBf16KVCacheChangesNothing) {
  Model m = Model::load(fixture(GetParam()));
  Engine e(m);
  GenConfig c = sampled_config();
  c.max_batch = 5;
  auto rq = some_requests(m.cfg.V, 3, 4);
  ASSERT_EQ(c.kv_dtype, KVDtype::Auto);
  e.generate(rq, c);
  const size_t bytes32 = e.stats().kv_cache_bytes;  // fp32 model: auto is f32
  m.set_precision(Precision::BF16);
  e.generate(rq, c);
  EXPECT_EQ(e.stats().kv_cache_bytes * 2, bytes32) << "bf16 model: auto is bf16";
  c.kv_dtype = KVDtype::F32;
  auto a = e.generate(rq, c);
  EXPECT_EQ(e.stats().kv_cache_bytes, bytes32);
  c.kv_dtype = KVDtype::BF16;
  auto b = e.generate(rq, c);
  EXPECT_EQ(e.stats().kv_cache_bytes * 2, bytes32);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++) {
    EXPECT_EQ(a[i].ids, b[i].ids) << "sample " << i;
    ASSERT_EQ(a[i].logprobs.size(), b[i].logprobs.size());
    for (size_t t = 0; t < a[i].logprobs.size(); t++)
      EXPECT_EQ(a[i].logprobs[t], b[i].logprobs[t]) << "sample " << i << " token " << t;
  }
  EXPECT_GT(expect_logprobs_equal_trainer(m, rq, b, c.sampling.temperature), 50);
}

TEST_P(Families, SampledLogprobsEqualTrainerRecomputation) {
  Model m = Model::load(fixture(GetParam()));
  Engine e(m);
  for (float T : {1.0f, 0.6f}) {
    GenConfig c = sampled_config();
    c.sampling.temperature = T;
    c.max_batch = 5;
    auto rq = some_requests(m.cfg.V, 3, 4);
    auto out = e.generate(rq, c);
    ASSERT_EQ(out.size(), 12u);
    EXPECT_GT(expect_logprobs_equal_trainer(m, rq, out, T), 50);
  }
}

TEST(Engine, Bf16CheckpointLogprobsEqualTrainerRecomputation) {
  // One sequence at a time (max_batch 1): every decode step multiplies by the bf16 copies of the weights.
  Model m = Model::load(fixture("model_qwen2"));
  round_params_to_bf16(m);
  Engine e(m);
  GenConfig c = sampled_config();
  c.max_batch = 1;
  auto rq = some_requests(m.cfg.V, 2, 2);
  auto out = e.generate(rq, c);
  EXPECT_GT(expect_logprobs_equal_trainer(m, rq, out, c.sampling.temperature), 20);
}

// batch_invariant: the same bits (tokens and log-probs) for a request whether it is generated with the others,
// with half of them, alone, with other batch sizes and prefill budgets, or on one or two threads; what lets the
// ranks of a data-parallel GRPO run, each sampling its own groups, produce what one process would.
TEST(Engine, BatchInvariantModeGivesTheSameBitsInAnyBatch) {
  ModelConfig cfg = ModelConfig::tiny(Arch::Qwen2, 300, 96, 2, 4, 2, 200, 128);
  Model m(cfg);
  m.init_random(5, 0.08f);
  Engine e(m);
  auto rq = some_requests(m.cfg.V, 6, 3);
  for (int p = 0; p < 6; p++) rq[p].prompt_index = p;
  GenConfig c = sampled_config();
  c.batch_invariant = true;
  c.eos_ids = {5, 7};  // ragged finishing: the tails run with 1-3 live sequences
  c.max_new_tokens = 24;
  c.max_prefill_tokens = 8;  // prompts of up to 17 tokens are prefilled in chunks at fixed offsets
  auto all = e.generate(rq, c);
  auto same_bits = [&](const std::vector<GenSample>& got, size_t first, const std::string& what) {
    for (size_t i = 0; i < got.size(); i++) {
      const GenSample& want = all[first + i];
      EXPECT_EQ(got[i].ids, want.ids) << what << " sample " << i;
      EXPECT_EQ(got[i].logprobs, want.logprobs) << what << " sample " << i;  // bitwise
    }
  };
  const int nt = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (int mb : {1, 4, 64}) {
      c.max_batch = mb;
      same_bits(e.generate(rq, c), 0, "max_batch " + std::to_string(mb));
    }
    c.max_batch = 64;
    std::vector<GenRequest> half(rq.begin() + 3, rq.end());
    same_bits(e.generate(half, c), 9, "second half alone, threads " + std::to_string(threads));
    for (int p = 0; p < 6; p++) same_bits(e.generate({rq[p]}, c), (size_t)p * 3, "prompt " + std::to_string(p) + " alone");

  }
  omp_set_num_threads(nt);
}

TEST(Engine, SameSeedSameOutputsWhateverBatchAndThreads) {
  Model m = Model::load(fixture("model_qwen3"));
  Engine e(m);
  auto rq = some_requests(m.cfg.V, 4, 3);
  GenConfig c = sampled_config();
  c.eos_ids = {5};  // ragged finishing, so continuous batching reshuffles the batch
  c.max_new_tokens = 20;
  int nt = omp_get_max_threads();
  c.max_batch = 64;
  auto ref = e.generate(rq, c);
  bool ragged = false;
  for (auto& s : ref) ragged = ragged || s.finish_reason == "stop";
  EXPECT_TRUE(ragged) << "no sample hit eos: the test would not exercise joins";
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (int mb : {1, 2, 5, 64}) {
      c.max_batch = mb;
      expect_same(e.generate(rq, c), ref, "threads " + std::to_string(threads) + " max_batch " + std::to_string(mb));
    }
    // prompts prefilled in chunks of 3 rows (a prompt split across passes, Tq < Tk against its own cache)
    c.max_batch = 64;
    c.max_prefill_tokens = 3;
    expect_same(e.generate(rq, c), ref, "threads " + std::to_string(threads) + " prefill chunks of 3");
    c.max_prefill_tokens = 2048;
  }
  omp_set_num_threads(nt);
  // a different seed gives different samples
  c.seed = 99;
  auto other = e.generate(rq, c);
  int differ = 0;
  for (size_t i = 0; i < ref.size(); i++) differ += other[i].ids != ref[i].ids;
  EXPECT_GT(differ, 0);
}

TEST(Engine, SharedPrefixEqualsSeparateSamplingAndPrefillsOnce) {
  Model m = Model::load(fixture("model_llama"));
  Engine e(m);
  const int G = 6;
  auto rq = some_requests(m.cfg.V, 3, G);
  long long prompt_rows = 0;
  for (auto& q : rq) prompt_rows += (long long)q.prompt.size();
  GenConfig c = sampled_config();
  c.eos_ids = {7};
  // separately: one request per copy, each with its own sample index
  std::vector<GenRequest> sep;
  for (size_t p = 0; p < rq.size(); p++)
    for (int j = 0; j < G; j++) {
      GenRequest q;
      q.prompt = rq[p].prompt;
      q.prompt_index = (int)p;
      q.first_sample = j;
      sep.push_back(q);
    }
  c.max_batch = 64;
  auto separate = e.generate(sep, c);
  EXPECT_EQ(e.stats().prompts_prefilled, (long long)sep.size());
  EXPECT_EQ(e.stats().prefill_rows, prompt_rows * G);
  for (int mb : {64, 4, 1}) {
    c.max_batch = mb;
    auto shared = e.generate(rq, c);
    expect_same(shared, separate, "max_batch " + std::to_string(mb));
    // the prompt is computed once per prompt, whatever the batch size
    EXPECT_EQ(e.stats().prompts_prefilled, (long long)rq.size()) << "max_batch " << mb;
    EXPECT_EQ(e.stats().prefill_rows, prompt_rows) << "max_batch " << mb;
    EXPECT_EQ(e.stats().prefix_copies + e.stats().prefix_reuses, (long long)rq.size() * (G - 1)) << "max_batch " << mb;
    EXPECT_LE(e.stats().max_live, mb);
    long long gen = 0;
    for (auto& s : shared) gen += (long long)s.ids.size();
    EXPECT_EQ(e.stats().decode_rows, gen - (long long)shared.size());  // first tokens come from the prefill
  }
}

TEST(Engine, EosStopStringsAndLengthLimits) {
  Model m = Model::load(fixture("model_qwen2"));
  Engine e(m);
  GenConfig c = sampled_config();
  c.max_new_tokens = 16;
  std::vector<GenRequest> rq = {{{3, 4, 5}, 1}};
  auto base = e.generate(rq, c)[0];
  ASSERT_EQ(base.ids.size(), 16u);
  EXPECT_EQ(base.finish_reason, "length");
  EXPECT_TRUE(base.truncated);
  // eos: the sample stops at the first occurrence of the eos id, which is kept
  int eos = base.ids[5];
  size_t first = std::find(base.ids.begin(), base.ids.end(), eos) - base.ids.begin();
  c.eos_ids = {eos};
  auto s = e.generate(rq, c)[0];
  EXPECT_EQ(s.ids, std::vector<int>(base.ids.begin(), base.ids.begin() + first + 1));
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_FALSE(s.truncated);
  // stop string spanning tokens: each id decodes to two letters
  c.eos_ids.clear();
  c.decode = [](const std::vector<int>& ids) {
    std::string t;
    for (int id : ids) t += std::string(1, (char)('a' + id % 26)) + (char)('a' + id / 26);
    return t;
  };
  std::string text = c.decode(base.ids);
  std::string stop = text.substr(7, 4);  // from the middle of token 3 into token 5
  size_t at = text.find(stop);
  size_t end_token = (at + stop.size() - 1) / 2;
  c.stop = {stop};
  s = e.generate(rq, c)[0];
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.stop_text_pos, at);
  EXPECT_EQ(s.ids, std::vector<int>(base.ids.begin(), base.ids.begin() + end_token + 1));
  // max_position_embeddings caps prompt + completion
  c.stop.clear();
  std::vector<GenRequest> longp(1);
  longp[0].prompt.assign(m.cfg.max_pos - 3, 9);
  s = e.generate(longp, c)[0];
  EXPECT_EQ(s.ids.size(), 3u);
  EXPECT_EQ(s.finish_reason, "length");
  EXPECT_TRUE(s.truncated);
}

TEST(Engine, StreamingCallbackSeesEveryTokenInOrder) {
  Model m = Model::load(fixture("model_qwen3"));
  Engine e(m);
  auto rq = some_requests(m.cfg.V, 2, 3);
  GenConfig c = sampled_config();
  c.max_batch = 2;
  std::map<std::pair<int, int>, std::vector<int>> seen;
  auto out = e.generate(rq, c, [&](const GenSample& s, int tok) { seen[{s.prompt_index, s.sample_index}].push_back(tok); });
  for (auto& s : out) {
    std::pair<int, int> key(s.prompt_index, s.sample_index);
    EXPECT_EQ(seen[key], s.ids);
  }
}

TEST(Engine, MemoryPlanningErrorBeforeAnyWork) {
  Model m = Model::load(fixture("model_llama"));
  Engine e(m);
  auto rq = some_requests(m.cfg.V, 2, 8);
  GenConfig c = sampled_config();
  c.max_batch = 16;
  c.kv_budget_bytes = 4096;
  int calls = 0;
  try {
    e.generate(rq, c, [&](const GenSample&, int) { calls++; });
    FAIL() << "expected an error";
  } catch (const Error& ex) {
    std::string msg = ex.what();
    EXPECT_NE(msg.find("KV cache needs"), std::string::npos) << msg;
    EXPECT_NE(msg.find("16 sequences"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4096 bytes"), std::string::npos) << msg;
  }
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(e.stats().prefill_rows, 0);
}

TEST(Engine, BadRequestsAreClearErrors) {
  Model m = Model::load(fixture("model_llama"));
  Engine e(m);
  GenConfig c;
  auto expect_error = [&](const std::vector<GenRequest>& rq, const GenConfig& cc, const std::string& needle) {
    try {
      e.generate(rq, cc);
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error& ex) {
      EXPECT_NE(std::string(ex.what()).find(needle), std::string::npos) << ex.what();
    }
  };
  expect_error({{{}, 1}}, c, "empty prompt");
  expect_error({{{1, 2}, 0}}, c, "asks for 0 samples");
  expect_error({{{1, 64}, 1}}, c, "outside the vocabulary");
  expect_error({{std::vector<int>(m.cfg.max_pos, 1), 1}}, c, "max_position_embeddings");
  GenConfig c2 = c;
  c2.max_new_tokens = 0;
  expect_error({{{1}, 1}}, c2, "max_new_tokens");
  c2 = c;
  c2.stop = {"x"};
  expect_error({{{1}, 1}}, c2, "decode function");
  c2 = c;
  c2.sampling.top_p = 0.f;
  expect_error({{{1}, 1}}, c2, "top_p");
  c2 = c;
  c2.eos_ids = {-1};
  expect_error({{{1}, 1}}, c2, "eos id");
}
