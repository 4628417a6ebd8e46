// The CPU backend's packed weights (kernels.h PackedMatmul): oneDNN's matmul primitive over a weight reordered
// into the blocked layout it prefers, with one primitive per distinct row count M.
#include "core/bits.h"
#include "core/check.h"
#include "core/aligned.h"
#include "kernels/cpu.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace r1::cpu {

namespace {
dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
bool is_reference_impl(const char* info) { return std::string(info).find("ref") != std::string::npos; }
constexpr int kLayoutRows = 64;  // the row count whose preferred weight layout is used for every M

struct Packed final : PackedMatmul::Impl {
  void forward(float* out, const float* a, const float* bias, int M, bool row_invariant) override;
  bool packed() const override { return is_packed; }
  bool bf16_weights() const override { return !wbf16.empty(); }
  int N = 0, K = 0;
  const float* w = nullptr;  // the caller's weight [N, K], for the fallback
  dnnl::stream stream;
  dnnl::memory::desc wdesc;
  dnnl::memory wpacked;
  AlignedArray<uint8_t> wstore;  // wpacked's bytes (core/aligned.h: huge pages when large)
  bool is_packed = false;
  std::vector<uint16_t> wbf16;  // [N, K] the weight as bf16 when every entry is a bf16 value (else empty)
  std::map<std::pair<int, bool>, std::unique_ptr<dnnl::matmul>> prims;  // (M, bias) -> primitive, or null: fallback
};

}  // namespace

std::unique_ptr<PackedMatmul::Impl> pack_matmul(const float* w, int N, int K) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  R1_CHECK(N > 0 && K > 0, "PackedMatmul: empty weight [", N, ", ", K, "]");
  auto impl = std::make_unique<Packed>();
  Packed& m = *impl;
  m.N = N;
  m.K = K;
  m.w = w;
  // A weight whose every entry is a bf16 value (a bf16 checkpoint: low 16 bits zero) is also kept as bf16, for
  // the products of a few rows: they read the matrix, and half the bytes is the same product, exactly widened.
  {
    const size_t n = (size_t)N * K;
    bool exact = true;
    for (size_t i = 0; i < n && exact; i++) exact = (f32_bits(w[i]) & 0xFFFFu) == 0;
    if (exact) {
      m.wbf16.resize(n);
      for (size_t i = 0; i < n; i++) m.wbf16[i] = (uint16_t)(f32_bits(w[i]) >> 16);
    }
  }
  try {
    engine& eng = cpu_engine();
    m.stream = stream(eng);
    auto pd = matmul::primitive_desc(matmul::desc(memory::desc({kLayoutRows, K}, dt::f32, tag::ab),
                                                  memory::desc({K, N}, dt::f32, tag::any),
                                                  memory::desc({kLayoutRows, N}, dt::f32, tag::ab)),
                                     eng);
    if (is_reference_impl(pd.impl_info_str())) return impl;  // no fast kernel here: matmul_forward it is
    m.wdesc = pd.weights_desc();
    // w [N, K] row-major is the [K, N] matrix in column-major order (format tag ba)
    memory user({{K, N}, dt::f32, tag::ba}, eng, const_cast<float*>(w));
    m.wpacked = memory(m.wdesc, eng, m.wstore.get(m.wdesc.get_size()));
    reorder(user, m.wpacked).execute(m.stream, user, m.wpacked);
    m.stream.wait();
    m.is_packed = true;
  } catch (const dnnl::error&) {
    m.is_packed = false;  // fall back to matmul_forward
  }
  return impl;
}

void Packed::forward(float* out, const float* a, const float* bias, int M, bool row_invariant) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  Packed& m = *this;
  if (M <= 0) return;
  // A row or two is a read of the matrix, and sgemm's gemv path reads it at least as fast as the blocked kernel
  // with its per-call setup (a standalone timing: 1 x 32000 x 1024, 4.3 ms sgemm vs 5.3 ms packed). From 8 rows
  // on the packed product is 2-3x faster (bench_generate, batch 8 and 64).
  // With bf16 weights those few rows read half the bytes (matmul_forward_bf16w).
  // row_invariant keeps every M on the packed product (its rows do not depend on M: tests/kernels).
  const bool few = M < 4 && !row_invariant;
  if (few && !m.wbf16.empty()) return matmul_forward_bf16w(out, a, m.wbf16.data(), bias, M, m.N, m.K);
  if (!m.is_packed || few) return matmul_forward(out, a, m.w, bias, M, m.N, m.K);
  auto key = std::make_pair(M, bias != nullptr);
  auto it = m.prims.find(key);
  if (it == m.prims.end()) {
    std::unique_ptr<matmul> p;
    try {
      memory::desc bd = bias ? memory::desc({1, m.N}, dt::f32, tag::ab) : memory::desc();
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({M, m.K}, dt::f32, tag::ab), m.wdesc, bd,
                                                    memory::desc({M, m.N}, dt::f32, tag::ab)),
                                       cpu_engine());
      if (!is_reference_impl(pd.impl_info_str())) p = std::make_unique<matmul>(pd);
    } catch (const dnnl::error&) {
    }
    it = m.prims.emplace(key, std::move(p)).first;
  }
  if (!it->second) return matmul_forward(out, a, m.w, bias, M, m.N, m.K);
  auto t0 = std::chrono::steady_clock::now();
  engine& eng = cpu_engine();
  memory src({{M, m.K}, dt::f32, tag::ab}, eng, const_cast<float*>(a));
  memory dst({{M, m.N}, dt::f32, tag::ab}, eng, out);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.wpacked}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory({{1, m.N}, dt::f32, tag::ab}, eng, const_cast<float*>(bias)));
  it->second->execute(m.stream, args);
  m.stream.wait();
  GemmStats& gs = gemm_stats();
  gs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gs.flops += 2.0 * M * m.N * m.K;
}

}  // namespace r1::cpu
