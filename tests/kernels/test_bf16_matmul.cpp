// bf16 mode's products (kernels.h Bf16Matmul, matmul_backward_weight_bf16) against the scalar reference (double sums
// over the bf16-rounded operands), their row invariance (what keeps the rollout engine's log-probs equal to the
// trainer's), and the rounding itself on hand-picked values.
#include "kernels/kernels.h"
#include "core/bits.h"
#include "core/rng.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <utility>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace r1;

namespace {
std::vector<float> frandn(size_t n, uint64_t seed, float scale = 1.f) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = (float)r.normal() * scale;
  return v;
}
// fp32 sums of K exact products of bf16 values (each |product| <= max|a| max|w|): the fp32 result differs from the
// double sum by at most ~K * 2^-24 * Σ|a_k w_k|; compare relative to that sum's scale.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double scale, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); i++)
    ASSERT_NEAR(got[i], want[i], 1e-5 * scale) << what << " element " << i;
}
bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }
}  // namespace

TEST(Bf16, RoundingIsNearestEven) {
  // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties to even (1). 1 + 3*2^-8 ties up to 1 + 2^-6.
  const float in[] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.5f,
                      std::numeric_limits<float>::infinity(), 3.4e38f};
  const uint16_t want[] = {0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC020, 0x7F80, 0x7F80};
  uint16_t out[7];
  round_to_bf16(out, in, 7);
  for (int i = 0; i < 7; i++) EXPECT_EQ(out[i], want[i]) << "value " << in[i];
  float nan = std::numeric_limits<float>::quiet_NaN();
  uint16_t n;
  round_to_bf16(&n, &nan, 1);
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(n)));
}

TEST(Bf16, ProductsMatchReference) {
  for (bool bias : {false, true})
    for (int M : {1, 3, 17, 70}) {
      const int N = 48, K = 80;
      auto a = frandn((size_t)M * K, 1 + M), w = frandn((size_t)N * K, 2, 0.1f), b = frandn(N, 3);
      auto dout = frandn((size_t)M * N, 4 + M);
      Bf16Matmul mm(N, K, true);
      mm.set(w.data());
      std::vector<float> out((size_t)M * N), ref_out(out.size());
      mm.forward(out.data(), a.data(), bias ? b.data() : nullptr, M);
      ref::matmul_forward_bf16(ref_out.data(), a.data(), w.data(), bias ? b.data() : nullptr, M, N, K);
      expect_close(out, ref_out, 0.1 * K, "forward");

      for (bool acc : {false, true}) {
        auto da = frandn((size_t)M * K, 9), ref_da = da;
        mm.backward_data(da.data(), dout.data(), M, acc);
        ref::matmul_backward_data_bf16(ref_da.data(), dout.data(), w.data(), M, N, K, acc);
        expect_close(da, ref_da, 0.1 * N, acc ? "backward_data +=" : "backward_data");
      }
      auto dw = frandn((size_t)N * K, 10), ref_dw = dw, db = frandn(N, 11), ref_db = db;
      matmul_backward_weight_bf16(dw.data(), bias ? db.data() : nullptr, dout.data(), a.data(), M, N, K);
      ref::matmul_backward_weight_bf16(ref_dw.data(), bias ? ref_db.data() : nullptr, dout.data(), a.data(), M, N, K);
      expect_close(dw, ref_dw, M, "backward_weight");
      expect_close(db, ref_db, M, "dbias");
    }
}

