// Training-step benchmark: forward + masked cross-entropy + backward + gradient-norm clipping to 1 + AdamW (weight
// decay 0.1; both sides alike, as r1's trainer runs them), in tokens/s and GFLOP/s, for
// Llama-style models of hidden size 256, 512 and 1024, in fp32 and in bf16 mixed precision (core/precision.h: bf16
// matrix products with fp32 sums, fp32 master weights and everything else), next to PyTorch eager fp32 and PyTorch
// bf16 autocast (bench/torch_train_step.py [--autocast]) run on the same machine in the same run. Also: the matrix
// products' own GFLOP/s (gemm_stats: the weight products, fp32 sgemm or r1::Bf16Matmul) against ceilings measured
// in the same run (a square 2048 product in each precision), where the step's time goes (products, the rest of
// forward+backward, gradient clipping, AdamW, refreshing the bf16 weight copies), and peak memory of forward+backward
// for a Qwen2.5-0.5B-sized model at sequence length 512.
//
// Usage: bench_train_step [--quick] [--no-torch] [--no-memory] [--precision fp32|bf16|both] [--hidden 256,512,1024]
//                         [--steps N]
// FLOPs per step use the same formula as the PyTorch script: 6 * matmul params * B*T + 6 * L * B * T^2 * NH*HS.
#include "bench_precision.h"
#include "core/precision.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "model/transformer.h"
#include "train/optim.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

using namespace r1;
using clk = std::chrono::steady_clock;

struct Shape {
  int C, L, NH, NKV, FF, V, B, T;
};

static int inter_for(int C) { return ((8 * C / 3) + 63) / 64 * 64; }
static double since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

static nlohmann::json run_torch(const Shape& s, int steps, bool autocast) {
  char cmd[640];
  std::snprintf(cmd, sizeof cmd,
                "/usr/bin/python3 bench/torch_train_step.py --hidden %d --layers %d --heads %d --kv-heads %d --inter %d "
                "--vocab %d --batch %d --seq %d --steps %d --threads %d%s 2>/dev/null",
                s.C, s.L, s.NH, s.NKV, s.FF, s.V, s.B, s.T, steps, omp_get_max_threads(), autocast ? " --autocast" : "");
  FILE* p = popen(cmd, "r");
  if (!p) return nullptr;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  try {
    return nlohmann::json::parse(out);
  } catch (...) {
    return nullptr;
  }
}

