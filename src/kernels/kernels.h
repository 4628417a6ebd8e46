// Every compute kernel of r1.cpp, behind one header: the interface that model/, train/, sampling/ and rollout/
// call. Each call goes to the active backend (kernels/backend.h: a table of these kernels; the CPU backend,
// kernels/cpu.cpp and siblings, uses oneDNN for matrix products and OpenMP over both cores for the rest), and in
// namespace r1::ref a scalar reference version (kernels/reference.cpp) is the oracle for the fast one in tests.
//
// Dimension names, fixed once: B batch, T sequence (query positions), Tk key positions, C hidden size, V vocab,
// NH query heads, NKV key/value heads, HS head size, FF MLP inner size, N = B*T rows.
// Argument order everywhere: outputs, saved buffers, inputs, sizes. Backward functions take the gradient of the
// output(s) and ACCUMULATE (+=) into parameter gradients; input gradients are overwritten unless noted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace r1 {

// ---- matrix products (oneDNN) ---------------------------------------------------------------------------------
// Time and FLOPs spent in gemm() since the last reset (benchmarks report the matrix products' own rate).
struct GemmStats {
  double seconds = 0, flops = 0;
};
GemmStats& gemm_stats();
// out[M,N] = a[M,K] · w[N,K]^T (+ bias[N] when bias != nullptr). w is laid out like torch.nn.Linear.weight.
void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K);
// Backward of matmul_forward. da[M,K] = dout·w (or += when accumulate_da); dw[N,K] += dout^T·a;
// dbias[N] += column sums of dout. da, dw, dbias may be nullptr to skip.
void matmul_backward(float* da, float* dw, float* dbias, const float* dout, const float* a, const float* w, int M,
                     int N, int K, bool accumulate_da = false);
// General row-major sgemm: c[M,N] = alpha * op(a)·op(b) + beta * c.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

// The same product with the weight stored as bf16 [N, K] (uint16 bit patterns), computed in fp32: every weight
// is widened exactly, products and sums are fp32, so for weights that ARE bf16 values (a bf16 checkpoint) this
// equals matmul_forward up to summation order while reading half the bytes. For the few rows of decoding (M up
// to a handful), where a product is a read of the matrix. OpenMP over N.
void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K);

// The same product with the weight packed once: w [N, K] is reordered into the blocked layout oneDNN's matmul
// prefers and kept, for the many products of one generate() call over unchanging weights (oneDNN's sgemm packs its
// operand on every call). Equal to matmul_forward up to summation order; falls back to it where oneDNN has no fast
// kernel. Holds a packed copy of w (N*K floats); w itself must outlive the object (used by the fallback).
class PackedMatmul {
 public:
  // What a backend's packed weight provides (kernels/backend.h pack_matmul).
  struct Impl {
    virtual ~Impl() = default;
    virtual void forward(float* out, const float* a, const float* bias, int M, bool row_invariant) = 0;
    virtual bool packed() const = 0;
    virtual bool bf16_weights() const = 0;
  };
  PackedMatmul(const float* w, int N, int K);
  ~PackedMatmul();
  PackedMatmul(PackedMatmul&&) noexcept;
  PackedMatmul& operator=(PackedMatmul&&) noexcept;
  // out[M, N] = a[M, K] · w^T (+ bias[N]). row_invariant: every M takes the packed product, whose rows do not
  // depend on M or on the other rows (tested), instead of the faster gemv paths for fewer than 4 rows: a row's
  // result is then the same bits whatever batch it is computed in (GenConfig::batch_invariant).
  void forward(float* out, const float* a, const float* bias, int M, bool row_invariant = false);
  bool packed() const;  // false: every call is matmul_forward
  // true: every entry of w is a bf16 value (a bf16 checkpoint), and products of fewer than 4 rows use a bf16 copy
  // (matmul_forward_bf16w: the same products, exactly widened, half the bytes read)
  bool bf16_weights() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- bf16 mixed precision (Precision::BF16) ----------------------------------------------------------------------
// bf16 mode's keys and values (trainer and engine alike, after RoPE): x[r * stride + i], i < width, replaced by its
// nearest bf16 value (as round_to_bf16, kept as fp32), so that a bf16 KV cache holds them exactly.
void round_to_bf16_values(float* x, int rows, int width, int stride);
// out[i] = in[i] rounded to the nearest bf16, ties to even (core/bits.h f32_to_bf16_bits), as bit patterns.
void round_to_bf16(uint16_t* out, const float* in, size_t n);

// A weight w [N, K] held as bf16 for bf16 mode's products, packed once per update (set) in the layouts the
// backend's bf16 matmul wants (CPU: oneDNN, AMX or AVX-512 BF16):
//   forward        out[M, N] = bf16(a)[M, K] · W^T (+ bias[N])
//   backward_data  da[M, K]  = bf16(dout)[M, N] · W (or += when accumulate)
// with W = bf16(w), every product exact and every sum fp32. A row's result does not depend on M or on the other rows
// (tested), so the trainer's forward and the rollout engine's decode, both through the same object, give the same
// bits. with_backward = false keeps only the forward layout (inference: one bf16 copy, half an fp32 matrix).
class Bf16Matmul {
 public:
  struct Impl {
    virtual ~Impl() = default;
    virtual void set(const float* w) = 0;
    virtual void set_bf16(const uint16_t* w) = 0;
    virtual void forward(float* out, const float* a, const float* bias, int M) = 0;
    virtual void backward_data(float* da, const float* dout, int M, bool accumulate) = 0;
    virtual void backward(float* da, float* dw, float* dbias, const float* dout, const float* a, int M) = 0;
    virtual size_t bytes() const = 0;
    virtual std::string kernel() const = 0;
  };
  Bf16Matmul(int N, int K, bool with_backward);
  ~Bf16Matmul();
  Bf16Matmul(Bf16Matmul&&) noexcept;
  Bf16Matmul& operator=(Bf16Matmul&&) noexcept;
  void set(const float* w);          // w [N, K] fp32, rounded to bf16
  void set_bf16(const uint16_t* w);  // w [N, K] already bf16 (a bf16 checkpoint's bits)
  void forward(float* out, const float* a, const float* bias, int M) const;
  void backward_data(float* da, const float* dout, int M, bool accumulate) const;  // needs with_backward
  // Both backward products of out = bf16(a)·W^T from one rounding of dout: da = bf16(dout)·W (overwritten; nullptr to
  // skip), dw += bf16(dout)^T·bf16(a) and dbias += column sums of dout (either nullptr to skip). Needs with_backward.
  void backward(float* da, float* dw, float* dbias, const float* dout, const float* a, int M) const;
  int N() const { return N_; }
  int K() const { return K_; }
  size_t bytes() const;  // memory held (packed copies)
  std::string kernel() const;  // which kernel forward() runs, for any M (for tests and benchmarks)

