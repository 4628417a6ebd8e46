// Sampler cost per call on a Qwen2-sized vocabulary (152,064 logits), by filter chain, in thread CPU time (the
// shared 2-core machine is often oversubscribed, which inflates wall-clock time). Prints a markdown table.
//   ./build/bench_sampler [calls]
#include "core/rng.h"
#include "sampling/sampler.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

using namespace r1;

static SamplingParams params(float T, int k, float top_p, float min_p) {
  SamplingParams p;
  p.temperature = T;
  p.top_k = k;
  p.top_p = top_p;
  p.min_p = min_p;
  return p;
}

int main(int argc, char** argv) {
  const int V = 152064, N = argc > 1 ? std::atoi(argv[1]) : 1000;
  Rng g(1);
  std::vector<float> l(V);
  for (float& x : l) x = (float)(g.normal() * 3.0);
  std::vector<float> scratch;
  Rng rng(2);
  SamplingParams greedy;
  greedy.greedy = true;
  const std::vector<std::pair<const char*, SamplingParams>> cfg = {
      {"T=1 (no filter)", params(1, 0, 1, 0)},    {"T=0.6 top_p=0.95", params(0.6f, 0, 0.95f, 0)},
      {"top_k=50", params(1, 50, 1, 0)},          {"min_p=0.05", params(1, 0, 1, 0.05f)},
      {"top_k=50 top_p=0.9", params(1, 50, 0.9f, 0)}, {"greedy", greedy}};
  auto cpu_us = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
  };
  std::printf("# sample_token, V = %d, %d calls each (thread CPU time)\n\n| filters | us per call |\n|---|---|\n", V, N);
  long sink = 0;
  for (auto& [name, p] : cfg) {
    const double t0 = cpu_us();
    for (int i = 0; i < N; ++i) sink += sample_token(l.data(), V, p, rng, scratch).token;
    std::printf("| %s | %.1f |\n", name, (cpu_us() - t0) / N);
  }
  std::fprintf(stderr, "(checksum %ld)\n", sink % 7);
  return 0;
}