// The ceilings: oneDNN sgemm, and the faster of r1::Bf16Matmul and oneDNN's own bf16 matmul (bench_precision.h), on
// a square n^3 product; the best of 5 after a warm-up, in GFLOP/s.
static double sgemm_ceiling(int n) {
  std::vector<float> a((size_t)n * n, 1.f), b((size_t)n * n, 1.f), c((size_t)n * n);
  gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  double best = 1e30;
  for (int i = 0; i < 5; i++) {
    auto t0 = clk::now();
    gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    best = std::min(best, since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}
static std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

struct Row {
  Shape s;
  Precision prec;
  double params = 0, tok_s = 0, gflops = 0, mm_gflops = 0, ceiling = 0;
  // per step, seconds: whole step; products (gemm_stats); forward+backward; clip; AdamW; bf16 copies refresh
  double step = 0, mm = 0, fwdbwd = 0, clip = 0, opt = 0, sync = 0;
};

int main(int argc, char** argv) {
  bool quick = false, torch = true, memory = true;
  std::vector<Precision> precs = {Precision::FP32, Precision::BF16};
  std::vector<int> hiddens = {256, 512, 1024};
  int steps = -1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--no-torch") torch = false;
    else if (a == "--no-memory") memory = false;
    else if (a == "--json") {  // accepted for compatibility (the output is markdown)
    } else if (a == "--precision" && i + 1 < argc) {
      if (!bench::parse_precisions(argv[++i], precs)) return 2;
    } else if (a == "--hidden" && i + 1 < argc) {
      hiddens.clear();
      std::string s = argv[++i];
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        hiddens.push_back(std::stoi(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else if (a == "--steps" && i + 1 < argc) {
      steps = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--no-torch] [--no-memory] [--precision fp32|bf16|both] [--hidden 256,512,1024] "
                   "[--steps N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (steps <= 0) steps = quick ? 2 : 5;
  const int threads = omp_get_max_threads();
  const int n = 2048;
  const double ceil32 = sgemm_ceiling(n);
  std::printf("oneDNN sgemm %dx%dx%d: %.1f GFLOP/s with %d threads (the fp32 ceiling the ratios below refer to)\n", n, n, n,
              ceil32, threads);
  double ceil16 = 0;
  if (std::find(precs.begin(), precs.end(), Precision::BF16) != precs.end()) {
    ceil16 = bench::bf16_ceiling(n);
  }
  std::printf("\n");
  std::vector<Shape> shapes;
  for (int C : hiddens) shapes.push_back({C, 4, C / 64, std::max(1, C / 128), inter_for(C), 32000, 4, 256});
  std::printf("## Training step (forward + masked CE + backward + AdamW), %d threads, mean of %d steps\n\n", threads, steps);
  std::printf("PyTorch: eager fp32, and bf16 autocast (torch.autocast(\"cpu\", dtype=torch.bfloat16) around the forward, "
              "loss in fp32). \"vs PyTorch X\" = this row's r1.cpp tok/s / PyTorch X tok/s. \"matmul\" = the weight products "
              "alone (gemm_stats), against the ceiling of the row's precision.\n\n");
  std::printf("| hidden | params | B x T | precision | r1.cpp tok/s | r1.cpp GFLOP/s | matmul GFLOP/s | matmul / ceiling | "
              "r1 bf16/fp32 | PyTorch fp32 tok/s | PyTorch bf16 autocast tok/s | PyTorch fp32 GFLOP/s | vs PyTorch fp32 | "
              "vs PyTorch bf16 autocast |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<Row> rows;
  std::string torch_blas;
  for (const Shape& s : shapes) {
    double fp32_tok = 0;
    nlohmann::json t32 = nullptr, t16 = nullptr;
    bool torch_done = false;
    for (Precision prec : precs) {
      ModelConfig mc = ModelConfig::tiny(Arch::Llama, s.V, s.C, s.L, s.NH, s.NKV, s.FF, 1024);
      mc.tied = false;
      Model m(mc);
      m.set_precision(prec);
      m.init_random(1);
      OptimConfig oc;
      oc.lr = 1e-4f;
      Optimizer opt(oc, m.specs, m.n_params);
      Rng r(2);
      int N = s.B * s.T;
      std::vector<int> ids(N), tg(N);
      for (int i = 0; i < N; i++) {
        ids[i] = (int)r.below(s.V);
        tg[i] = (i % s.T) < s.T / 4 ? -1 : (int)r.below(s.V);
      }
      Row row{s, prec};
      const bool bf16 = prec == Precision::BF16;
      auto step = [&](bool timed) {
        auto t0 = clk::now();
        m.zero_grad();
        m.cross_entropy_step(ids.data(), tg.data(), s.B, s.T, true);
        auto t1 = clk::now();
        // as train/optim.cpp optimizer_update: the norm, then AdamW with the clipping scale inside its pass
        const float coef = clip_coefficient(grad_norm(m.grads(), m.n_params), 1.0f);
        auto t2 = clk::now();
        opt.step(m.params(), m.grads(), oc.lr, coef);
        auto t3 = clk::now();
        // bf16: the copies the next forward would rewrite, rewritten here so that their cost shows on its own
        if (bf16) (void)static_cast<const Model&>(m).bf16_head();
        auto t4 = clk::now();
        if (timed) {
          row.fwdbwd += std::chrono::duration<double>(t1 - t0).count();
          row.clip += std::chrono::duration<double>(t2 - t1).count();
          row.opt += std::chrono::duration<double>(t3 - t2).count();
          row.sync += std::chrono::duration<double>(t4 - t3).count();
        }
      };
      step(false);
      step(false);
      gemm_stats() = GemmStats{};
      auto t0 = clk::now();
      for (int i = 0; i < steps; i++) step(true);
      double dt = since(t0) / steps;
      row.fwdbwd /= steps, row.clip /= steps, row.opt /= steps, row.sync /= steps;
      row.step = dt;
      row.mm = gemm_stats().seconds / steps;
      double matmul_params = (double)m.n_params - (double)s.V * s.C - (double)s.C * (2 * s.L + 1);
      double flops = 6 * matmul_params * N + 6.0 * s.L * N * s.T * s.NH * (s.C / s.NH);
      row.params = m.n_params;
      row.tok_s = N / dt;
      row.gflops = flops / dt / 1e9;
      row.mm_gflops = gemm_stats().flops / gemm_stats().seconds / 1e9;
      row.ceiling = bf16 ? ceil16 : ceil32;
      if (!bf16) fp32_tok = row.tok_s;
      if (torch && !torch_done) {
        t32 = run_torch(s, steps, false);
        t16 = run_torch(s, steps, true);
        torch_done = true;
        if (t32.is_object() && t32.contains("blas") && torch_blas.empty())
          torch_blas = t32.value("torch", std::string("?")) + ", BLAS " + t32["blas"].get<std::string>();
      }
      auto tok = [](const nlohmann::json& j) { return j.is_object() ? j["tokens_per_s"].get<double>() : 0.0; };
      double tt32 = tok(t32), tt16 = tok(t16), tgf = t32.is_object() ? t32["gflops"].get<double>() : 0;
      auto ratio = [](double a, double b) { return b > 0 ? fmt("%.2fx", a / b) : std::string("n/a"); };
      std::printf("| %d | %.1fM | %dx%d | %s | %.0f | %.1f | %.1f | %.0f%% | %s | %s | %s | %s | %s | %s |\n", s.C,
                  m.n_params / 1e6, s.B, s.T, precision_name(prec), row.tok_s, row.gflops, row.mm_gflops,
                  100 * row.mm_gflops / row.ceiling, bf16 && fp32_tok > 0 ? fmt("%.2fx", row.tok_s / fp32_tok).c_str() : "",
                  tt32 > 0 ? fmt("%.0f", tt32).c_str() : "n/a", tt16 > 0 ? fmt("%.0f", tt16).c_str() : "n/a",
                  tgf > 0 ? fmt("%.1f", tgf).c_str() : "n/a", ratio(row.tok_s, tt32).c_str(), ratio(row.tok_s, tt16).c_str());
      std::fflush(stdout);
      rows.push_back(row);
    }
  }
  if (!torch_blas.empty())
    std::printf("\nPyTorch %s%s\n", torch_blas.c_str(),
                torch_blas.find("openblas") == std::string::npos
                    ? " (not OpenBLAS: fp32 products on this BLAS are slow; R1_WITH_TORCH=1 ./scripts/install-deps.sh "
                      "installs libopenblas0-openmp)"
                    : "");
  // Where the step's time goes. "other fwd+bwd" = forward + loss + backward less the weight products: attention
  // (row form in bf16), norms, RoPE, SwiGLU, the softmax/log-prob head, activation bookkeeping.
  std::printf("\n## Where the step goes (ms per step; %% of the step)\n\n");
  std::printf("| hidden | precision | step ms | weight products (gemm_stats) | other fwd+bwd | clip grad norm | AdamW | "
              "bf16 copies refresh | non-matmul share |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    auto cell = [&](double s) { return fmt("%.1f", s * 1e3) + fmt(" (%.0f%%)", 100 * s / r.step); };
    std::printf("| %d | %s | %.1f | %s | %s | %s | %s | %s | %.0f%% |\n", r.s.C, precision_name(r.prec), r.step * 1e3,
                cell(r.mm).c_str(), cell(r.fwdbwd - r.mm).c_str(), cell(r.clip).c_str(), cell(r.opt).c_str(),
                r.prec == Precision::BF16 ? cell(r.sync).c_str() : "-", 100 * (1 - r.mm / r.step));
  }
  std::fflush(stdout);
  if (memory && !quick) {
    // Qwen2.5-0.5B shape, random weights; forward + backward at T = 512 (no optimizer state), fp32.
    ModelConfig mc = ModelConfig::tiny(Arch::Qwen2, 151936, 896, 24, 14, 2, 4864, 32768);
    mc.rope_theta = 1000000.0;
    Model m(mc);
    m.init_random(3);
    int T = 512;
    std::vector<int> ids(T), tg(T);
    Rng r(4);
    for (int t = 0; t < T; t++) ids[t] = (int)r.below(mc.V), tg[t] = (int)r.below(mc.V);
    m.zero_grad();
    auto t0 = clk::now();
    m.cross_entropy_step(ids.data(), tg.data(), 1, T, true);
    double dt = since(t0);
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double params_gb = m.n_params * 4.0 / 1e9;
    std::printf("\n## Memory: Qwen2.5-0.5B-sized model (%.0fM params, tied), fp32, forward + backward, B=1, T=%d\n\n",
                m.n_params / 1e6, T);
    std::printf("| peak RSS | parameters | gradients | activations (planned) | step time |\n|---|---|---|---|---|\n");
    std::printf("| %.2f GB | %.2f GB | %.2f GB | %.2f GB | %.2f s |\n", ru.ru_maxrss / 1e6, params_gb, params_gb,
                m.act().mem.size() * 4.0 / 1e9, dt);
  }
  return 0;
}
