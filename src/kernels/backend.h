// The seam between the model and the hardware: a backend is one table of the kernels of kernels.h. model/,
// train/, rollout/ and sampling/ call the functions of kernels.h only; kernels/dispatch.cpp sends every float call
// to the active backend's table. The CPU backend (kernels/cpu.cpp, packed_matmul.cpp, softmax_row.cpp,
// optim.cpp: oneDNN for matrix products, OpenMP for the rest) is the default; a second backend (bf16 CPU, CUDA)
// is a second table, installed with set_backend(), with no change above kernels/. Double-precision calls (the
// finite-difference tests) always run the CPU's double table, and namespace r1::ref holds the scalar oracles.
//
// A backend owns the memory semantics of its kernels: the CPU one reads and writes host pointers. A device backend
// would pair the table with device buffers in Weights/Activations; that allocation seam is not here yet.
#pragma once
#include "kernels/kernels.h"

#include <memory>

namespace r1 {

// The layer kernels, over scalar type F (float: the model; double: finite-difference tests).
template <class F>
struct LayerKernels {
  void (*matmul_forward)(F* out, const F* a, const F* w, const F* bias, int M, int N, int K);
  void (*matmul_backward)(F* da, F* dw, F* dbias, const F* dout, const F* a, const F* w, int M, int N, int K,
                          bool accumulate_da);
  void (*rmsnorm_forward)(F* out, F* rstd, const F* x, const F* w, int N, int C, float eps);
  void (*rmsnorm_backward)(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd, int N, int C,
                           bool accumulate);
  void (*head_rmsnorm_forward)(F* out, F* rstd, const F* x, const F* w, int N, int nheads, int HS, int row_stride,
                               float eps);
  void (*head_rmsnorm_backward)(F* dx, F* dw, const F* dout, const F* x, const F* w, const F* rstd, int N,
                                int nheads, int HS, int row_stride);
  void (*rope_table)(F* cos_sin, int max_pos, int HS, double theta);
  void (*rope_forward)(F* x, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS, int row_stride);
  void (*rope_backward)(F* dx, const int* pos, const F* cos_sin, int max_pos, int N, int nheads, int HS,
                        int row_stride);
  void (*attention_forward)(F* out, F* probs, const F* q, const F* k, const F* v, int Tq, int Tk, int NH, int NKV,
                            int HS, int q_stride, int kv_stride, int out_stride, bool parallel, bool row_form);
  void (*attention_backward)(F* dq, F* dk, F* dv, const F* dout, const F* probs, const F* q, const F* k, const F* v,
                             int Tq, int Tk, int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride,
                             bool parallel);
  void (*swiglu_forward)(F* h, const F* gu, int N, int FF);
  void (*swiglu_backward)(F* dgu, const F* dh, const F* gu, int N, int FF);
  void (*add_forward)(F* out, const F* a, const F* b, size_t n);
  void (*add_inplace)(F* out, const F* a, size_t n);
  void (*embedding_forward)(F* out, const int* ids, const F* wte, int N, int C);
  void (*embedding_backward)(F* dwte, const F* dout, const int* ids, int N, int C);
  void (*logprob_forward)(F* lp, F* ent, F* lse, const F* logits, const int* targets, int N, int V, float temp);
  void (*logprob_backward)(F* logits_to_dlogits, const F* dlp, const F* dent, const F* lse, const F* ent,
                           const int* targets, int N, int V, float temp);
  void (*score_forward)(F* scores, const F* h, const int* rows, const F* w, int S, int C);
  void (*score_backward)(F* dh, F* dw, const F* dscores, const F* h, const int* rows, const F* w, int S, int N, int C);
};

// Everything a backend provides: the float layer kernels and the float-only ones.
struct Backend {
  const char* name;
  LayerKernels<float> layers;
  void (*gemm)(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* a, int lda, const float* b,
               int ldb, float beta, float* c, int ldc);
  void (*matmul_forward_bf16w)(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K);
  std::unique_ptr<PackedMatmul::Impl> (*pack_matmul)(const float* w, int N, int K);
  void (*attention_forward_kv_bf16)(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                                    int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride,
                                    bool parallel);
  // bf16 mode's products
  void (*round_to_bf16)(uint16_t* out, const float* in, size_t n);
  std::unique_ptr<Bf16Matmul::Impl> (*make_bf16_matmul)(int N, int K, bool with_backward);
  void (*matmul_backward_weight_bf16)(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K);
  void (*embedding_forward_bf16)(float* out, const int* ids, const uint16_t* wte, int N, int C);
  void (*swiglu_forward_vexp)(float* h, const float* gu, int N, int FF);
  void (*logprob_forward_vexp)(float* lp, float* ent, float* lse, const float* logits, const int* targets, int N,
                               int V, float temp);
  void (*logprob_backward_vexp)(float* logits_to_dlogits, const float* dlp, const float* dent, const float* lse,
                                const float* ent, const int* targets, int N, int V, float temp);
  void (*round_to_bf16_values)(float* x, int rows, int width, int stride);
  // the sampler's softmax
  void (*lane_accumulate)(double* acc, const float* x, int len);
  float (*row_max)(const float* logits, int V);
  double (*softmax_row_sum)(float* w, const float* logits, int V, float m, float T);
  // the optimizer's elementwise updates
  void (*adamw_update)(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s);
  void (*sgd_update)(float* p, float* m, const float* g, size_t n, float lr, float momentum, bool first);
  void (*scale_inplace)(float* x, float s, size_t n);
  double (*sum_squares)(const float* x, size_t n);
};

const Backend& cpu_backend();
const LayerKernels<double>& cpu_kernels_f64();
// The backend kernels.h calls go to (the CPU one unless set_backend installed another).
const Backend& active_backend();
// Installs `b` (nullptr: back to the CPU backend). Not thread-safe: call it before any work.
void set_backend(const Backend* b);

}  // namespace r1
