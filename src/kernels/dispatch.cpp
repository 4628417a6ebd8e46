// kernels.h's functions: every float call goes to the active backend's table (kernels/backend.h), every double call
// to the CPU's double table.
#include "kernels/backend.h"
#include "kernels/instantiate.h"

#include <type_traits>

namespace r1 {

namespace {
const Backend* g_backend = nullptr;

template <class F>
const LayerKernels<F>& layers() {
  if constexpr (std::is_same_v<F, float>) return active_backend().layers;
  else return cpu_kernels_f64();
}
}  // namespace

const Backend& active_backend() { return g_backend ? *g_backend : cpu_backend(); }
void set_backend(const Backend* b) { g_backend = b; }

// ---- matrix products -------------------------------------------------------------------------------------------
void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K) {
  layers<float>().matmul_forward(out, a, w, bias, M, N, K);
}
void matmul_backward(float* da, float* dw, float* dbias, const float* dout, const float* a, const float* w, int M,
                     int N, int K, bool accumulate_da) {
  layers<float>().matmul_backward(da, dw, dbias, dout, a, w, M, N, K, accumulate_da);
}
void matmul_forward(double* out, const double* a, const double* w, const double* bias, int M, int N, int K) {
  layers<double>().matmul_forward(out, a, w, bias, M, N, K);
}
void matmul_backward(double* da, double* dw, double* dbias, const double* dout, const double* a, const double* w,
                     int M, int N, int K, bool accumulate_da) {
  layers<double>().matmul_backward(da, dw, dbias, dout, a, w, M, N, K, accumulate_da);
}
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  active_backend().gemm(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}
void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K) {
  active_backend().matmul_forward_bf16w(out, a, w, bias, M, N, K);
}

PackedMatmul::PackedMatmul(const float* w, int N, int K) : impl_(active_backend().pack_matmul(w, N, K)) {}
PackedMatmul::~PackedMatmul() = default;
PackedMatmul::PackedMatmul(PackedMatmul&&) noexcept = default;
PackedMatmul& PackedMatmul::operator=(PackedMatmul&&) noexcept = default;
void PackedMatmul::forward(float* out, const float* a, const float* bias, int M, bool row_invariant) {
  impl_->forward(out, a, bias, M, row_invariant);
}
bool PackedMatmul::packed() const { return impl_->packed(); }
bool PackedMatmul::bf16_weights() const { return impl_->bf16_weights(); }

void round_to_bf16(uint16_t* out, const float* in, size_t n) { active_backend().round_to_bf16(out, in, n); }
void swiglu_forward_vexp(float* h, const float* gu, int N, int FF) { active_backend().swiglu_forward_vexp(h, gu, N, FF); }
void round_to_bf16_values(float* x, int rows, int width, int stride) {
  active_backend().round_to_bf16_values(x, rows, width, stride);
}
void logprob_forward_vexp(float* lp, float* ent, float* lse, const float* logits, const int* targets, int N, int V,
                          float temp) {
  active_backend().logprob_forward_vexp(lp, ent, lse, logits, targets, N, V, temp);
}
void logprob_backward_vexp(float* logits_to_dlogits, const float* dlp, const float* dent, const float* lse,
                           const float* ent, const int* targets, int N, int V, float temp) {
  active_backend().logprob_backward_vexp(logits_to_dlogits, dlp, dent, lse, ent, targets, N, V, temp);
}
void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                               int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel) {
  active_backend().attention_forward_kv_bf16(out, q, k, v, Tq, Tk, NH, NKV, HS, q_stride, kv_stride, out_stride,
                                             parallel);
}
Bf16Matmul::Bf16Matmul(int N, int K, bool with_backward)
    : N_(N), K_(K), impl_(active_backend().make_bf16_matmul(N, K, with_backward)) {}
Bf16Matmul::~Bf16Matmul() = default;
Bf16Matmul::Bf16Matmul(Bf16Matmul&&) noexcept = default;
Bf16Matmul& Bf16Matmul::operator=(Bf16Matmul&&) noexcept = default;
void Bf16Matmul::set(const float* w) { impl_->set(w); }
void Bf16Matmul::set_bf16(const uint16_t* w) { impl_->set_bf16(w); }
void Bf16Matmul::forward(float* out, const float* a, const float* bias, int M) const { impl_->forward(out, a, bias, M); }
void Bf16Matmul::backward_data(float* da, const float* dout, int M, bool accumulate) const {
  impl_->backward_data(da, dout, M, accumulate);
}
void Bf16Matmul::backward(float* da, float* dw, float* dbias, const float* dout, const float* a, int M) const {
  impl_->backward(da, dw, dbias, dout, a, M);
}
size_t Bf16Matmul::bytes() const { return impl_->bytes(); }
std::string Bf16Matmul::kernel() const { return impl_->kernel(); }
void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K) {
  active_backend().matmul_backward_weight_bf16(dw, dbias, dout, a, M, N, K);
}
void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C) {
  active_backend().embedding_forward_bf16(out, ids, wte, N, C);
}

