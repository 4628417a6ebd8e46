// Internal to kernels/: the CPU backend's functions that its files share (cpu.cpp builds the backend table).
#pragma once
#include "kernels/kernels.h"

#include <memory>

namespace r1::cpu {

void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K);
void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K);
std::unique_ptr<PackedMatmul::Impl> pack_matmul(const float* w, int N, int K);  // packed_matmul.cpp
void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk,
                               int NH, int NKV, int HS, int q_stride, int kv_stride, int out_stride, bool parallel);
void swiglu_forward_vexp(float* h, const float* gu, int N, int FF);          // cpu.cpp
void round_to_bf16_values(float* x, int rows, int width, int stride);  // cpu.cpp
void logprob_forward_vexp(float* lp, float* ent, float* lse, const float* logits, const int* targets, int N, int V,
                          float temp);  // cpu.cpp
void logprob_backward_vexp(float* g, const float* dlp, const float* dent, const float* lse, const float* ent,
                           const int* targets, int N, int V, float temp);  // cpu.cpp
void round_to_bf16(uint16_t* out, const float* in, size_t n);                    // bf16_matmul.cpp
bool amx_rows_available();                                                       // amx_rows.cpp
// out [M, N] = bf16(a) [M, K] · W (+ bias); W in oneDNN's AMX layout (tag BA16a64b2a, N padded with zeros to a
// multiple of 64), K % 32 == 0; every output the sum of its k-blocks of 32 in order in one fp32 tile, whatever M
// and the thread count
void amx_bf16_rows(float* out, const float* a, const uint16_t* w, const float* bias, int M, int K, int N);
std::unique_ptr<Bf16Matmul::Impl> make_bf16_matmul(int N, int K, bool with_backward);
void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K);
void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C);  // cpu.cpp
void lane_accumulate(double* acc, const float* x, int len);                      // softmax_row.cpp
float row_max(const float* logits, int V);
double softmax_row_sum(float* w, const float* logits, int V, float m, float T);
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s);  // optim.cpp
void sgd_update(float* p, float* m, const float* g, size_t n, float lr, float momentum, bool first);
void scale_inplace(float* x, float s, size_t n);
double sum_squares(const float* x, size_t n);

}  // namespace r1::cpu
