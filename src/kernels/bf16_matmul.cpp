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
constexpr int kBwdChunk = 8192;  // the longest inner dimension backward_data's product runs in one piece

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

// One packed layout of W for products src[M, Kin] · B[Kin, Nout] where B is W or W^T, or of rows [k0, k0 + Kin)
// of B (a chunk of a long inner dimension: below).
struct Layout {
  int k0 = 0, kin = 0;  // the rows of B it holds
  dnnl::memory::desc desc;
  dnnl::memory mem;
  AlignedArray<uint8_t> store;  // mem's bytes (core/aligned.h: huge pages when large)
  // (M, flag) -> primitive; flag: bias (forward) or accumulate (backward_data)
  std::map<std::pair<int, bool>, Prim> prims;
  std::string impl;  // oneDNN's kernel for kLayoutRows rows
};

struct Bf16 final : Bf16Matmul::Impl {
  int N = 0, K = 0;
  bool with_backward = false;
  Layout fwd;               // B = W^T [K, N]
  std::vector<Layout> bwd;  // B = W   [N, K], in chunks of rows when N is long (kBwdChunk)
  bool written = false;  // set() or set_bf16() has run
  bool amx_rows = false;  // forward products run amx_bf16_rows on fwd's layout (below; amx_rows.cpp says why)

