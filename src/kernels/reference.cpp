// Scalar reference kernels: straightforward loops in double accumulation, the oracle for kernels/cpu.cpp.
#include "kernels/kernels.h"
#include "core/bits.h"

#include <cmath>
#include <vector>

namespace r1::ref {

void matmul_forward(float* out, const float* a, const float* w, const float* bias, int M, int N, int K) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = bias ? bias[j] : 0.0;
      for (int k = 0; k < K; k++) s += (double)a[(size_t)i * K + k] * w[(size_t)j * K + k];
      out[(size_t)i * N + j] = (float)s;
    }
}

void matmul_forward_bf16w(float* out, const float* a, const uint16_t* w, const float* bias, int M, int N, int K) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = bias ? bias[j] : 0.0;
      for (int k = 0; k < K; k++) s += (double)a[(size_t)i * K + k] * bf16_bits_to_f32(w[(size_t)j * K + k]);
      out[(size_t)i * N + j] = (float)s;
    }
}

void attention_forward_kv_bf16(float* out, const float* q, const uint16_t* k, const uint16_t* v, int Tq, int Tk, int NH,
                               int NKV, int HS, int q_stride, int kv_stride, int out_stride) {
  std::vector<float> kf((size_t)Tk * kv_stride), vf((size_t)Tk * kv_stride);
  for (size_t i = 0; i < kf.size(); i++) {
    kf[i] = bf16_bits_to_f32(k[i]);
    vf[i] = bf16_bits_to_f32(v[i]);
  }
  attention_forward(out, q, kf.data(), vf.data(), Tq, Tk, NH, NKV, HS, q_stride, kv_stride, out_stride);
}

void matmul_forward_bf16(float* out, const float* a, const float* w, const float* bias, int M, int N, int K) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = bias ? bias[j] : 0.0;
      for (int k = 0; k < K; k++) s += (double)round_bf16(a[(size_t)i * K + k]) * round_bf16(w[(size_t)j * K + k]);
      out[(size_t)i * N + j] = (float)s;
    }
}

void matmul_backward_data_bf16(float* da, const float* dout, const float* w, int M, int N, int K, bool accumulate) {
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) {
      double s = accumulate ? da[(size_t)i * K + k] : 0.0;
      for (int j = 0; j < N; j++) s += (double)round_bf16(dout[(size_t)i * N + j]) * round_bf16(w[(size_t)j * K + k]);
      da[(size_t)i * K + k] = (float)s;
    }
}

void matmul_backward_weight_bf16(float* dw, float* dbias, const float* dout, const float* a, int M, int N, int K) {
  for (int j = 0; j < N; j++) {
    if (dbias) {
      double s = 0;
      for (int i = 0; i < M; i++) s += dout[(size_t)i * N + j];
      dbias[j] += (float)s;
    }
    if (dw)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int i = 0; i < M; i++) s += (double)round_bf16(dout[(size_t)i * N + j]) * round_bf16(a[(size_t)i * K + k]);
        dw[(size_t)j * K + k] += (float)s;
      }
  }
}

void matmul_backward(float* da, float* dw, float* dbias, const float* dout, const float* a, const float* w, int M,
                     int N, int K) {
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int j = 0; j < N; j++) s += (double)dout[(size_t)i * N + j] * w[(size_t)j * K + k];
      da[(size_t)i * K + k] = (float)s;
    }
  for (int j = 0; j < N; j++)
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int i = 0; i < M; i++) s += (double)dout[(size_t)i * N + j] * a[(size_t)i * K + k];
      dw[(size_t)j * K + k] += (float)s;
    }
  if (dbias)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int i = 0; i < M; i++) s += dout[(size_t)i * N + j];
      dbias[j] += (float)s;
    }
}

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps) {
  for (int n = 0; n < N; n++) {
    double ss = 0;
    for (int i = 0; i < C; i++) ss += (double)x[(size_t)n * C + i] * x[(size_t)n * C + i];
    double r = 1.0 / std::sqrt(ss / C + eps);
    if (rstd) rstd[n] = (float)r;
    for (int i = 0; i < C; i++) out[(size_t)n * C + i] = (float)(x[(size_t)n * C + i] * r * w[i]);
  }
}

void attention_forward(float* out, const float* q, const float* k, const float* v, int Tq, int Tk, int NH, int NKV,
                       int HS, int q_stride, int kv_stride, int out_stride) {
  int rep = NH / NKV, off = Tk - Tq;
  std::vector<double> p(Tk);
  for (int h = 0; h < NH; h++) {
    int g = h / rep;
    for (int t = 0; t < Tq; t++) {
      int n = off + t + 1;
      double mx = -1e300;
      for (int s = 0; s < n; s++) {
        double d = 0;
        for (int i = 0; i < HS; i++) d += (double)q[(size_t)t * q_stride + h * HS + i] * k[(size_t)s * kv_stride + g * HS + i];
        p[s] = d / std::sqrt((double)HS);
        mx = std::max(mx, p[s]);
      }
      double sum = 0;
      for (int s = 0; s < n; s++) sum += (p[s] = std::exp(p[s] - mx));
      for (int i = 0; i < HS; i++) {
        double o = 0;
        for (int s = 0; s < n; s++) o += p[s] / sum * v[(size_t)s * kv_stride + g * HS + i];
        out[(size_t)t * out_stride + h * HS + i] = (float)o;
      }
    }
  }
}