// ---- layer kernels ---------------------------------------------------------------------------------------------
template <class F>
void rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int C, float eps) {
  layers<F>().rmsnorm_forward(out, rstd, x, w, N, C, eps);
}
template <class F>
void rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd, int N, int C,
                      bool accumulate) {
  layers<F>().rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C, accumulate);
}
template <class F>
void head_rmsnorm_forward(F* out, F* rstd, const F* x, const F* w, int N, int nheads, int HS, int row_stride,
                          float eps) {
  layers<F>().head_rmsnorm_forward(out, rstd, x, w, N, nheads, HS, row_stride, eps);
}
template <class F>
void head_rmsnorm_backward(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd, int N, int nheads,
                           int HS, int row_stride) {
  layers<F>().head_rmsnorm_backward(dx, dw, dout, x, w, rstd, N, nheads, HS, row_stride);
}
template <class F>
void rope_table(F* cos_sin, int max_pos, int HS, double theta) {
  layers<F>().rope_table(cos_sin, max_pos, HS, theta);
}
template <class F>
void rope_forward(F* x, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS, int row_stride) {
  layers<F>().rope_forward(x, pos, cos_sin, max_pos, N, nheads, HS, row_stride);
}
template <class F>
void rope_backward(F* dx, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS, int row_stride) {
  layers<F>().rope_backward(dx, pos, cos_sin, max_pos, N, nheads, HS, row_stride);
}
template <class F>
void attention_forward(F* out, F* probs, const F* q, const F* k, const F* v, int Tq, int Tk, int NH, int NKV, int HS,
                       int q_stride, int kv_stride, int out_stride, bool parallel, bool row_form) {
  layers<F>().attention_forward(out, probs, q, k, v, Tq, Tk, NH, NKV, HS, q_stride, kv_stride, out_stride, parallel,
                                row_form);
}
template <class F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* probs, const F* q, const F* k, const F* v, int Tq,
                        int Tk, int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel) {
  layers<F>().attention_backward(dq, dk, dv, dout, probs, q, k, v, Tq, Tk, NH, NKV, HS, q_stride, kv_stride,
                                 out_stride, parallel);
}
template <class F>
void swiglu_forward(F* h, const F* gu, int N, int FF) {
  layers<F>().swiglu_forward(h, gu, N, FF);
}
template <class F>
void swiglu_backward(F* dgu, const F* dh, const F* gu, int N, int FF) {
  layers<F>().swiglu_backward(dgu, dh, gu, N, FF);
}
template <class F>
void add_forward(F* out, const F* a, const F* b, size_t n) {
  layers<F>().add_forward(out, a, b, n);
}
template <class F>
void add_inplace(F* out, const F* a, size_t n) {
  layers<F>().add_inplace(out, a, n);
}
template <class F>
void embedding_forward(F* out, const int* ids, const F* wte, int N, int C) {
  layers<F>().embedding_forward(out, ids, wte, N, C);
}
template <class F>
void embedding_backward(F* dwte, const F* dout, const int* ids, int N, int C) {
  layers<F>().embedding_backward(dwte, dout, ids, N, C);
}
template <class F>
void logprob_forward(F* lp, F* ent, F* lse, const F* logits, const int* targets, int N, int V, float temp) {
  layers<F>().logprob_forward(lp, ent, lse, logits, targets, N, V, temp);
}
template <class F>
void logprob_backward(F* logits_to_dlogits, const F* dlp, const F* dent, const F* lse, const F* ent,
                      const int* targets, int N, int V, float temp) {
  layers<F>().logprob_backward(logits_to_dlogits, dlp, dent, lse, ent, targets, N, V, temp);
}
template <class F>
void score_forward(F* scores, const F* h, const int* rows, const F* w, int S, int C) {
  layers<F>().score_forward(scores, h, rows, w, S, C);
}
template <class F>
void score_backward(F* dh, F* dw, const F* dscores, const F* h, const int* rows, const F* w, int S, int N, int C) {
  layers<F>().score_backward(dh, dw, dscores, h, rows, w, S, N, C);
}

R1_INSTANTIATE_LAYER_KERNELS(float)
R1_INSTANTIATE_LAYER_KERNELS(double)

// ---- the sampler's softmax and the optimizer updates -----------------------------------------------------------
void lane_accumulate(double* acc, const float* x, int len) { active_backend().lane_accumulate(acc, x, len); }
float row_max(const float* logits, int V) { return active_backend().row_max(logits, V); }
double softmax_row_sum(float* w, const float* logits, int V, float m, float T) {
  return active_backend().softmax_row_sum(w, logits, V, m, T);
}
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
  active_backend().adamw_update(p, m, v, g, n, s);
}
void sgd_update(float* p, float* m, const float* g, size_t n, float lr, float momentum, bool first) {
  active_backend().sgd_update(p, m, g, n, lr, momentum, first);
}
void scale_inplace(float* x, float s, size_t n) { active_backend().scale_inplace(x, s, n); }
double sum_squares(const float* x, size_t n) { return active_backend().sum_squares(x, n); }

}  // namespace r1