  Bf16(int n, int k, bool wb) : N(n), K(k), with_backward(wb) {
    using namespace dnnl;
    // ld: the source's row stride (a chunk's source is a slice of longer rows; oneDNN 2.6 takes its reference
    // kernel for a strided source with a layout chosen for a dense one)
    auto make = [&](Layout& L, int k0, int kin, int nout, int ld) {
      L.k0 = k0;
      L.kin = kin;
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({kLayoutRows, kin}, dt::bf16, {ld, 1}),
                                                    memory::desc({kin, nout}, dt::bf16, tag::any),
                                                    memory::desc({kLayoutRows, nout}, dt::f32, tag::ab)),
                                       cpu_engine());
      L.desc = pd.weights_desc();
      L.mem = memory(L.desc, cpu_engine(), L.store.get(L.desc.get_size()));
    };
    make(fwd, 0, K, N, K);
    fwd.impl = impl_of(fwd, kLayoutRows, K, N, K);
    amx_rows = amx_layout(fwd);
    if (with_backward) {
      // backward_data's inner dimension is N (a vocabulary for the lm_head). oneDNN 2.6's AMX brgemm kernel runs
      // a long one slowly (M = 1024 = K, N = 32000: 700-950 GFLOP/s here), and takes only dense sources; for a
      // strided one oneDNN runs its jit gemm instead, at 1340-1370 GFLOP/s on the same product (with plain
      // weights, so the copy is a plain one too). So a long N is cut into equal chunks of at most kBwdChunk rows
      // (multiples of 64), each reading its columns of dout's rows (strided), summed in order.
      const int chunks = (N + kBwdChunk - 1) / kBwdChunk;
      const int rows = ((N + chunks - 1) / chunks + 63) / 64 * 64;
      bwd.resize((N + rows - 1) / rows);
      for (size_t c = 0; c < bwd.size(); c++) make(bwd[c], (int)c * rows, std::min(rows, N - (int)c * rows), K, N);
    }
  }
  // Whether fwd is the layout amx_rows.cpp reads: oneDNN's AMX kernel for kLayoutRows rows, weights in tag
  // BA16a64b2a ([K/32][N/64] blocks, each [16 pairs of k][64 columns][2]; N padded to a multiple of 64, K not
  // padded), on a CPU with AMX.
  bool amx_layout(Layout& L) {
    const long Np = (N + 63) / 64 * 64;
    if (K % 32 != 0 || !amx_rows_available()) return false;
    const auto& d = L.desc.data;
    const auto& b = d.format_desc.blocking;
    return L.impl == "brg:avx512_core_amx_bf16" && d.format_kind == dnnl_blocked && d.ndims == 2 &&
           d.padded_dims[0] == K && d.padded_dims[1] == Np && b.inner_nblks == 3 && b.inner_blks[0] == 16 &&
           b.inner_idxs[0] == 0 && b.inner_blks[1] == 64 && b.inner_idxs[1] == 1 && b.inner_blks[2] == 2 &&
           b.inner_idxs[2] == 0 && b.strides[0] == 2048 && b.strides[1] == (dnnl_dim_t)K * 64 &&
           L.desc.get_size() == (size_t)K * Np * 2;
  }
  // Packs W (bf16 [N, K], row-major) into the layouts; no unpacked copy is kept.
  void pack(const uint16_t* src) {
    using namespace dnnl;
    // src [N, K] row-major is W^T [K, N] in column-major order (tag ba), and W [N, K] in tag ab
    memory t({{K, N}, dt::bf16, tag::ba}, cpu_engine(), const_cast<uint16_t*>(src));
    reorder(t, fwd.mem).execute(cpu_stream(), t, fwd.mem);
    for (Layout& L : bwd) {
      memory u({{L.kin, K}, dt::bf16, tag::ab}, cpu_engine(), const_cast<uint16_t*>(src) + (size_t)L.k0 * K);
      reorder(u, L.mem).execute(cpu_stream(), u, L.mem);
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
  std::string kernel() const override { return amx_rows ? "amx_rows" : "oneDNN " + fwd.impl; }
  size_t bytes() const override {
    size_t b = fwd.desc.get_size();
    for (const Layout& L : bwd) b += L.desc.get_size();
    return b;
  }

  // dst[M, nout] (+)= src[M, kin] (bf16) · L. oneDNN picks its kernel by problem size: for a few rows of a small
  // matrix it takes an AVX-512 BF16 kernel instead of the AMX one it takes for kLayoutRows, and the two sum in a
  // different order. So a row count whose kernel differs from kLayoutRows' runs padded with zero rows to the
  // smallest count (16, 32, then kLayoutRows) that gets the same kernel: every row, whatever M, then comes from one
  // kernel whose rows do not depend on the others.
  std::string impl_of(Layout& L, int M, int kin, int nout, int ld) {
    using namespace dnnl;
    auto pd = matmul::primitive_desc(matmul::desc(memory::desc({M, kin}, dt::bf16, {ld, 1}), L.desc,
                                                  memory::desc({M, nout}, dt::f32, tag::ab)),
                                     cpu_engine());
    return pd.impl_info_str();
  }
  // src: M rows of kin values, ld apart (a chunk's columns of a longer row when L is a chunk)
  void run(Layout& L, float* dst, const uint16_t* src, const float* bias, int M, int kin, int nout, bool accumulate,
           int ld) {
    using namespace dnnl;
    const bool flag = bias != nullptr || accumulate;
    auto key = std::make_pair(M, flag);
    auto it = L.prims.find(key);
    if (it == L.prims.end()) {
      if (L.prims.size() > 256) L.prims.clear();  // many distinct row counts (packed training batches): start over
      if (L.impl.empty()) L.impl = impl_of(L, kLayoutRows, kin, nout, ld);
      int rows = M;
      for (int r : {16, 32, kLayoutRows})
        if (rows < r && impl_of(L, rows, kin, nout, ld) != L.impl) rows = r;
      memory::desc bd = bias ? memory::desc({1, nout}, dt::f32, tag::ab) : memory::desc();
      auto pd = matmul::primitive_desc(matmul::desc(memory::desc({rows, kin}, dt::bf16, {ld, 1}), L.desc, bd,
                                                    memory::desc({rows, nout}, dt::f32, tag::ab)),
                                       sum_attr(accumulate), cpu_engine());
      it = L.prims.emplace(key, Prim{std::make_unique<matmul>(pd), rows}).first;
    }
    const int rows = it->second.rows;
    if (rows > M) {  // padded: zero rows after the real ones, the result's real rows copied out
      uint16_t* ps = scratch(1).get((size_t)rows * ld);
      for (int r = 0; r < rows; r++) {
        if (r < M) std::memcpy(ps + (size_t)r * ld, src + (size_t)r * ld, sizeof(uint16_t) * kin);
        else std::memset(ps + (size_t)r * ld, 0, sizeof(uint16_t) * kin);
      }
      src = ps;
      thread_local AlignedArray<float> padded;
      float* pd = padded.get((size_t)rows * nout);
      if (accumulate) std::memcpy(pd, dst, sizeof(float) * M * nout);
      exec(L, it->second, pd, src, bias, rows, kin, nout, ld);
      std::memcpy(dst, pd, sizeof(float) * M * nout);
      return;
    }
    exec(L, it->second, dst, src, bias, M, kin, nout, ld);
  }
  void exec(Layout& L, Prim& p, float* dst, const uint16_t* src, const float* bias, int M, int kin, int nout, int ld) {
    using namespace dnnl;
    memory s({{M, kin}, dt::bf16, {ld, 1}}, cpu_engine(), const_cast<uint16_t*>(src));
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
    if (amx_rows) {
      amx_bf16_rows(out, a, static_cast<const uint16_t*>(fwd.mem.get_data_handle()), bias, M, K, N);
    } else {
      uint16_t* ab = scratch(0).get((size_t)M * K);
      round_to_bf16(ab, a, (size_t)M * K);
      run(fwd, out, ab, bias, M, K, N, false, K);
    }
    count(t0, 2.0 * M * N * K);
  }
  // da [M, K] (+)= db [M, N] · W, chunk by chunk
  void run_bwd(float* da, const uint16_t* db, int M, bool accumulate) {
    for (size_t c = 0; c < bwd.size(); c++)
      run(bwd[c], da, db + bwd[c].k0, nullptr, M, bwd[c].kin, K, accumulate || c > 0, N);
  }
  void backward_data(float* da, const float* dout, int M, bool accumulate) override {
    if (M <= 0) return;
    R1_CHECK(with_backward, "Bf16Matmul::backward_data on an inference-only weight (with_backward = false)");
    auto t0 = std::chrono::steady_clock::now();
    uint16_t* db = scratch(0).get((size_t)M * N);
    round_to_bf16(db, dout, (size_t)M * N);
    run_bwd(da, db, M, accumulate);
    count(t0, 2.0 * M * N * K);
  }
  void backward(float* da, float* dw, float* dbias, const float* dout, const float* a, int M) override {
    if (M <= 0) return;
    R1_CHECK(with_backward, "Bf16Matmul::backward on an inference-only weight (with_backward = false)");
    auto t0 = std::chrono::steady_clock::now();
    uint16_t* db = scratch(0).get((size_t)M * N);  // dout rounded once, for both products
    round_to_bf16(db, dout, (size_t)M * N);
    if (da) run_bwd(da, db, M, false);
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