 private:
  int N_ = 0, K_ = 0;
  std::unique_ptr<Impl> impl_;
};
// dw[N, K] += bf16(dout)[M, N]^T · bf16(a)[M, K], fp32 sums: the weight gradient of a bf16 product. dbias[N]
// (nullptr to skip) += column sums of dout in fp32.
void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K);

// Double-precision overloads of the matrix products (naive loops) exist for finite-difference tests.
void matmul_forward(double* out, const double* a, const double* w, const double* bias, int M, int N, int K);
void matmul_backward(double* da, double* dw, double* dbias, const double* dout, const double* a, const double* w,
                     int M, int N, int K, bool accumulate_da = false);

// The kernels below are templates over the scalar type F, instantiated for float (the fast path) and double
// (finite-difference tests in double precision).
// ---- RMSNorm: out = x / sqrt(mean(x^2) + eps) * w, per row of length C -----------------------------------------
// rstd[N] saved for backward (may be nullptr at inference).
template <class F>
void rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int C, float eps);
// dx[N,C] = (or += when accumulate) ∂/∂x; dw[C] += ∂/∂w.
template <class F>
void rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd,
                      int N, int C, bool accumulate = false);

// ---- per-head RMSNorm (Qwen3 q_norm/k_norm): rows of `row_stride` floats hold `nheads` heads of HS at offset 0;
//      each head is normalised with the shared weight w[HS]. rstd[N*nheads]. out may alias x only at inference.
template <class F>
void head_rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int nheads, int HS,
                          int row_stride, float eps);
template <class F>
void head_rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w,
                           const F* rstd, int N, int nheads, int HS, int row_stride);

// ---- rotary embeddings, rotate-half layout (transformers): for i < HS/2, angle = pos * theta^(-2i/HS),
//      (x_i, x_{i+HS/2}) -> (x_i cos - x_{i+HS/2} sin, x_{i+HS/2} cos + x_i sin). In place. ----------------------
// x holds N rows of `row_stride` floats; rotate heads [0, nheads) of size HS starting at offset 0 of each row.
// pos[N] is each row's position; cos_sin is the table from rope_table(): [max_pos, HS/2] cos then [max_pos, HS/2] sin.
template <class F>
void rope_forward(F* x, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                  int row_stride);
// Backward is the inverse rotation applied to the gradient, also in place.
template <class F>
void rope_backward(F* dx, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                   int row_stride);
template <class F>
void rope_table(F* cos_sin, int max_pos, int HS, double theta);

