// The bf16 embedding lookup (kernels.h embedding_forward_bf16, an inference-only model's embedding table): the same
// bits as the reference and as the fp32 lookup over the widened table, at sizes above and below the threading cut.
#include "kernels/kernels.h"
#include "core/bits.h"
#include "core/rng.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace r1;

TEST(EmbeddingBf16, EqualsReferenceAndTheFp32LookupOfTheWidenedTable) {
  for (int C : {33, 896}) {
    const int V = 300, N = C > 100 ? 200 : 9;  // 200 x 896 rows: the parallel path
    Rng r(5 + C);
    std::vector<uint16_t> wte((size_t)V * C);
    std::vector<float> wide(wte.size());
    for (size_t i = 0; i < wte.size(); i++) {
      wte[i] = f32_to_bf16_bits((float)r.normal());
      wide[i] = bf16_bits_to_f32(wte[i]);
    }
    wte[7] = 0x7fc0;  // a NaN, an Inf and a negative zero pass through as they are
    wte[8] = 0xff80;
    wte[9] = 0x8000;
    wide[7] = bf16_bits_to_f32(wte[7]);
    wide[8] = bf16_bits_to_f32(wte[8]);
    wide[9] = bf16_bits_to_f32(wte[9]);
    std::vector<int> ids(N);
    for (int n = 0; n < N; n++) ids[n] = (int)((n * 131 + 7) % V);
    ids[0] = 0;  // the row with the specials
    std::vector<float> o1((size_t)N * C), o2((size_t)N * C), o3((size_t)N * C);
    embedding_forward_bf16(o1.data(), ids.data(), wte.data(), N, C);
    ref::embedding_forward_bf16(o2.data(), ids.data(), wte.data(), N, C);
    embedding_forward(o3.data(), ids.data(), wide.data(), N, C);
    EXPECT_EQ(std::memcmp(o1.data(), o2.data(), sizeof(float) * o1.size()), 0) << "C " << C;
    EXPECT_EQ(std::memcmp(o1.data(), o3.data(), sizeof(float) * o1.size()), 0) << "C " << C;
  }
}
