// The CPU backend (kernels/backend.h): oneDNN sgemm for every matrix product, OpenMP (the same pool oneDNN
// uses) for the rest. Its packed weights, the sampler's softmax and the optimizer updates are in
// packed_matmul.cpp, softmax_row.cpp and optim.cpp; the table at the end gathers them.
#include "kernels/backend.h"
#include "kernels/cpu.h"
#include "kernels/exp_poly.h"
#include "kernels/instantiate.h"
#include "core/aligned.h"
#include "core/bits.h"
#include "core/check.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#endif

namespace r1 {

GemmStats& gemm_stats() {
  static GemmStats s;
  return s;
}

namespace cpu {

// ---------------------------------------------------------------------------------------------------------------

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0.f : beta * c[(size_t)i * ldc + j];
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  GemmStats& gs = gemm_stats();
  gs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gs.flops += 2.0 * M * N * K;
  R1_CHECK(st == dnnl_success, "oneDNN sgemm failed with status ", (int)st, " (M=", M, " N=", N, " K=", K, ")");
}

void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K) {
  // out[M,N] = a[M,K] · w[N,K]^T
  if (bias) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; i++) std::memcpy(out + (size_t)i * N, bias, sizeof(float) * N);
  }
  gemm(false, true, M, N, K, 1.f, a, K, w, K, bias ? 1.f : 0.f, out, N);
}

namespace {
// Dot product of one bf16 weight row with one activation row, fp32 products and sums. The AVX-512 path reads the
// row as 32-element blocks: a 512-bit load holds 16 pairs (element 2i in the low half of lane i, 2i+1 in the high
// half), so shifting left by 16 gives the even elements as fp32 and masking the low halves gives the odd ones;
// `ap` is the activation row permuted to match (per block of 32: the 16 even elements, then the 16 odd ones).
// Elements past the last full block (K % 32) use `a` directly.
inline float bf16w_dot(const uint16_t* w, const float* a, const float* ap, int K) {
  int k = 0;
  float t = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  const __m512i hi_mask = _mm512_set1_epi32((int)0xFFFF0000u);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  for (; k + 64 <= K; k += 64) {  // two blocks per iteration: four independent sums
    __m512i h0 = _mm512_loadu_si512(w + k), h1 = _mm512_loadu_si512(w + k + 32);
    s0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, h0, 16)), _mm512_loadu_ps(ap + k), s0);
    s1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(h0, hi_mask)), _mm512_loadu_ps(ap + k + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, h1, 16)), _mm512_loadu_ps(ap + k + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(h1, hi_mask)), _mm512_loadu_ps(ap + k + 48), s3);
  }
  for (; k + 32 <= K; k += 32) {
    __m512i h0 = _mm512_loadu_si512(w + k);
    s0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, h0, 16)), _mm512_loadu_ps(ap + k), s0);
    s1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(h0, hi_mask)), _mm512_loadu_ps(ap + k + 16), s1);
  }
  // lane sums (_mm512_reduce_add_ps and the unmasked shift trip GCC 12's -Wuninitialized: their intrinsics start
  // from _mm512_undefined)
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (float v : lanes) t += v;
#else
  (void)ap;
#endif
  for (; k < K; k++) t += a[k] * bf16_bits_to_f32(w[k]);
  return t;
}
}  // namespace

void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K) {
  // out[M,N] = a[M,K] · w[N,K]^T, w widened from bf16 exactly; fp32 products and sums
  if (M <= 0 || N <= 0) return;
  auto t0 = std::chrono::steady_clock::now();
  // the activation rows permuted to the kernel's even/odd order, block by block of 32 (see bf16w_dot)
  thread_local std::vector<float> perm;
  perm.resize((size_t)M * K);
  const int KB = K / 32 * 32;
  for (int i = 0; i < M; i++) {
    const float* x = a + (size_t)i * K;
    float* y = perm.data() + (size_t)i * K;
    for (int b = 0; b < KB; b += 32)
      for (int e = 0; e < 16; e++) {
        y[b + e] = x[b + 2 * e];
        y[b + 16 + e] = x[b + 2 * e + 1];
      }
  }
  const float* ap = perm.data();
  // one weight row at a time (a single sequential stream per thread), every activation row against it
#pragma omp parallel for schedule(static)
  for (int j = 0; j < N; j++) {
    const uint16_t* wr = w + (size_t)j * K;
    for (int i = 0; i < M; i++)
      out[(size_t)i * N + j] =
          bf16w_dot(wr, a + (size_t)i * K, ap + (size_t)i * K, K) + (bias ? bias[j] : 0.f);
  }
  GemmStats& gs = gemm_stats();
  gs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gs.flops += 2.0 * M * N * K;
}

