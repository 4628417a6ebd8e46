// Packed batches (model/transformer.h PackedSeq): a prompt shared by several continuations as one prefix sequence
// must give the same log-probs, entropies and every parameter gradient as the same sequences written out in full,
// and as a padded (B, T) batch. This is what GRPO's share_prompt relies on.
#include "core/check.h"
#include "model/transformer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace r1;

namespace {

struct Case {
  std::vector<int> ids, tg;
  std::vector<PackedSeq> seqs;
  std::vector<int> scored;  // rows that carry a target, in sequence order
};

// Two prompts with three and two continuations. Returns the packed form (share = true: the prompt once, as a
// prefix) or each sequence written out in full.
Case make_case(int V, bool share) {
  std::vector<std::vector<int>> prompts = {{}, {}};
  for (int t = 0; t < 13; t++) prompts[0].push_back((t * 37 + 5) % V);
  for (int t = 0; t < 20; t++) prompts[1].push_back((t * 53 + 11) % V);
  std::vector<std::pair<int, std::vector<int>>> conts;  // (prompt, completion)
  int lens[5] = {5, 9, 1, 7, 3};
  for (int i = 0; i < 5; i++) {
    std::vector<int> c;
    for (int j = 0; j < lens[i]; j++) c.push_back((i * 71 + j * 29 + 3) % V);
    conts.push_back({i < 3 ? 0 : 1, c});
  }
  Case k;
  int prefix = -1, last_prompt = -1;
  auto add = [&](const std::vector<int>& ids, const std::vector<int>& tg, int pre) {
    k.seqs.push_back({(int)k.ids.size(), (int)ids.size(), pre});
    for (size_t j = 0; j < ids.size(); j++) {
      if (tg[j] >= 0) k.scored.push_back((int)k.ids.size());
      k.ids.push_back(ids[j]);
      k.tg.push_back(tg[j]);
    }
  };
  for (auto& [pi, c] : conts) {
    const auto& p = prompts[pi];
    std::vector<int> head(p.begin(), p.end() - 1);
    std::vector<int> ids{p.back()}, tg(c.begin(), c.end());
    ids.insert(ids.end(), c.begin(), c.end() - 1);
    if (share) {
      if (pi != last_prompt) {
        add(head, std::vector<int>(head.size(), -1), -1);
        prefix = (int)k.seqs.size() - 1;
        last_prompt = pi;
      }
      add(ids, tg, prefix);
    } else {
      ids.insert(ids.begin(), head.begin(), head.end());
      tg.insert(tg.begin(), head.size(), -1);
      add(ids, tg, -1);
    }
  }
  return k;
}

struct Result {
  std::vector<float> lp, ent, grads;
};

Result run(Model& m, const Case& k) {
  m.forward(k.ids.data(), k.tg.data(), (int)k.ids.size(), k.seqs, 0.8f, true);
  Result r;
  int N = (int)k.ids.size();
  std::vector<float> dlp(N, 0.f), dent(N, 0.f);
  for (size_t i = 0; i < k.scored.size(); i++) {
    int n = k.scored[i];
    r.lp.push_back(m.act().lp[n]);
    r.ent.push_back(m.act().ent[n]);
    dlp[n] = 0.3f * std::sin(1.0f + (float)i);  // an arbitrary loss over the scored rows
    dent[n] = 0.05f * std::cos(2.0f + (float)i);
  }
  m.zero_grad();
  m.backward(dlp.data(), dent.data());
  r.grads.assign(m.grads(), m.grads() + m.n_params);
  return r;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double scale = 0, worst = 0;
  for (size_t i = 0; i < a.size(); i++) {
    scale = std::max(scale, (double)std::fabs(b[i]));
    worst = std::max(worst, (double)std::fabs(a[i] - b[i]));
  }
  EXPECT_LE(worst, tol * std::max(1.0, scale)) << what << ": max |diff| " << worst << " (scale " << scale << ")";
}

class Packed : public ::testing::TestWithParam<Arch> {};

TEST_P(Packed, SharedPrefixEqualsFullSequences) {
  ModelConfig cfg = ModelConfig::tiny(GetParam(), 97, 64, 2, 4, 2, 96, 64);
  Model m(cfg);
  m.init_random(7, 0.08f);
  Case shared = make_case(cfg.V, true), full = make_case(cfg.V, false);
  ASSERT_LT(shared.ids.size(), full.ids.size());  // the prompts are computed once per group
  Result a = run(m, shared), b = run(m, full);
  expect_close(a.lp, b.lp, 2e-5, "log-probs");
  expect_close(a.ent, b.ent, 2e-5, "entropies");
  expect_close(a.grads, b.grads, 2e-5, "parameter gradients");
  // and the gradient is not trivially zero
  double norm = 0;
  for (float g : a.grads) norm += (double)g * g;
  EXPECT_GT(norm, 1e-6);
}

TEST_P(Packed, UnsharedPackingEqualsPaddedBatch) {
  ModelConfig cfg = ModelConfig::tiny(GetParam(), 97, 64, 2, 4, 2, 96, 64);
  Model m(cfg);
  m.init_random(8, 0.08f);
  Case full = make_case(cfg.V, false);
  Result a = run(m, full);
  // the same sequences right-padded into a (B, T) batch
  int B = (int)full.seqs.size(), T = 0;
  for (auto& s : full.seqs) T = std::max(T, s.len);
  std::vector<int> ids((size_t)B * T, 0), tg((size_t)B * T, -1);
  Case padded;
  for (int b = 0; b < B; b++) {
    const PackedSeq& s = full.seqs[b];
    padded.seqs.push_back({b * T, T, -1});
    for (int j = 0; j < s.len; j++) {
      ids[(size_t)b * T + j] = full.ids[s.off + j];
      tg[(size_t)b * T + j] = full.tg[s.off + j];
      if (full.tg[s.off + j] >= 0) padded.scored.push_back(b * T + j);
    }
  }
  padded.ids = ids;
  padded.tg = tg;
  Result b = run(m, padded);
  expect_close(a.lp, b.lp, 2e-5, "log-probs");
  expect_close(a.grads, b.grads, 2e-5, "parameter gradients");
}

INSTANTIATE_TEST_SUITE_P(Archs, Packed, ::testing::Values(Arch::Llama, Arch::Qwen2, Arch::Qwen3));

TEST(PackedLayout, BadLayoutsAreClearErrors) {
  ModelConfig cfg = ModelConfig::tiny(Arch::Llama, 50, 32, 1, 2, 1, 48, 16);
  Model m(cfg);
  m.init_random(1);
  std::vector<int> ids(20, 1), tg(20, 2);
  auto fails = [&](std::vector<PackedSeq> seqs, const char* needle, int N = 10) {
    try {
      m.forward(ids.data(), tg.data(), N, seqs);
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fails({{0, 4, -1}, {5, 5, -1}}, "must start at row 4");         // a gap
  fails({{0, 4, -1}, {4, 4, -1}}, "cover 8 rows of 10");          // rows left over
  fails({{0, 4, 1}, {4, 6, -1}}, "earlier sequence");             // prefix after its continuation
  fails({{0, 4, -1}, {4, 3, 0}, {7, 3, 1}}, "earlier sequence");  // a prefix with a prefix
  fails({{0, 10, -1}, {10, 10, 0}}, "exceeds max_position_embeddings", 20);  // positions continue the prefix
  EXPECT_NO_THROW(m.forward(ids.data(), tg.data(), 10, {{0, 6, -1}, {6, 4, 0}}));
}

}  // namespace
