// The CPU backend's bf16 products (kernels.h Bf16Matmul, matmul_backward_weight_bf16): oneDNN's matmul with bf16
// sources and weights and an fp32 destination (AMX tiles or AVX-512 BF16 dot products, whichever this CPU has),
// weights packed once per update, one primitive per distinct row count, activations rounded to bf16 on the way in.
#include "core/aligned.h"
#include "core/bits.h"
#include "core/check.h"
#include "kernels/cpu.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace r1::cpu {

namespace {
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}
constexpr int kLayoutRows = 64;  // the row count whose preferred weight layout is used for every M

// Thread-local scratch for activations rounded to bf16 (the products run on the calling thread's OpenMP team),
// 64-byte aligned (core/aligned.h: oneDNN reads an unaligned source 15-30% slower).
AlignedArray<uint16_t>& scratch(int which) {
  thread_local AlignedArray<uint16_t> s[3];
  return s[which];
}

void count(std::chrono::steady_clock::time_point t0, double flops) {
  GemmStats& gs = gemm_stats();
  gs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gs.flops += flops;
}

dnnl::primitive_attr sum_attr(bool accumulate) {
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.f);
    attr.set_post_ops(po);
  }
  return attr;
}

void weight_grad(float* dw, float* dbias, const float* dout, const uint16_t* db, const float* a, int M, int N, int K);

struct Prim {
  std::unique_ptr<dnnl::matmul> p;
  int rows = 0;  // the row count it runs (>= M: padded)
};

// One packed layout of W for products src[M, Kin] · B[Kin, Nout] where B is W or W^T.
struct Layout {
  dnnl::memory::desc desc;
  dnnl::memory mem;
  // (M, flag) -> primitive; flag: bias (forward) or accumulate (backward_data)
  std::map<std::pair<int, bool>, Prim> prims;
  std::string impl;  // oneDNN's kernel for kLayoutRows rows
};

struct Bf16 final : Bf16Matmul::Impl {
  int N = 0, K = 0;
  bool with_backward = false;
  Layout fwd;  // B = W^T [K, N]
  Layout bwd;  // B = W   [N, K]
  bool written = false;  // set() or set_bf16() has run