void matmul_backward(float* da, float* dw, float* dbias, const float* dout, const float* a, const float* w, int M,
                     int N, int K, bool accumulate_da) {
  // forward: out = a·w^T + bias
  // backward: da = dout·w ; dw += dout^T·a ; dbias += Σ_rows dout
  if (da) gemm(false, false, M, K, N, 1.f, dout, N, w, K, accumulate_da ? 1.f : 0.f, da, K);
  if (dw) gemm(true, false, N, K, M, 1.f, dout, N, a, K, 1.f, dw, K);
  if (dbias) {
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < N; j0 += 64) {
      int j1 = std::min(N, j0 + 64);
      for (int i = 0; i < M; i++) {
        const float* d = dout + (size_t)i * N;
        for (int j = j0; j < j1; j++) dbias[j] += d[j];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
template <class F>
void rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const F* xr = x + (size_t)n * C;
    F* o = out + (size_t)n * C;
    F ss = 0.f;
#pragma omp simd reduction(+ : ss)
    for (int i = 0; i < C; i++) ss += xr[i] * xr[i];
    F r = 1.0f / std::sqrt(ss / C + eps);
    if (rstd) rstd[n] = r;
#pragma omp simd
    for (int i = 0; i < C; i++) o[i] = xr[i] * r * w[i];
  }
}

// Weight gradients of the norms are summed over rows in fixed blocks of kRowBlock rows, then the blocks in order:
// the same bits whatever the thread count (data-parallel runs over MPI rely on it; README "Running on a cluster").
constexpr int kRowBlock = 32;

template <class F>
void rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd,
                      int N, int C, bool accumulate) {
  // forward: o_i = x_i * r * w_i, r = (mean(x^2)+eps)^(-1/2)
  // backward: dw_i += Σ_n dout_i x_i r ; dx_i = r * dout_i w_i - r^3/C * x_i * Σ_j dout_j w_j x_j
  const int nb = (N + kRowBlock - 1) / kRowBlock;
  std::vector<F> dw_part(dw ? (size_t)nb * C : 0, 0.f);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < nb; b++) {
    F* dwp = dw ? dw_part.data() + (size_t)b * C : nullptr;
    for (int n = b * kRowBlock; n < std::min(N, (b + 1) * kRowBlock); n++) {
      const F* xr = x + (size_t)n * C;
      const F* d = dout + (size_t)n * C;
      F r = rstd[n];
      F dot = 0.f;
#pragma omp simd reduction(+ : dot)
      for (int i = 0; i < C; i++) dot += d[i] * w[i] * xr[i];
      F c2 = dot * r * r * r / C;
      if (dx) {
        F* dxr = dx + (size_t)n * C;
        if (accumulate) {
#pragma omp simd
          for (int i = 0; i < C; i++) dxr[i] += r * d[i] * w[i] - c2 * xr[i];
        } else {
#pragma omp simd
          for (int i = 0; i < C; i++) dxr[i] = r * d[i] * w[i] - c2 * xr[i];
        }
      }
      if (dwp) {
#pragma omp simd
        for (int i = 0; i < C; i++) dwp[i] += d[i] * xr[i] * r;
      }
    }
  }
  if (dw)
    for (int b = 0; b < nb; b++)
#pragma omp simd
      for (int i = 0; i < C; i++) dw[i] += dw_part[(size_t)b * C + i];
}

template <class F>
void head_rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int nheads, int HS,
                          int row_stride, float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++)
    for (int h = 0; h < nheads; h++) {
      const F* xr = x + (size_t)n * row_stride + (size_t)h * HS;
      F* o = out + (size_t)n * row_stride + (size_t)h * HS;
      F ss = 0.f;
#pragma omp simd reduction(+ : ss)
      for (int i = 0; i < HS; i++) ss += xr[i] * xr[i];
      F r = 1.0f / std::sqrt(ss / HS + eps);
      if (rstd) rstd[(size_t)n * nheads + h] = r;
#pragma omp simd
      for (int i = 0; i < HS; i++) o[i] = xr[i] * r * w[i];
    }
}

template <class F>
void head_rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w,
                           const F* rstd, int N, int nheads, int HS, int row_stride) {
  // same formulas as rmsnorm_backward, per head; dx overwritten (may alias dout), dw summed in row blocks.
  const int nb = (N + kRowBlock - 1) / kRowBlock;
  std::vector<F> dw_part((size_t)nb * HS, 0.f);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < nb; b++) {
    F* dwp = dw_part.data() + (size_t)b * HS;
    for (int n = b * kRowBlock; n < std::min(N, (b + 1) * kRowBlock); n++)
      for (int h = 0; h < nheads; h++) {
        size_t o = (size_t)n * row_stride + (size_t)h * HS;
        const F* xr = x + o;
        const F* d = dout + o;
        F r = rstd[(size_t)n * nheads + h];
        F dot = 0.f;
        for (int i = 0; i < HS; i++) {
          dot += d[i] * w[i] * xr[i];
          dwp[i] += d[i] * xr[i] * r;
        }
        F c2 = dot * r * r * r / HS;
        F* dxr = dx + o;
        for (int i = 0; i < HS; i++) dxr[i] = r * d[i] * w[i] - c2 * xr[i];
      }
  }
  if (dw)
    for (int b = 0; b < nb; b++)
      for (int i = 0; i < HS; i++) dw[i] += dw_part[(size_t)b * HS + i];
}

// ---------------------------------------------------------------------------------------------------------------
template <class F>
void rope_table(F* cos_sin, int max_pos, int HS, double theta) {
  int half = HS / 2;
  for (int p = 0; p < max_pos; p++)
    for (int i = 0; i < half; i++) {
      // transformers: inv_freq = 1 / theta^(2i/HS), computed in float32.
      F inv = (F)(1.0 / std::pow(theta, (double)(2 * i) / HS));
      double ang = (double)((F)p * inv);
      cos_sin[(size_t)p * half + i] = (F)std::cos(ang);
      cos_sin[(size_t)max_pos * half + (size_t)p * half + i] = (F)std::sin(ang);
    }
}

template <class F>
static void rope_apply(F* x, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                       int row_stride, int sign) {
  int half = HS / 2;
  const F* sin_base = cos_sin + (size_t)max_pos * half;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    int p = pos[n];
    R1_ASSERT(p >= 0 && p < max_pos);
    const F* c = cos_sin + (size_t)p * half;
    const F* s = sin_base + (size_t)p * half;
    for (int h = 0; h < nheads; h++) {
      F* v = x + (size_t)n * row_stride + (size_t)h * HS;
#pragma omp simd
      for (int i = 0; i < half; i++) {
        F x1 = v[i], x2 = v[i + half];
        F sn = (F)sign * s[i];
        v[i] = x1 * c[i] - x2 * sn;
        v[i + half] = x2 * c[i] + x1 * sn;
      }
    }
  }
}