// ---- causal grouped-query attention for ONE sequence -----------------------------------------------------------
// Queries are the last Tq of Tk positions (Tq == Tk in training; Tq == 1 when decoding with a KV cache; Tq < Tk
// when appending to a cache). q row t (position Tk-Tq+t) attends to key positions 0..Tk-Tq+t.
// q: [Tq, q_stride] with head h at column h*HS; k, v: [Tk, kv_stride] with kv head g at column g*HS;
// query head h reads kv head h / (NH/NKV). out: [Tq, out_stride]. probs: [NH, Tq, Tk] softmax rows saved for
// backward (nullptr at inference). Scale is 1/sqrt(HS).
// parallel: whether to use an OpenMP team over heads (false when the caller already parallelises over sequences).
// row_form: every query row is computed alone, by the same instructions in the same order whatever Tq is (no
// matrix-product form for many rows), so a row's output does not depend on how many rows share the call: bf16
// mode's trainer and rollout engine both use it, so that the bf16 rounding of the next product sees the same bits.
template <class F>
void attention_forward(F* out, F* probs, const F* q, const F* k, const F* v, int Tq, int Tk,
                       int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel = true,
                       bool row_form = false);
// The same at inference over a bf16 KV cache (kv_dtype bf16): k, v are bf16 bit patterns [Tk, kv_stride], widened
// exactly; everything else fp32, in attention_forward's row form: the bits of attention_forward(row_form = true)
// over the widened values (bf16 mode's trainer, whose keys and values are bf16 values: round_to_bf16_values).
void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                               int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride,
                               bool parallel = true);
// bf16 mode's SwiGLU forward (the trainer's and the engine's alike): swiglu_forward's h = silu(g) · u with e^x
// from a vectorised polynomial on AVX-512 CPUs (about 1 ulp; std::exp elsewhere, and in fp32 mode, bit for bit,
// one element at a time). Its backward is swiglu_backward's.
void swiglu_forward_vexp(float* h, const float* gu, int N, int FF);
// dq overwritten; dk, dv overwritten (they are per-sequence buffers [Tk, kv_stride]).
template <class F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* probs, const F* q,
                        const F* k, const F* v, int Tq, int Tk, int NH, int NKV, int HS, int q_stride,
                        int kv_stride, int out_stride, bool parallel = true);

// ---- SwiGLU: h = silu(gate) * up; gu holds [N, 2*FF] with gate in columns [0,FF) and up in [FF,2FF) ----------
template <class F>
void swiglu_forward(F* h, const F* gu, int N, int FF);
template <class F>
void swiglu_backward(F* dgu, const F* dh, const F* gu, int N, int FF);

// ---- residual add: out = a + b (out may alias a) --------------------------------------------------------------
template <class F>
void add_forward(F* out, const F* a, const F* b, size_t n);
template <class F>
void add_inplace(F* out, const F* a, size_t n);

// ---- embedding lookup ------------------------------------------------------------------------------------------
template <class F>
void embedding_forward(F* out, const int* ids, const F* wte, int N, int C);
// The same from a bf16 table wte [V, C] (bit patterns: a bf16 checkpoint's embedding, kept as it is stored), each
// row widened exactly: equal to embedding_forward over the table's fp32 values.
void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C);
// dwte[ids[n]] += dout[n]; serial over rows sharing an id, parallel over columns.
template <class F>
void embedding_backward(F* dwte, const F* dout, const int* ids, int N, int C);

// ---- token log-probs of targets under softmax(logits / temperature) ------------------------------------------
// logits [N, V]. lp[n] = log softmax(logits[n]/temp)[targets[n]]; ent[n] (nullptr to skip) = entropy of that
// distribution. Rows with targets[n] < 0 get lp = 0 and ent = 0. Also saves lse[n] (log-sum-exp of logits/temp).
template <class F>
void logprob_forward(F* lp, F* ent, F* lse, const F* logits, const int* targets, int N, int V,
                     float temp);
// In place: overwrites logits with d(loss)/d(logits) given dlp[n] = ∂loss/∂lp[n] and dent[n] = ∂loss/∂ent[n]
// (dent may be nullptr). Rows with targets < 0 get zero gradient.
template <class F>
void logprob_backward(F* logits_to_dlogits, const F* dlp, const F* dent, const F* lse,
                      const F* ent, const int* targets, int N, int V, float temp);
// bf16 mode's log-prob head (the trainer's; the engine's sampler takes softmax_row_sum, the same polynomial): the
// two above with e^x from exp_poly.h's vectorised polynomial (relative error ~2e-7) instead of std::exp, one
// element at a time, which fp32 mode keeps bit for bit. Same arguments and outputs.
void logprob_forward_vexp(float* lp, float* ent, float* lse, const float* logits, const int* targets, int N, int V,
                          float temp);