  Bf16(int n, int k, bool wb) : N(n), K(k), with_backward(wb) {
    using namespace dnnl;
    auto make = [&](Layout& L, int kin, int nout) {
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({kLayoutRows, kin}, dt::bf16, tag::ab),
                                                    memory::desc({kin, nout}, dt::bf16, tag::any),
                                                    memory::desc({kLayoutRows, nout}, dt::f32, tag::ab)),
                                       cpu_engine());
      L.desc = pd.weights_desc();
      L.mem = memory(L.desc, cpu_engine());
    };
    make(fwd, K, N);
    if (with_backward) make(bwd, N, K);
  }
  // Packs W (bf16 [N, K], row-major) into the layouts; no unpacked copy is kept.
  void pack(const uint16_t* src) {
    using namespace dnnl;
    // src [N, K] row-major is W^T [K, N] in column-major order (tag ba), and W [N, K] in tag ab
    memory t({{K, N}, dt::bf16, tag::ba}, cpu_engine(), const_cast<uint16_t*>(src));
    reorder(t, fwd.mem).execute(cpu_stream(), t, fwd.mem);
    if (with_backward) {
      memory u({{N, K}, dt::bf16, tag::ab}, cpu_engine(), const_cast<uint16_t*>(src));
      reorder(u, bwd.mem).execute(cpu_stream(), u, bwd.mem);
    }
    cpu_stream().wait();
    written = true;
  }
  void set(const float* w) override {
    // rounded into a buffer kept between calls: a fresh one per matrix and update cost a page fault per 4 KB
    thread_local AlignedArray<uint16_t> rounded;
    uint16_t* r = rounded.get((size_t)N * K);
    round_to_bf16(r, w, (size_t)N * K);
    pack(r);
  }
  void set_bf16(const uint16_t* w) override { pack(w); }
  size_t bytes() const override { return fwd.desc.get_size() + (with_backward ? bwd.desc.get_size() : 0); }

  // dst[M, nout] (+)= src[M, kin] (bf16) · L. oneDNN picks its kernel by problem size: for a few rows of a small
  // matrix it takes an AVX-512 BF16 kernel instead of the AMX one it takes for kLayoutRows, and the two sum in a
  // different order. So a row count whose kernel differs from kLayoutRows' runs padded with zero rows to the
  // smallest count (16, 32, then kLayoutRows) that gets the same kernel: every row, whatever M, then comes from one
  // kernel whose rows do not depend on the others.
  std::string impl_of(Layout& L, int M, int kin, int nout) {
    using namespace dnnl;
    auto pd = matmul::primitive_desc(matmul::desc(memory::desc({M, kin}, dt::bf16, tag::ab), L.desc,
                                                  memory::desc({M, nout}, dt::f32, tag::ab)),
                                     cpu_engine());
    return pd.impl_info_str();
  }
  void run(Layout& L, float* dst, const uint16_t* src, const float* bias, int M, int kin, int nout, bool accumulate) {
    using namespace dnnl;
    const bool flag = bias != nullptr || accumulate;
    auto key = std::make_pair(M, flag);
    auto it = L.prims.find(key);
    if (it == L.prims.end()) {
      if (L.prims.size() > 256) L.prims.clear();  // many distinct row counts (packed training batches): start over
      if (L.impl.empty()) L.impl = impl_of(L, kLayoutRows, kin, nout);
      int rows = M;
      for (int r : {16, 32, kLayoutRows})
        if (rows < r && impl_of(L, rows, kin, nout) != L.impl) rows = r;
      memory::desc bd = bias ? memory::desc({1, nout}, dt::f32, tag::ab) : memory::desc();
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({rows, kin}, dt::bf16, tag::ab), L.desc, bd,
                                                    memory::desc({rows, nout}, dt::f32, tag::ab)),
                                       sum_attr(accumulate), cpu_engine());
      it = L.prims.emplace(key, Prim{std::make_unique<matmul>(pd), rows}).first;
    }
    const int rows = it->second.rows;
    if (rows > M) {  // padded: zero rows after the real ones, the result's real rows copied out
      uint16_t* ps = scratch(1).get((size_t)rows * kin);
      std::memcpy(ps, src, sizeof(uint16_t) * M * kin);
      std::memset(ps + (size_t)M * kin, 0, sizeof(uint16_t) * (rows - M) * kin);
      src = ps;
      thread_local AlignedArray<float> padded;
      float* pd = padded.get((size_t)rows * nout);
      if (accumulate) std::memcpy(pd, dst, sizeof(float) * M * nout);
      exec(L, it->second, pd, src, bias, rows, kin, nout);
      std::memcpy(dst, pd, sizeof(float) * M * nout);
      return;
    }
    exec(L, it->second, dst, src, bias, M, kin, nout);
  }
  void exec(Layout& L, Prim& p, float* dst, const uint16_t* src, const float* bias, int M, int kin, int nout) {
    using namespace dnnl;
    memory s({{M, kin}, dt::bf16, tag::ab}, cpu_engine(), const_cast<uint16_t*>(src));
    memory d({{M, nout}, dt::f32, tag::ab}, cpu_engine(), dst);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, L.mem}, {DNNL_ARG_DST, d}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory({{1, nout}, dt::f32, tag::ab}, cpu_engine(), const_cast<float*>(bias)));
    p.p->execute(cpu_stream(), args);
    cpu_stream().wait();
  }
  void forward(float* out, const float* a, const float* bias, int M) override {
    if (M <= 0) return;
    R1_CHECK(written, "Bf16Matmul::forward before set(): the bf16 weight [", N, ", ", K, "] was never written");
    auto t0 = std::chrono::steady_clock::now();
    uint16_t* ab = scratch(0).get((size_t)M * K);
    round_to_bf16(ab, a, (size_t)M * K);
    run(fwd, out, ab, bias, M, K, N, false);
    count(t0, 2.0 * M * N * K);
  }
  void backward_data(float* da, const float* dout, int M, bool accumulate) override {
    if (M <= 0) return;
    R1_CHECK(with_backward, "Bf16Matmul::backward_data on an inference-only weight (with_backward = false)");
    auto t0 = std::chrono::steady_clock::now();
    uint16_t* db = scratch(0).get((size_t)M * N);
    round_to_bf16(db, dout, (size_t)M * N);
    run(bwd, da, db, nullptr, M, N, K, accumulate);
    count(t0, 2.0 * M * N * K);
  }
  void backward(float* da, float* dw, float* dbias, const float* dout, const float* a, int M) override {
    if (M <= 0) return;
    R1_CHECK(with_backward, "Bf16Matmul::backward on an inference-only weight (with_backward = false)");
    auto t0 = std::chrono::steady_clock::now();
    uint16_t* db = scratch(0).get((size_t)M * N);  // dout rounded once, for both products
    round_to_bf16(db, dout, (size_t)M * N);
    if (da) run(bwd, da, db, nullptr, M, N, K, false);
    count(t0, da ? 2.0 * M * N * K : 0.0);
    weight_grad(dw, dbias, dout, db, a, M, N, K);
  }
};

}  // namespace