// backward_data over a long N (an lm_head's vocabulary) runs in chunks of N summed in order (bf16_matmul.cpp
// kBwdChunk): every chunk, the boundaries between them included, against the reference, with and without +=, alone
// and inside backward(); padded row counts (1) and unpadded ones.
TEST(Bf16, LongBackwardDataInChunksMatchesReference) {
  const int N = 2 * 8192 + 100, K = 40;
  auto w = frandn((size_t)N * K, 51, 0.1f);
  Bf16Matmul mm(N, K, true);
  mm.set(w.data());
  for (int M : {1, 20, 70}) {
    auto dout = frandn((size_t)M * N, 52 + M), a = frandn((size_t)M * K, 60 + M);
    for (bool acc : {false, true}) {
      auto da = frandn((size_t)M * K, 9), ref_da = da;
      mm.backward_data(da.data(), dout.data(), M, acc);
      ref::matmul_backward_data_bf16(ref_da.data(), dout.data(), w.data(), M, N, K, acc);
      expect_close(da, ref_da, 0.1 * N, acc ? "chunked backward_data +=" : "chunked backward_data");
    }
    std::vector<float> da1((size_t)M * K), da2((size_t)M * K, 7.f), dw((size_t)N * K, 0.f);
    mm.backward_data(da1.data(), dout.data(), M, false);
    mm.backward(da2.data(), dw.data(), nullptr, dout.data(), a.data(), M);
    EXPECT_TRUE(same_bits(da1.data(), da2.data(), da1.size())) << "backward's da, M " << M;
  }
}

TEST(Bf16, RoundsItsInputsNotItsOutputs) {
  // a and w that are not bf16 values give the product of their roundings, not of the values themselves
  const int M = 1, N = 1, K = 2;
  std::vector<float> a = {1.0f + 0x1p-9f, 3.0f}, w = {1.0f, 1.0f + 0x1p-8f + 0x1p-12f}, out(1);
  Bf16Matmul mm(N, K, false);
  mm.set(w.data());
  mm.forward(out.data(), a.data(), nullptr, M);
  EXPECT_EQ(out[0], 1.0f + 3.0f * (1.0f + 0x1p-7f));  // exact in fp32
}

TEST(Bf16, RowsDoNotDependOnTheBatch) {
  // The trainer runs a sequence's rows inside a batch of hundreds; the engine decodes them one to a few at a time.
  // Both go through the same object, so row i must give the same bits in any M and at any offset.
  // (oneDNN chooses its kernel by problem size; small shapes are where it changes with M)
  for (auto [N, K] : std::vector<std::pair<int, int>>{{96, 160}, {64, 64}, {32, 48}, {256, 64}, {1000, 512}}) {
  const int Mmax = 100;
  auto a = frandn((size_t)Mmax * K, 21), w = frandn((size_t)N * K, 22, 0.05f), b = frandn(N, 23);
  auto dout = frandn((size_t)Mmax * N, 24);
  Bf16Matmul mm(N, K, true);
  mm.set(w.data());
  for (bool bias : {false, true}) {
    std::vector<float> all((size_t)Mmax * N), all_da((size_t)Mmax * K);
    mm.forward(all.data(), a.data(), bias ? b.data() : nullptr, Mmax);
    mm.backward_data(all_da.data(), dout.data(), Mmax, false);
    for (int M : {1, 2, 4, 7, 33})
      for (int off : {0, 5, Mmax - M}) {
        std::vector<float> part((size_t)M * N), part_da((size_t)M * K);
        mm.forward(part.data(), a.data() + (size_t)off * K, bias ? b.data() : nullptr, M);
        mm.backward_data(part_da.data(), dout.data() + (size_t)off * N, M, false);
        EXPECT_TRUE(same_bits(part.data(), all.data() + (size_t)off * N, part.size())) << "forward M " << M << " off " << off;
        EXPECT_TRUE(same_bits(part_da.data(), all_da.data() + (size_t)off * K, part_da.size()))
            << "backward_data M " << M << " off " << off << " shape " << N << "x" << K;
      }
  }
  }
}

TEST(Bf16, ThreadCountDoesNotChangeTheBits) {
  const int N = 200, K = 96, M = 37;
  auto a = frandn((size_t)M * K, 41), w = frandn((size_t)N * K, 42, 0.05f), dout = frandn((size_t)M * N, 43);
  Bf16Matmul mm(N, K, true);
  mm.set(w.data());
  std::vector<float> o[2], da[2], dw[2];
  const int threads = omp_get_max_threads();
  for (int t : {0, 1}) {
    omp_set_num_threads(t == 0 ? 1 : std::max(2, threads));
    o[t].resize((size_t)M * N);
    da[t].resize((size_t)M * K);
    dw[t].assign((size_t)N * K, 0.f);
    mm.forward(o[t].data(), a.data(), nullptr, M);
    mm.backward_data(da[t].data(), dout.data(), M, false);
    matmul_backward_weight_bf16(dw[t].data(), nullptr, dout.data(), a.data(), M, N, K);
  }
  omp_set_num_threads(threads);
  EXPECT_TRUE(same_bits(o[0].data(), o[1].data(), o[0].size()));
  EXPECT_TRUE(same_bits(da[0].data(), da[1].data(), da[0].size()));
  EXPECT_TRUE(same_bits(dw[0].data(), dw[1].data(), dw[0].size()));
}