template <class F>
void rope_forward(F* x, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                  int row_stride) {
  rope_apply(x, pos, cos_sin, max_pos, N, nheads, HS, row_stride, 1);
}

template <class F>
void rope_backward(F* dx, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                   int row_stride) {
  // forward is a rotation by +angle; its transpose (the backward) is a rotation by -angle.
  rope_apply(dx, pos, cos_sin, max_pos, N, nheads, HS, row_stride, -1);
}

// ---------------------------------------------------------------------------------------------------------------
// One query head of one sequence. scores row t covers keys 0..Tk-Tq+t.
template <class F>
static void attention_head_forward(F* out, F* probs, const F* q, const F* k, const F* v,
                                   int Tq, int Tk, int HS, int q_stride, int kv_stride, int out_stride,
                                   F* scratch) {
  const F scale = 1.0f / std::sqrt((F)HS);
  int off = Tk - Tq;
  for (int t = 0; t < Tq; t++) {
    const F* qt = q + (size_t)t * q_stride;
    int n = off + t + 1;  // keys visible
    F* p = probs ? probs + (size_t)t * Tk : scratch;
    F mx = -INFINITY;
    for (int s = 0; s < n; s++) {
      const F* ks = k + (size_t)s * kv_stride;
      F d = 0.f;
#pragma omp simd reduction(+ : d)
      for (int i = 0; i < HS; i++) d += qt[i] * ks[i];
      d *= scale;
      p[s] = d;
      mx = std::max(mx, d);
    }
    F sum = 0.f;
    for (int s = 0; s < n; s++) {
      p[s] = std::exp(p[s] - mx);
      sum += p[s];
    }
    F inv = 1.0f / sum;
    for (int s = 0; s < n; s++) p[s] *= inv;
    if (probs)
      for (int s = n; s < Tk; s++) p[s] = 0.f;
    F* o = out + (size_t)t * out_stride;
    for (int i = 0; i < HS; i++) o[i] = 0.f;
    for (int s = 0; s < n; s++) {
      const F* vs = v + (size_t)s * kv_stride;
      F ps = p[s];
#pragma omp simd
      for (int i = 0; i < HS; i++) o[i] += ps * vs[i];
    }
  }
}

// ---- the row form (bf16 mode: kernels.h attention_forward's row_form) -------------------------------------------
// One query row at a time, its sums in a fixed order that does not depend on Tq or on the thread: a row computed in
// a training batch and the same row decoded alone by the engine give the same bits. With AVX-512 (below): scores of
// 16 keys at once, exp16, output in registers; on one core 8 heads x 160 rows went from 15 to 46 GFLOP/s and one
// decoded row over 160 keys from 14 to 28 (bench/bench_kernels_bf16.cpp). The generic loop (other CPUs, other head sizes): scores of 8 keys at once
// (16-lane partial dot products, then one fixed tree over the lanes), exp_poly.h's exp_nonpos, the softmax sum in
// 16 lanes and the output accumulated over 4 keys at a time (each output element still sums its keys in order).
namespace {
constexpr int kLanes = 16;

// The 16 lanes summed by halves ([l] += [l + w] for w = 8, 4, 2, 1): the order _mm512_reduce_add_ps uses.
inline float lane_tree(float* a) {
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; l++) a[l] += a[l + w];
  return a[0];
}

// d[j] = q · k_{s+j} for j < nk (nk <= 8), 16 partial sums per key then lane_tree.
inline void dots(float* d, const float* q, const float* k, int nk, int HS, int kv_stride) {
  float acc[8][kLanes] = {};
  int i = 0;
  for (; i + kLanes <= HS; i += kLanes)
    for (int j = 0; j < nk; j++) {
      const float* kj = k + (size_t)j * kv_stride + i;
#pragma omp simd
      for (int l = 0; l < kLanes; l++) acc[j][l] += q[i + l] * kj[l];
    }
  for (int j = 0; j < nk; j++) {
    for (int l = 0; i + l < HS; l++) acc[j][l] += q[i + l] * k[(size_t)j * kv_stride + i + l];
    d[j] = lane_tree(acc[j]);
  }
}
}  // namespace

#if defined(__AVX512F__) && defined(__AVX512BW__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own avx512fintrin.h (_mm512_undefined_ps)
// e^x, 16 lanes: exp_nonpos's reduction and degree-7 polynomial (about 1 ulp), 2^n applied by scalef (exact); 0
// below -87 as there, and above 88.5 +inf (SwiGLU's e^-g for a very negative gate).
static inline __m512 exp16(__m512 x) {
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.5f));  // e^88.5 = 2.7e38 < FLT_MAX; beyond, scalef gives +inf anyway
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 5040.f);
  for (float c : {1.f / 720.f, 1.f / 120.f, 1.f / 24.f, 1.f / 6.f, 0.5f, 1.f, 1.f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  return _mm512_maskz_mov_ps((__mmask16)~under, _mm512_scalef_ps(p, n));
}

// d[0..16) = q · k_j for the keys j < nk (lanes >= nk are 0): a[j] holds key j's 16 partial sums.
static inline __m512 dots16(const __m512* qv, int nv, const float* k, int kv_stride, int nk) {
  __m512 a[16];
  for (int j = 0; j < 16; j++) {
    if (j >= nk) {
      a[j] = _mm512_setzero_ps();
      continue;
    }
    const float* kj = k + (size_t)j * kv_stride;
    __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
    for (int c = 1; c < nv; c++) acc = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), acc);
    a[j] = acc;
  }
  __m512 b[8], c[4], d[2];
  for (int i = 0; i < 8; i++)  // per 128-bit lane: [x0+x2, y0+y2, x1+x3, y1+y3] of keys x = 2i, y = 2i+1
    b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  for (int i = 0; i < 4; i++)  // per 128-bit lane: the four keys 4i..4i+3, each summed over that lane
    c[i] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int i = 0; i < 2; i++)  // 128-bit lanes (L0 + L2, L1 + L3) of c[2i] then of c[2i+1]
    d[i] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d[0], d[1], 0x88), _mm512_shuffle_f32x4(d[0], d[1], 0xDD));
}