void round_to_bf16(uint16_t* out, const float* in, size_t n) {
  // elementwise integer arithmetic the compiler vectorises; the same rounding as core/bits.h f32_to_bf16_bits
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (size_t i = 0; i < n; i++) out[i] = f32_to_bf16_bits(in[i]);
}

std::unique_ptr<Bf16Matmul::Impl> make_bf16_matmul(int N, int K, bool with_backward) {
  R1_CHECK(N > 0 && K > 0, "Bf16Matmul: empty weight [", N, ", ", K, "]");
  return std::make_unique<Bf16>(N, K, with_backward);
}

namespace {
// dw += db^T · bf16(a) with db = bf16(dout) already rounded; dbias += column sums of dout (fp32).
void weight_grad(float* dw, float* dbias, const float* dout, const uint16_t* db, const float* a, int M, int N, int K) {
  using namespace dnnl;
  if (M <= 0) return;
  if (dbias) {
#pragma omp parallel for schedule(static)
    for (int j = 0; j < N; j++) {
      float s = 0;
      for (int i = 0; i < M; i++) s += dout[(size_t)i * N + j];
      dbias[j] += s;
    }
  }
  if (!dw) return;
  auto t0 = std::chrono::steady_clock::now();
  uint16_t* ab = scratch(1).get((size_t)M * K);
  round_to_bf16(ab, a, (size_t)M * K);
  // dw [N, K] += dout^T [N, M] · a [M, K], dout^T written out row-major first: oneDNN's AMX kernel reads a
  // transposed source (dout [M, N] as tag ba) about 30% slower here than the copy costs (bench_kernels_bf16,
  // 5504x1024x1024: 398 against 548 GFLOP/s on one core)
  // (by a oneDNN reorder, kept per shape: a plain loop over 32x32 tiles was 7% of a profiled training step)
  uint16_t* doutT = scratch(2).get((size_t)N * M);
  {
    thread_local std::map<std::pair<int, int>, std::unique_ptr<reorder>> transposes;
    auto key = std::make_pair(M, N);
    auto tr = transposes.find(key);
    memory from({{N, M}, dt::bf16, tag::ba}, cpu_engine(), const_cast<uint16_t*>(db));
    memory to({{N, M}, dt::bf16, tag::ab}, cpu_engine(), doutT);
    if (tr == transposes.end()) {
      if (transposes.size() > 256) transposes.clear();
      tr = transposes.emplace(key, std::make_unique<reorder>(from, to)).first;
    }
    tr->second->execute(cpu_stream(), from, to);
  }
  struct Key {
    int M, N, K;
    bool operator<(const Key& o) const { return std::tie(M, N, K) < std::tie(o.M, o.N, o.K); }
  };
  thread_local std::map<Key, std::unique_ptr<matmul>> prims;
  auto it = prims.find({M, N, K});
  if (it == prims.end()) {
    if (prims.size() > 256) prims.clear();
    auto pd = matmul::primitive_desc(matmul::desc(memory::desc({N, M}, dt::bf16, tag::ab),
                                                  memory::desc({M, K}, dt::bf16, tag::ab),
                                                  memory::desc({N, K}, dt::f32, tag::ab)),
                                     sum_attr(true), cpu_engine());
    it = prims.emplace(Key{M, N, K}, std::make_unique<matmul>(pd)).first;
  }
  memory s({{N, M}, dt::bf16, tag::ab}, cpu_engine(), doutT);
  memory w({{M, K}, dt::bf16, tag::ab}, cpu_engine(), ab);
  memory d({{N, K}, dt::f32, tag::ab}, cpu_engine(), dw);
  it->second->execute(cpu_stream(), {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}});
  cpu_stream().wait();
  count(t0, 2.0 * M * N * K);
}

}  // namespace

void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K) {
  if (M <= 0) return;
  uint16_t* db = scratch(0).get((size_t)M * N);
  if (dw) round_to_bf16(db, dout, (size_t)M * N);
  weight_grad(dw, dbias, dout, db, a, M, N, K);
}

}  // namespace r1::cpu