TEST(Bf16, SetFromBf16BitsEqualsSetFromTheirValues) {
  const int N = 40, K = 64, M = 5;
  auto w = frandn((size_t)N * K, 31, 0.1f), a = frandn((size_t)M * K, 32);
  std::vector<uint16_t> bits(w.size());
  round_to_bf16(bits.data(), w.data(), w.size());
  Bf16Matmul x(N, K, false), y(N, K, false);
  x.set(w.data());
  y.set_bf16(bits.data());
  std::vector<float> ox((size_t)M * N), oy(ox.size());
  x.forward(ox.data(), a.data(), nullptr, M);
  y.forward(oy.data(), a.data(), nullptr, M);
  EXPECT_TRUE(same_bits(ox.data(), oy.data(), ox.size()));
  EXPECT_LE(x.bytes(), (size_t)N * K * 2 + 4096);  // one bf16 copy, half an fp32 matrix (plus layout padding)
}

TEST(Bf16, AttentionOverBf16KVCacheMatchesReference) {
  // decode (Tq = 1) and an appended chunk (Tq = 3) against Tk cached positions, grouped heads
  const int NH = 4, NKV = 2, HS = 32, Tk = 19, KVD = NKV * HS, QD = NH * HS;
  auto kf = frandn((size_t)Tk * KVD, 51), vf = frandn((size_t)Tk * KVD, 52);
  std::vector<uint16_t> k(kf.size()), v(vf.size());
  round_to_bf16(k.data(), kf.data(), k.size());
  round_to_bf16(v.data(), vf.data(), v.size());
  for (int Tq : {1, 3}) {
    auto q = frandn((size_t)Tq * QD, 53 + Tq);
    std::vector<float> out((size_t)Tq * QD), want(out.size());
    attention_forward_kv_bf16(out.data(), q.data(), k.data(), v.data(), Tq, Tk, NH, NKV, HS, QD, KVD, QD);
    ref::attention_forward_kv_bf16(want.data(), q.data(), k.data(), v.data(), Tq, Tk, NH, NKV, HS, QD, KVD, QD);
    expect_close(out, want, 1.0, "attention over a bf16 KV cache");
    // row form: the last row of the chunk equals that row decoded alone
    if (Tq == 3) {
      std::vector<float> one(QD);
      attention_forward_kv_bf16(one.data(), q.data() + 2 * QD, k.data(), v.data(), 1, Tk, NH, NKV, HS, QD, KVD, QD);
      EXPECT_TRUE(same_bits(one.data(), out.data() + 2 * QD, QD));
    }
  }
}