// The AVX-512 row form for head sizes that are a multiple of 16, up to 128 (the generic loop below serves the
// others). Per key: HS/16 products into one 16-lane vector, then the 16 lanes summed by a fixed transpose-and-add
// tree shared by 16 keys at a time (dots16: each key's lanes are summed in the same order whatever its place in the
// block or the block's fill, so a row's scores depend only on its own keys); then the softmax, and the output
// accumulated in registers.
static void attention_head_rows_avx512(float* out, float* probs, const float* q, const float* k, const float* v,
                                       int Tq, int Tk, int HS, int q_stride, int kv_stride, int out_stride,
                                       float* scratch) {
  const int nv = HS / 16, off = Tk - Tq;
  const __m512 scale = _mm512_set1_ps(1.0f / std::sqrt((float)HS));
  if (Tq >= 4 && kv_stride != HS) {  // many rows read every key: gather this head's keys and values densely first
    thread_local AlignedArray<float> dense;  // (the same values: the same bits; rows of a wide qkv buffer are a page
    float* kd = dense.get((size_t)2 * Tk * HS);  // apart, which the loads below pay for in TLB and prefetch misses)
    float* vd = kd + (size_t)Tk * HS;
    for (int j = 0; j < Tk; j++) {
      std::memcpy(kd + (size_t)j * HS, k + (size_t)j * kv_stride, sizeof(float) * HS);
      std::memcpy(vd + (size_t)j * HS, v + (size_t)j * kv_stride, sizeof(float) * HS);
    }
    k = kd, v = vd, kv_stride = HS;
  }
  for (int t = 0; t < Tq; t++) {
    const float* qt = q + (size_t)t * q_stride;
    const int n = off + t + 1;  // keys visible
    float* p = probs ? probs + (size_t)t * Tk : scratch;
    __m512 qv[8];
    for (int c = 0; c < nv; c++) qv[c] = _mm512_loadu_ps(qt + 16 * c);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int s = 0; s < n; s += 16) {
      const int nk = std::min(16, n - s);
      const __mmask16 m = (__mmask16)((1u << nk) - 1);
      const __m512 d = _mm512_mul_ps(dots16(qv, nv, k + (size_t)s * kv_stride, kv_stride, nk), scale);
      _mm512_mask_storeu_ps(p + s, m, d);
      mx = _mm512_mask_max_ps(mx, m, mx, d);
    }
    const __m512 rowmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int s = 0; s < n; s += 16) {
      const __mmask16 m = (__mmask16)((1u << std::min(16, n - s)) - 1);
      const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + s), rowmax));
      _mm512_mask_storeu_ps(p + s, m, e);
      sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(m, e));
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int s = 0; s < n; s += 16) {
      const __mmask16 m = (__mmask16)((1u << std::min(16, n - s)) - 1);
      _mm512_mask_storeu_ps(p + s, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + s), inv));
    }
    if (probs)
      for (int j = n; j < Tk; j++) p[j] = 0.f;
    __m512 acc[8];
    for (int c = 0; c < nv; c++) acc[c] = _mm512_setzero_ps();
    for (int s = 0; s < n; s++) {  // out += p_s v_s, keys in order
      const float* vs = v + (size_t)s * kv_stride;
      const __m512 ps = _mm512_set1_ps(p[s]);
      for (int c = 0; c < nv; c++) acc[c] = _mm512_fmadd_ps(ps, _mm512_loadu_ps(vs + 16 * c), acc[c]);
    }
    float* o = out + (size_t)t * out_stride;
    for (int c = 0; c < nv; c++) _mm512_storeu_ps(o + 16 * c, acc[c]);
  }
}
#pragma GCC diagnostic pop
#endif

static void attention_head_rows(float* out, float* probs, const float* q, const float* k, const float* v,
                                int Tq, int Tk, int HS, int q_stride, int kv_stride, int out_stride,
                                float* scratch) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if (HS % 16 == 0 && HS <= 128)
    return attention_head_rows_avx512(out, probs, q, k, v, Tq, Tk, HS, q_stride, kv_stride, out_stride, scratch);
#endif
  const float scale = 1.0f / std::sqrt((float)HS);
  const int off = Tk - Tq;
  constexpr int kMaxHS = 512;
  float acc[kMaxHS];
  R1_ASSERT(HS <= kMaxHS);
  for (int t = 0; t < Tq; t++) {
    const float* qt = q + (size_t)t * q_stride;
    const int n = off + t + 1;  // keys visible
    float* p = probs ? probs + (size_t)t * Tk : scratch;
    for (int s = 0; s < n; s += 8) dots(p + s, qt, k + (size_t)s * kv_stride, std::min(8, n - s), HS, kv_stride);
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int s = 0; s < n; s++) {
      p[s] *= scale;
      mx = std::max(mx, p[s]);
    }
#pragma omp simd
    for (int s = 0; s < n; s++) p[s] = exp_nonpos(p[s] - mx);
    float lane[kLanes] = {};
    int s = 0;
    for (; s + kLanes <= n; s += kLanes)
      for (int l = 0; l < kLanes; l++) lane[l] += p[s + l];
    for (int l = 0; s + l < n; l++) lane[l] += p[s + l];
    const float inv = 1.0f / lane_tree(lane);