void logprob_forward(float* lp, float* ent, const float* logits, const int* targets, int N, int V, float temp) {
  for (int n = 0; n < N; n++) {
    const float* z = logits + (size_t)n * V;
    if (targets[n] < 0) {
      lp[n] = 0;
      if (ent) ent[n] = 0;
      continue;
    }
    double mx = -1e300;
    for (int j = 0; j < V; j++) mx = std::max(mx, (double)z[j] / temp);
    double sum = 0;
    for (int j = 0; j < V; j++) sum += std::exp(z[j] / temp - mx);
    double l = mx + std::log(sum);
    lp[n] = (float)(z[targets[n]] / temp - l);
    if (ent) {
      double h = 0;
      for (int j = 0; j < V; j++) {
        double lpj = z[j] / temp - l;
        h -= std::exp(lpj) * lpj;
      }
      ent[n] = (float)h;
    }
  }
}

void score_forward(float* scores, const float* h, const int* rows, const float* w, int S, int C) {
  for (int s = 0; s < S; s++) {
    double acc = 0;
    for (int i = 0; i < C; i++) acc += (double)w[i] * h[(size_t)rows[s] * C + i];
    scores[s] = (float)acc;
  }
}

void score_backward(float* dh, float* dw, const float* dscores, const float* h, const int* rows, const float* w, int S,
                    int N, int C) {
  for (size_t i = 0; i < (size_t)N * C; i++) dh[i] = 0;
  for (int i = 0; i < C; i++) {
    double g = 0;
    for (int s = 0; s < S; s++) g += (double)dscores[s] * h[(size_t)rows[s] * C + i];
    dw[i] += (float)g;
  }
  for (int n = 0; n < N; n++)  // a row named by several entries gets the sum of their gradients
    for (int i = 0; i < C; i++) {
      double g = 0;
      for (int s = 0; s < S; s++)
        if (rows[s] == n) g += (double)dscores[s] * w[i];
      dh[(size_t)n * C + i] = (float)g;
    }
}

// Rotate-half rotary embedding with angles computed in double from theta (no table).
void rope_forward(float* x, const int* pos, int N, int nheads, int HS, int row_stride, double theta) {
  const int half = HS / 2;
  for (int n = 0; n < N; n++)
    for (int h = 0; h < nheads; h++) {
      float* v = x + (size_t)n * row_stride + (size_t)h * HS;
      for (int i = 0; i < half; i++) {
        const double ang = pos[n] / std::pow(theta, (double)(2 * i) / HS);
        const double x1 = v[i], x2 = v[i + half];
        v[i] = (float)(x1 * std::cos(ang) - x2 * std::sin(ang));
        v[i + half] = (float)(x2 * std::cos(ang) + x1 * std::sin(ang));
      }
    }
}

void swiglu_forward(float* h, const float* gu, int N, int FF) {
  for (int n = 0; n < N; n++)
    for (int j = 0; j < FF; j++) {
      const double g = gu[(size_t)n * 2 * FF + j], u = gu[(size_t)n * 2 * FF + FF + j];
      h[(size_t)n * FF + j] = (float)(g / (1.0 + std::exp(-g)) * u);
    }
}

void embedding_forward(float* out, const int* ids, const float* wte, int N, int C) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) out[(size_t)n * C + c] = wte[(size_t)ids[n] * C + c];
}

void embedding_forward_bf16(float* out, const int* ids, const uint16_t* wte, int N, int C) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) out[(size_t)n * C + c] = bf16_bits_to_f32(wte[(size_t)ids[n] * C + c]);
}

double softmax_row_sum(float* w, const float* logits, int V, float m, float T) {
  double s = 0;
  for (int i = 0; i < V; i++) {
    const double e = std::exp(((double)logits[i] - m) / T);
    if (w) w[i] = (float)e;
    s += e;
  }
  return s;
}

void adamw_update(float* p, float* m, float* v, const float* g, size_t n, const AdamWStep& s) {
  std::vector<bool> decayed(n, false);
  for (size_t r = 0; r < s.n_decay_ranges; r++)
    for (size_t i = s.decay_ranges[r].first; i < s.decay_ranges[r].second; i++) decayed[i] = true;
  for (size_t i = 0; i < n; i++) {
    if (decayed[i]) p[i] = (float)((double)p[i] * s.decay);
    const double gi = (double)g[i] * s.grad_scale;
    const double mi = (double)s.beta1 * m[i] + (1.0 - s.beta1) * gi;
    const double vi = (double)s.beta2 * v[i] + (1.0 - s.beta2) * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(p[i] - (double)s.step_size * mi / (std::sqrt(vi) / s.sbc2 + s.eps));
  }
}

}  // namespace r1::ref
