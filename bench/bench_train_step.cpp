// Training-step benchmark: forward + masked cross-entropy + backward + AdamW, in tokens/s and GFLOP/s, for
// Llama-style models of hidden size 256, 512 and 1024, next to PyTorch eager (bench/torch_train_step.py) run on
// the same machine in the same run. Also: the matrix products' own GFLOP/s, and peak memory of forward+backward
// for a Qwen2.5-0.5B-sized model at sequence length 512.
//
// Usage: bench_train_step [--quick] [--no-torch] [--no-memory] [--json]
// FLOPs per step use the same formula as the PyTorch script: 6 * matmul params * B*T + 6 * L * B * T^2 * NH*HS.
#include "kernels/kernels.h"
#include "model/transformer.h"
#include "train/optim.h"
#include "core/rng.h"

#include <omp.h>
#include <sys/resource.h>

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

static nlohmann::json run_torch(const Shape& s, int steps) {
  char cmd[512];
  std::snprintf(cmd, sizeof cmd,
                "/usr/bin/python3 bench/torch_train_step.py --hidden %d --layers %d --heads %d --kv-heads %d --inter %d "
                "--vocab %d --batch %d --seq %d --steps %d --threads %d 2>/dev/null",
                s.C, s.L, s.NH, s.NKV, s.FF, s.V, s.B, s.T, steps, omp_get_max_threads());
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

int main(int argc, char** argv) {
  bool quick = false, torch = true, memory = true;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    if (!std::strcmp(argv[i], "--no-torch")) torch = false;
    if (!std::strcmp(argv[i], "--no-memory")) memory = false;
  }
  int steps = quick ? 2 : 5;
  {
    // the ceiling on this machine: oneDNN sgemm on a square 2048 product
    const int n = 2048;
    std::vector<float> a((size_t)n * n, 1.f), b((size_t)n * n, 1.f), c((size_t)n * n);
    gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    auto t0 = clk::now();
    for (int i = 0; i < 3; i++) gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    double dt = std::chrono::duration<double>(clk::now() - t0).count() / 3;
    std::printf("oneDNN sgemm %dx%dx%d: %.1f GFLOP/s with %d threads (the fp32 ceiling the ratios below refer to)\n\n",
                n, n, n, 2.0 * n * n * n / dt / 1e9, omp_get_max_threads());
  }
  std::vector<Shape> shapes;
  for (int C : {256, 512, 1024}) shapes.push_back({C, 4, C / 64, C / 128, inter_for(C), 32000, 4, 256});
  std::printf("## Training step (forward + masked CE + backward + AdamW), fp32, %d threads\n\n", omp_get_max_threads());
  std::printf("| hidden | params | B x T | r1.cpp tok/s | r1.cpp GFLOP/s | matmul GFLOP/s | PyTorch tok/s | PyTorch GFLOP/s | speedup |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    ModelConfig mc = ModelConfig::tiny(Arch::Llama, s.V, s.C, s.L, s.NH, s.NKV, s.FF, 1024);
    mc.tied = false;
    Model m(mc);
    m.init_random(1);
    OptimConfig oc;
    oc.lr = 1e-4f;
    Optimizer opt(oc, m.specs, m.n_params);
    Rng r(2);
    int N = s.B * s.T;
    std::vector<int> ids(N), tg(N);
    for (int n = 0; n < N; n++) {
      ids[n] = (int)r.below(s.V);
      tg[n] = (n % s.T) < s.T / 4 ? -1 : (int)r.below(s.V);
    }
    auto step = [&]() {
      m.zero_grad();
      m.cross_entropy_step(ids.data(), tg.data(), s.B, s.T, true);
      clip_grad_norm(m.grads(), m.n_params, 1.0f);
      opt.step(m.params(), m.grads(), oc.lr);
    };
    step();
    step();
    gemm_stats() = GemmStats{};
    auto t0 = clk::now();
    for (int i = 0; i < steps; i++) step();
    double dt = std::chrono::duration<double>(clk::now() - t0).count() / steps;
    double matmul_params = (double)m.n_params - (double)s.V * s.C - (double)s.C * (2 * s.L + 1);
    double flops = 6 * matmul_params * N + 6.0 * s.L * N * s.T * s.NH * (s.C / s.NH);
    double gf = flops / dt / 1e9, mm = gemm_stats().flops / gemm_stats().seconds / 1e9;
    nlohmann::json tj = torch ? run_torch(s, steps) : nullptr;
    double ttok = tj.is_object() ? tj["tokens_per_s"].get<double>() : 0, tgf = tj.is_object() ? tj["gflops"].get<double>() : 0;
    std::printf("| %d | %.1fM | %dx%d | %.0f | %.1f | %.1f | %s | %s | %s |\n", s.C, m.n_params / 1e6, s.B, s.T, N / dt, gf, mm,
                ttok > 0 ? std::to_string((long)ttok).c_str() : "n/a",
                tgf > 0 ? std::to_string(tgf).substr(0, 6).c_str() : "n/a",
                ttok > 0 ? (std::to_string(N / dt / ttok).substr(0, 4) + "x").c_str() : "n/a");
    std::fflush(stdout);
  }
  if (memory && !quick) {
    // Qwen2.5-0.5B shape, random weights; forward + backward at T = 512 (no optimizer state).
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
    double dt = std::chrono::duration<double>(clk::now() - t0).count();
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double params_gb = m.n_params * 4.0 / 1e9;
    std::printf("\n## Memory: Qwen2.5-0.5B-sized model (%.0fM params, tied), forward + backward, B=1, T=%d\n\n", m.n_params / 1e6, T);
    std::printf("| peak RSS | parameters | gradients | activations (planned) | step time |\n|---|---|---|---|---|\n");
    std::printf("| %.2f GB | %.2f GB | %.2f GB | %.2f GB | %.2f s |\n", ru.ru_maxrss / 1e6, params_gb, params_gb,
                m.act().mem.size() * 4.0 / 1e9, dt);
  }
  return 0;
}