#pragma omp simd
    for (int j = 0; j < n; j++) p[j] *= inv;
    if (probs)
      for (int j = n; j < Tk; j++) p[j] = 0.f;
    for (int i = 0; i < HS; i++) acc[i] = 0.f;
    s = 0;
    for (; s + 4 <= n; s += 4) {  // acc[i] += p_s v_s[i] for 4 keys, in key order for every i
      const float *v0 = v + (size_t)s * kv_stride, *v1 = v0 + kv_stride, *v2 = v1 + kv_stride, *v3 = v2 + kv_stride;
      const float p0 = p[s], p1 = p[s + 1], p2 = p[s + 2], p3 = p[s + 3];
#pragma omp simd
      for (int i = 0; i < HS; i++) acc[i] = (((acc[i] + p0 * v0[i]) + p1 * v1[i]) + p2 * v2[i]) + p3 * v3[i];
    }
    for (; s < n; s++) {
      const float* vs = v + (size_t)s * kv_stride;
      const float ps = p[s];
#pragma omp simd
      for (int i = 0; i < HS; i++) acc[i] = acc[i] + ps * vs[i];
    }
    float* o = out + (size_t)t * out_stride;
    for (int i = 0; i < HS; i++) o[i] = acc[i];
  }
}

// Matrix-product form of one head, for float and Tq >= kGemmAttentionMinRows: the score and output products go
// through oneDNN (single-threaded inside the caller's parallel region); the causal half is computed and masked.
static constexpr int kGemmAttentionMinRows = 8;

static inline void sgemm_raw(bool ta, bool tb, int M, int N, int K, float alpha, const float* a, int lda,
                             const float* b, int ldb, float beta, float* c, int ldc) {
  dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void attention_head_forward_gemm(float* out, float* P, const float* q, const float* k, const float* v, int Tq,
                                        int Tk, int HS, int q_stride, int kv_stride, int out_stride) {
  const float scale = 1.0f / std::sqrt((float)HS);
  const int off = Tk - Tq;
  // S = scale · q k^T                         [Tq, Tk]
  sgemm_raw(false, true, Tq, Tk, HS, scale, q, q_stride, k, kv_stride, 0.f, P, Tk);
  // P = causal softmax(S), row t sees keys 0..off+t
  for (int t = 0; t < Tq; t++) {
    float* p = P + (size_t)t * Tk;
    int n = off + t + 1;
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) mx = std::max(mx, p[s]);
    float sum = 0.f;
    for (int s = 0; s < n; s++) {
      p[s] = std::exp(p[s] - mx);
      sum += p[s];
    }
    float inv = 1.0f / sum;
    for (int s = 0; s < n; s++) p[s] *= inv;
    for (int s = n; s < Tk; s++) p[s] = 0.f;
  }
  // out = P v                                 [Tq, HS]
  sgemm_raw(false, false, Tq, HS, Tk, 1.f, P, Tk, v, kv_stride, 0.f, out, out_stride);
}

template <class F>
void attention_forward(F* out, F* probs, const F* q, const F* k, const F* v, int Tq, int Tk,
                       int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel,
                       bool row_form) {
  R1_ASSERT(NH % NKV == 0 && Tq <= Tk);
  int rep = NH / NKV;
  auto head = [&](int h, std::vector<F>& scratch) {
      int g = h / rep;
      if constexpr (std::is_same_v<F, float>) {
        if (Tq >= kGemmAttentionMinRows && !row_form) {
          if (!probs && scratch.size() < (size_t)Tq * Tk) scratch.resize((size_t)Tq * Tk);
          attention_head_forward_gemm(out + (size_t)h * HS, probs ? probs + (size_t)h * Tq * Tk : scratch.data(),
                                      q + (size_t)h * HS, k + (size_t)g * HS, v + (size_t)g * HS, Tq, Tk, HS,
                                      q_stride, kv_stride, out_stride);
          return;
        }
      }
      if constexpr (std::is_same_v<F, float>) {
        if (row_form) {
          attention_head_rows(out + (size_t)h * HS, probs ? probs + (size_t)h * Tq * Tk : nullptr, q + (size_t)h * HS,
                              k + (size_t)g * HS, v + (size_t)g * HS, Tq, Tk, HS, q_stride, kv_stride, out_stride,
                              scratch.data());
          return;
        }
      }
      attention_head_forward(out + (size_t)h * HS, probs ? probs + (size_t)h * Tq * Tk : nullptr, q + (size_t)h * HS,
                             k + (size_t)g * HS, v + (size_t)g * HS, Tq, Tk, HS, q_stride, kv_stride, out_stride,
                             scratch.data());
  };
  if (!parallel) {  // the caller's task (the engine: one per sequence and head): no team, no allocation per call
    thread_local std::vector<F> scratch;
    if (scratch.size() < (size_t)Tk) scratch.resize(Tk);
    for (int h = 0; h < NH; h++) head(h, scratch);
    return;
  }
#pragma omp parallel
  {
    std::vector<F> scratch(Tk);
#pragma omp for schedule(static)
    for (int h = 0; h < NH; h++) head(h, scratch);
  }
}