// bf16 mode's forward products on the model's shapes run amx_rows.cpp's kernel: oneDNN 2.6's own AMX kernel sums a
// row differently with the row count and the thread count from K = 1024 on (measured; the shapes above are too
// small to show it), which would put the rollout engine (a few rows) and the trainer (hundreds) apart. Each row
// must come out the same bits in any batch, at any offset, with any thread count, with and without a bias, and
// agree with the reference, on the decode benchmark's shapes (hidden 1024, FFN 2816) and the main job's (hidden
// 128, FFN 384), the byte-level lm_heads (261 columns, not a multiple of the kernel's 64) included.
TEST(Bf16, ForwardRowsDoNotDependOnBatchOrThreadsOnModelShapes) {
  const std::vector<std::pair<int, int>> shapes = {{2048, 1024}, {1024, 1024}, {5632, 1024}, {1024, 2816}, {261, 1024},
                                                   {256, 128},   {128, 128},   {768, 128},   {128, 384},   {261, 128}};
  int amx = 0;
  const int threads = omp_get_max_threads();
  for (auto [N, K] : shapes) {
    const int Mmax = 300;
    auto a = frandn((size_t)Mmax * K, 71), w = frandn((size_t)N * K, 72, 0.05f), b = frandn(N, 73);
    Bf16Matmul mm(N, K, false);
    mm.set(w.data());
    amx += mm.kernel() == "amx_rows";
    for (bool bias : {false, true}) {
      std::vector<float> all((size_t)Mmax * N), ref_out((size_t)3 * N);
      mm.forward(all.data(), a.data(), bias ? b.data() : nullptr, Mmax);
      ref::matmul_forward_bf16(ref_out.data(), a.data(), w.data(), bias ? b.data() : nullptr, 3, N, K);
      expect_close(std::vector<float>(all.begin(), all.begin() + 3 * N), ref_out, 0.05 * K, "forward");
      for (int M : {1, 17, 64, 65, 200})
        for (int off : {0, 3, Mmax - M}) {
          std::vector<float> part((size_t)M * N);
          mm.forward(part.data(), a.data() + (size_t)off * K, bias ? b.data() : nullptr, M);
          EXPECT_TRUE(same_bits(part.data(), all.data() + (size_t)off * N, part.size()))
              << N << "x" << K << " M " << M << " off " << off << " bias " << bias << " kernel " << mm.kernel();
        }
      omp_set_num_threads(1);
      std::vector<float> one((size_t)Mmax * N);
      mm.forward(one.data(), a.data(), bias ? b.data() : nullptr, Mmax);
      omp_set_num_threads(threads);
      EXPECT_TRUE(same_bits(one.data(), all.data(), one.size())) << N << "x" << K << " one thread, bias " << bias;
    }
  }
  if (amx == 0) GTEST_SKIP() << "this CPU has no AMX tiles (or the OS did not grant them): oneDNN ran every product";
  EXPECT_EQ(amx, (int)shapes.size()) << "every shape here is one the AMX kernel takes (K % 32 == 0)";
}

// The backward products at the hidden-1024 model's shapes and a shard's rows: with any thread count, the same bits.
// A GRPO shard is the same rows on any rank count (train/shards.h), but the rank that runs it may have another
// thread count (OMP_NUM_THREADS, cores shared between ranks), so the shards' gradients, summed in a fixed tree,
// keep their bits across rank counts only if each shard's backward does not depend on the threads. (oneDNN's
// forward matmul did depend on them at K >= 1024: amx_rows.cpp.)
TEST(Bf16, BackwardDoesNotDependOnThreadsOnModelShapes) {
  const std::vector<std::pair<int, int>> shapes = {{2048, 1024}, {1024, 1024}, {5632, 1024}, {1024, 2816}, {261, 1024}};
  const int threads = omp_get_max_threads();
  if (threads < 2) GTEST_SKIP() << "one thread only: nothing to compare";
  for (auto [N, K] : shapes)
    for (int M : {64, 300, 512}) {
      auto a = frandn((size_t)M * K, 81), w = frandn((size_t)N * K, 82, 0.05f), dout = frandn((size_t)M * N, 83);
      Bf16Matmul mm(N, K, true);
      mm.set(w.data());
      std::vector<float> da[2], dw[2], db[2];
      for (int t : {0, 1}) {
        omp_set_num_threads(t == 0 ? 1 : threads);
        da[t].resize((size_t)M * K);
        dw[t].assign((size_t)N * K, 0.f);
        db[t].assign(N, 0.f);
        mm.backward(da[t].data(), dw[t].data(), db[t].data(), dout.data(), a.data(), M);
      }
      omp_set_num_threads(threads);
      EXPECT_TRUE(same_bits(da[0].data(), da[1].data(), da[0].size())) << "da " << N << "x" << K << " M " << M;
      EXPECT_TRUE(same_bits(dw[0].data(), dw[1].data(), dw[0].size())) << "dw " << N << "x" << K << " M " << M;
      EXPECT_TRUE(same_bits(db[0].data(), db[1].data(), db[0].size())) << "dbias " << N << "x" << K << " M " << M;
    }
}