void logprob_backward_vexp(float* logits_to_dlogits, const float* dlp, const float* dent, const float* lse,
                           const float* ent, const int* targets, int N, int V, float temp);

// ---- scalar score head (reward models: *ForSequenceClassification with one label) ------------------------------
// scores[s] = w · h[rows[s]] for s < S; h [N, C] (the final-norm hidden states), w [C] (score.weight [1, C]).
template <class F>
void score_forward(F* scores, const F* h, const int* rows, const F* w, int S, int C);
// dh [N, C] overwritten: zero except the scored rows, which get dscores[s] · w (summed when two entries name one
// row); dw [C] += Σ_s dscores[s] · h[rows[s]].
template <class F>
void score_backward(F* dh, F* dw, const F* dscores, const F* h, const int* rows, const F* w, int S, int N, int C);

// ---- softmax of one logits row (the sampler's): the same result whatever the build's SIMD width ----------------
// Sums run in double over kSumLanes fixed lanes: lane j adds the entries i ≡ j (mod kSumLanes) in order.
constexpr int kSumLanes = 16;
// acc[kSumLanes] += the lanes of x[0, len).
void lane_accumulate(double* acc, const float* x, int len);
// Max of the row; NaN entries are skipped (-inf when there is nothing else).
float row_max(const float* logits, int V);
// S = Σ_i exp((l_i − m) / T), each weight from a polynomial exp (relative error ~2e-7; 0 below e^-87), summed in the
// fixed lanes; w[V] (nullptr: not kept) receives the weights. A NaN logit makes S NaN.
double softmax_row_sum(float* w, const float* logits, int V, float m, float T);

// ---- optimizer updates (train/optim.h), elementwise over n parameters ------------------------------------------
struct AdamWStep {
  float beta1, beta2, eps;
  float step_size;  // lr / (1 − beta1^t)
  float sbc2;       // sqrt(1 − beta2^t)
  float grad_scale = 1.f;  // g is read as g · grad_scale (global-norm clipping), the bits of a scale_inplace first
  // decoupled weight decay (torch.optim.AdamW applies it first): p *= decay on the elements of the ranges
  // [first, second), sorted and disjoint; the bits of a scale_inplace over each range before the update
  float decay = 1.f;
  const std::pair<size_t, size_t>* decay_ranges = nullptr;  // [n_decay_ranges]
  size_t n_decay_ranges = 0;
};
// p *= decay (on decay_ranges); g' = g · grad_scale; m = b1 m + (1 − b1) g'; v = b2 v + (1 − b2) g'²;
// p −= step_size · m / (sqrt(v) / sbc2 + eps) (torch.optim.AdamW after clip_grad_norm_; g itself is not written)
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s);
// With momentum > 0: m = g on the first step, else momentum · m + g; p −= lr · m. Without: p −= lr · g (m unused).
void sgd_update(float* p, float* m, const float* g, size_t n, float lr, float momentum, bool first);
// x *= s
void scale_inplace(float* x, float s, size_t n);
// Σ x² in double, summed in a fixed order (the same bits whatever the thread count)
double sum_squares(const float* x, size_t n);

// ---- scalar reference versions (oracles for tests) -------------------------------------------------------------
namespace ref {
void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K);
void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K);
// bf16 mode's products in double over the rounded operands: out = bf16(a)·bf16(w)^T (+ bias), da = bf16(dout)·bf16(w)
// (+= when accumulate), dw += bf16(dout)^T·bf16(a), dbias += column sums of dout.
void matmul_forward_bf16(float* out, const float* a, const float* w, const float* bias, int M, int N, int K);
void matmul_backward_data_bf16(float* da, const float* dout, const float* w, int M, int N, int K, bool accumulate);
void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K);
void matmul_backward(float* da, float* dw, float* dbias, const float* dout, const float* a, const float* w, int M,
                     int N, int K);
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps);
void attention_forward(float* out, const float* q, const float* k, const float* v, int Tq, int Tk, int NH, int NKV,
                       int HS, int q_stride, int kv_stride, int out_stride);
void logprob_forward(float* lp, float* ent, const float* logits, const int* targets, int N, int V, float temp);
void score_forward(float* scores, const float* h, const int* rows, const float* w, int S, int C);
void score_backward(float* dh, float* dw, const float* dscores, const float* h, const int* rows, const float* w, int S,
                    int N, int C);
void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                               int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride);
void rope_forward(float* x, const int* pos, int N, int nheads, int HS, int row_stride, double theta);
void swiglu_forward(float* h, const float* gu, int N, int FF);
void embedding_forward(float* out, const int* ids, const float* wte, int N, int C);
void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C);
double softmax_row_sum(float* w, const float* logits, int V, float m, float T);
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s);
}  // namespace ref

}  // namespace r1