// A head's keys and values widened (exactly) into dense fp32 rows, then attention_forward's row form: the same
// function on the same values as the trainer's bf16 mode, whose keys and values are bf16 values already
// (round_to_bf16_values), so the bits are the trainer's. The cache is read once, at half the bytes of fp32.
void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                               int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel) {
  R1_ASSERT(NH % NKV == 0 && Tq <= Tk);
  const int rep = NH / NKV;
  auto head = [&](int h, AlignedArray<float>& wide, std::vector<float>& p) {
    const int g = h / rep;
    float* kd = wide.get((size_t)2 * Tk * HS);
    float* vd = kd + (size_t)Tk * HS;
    for (int j = 0; j < Tk; j++)
      for (int i = 0; i < HS; i++) {
        kd[(size_t)j * HS + i] = bf16_bits_to_f32(k[(size_t)j * kv_stride + (size_t)g * HS + i]);
        vd[(size_t)j * HS + i] = bf16_bits_to_f32(v[(size_t)j * kv_stride + (size_t)g * HS + i]);
      }
    attention_head_rows(out + (size_t)h * HS, nullptr, q + (size_t)h * HS, kd, vd, Tq, Tk, HS, q_stride, HS,
                        out_stride, p.data());
  };
  if (!parallel) {  // the engine's task: no team, no allocation per call
    thread_local AlignedArray<float> wide;
    thread_local std::vector<float> p;
    if (p.size() < (size_t)Tk) p.resize(Tk);
    for (int h = 0; h < NH; h++) head(h, wide, p);
    return;
  }
#pragma omp parallel
  {
    AlignedArray<float> wide;
    std::vector<float> p(Tk);
#pragma omp for schedule(static)
    for (int h = 0; h < NH; h++) head(h, wide, p);
  }
}

void round_to_bf16_values(float* x, int rows, int width, int stride) {
#pragma omp parallel for schedule(static) if ((size_t)rows * width > (1u << 14))
  for (int r = 0; r < rows; r++) {
    float* xr = x + (size_t)r * stride;
#pragma omp simd
    for (int i = 0; i < width; i++) xr[i] = bf16_bits_to_f32(f32_to_bf16_bits(xr[i]));
  }
}

template <class F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* probs, const F* q,
                        const F* k, const F* v, int Tq, int Tk, int NH, int NKV, int HS, int q_stride,
                        int kv_stride, int out_stride, bool parallel) {
  // forward: S = scale q k^T (causal), P = softmax(S), out = P v
  // backward: dv_s += Σ_t P_ts dout_t ; dP_ts = dout_t·v_s ; dS = P ⊙ (dP − Σ_s P dP) ;
  //           dq_t = scale Σ_s dS_ts k_s ; dk_s += scale Σ_t dS_ts q_t
  // Parallel over kv heads g: the heads of one group write the same dk/dv columns, so they run serially.
  const F scale = 1.0f / std::sqrt((F)HS);
  int rep = NH / NKV;
  int off = Tk - Tq;
#pragma omp parallel if (parallel)
  {
    std::vector<F> dp(Tk);
    std::vector<float> dS;
#pragma omp for schedule(static)
    for (int g = 0; g < NKV; g++) {
      for (int s = 0; s < Tk; s++) {
        std::memset(dk + (size_t)s * kv_stride + (size_t)g * HS, 0, sizeof(F) * HS);
        std::memset(dv + (size_t)s * kv_stride + (size_t)g * HS, 0, sizeof(F) * HS);
      }
      for (int h = g * rep; h < (g + 1) * rep; h++) {
        const F* P = probs + (size_t)h * Tq * Tk;
        if constexpr (std::is_same_v<F, float>) {
          if (Tq >= kGemmAttentionMinRows) {
            // dP = dout_h v^T ; dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale ; dq_h = dS k ; dk += dS^T q_h ; dv += P^T dout_h
            if (dS.size() < (size_t)Tq * Tk) dS.resize((size_t)Tq * Tk);
            const float* doh = dout + (size_t)h * HS;
            const float* qh = q + (size_t)h * HS;
            const float* kg = k + (size_t)g * HS;
            const float* vg = v + (size_t)g * HS;
            sgemm_raw(false, true, Tq, Tk, HS, 1.f, doh, out_stride, vg, kv_stride, 0.f, dS.data(), Tk);
            for (int t = 0; t < Tq; t++) {
              const float* pt = P + (size_t)t * Tk;
              float* d = dS.data() + (size_t)t * Tk;
              int n = off + t + 1;
              float sum = 0.f;
              for (int s2 = 0; s2 < n; s2++) sum += pt[s2] * d[s2];
              for (int s2 = 0; s2 < n; s2++) d[s2] = pt[s2] * (d[s2] - sum) * scale;
              for (int s2 = n; s2 < Tk; s2++) d[s2] = 0.f;
            }
            sgemm_raw(false, false, Tq, HS, Tk, 1.f, dS.data(), Tk, kg, kv_stride, 0.f, dq + (size_t)h * HS, q_stride);
            sgemm_raw(true, false, Tk, HS, Tq, 1.f, dS.data(), Tk, qh, q_stride, 1.f, dk + (size_t)g * HS, kv_stride);
            sgemm_raw(true, false, Tk, HS, Tq, 1.f, P, Tk, doh, out_stride, 1.f, dv + (size_t)g * HS, kv_stride);
            continue;
          }
        }
        for (int t = 0; t < Tq; t++) {
          int n = off + t + 1;
          const F* pt = P + (size_t)t * Tk;
          const F* dot_ = dout + (size_t)t * out_stride + (size_t)h * HS;
          const F* qt = q + (size_t)t * q_stride + (size_t)h * HS;
          F* dqt = dq + (size_t)t * q_stride + (size_t)h * HS;
          F sum = 0.f;
          for (int s = 0; s < n; s++) {
            const F* vs = v + (size_t)s * kv_stride + (size_t)g * HS;
            F* dvs = dv + (size_t)s * kv_stride + (size_t)g * HS;
            F d = 0.f, ps = pt[s];
#pragma omp simd reduction(+ : d)
            for (int i = 0; i < HS; i++) {
              d += dot_[i] * vs[i];
              dvs[i] += ps * dot_[i];
            }
            dp[s] = d;
            sum += ps * d;
          }
          for (int i = 0; i < HS; i++) dqt[i] = 0.f;
          for (int s = 0; s < n; s++) {
            F ds = pt[s] * (dp[s] - sum) * scale;
            const F* ks = k + (size_t)s * kv_stride + (size_t)g * HS;
            F* dks = dk + (size_t)s * kv_stride + (size_t)g * HS;
#pragma omp simd
            for (int i = 0; i < HS; i++) {
              dqt[i] += ds * ks[i];
              dks[i] += ds * qt[i];
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
template <class F>
void swiglu_forward(F* h, const F* gu, int N, int FF) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const F* g = gu + (size_t)n * 2 * FF;
    const F* u = g + FF;
    F* o = h + (size_t)n * FF;
#pragma omp simd
    for (int i = 0; i < FF; i++) o[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  }
}

void swiglu_forward_vexp(float* h, const float* gu, int N, int FF) {
#pragma omp parallel for schedule(static) if ((size_t)N * FF > 4096)
  for (int n = 0; n < N; n++) {
    const float* g = gu + (size_t)n * 2 * FF;
    const float* u = g + FF;
    float* o = h + (size_t)n * FF;
    int i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__)
    for (; i < FF; i += 16) {
      const __mmask16 m = (__mmask16)((1u << std::min(16, FF - i)) - 1);
      const __m512 gv = _mm512_maskz_loadu_ps(m, g + i), uv = _mm512_maskz_loadu_ps(m, u + i);
      const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv));
      const __m512 r = _mm512_mul_ps(_mm512_div_ps(gv, _mm512_add_ps(_mm512_set1_ps(1.f), e)), uv);
      _mm512_mask_storeu_ps(o + i, m, r);
    }
#endif
    for (; i < FF; i++) o[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];  // without AVX-512: std::exp
  }
}

template <class F>
void swiglu_backward(F* dgu, const F* dh, const F* gu, int N, int FF) {
  // forward: h = g σ(g) u ; backward: dg = dh u σ(g) (1 + g (1 − σ(g))) ; du = dh g σ(g)
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const F* g = gu + (size_t)n * 2 * FF;
    const F* u = g + FF;
    const F* d = dh + (size_t)n * FF;
    F* dg = dgu + (size_t)n * 2 * FF;
    F* du = dg + FF;
#pragma omp simd
    for (int i = 0; i < FF; i++) {
      F sg = 1.f / (1.f + std::exp(-g[i]));
      du[i] = d[i] * g[i] * sg;
      dg[i] = d[i] * u[i] * sg * (1.f + g[i] * (1.f - sg));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
template <class F>
void add_forward(F* out, const F* a, const F* b, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

template <class F>
void add_inplace(F* out, const F* a, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++) out[i] += a[i];
}

template <class F>
void embedding_forward(F* out, const int* ids, const F* wte, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) std::memcpy(out + (size_t)n * C, wte + (size_t)ids[n] * C, sizeof(F) * C);
}

void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
  for (int n = 0; n < N; n++) {
    const uint16_t* s = wte + (size_t)ids[n] * C;
    float* d = out + (size_t)n * C;
    for (int c = 0; c < C; c++) d[c] = bf16_bits_to_f32(s[c]);
  }
}

template <class F>
void embedding_backward(F* dwte, const F* dout, const int* ids, int N, int C) {
  // forward: out[n] = wte[ids[n]] ; backward: dwte[ids[n]] += dout[n]. Columns are split across threads so rows
  // that share an id never race.
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), tid = omp_get_thread_num();
    int c0 = (int)((long)C * tid / nt), c1 = (int)((long)C * (tid + 1) / nt);
    for (int n = 0; n < N; n++) {
      F* d = dwte + (size_t)ids[n] * C;
      const F* s = dout + (size_t)n * C;
      for (int i = c0; i < c1; i++) d[i] += s[i];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// e^x as the log-prob head takes it: std::exp (fp32 mode, and double) or exp_poly.h's polynomial, which GCC
// vectorises (bf16 mode; every argument here is <= 0: logits minus their maximum or their log-sum-exp).
struct StdExp {
  template <class F>
  F operator()(F x) const { return std::exp(x); }
};
struct PolyExp {
  float operator()(float x) const { return exp_nonpos(x); }
};

template <class F, class Exp>
void logprob_forward_with(F* lp, F* ent, F* lse, const F* logits, const int* targets, int N, int V, float temp) {
  const Exp ex;
  const F it = 1.0f / temp;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const F* z = logits + (size_t)n * V;
    if (targets[n] < 0) {
      lp[n] = 0.f;
      if (ent) ent[n] = 0.f;
      if (lse) lse[n] = 0.f;
      continue;
    }
    F mx = -INFINITY;
    for (int j = 0; j < V; j++) mx = std::max(mx, z[j]);
    mx *= it;
    F sum = 0.f, wsum = 0.f;
#pragma omp simd reduction(+ : sum, wsum)
    for (int j = 0; j < V; j++) {
      F a = z[j] * it - mx;
      F e = ex(a);
      sum += e;
      wsum += e * a;
    }
    F l = mx + std::log(sum);
    if (lse) lse[n] = l;
    lp[n] = z[targets[n]] * it - l;
    // H = -Σ p log p = log(sum) - Σ e a / sum  (with a = z/T - max)
    if (ent) ent[n] = std::log(sum) - wsum / sum;
  }
}

template <class F, class Exp>
void logprob_backward_with(F* g, const F* dlp, const F* dent, const F* lse, const F* ent, const int* targets, int N,
                           int V, float temp) {
  const Exp ex;
  // forward: lp = z_y/T − lse, H = −Σ p log p with p = softmax(z/T)
  // backward: ∂lp/∂z_j = (1[j=y] − p_j)/T ; ∂H/∂z_j = −p_j (log p_j + H)/T
  const F it = 1.0f / temp;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    F* z = g + (size_t)n * V;
    int y = targets[n];
    if (y < 0) {
      std::memset(z, 0, sizeof(F) * V);
      continue;
    }
    F a = dlp[n], b = dent ? dent[n] : 0.f, l = lse[n], H = ent ? ent[n] : 0.f;
    if (b != 0.f) {
#pragma omp simd
      for (int j = 0; j < V; j++) {
        F logp = z[j] * it - l;
        F p = ex(logp);
        z[j] = (-a * p - b * p * (logp + H)) * it;
      }
    } else {
#pragma omp simd
      for (int j = 0; j < V; j++) z[j] = -a * ex(z[j] * it - l) * it;
    }
    z[y] += a * it;
  }
}

template <class F>
void logprob_forward(F* lp, F* ent, F* lse, const F* logits, const int* targets, int N, int V, float temp) {
  logprob_forward_with<F, StdExp>(lp, ent, lse, logits, targets, N, V, temp);
}
template <class F>
void logprob_backward(F* g, const F* dlp, const F* dent, const F* lse, const F* ent, const int* targets, int N, int V,
                      float temp) {
  logprob_backward_with<F, StdExp>(g, dlp, dent, lse, ent, targets, N, V, temp);
}
void logprob_forward_vexp(float* lp, float* ent, float* lse, const float* logits, const int* targets, int N, int V,
                          float temp) {
  logprob_forward_with<float, PolyExp>(lp, ent, lse, logits, targets, N, V, temp);
}
void logprob_backward_vexp(float* g, const float* dlp, const float* dent, const float* lse, const float* ent,
                           const int* targets, int N, int V, float temp) {
  logprob_backward_with<float, PolyExp>(g, dlp, dent, lse, ent, targets, N, V, temp);
}

// ---------------------------------------------------------------------------------------------------------------
// The score head: S dot products of length C (S is a handful of sequences), serial.
template <class F>
void score_forward(F* scores, const F* h, const int* rows, const F* w, int S, int C) {
  for (int s = 0; s < S; s++) {
    const F* x = h + (size_t)rows[s] * C;
    F acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < C; i++) acc += w[i] * x[i];
    scores[s] = acc;
  }
}

template <class F>
void score_backward(F* dh, F* dw, const F* dscores, const F* h, const int* rows, const F* w, int S, int N, int C) {
  std::memset(dh, 0, sizeof(F) * (size_t)N * C);
  for (int s = 0; s < S; s++) {
    const F d = dscores[s];
    F* dx = dh + (size_t)rows[s] * C;
    const F* x = h + (size_t)rows[s] * C;
#pragma omp simd
    for (int i = 0; i < C; i++) {
      dx[i] += d * w[i];
      dw[i] += d * x[i];
    }
  }
}

// ---- double-precision matrix products (tests and finite-difference checks only) -----------------------------------
void matmul_forward(double* out, const double* a, const double* w, const double* bias, int M, int N, int K) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = bias ? bias[j] : 0.0;
      for (int k = 0; k < K; k++) s += a[(size_t)i * K + k] * w[(size_t)j * K + k];
      out[(size_t)i * N + j] = s;
    }
}

void matmul_backward(double* da, double* dw, double* dbias, const double* dout, const double* a, const double* w,
                     int M, int N, int K, bool accumulate_da) {
  if (da)
    for (int i = 0; i < M; i++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int j = 0; j < N; j++) s += dout[(size_t)i * N + j] * w[(size_t)j * K + k];
        da[(size_t)i * K + k] = (accumulate_da ? da[(size_t)i * K + k] : 0.0) + s;
      }
  if (dw)
    for (int j = 0; j < N; j++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int i = 0; i < M; i++) s += dout[(size_t)i * N + j] * a[(size_t)i * K + k];
        dw[(size_t)j * K + k] += s;
      }
  if (dbias)
    for (int j = 0; j < N; j++)
      for (int i = 0; i < M; i++) dbias[j] += dout[(size_t)i * N + j];
}

R1_INSTANTIATE_LAYER_KERNELS(float)
R1_INSTANTIATE_LAYER_KERNELS(double)

template <class F>
LayerKernels<F> layer_table() {
  return {matmul_forward,       matmul_backward,         rmsnorm_forward<F>,    rmsnorm_backward<F>,
          head_rmsnorm_forward<F>, head_rmsnorm_backward<F>, rope_table<F>,      rope_forward<F>,
          rope_backward<F>,     attention_forward<F>,    attention_backward<F>, swiglu_forward<F>,
          swiglu_backward<F>,   add_forward<F>,          add_inplace<F>,        embedding_forward<F>,
          embedding_backward<F>, logprob_forward<F>,     logprob_backward<F>,   score_forward<F>,
          score_backward<F>};
}

}  // namespace cpu

const Backend& cpu_backend() {
  static const Backend b{"cpu",          cpu::layer_table<float>(), cpu::gemm,          cpu::matmul_forward_bf16w,
                         cpu::pack_matmul, cpu::attention_forward_kv_bf16,
                         cpu::round_to_bf16,    cpu::make_bf16_matmul,
                         cpu::matmul_backward_weight_bf16, cpu::embedding_forward_bf16, cpu::swiglu_forward_vexp,
                         cpu::logprob_forward_vexp, cpu::logprob_backward_vexp, cpu::round_to_bf16_values,
                         cpu::lane_accumulate,    cpu::row_max,       cpu::softmax_row_sum,
                         cpu::adamw_update, cpu::sgd_update,        cpu::scale_inplace, cpu::sum_squares};
  return b;
}

const LayerKernels<double>& cpu_kernels_f64() {
  static const LayerKernels<double> t = cpu::layer_table<double>();
  return t;
}

}  // namespace r1
