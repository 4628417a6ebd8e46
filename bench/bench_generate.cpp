// Generation benchmark: r1.cpp's rollout engine vs PyTorch eager (bench/torch_generate.py, a Hugging-Face-generate
// style KV-cache loop) in the same run, on the same model shapes, greedy, fp32.
//
//   decode tokens/s  = batch * (new_tokens - 1) / time of the single-token steps (sampling included)
//   prefill tokens/s = batch * prompt_len / prefill time (picking the first token included), as the torch script
// Models: Llama layout, L = 4, head_dim 64, NH = C/64, NKV = NH/2, FF = 64*ceil(8C/3/64), V = 32000, untied,
// random weights (uniform, std 0.02). Plus: shared-prompt prefill cost for G = 1 vs 16 samples, and decode at batch 1 of a
// Qwen2.5-0.5B-sized model (C 896, L 24, NH 14, NKV 2, FF 4864, V 151936, tied) as a fraction of the memory
// bandwidth measured here by a streaming read.
//
// Usage (from the repo root): bench_generate [--no-torch] [--quick] [--hidden 256,512] [--torch-script PATH]
// On a shared machine run both with OMP_WAIT_POLICY=passive (inherited by the torch subprocess): spinning OpenMP
// threads that lose their core make every barrier cost a scheduler time slice.
#include "formats/dtype.h"
#include "model/transformer.h"
#include "rollout/engine.h"

#include <nlohmann/json.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace r1;

static double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static ModelConfig bench_config(int C, int max_pos) {
  int NH = C / 64, NKV = std::max(1, NH / 2);
  int FF = 64 * (int)std::ceil(8.0 * C / 3 / 64);
  ModelConfig c = ModelConfig::tiny(Arch::Llama, 32000, C, 4, NH, NKV, FF, max_pos);
  c.eps = 1e-5f;
  c.rope_theta = 500000.0;
  return c;
}

// Random weights, quickly: uniform with standard deviation `std` (norm weights 1), filled in parallel blocks.
// (Model::init_random draws normals serially, which takes long for the 0.5B-sized model.)
static void fast_init(Model& m, uint64_t seed, float std) {
  const float a = std * std::sqrt(3.0f);
  for (const auto& s : m.specs) {
    float* p = m.params() + s.offset;
    bool norm = s.name.find("norm") != std::string::npos;
    const size_t blk = 1 << 16, nb = (s.numel + blk - 1) / blk;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
      Rng r(seed ^ (s.offset + b * blk) * 0x9E3779B97F4A7C15ull);
      for (size_t i = b * blk; i < std::min(s.numel, (b + 1) * blk); i++)
        p[i] = norm ? 1.f : (float)((2.0 * r.uniform() - 1.0) * a);
    }
  }
}

// Every parameter rounded to the nearest bf16 value: the model a bf16 checkpoint loads as.
static void round_to_bf16(Model& m) {
  float* p = m.params();
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m.n_params; i++) p[i] = bf16_to_f32(f32_to_bf16(p[i]));
}

struct Result {
  double prefill_tps = 0, decode_tps = 0, decode_ms = 0;
};

// One engine run: batch distinct random prompts of prompt_len tokens, greedy, new_tokens each, all live at once.
static Result run_engine(const Model& m, int batch, int prompt_len, int new_tokens, uint64_t seed) {
  std::vector<GenRequest> rq(batch);
  Rng rng(seed);
  for (auto& q : rq)
    for (int t = 0; t < prompt_len; t++) q.prompt.push_back((int)rng.below(m.cfg.V));
  GenConfig c;
  c.sampling.greedy = true;
  c.max_new_tokens = new_tokens;
  c.max_batch = batch;
  c.max_prefill_tokens = batch * prompt_len;
  Engine e(m);
  {  // warm-up (oneDNN kernel selection, page faults)
    GenConfig w = c;
    w.max_new_tokens = std::min(new_tokens, 4);
    e.generate(rq, w);
  }
  auto out = e.generate(rq, c);
  const GenStats& st = e.stats();
  Result r;
  r.prefill_tps = (double)batch * prompt_len / st.prefill_s;
  double dt = st.decode_s + st.sample_s;
  r.decode_tps = (double)st.decode_rows / dt;
  r.decode_ms = dt / std::max<long long>(1, st.decode_steps) * 1e3;
  return r;
}

static bool run_torch(const std::string& script, int C, int batch, int prompt_len, int new_tokens, Result& r,
                      const std::string& dtype = "float32") {
  ModelConfig c = bench_config(C, 8);
  std::string cmd = "/usr/bin/python3 " + script + " --hidden " + std::to_string(C) + " --layers 4 --heads " +
                    std::to_string(c.NH) + " --kv-heads " + std::to_string(c.NKV) + " --inter " + std::to_string(c.FF) +
                    " --vocab " + std::to_string(c.V) + " --batch " + std::to_string(batch) + " --prompt-len " +
                    std::to_string(prompt_len) + " --new-tokens " + std::to_string(new_tokens) + " --threads " +
                    std::to_string(omp_get_max_threads()) + " --dtype " + dtype + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string outp;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) outp.append(buf, n);
  int rc = pclose(p);
  size_t at = outp.rfind("{\"impl\"");
  if (rc != 0 || at == std::string::npos) {
    std::fprintf(stderr, "torch run failed (%s):\n%s\n", cmd.c_str(), outp.c_str());
    return false;
  }
  auto j = nlohmann::json::parse(outp.substr(at, outp.find('\n', at) - at));
  r.prefill_tps = j["prefill_tokens_per_s"].get<double>();
  r.decode_tps = j["decode_tokens_per_s"].get<double>();
  r.decode_ms = j["decode_ms_per_step"].get<double>();
  return true;
}

// Best of 5 streaming reads (every thread sums its share with 16 independent accumulators) of a 1 GiB buffer,
// far larger than the caches, in GB/s.
static double measure_bandwidth() {
  const size_t n = (size_t)256 << 20;
  std::vector<float> buf(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023);
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      float acc[16] = {0};
#pragma omp for schedule(static)
      for (size_t i = 0; i < n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += buf[i + k];
      for (int k = 0; k < 16; k++) total += acc[k];
    }
    sink = sink + total;
    double dt = now_s() - t0;
    best = std::max(best, n * sizeof(float) / dt / 1e9);
  }
  return best;
}

int main(int argc, char** argv) {
  bool torch = true, quick = false, big_only = false;
  std::string script = "bench/torch_generate.py";
  std::vector<int> hiddens = {256, 512, 1024};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--no-torch") torch = false;
    else if (a == "--quick") quick = true;
    else if (a == "--big-only") big_only = true;
    else if (a == "--torch-script" && i + 1 < argc) script = argv[++i];
    else if (a == "--hidden" && i + 1 < argc) {
      hiddens.clear();
      std::string s = argv[++i];
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        hiddens.push_back(std::stoi(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--no-torch] [--quick] [--big-only] [--hidden 256,512,1024] [--torch-script PATH]\n", argv[0]);
      return 2;
    }
  }
  if (torch) {
    FILE* f = std::fopen(script.c_str(), "r");
    if (!f) {
      std::fprintf(stderr, "note: %s not found (run from the repo root); PyTorch columns skipped\n", script.c_str());
      torch = false;
    } else {
      std::fclose(f);
    }
  }
  const int threads = omp_get_max_threads();
  std::printf("# r1.cpp generate benchmark (%d threads, fp32, greedy; PyTorch eager peer: %s)\n\n", threads,
              torch ? script.c_str() : "skipped");
  // batch, prompt_len, new_tokens per decode measurement (kept small so the default run stays within minutes)
  struct Shape { int batch, prompt, gen; };
  std::vector<Shape> shapes = {{1, 16, 64}, {8, 16, 32}, {64, 16, 16}, {256, 8, 8}};
  if (quick) shapes = {{1, 16, 16}, {8, 16, 8}, {64, 8, 4}};
  if (big_only) hiddens.clear();
  if (!hiddens.empty()) {
    std::printf("| hidden | params | batch | prompt | new | r1 decode tok/s | torch decode tok/s | ratio | r1 ms/step | torch ms/step |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  }
  struct Pre { int C; Result r1, th; bool have; };
  std::vector<Pre> prefills;
  // batch-1 decode of the same model with bf16-valued weights (a bf16 checkpoint): the engine multiplies by bf16
  // copies of its matrices (half the bytes, same products); PyTorch fp32 (what HF loads on CPU by default) and bf16
  struct Bf16Row { int C; Result r1, fp32, th32, th16; bool have32, have16; };
  std::vector<Bf16Row> bf16rows;
  for (int C : hiddens) {
    Model m(bench_config(C, 512));
    fast_init(m, 1, 0.02f);
    double b1 = 0;
    Bf16Row bf{C, Result(), Result(), Result(), Result(), false, false};
    for (auto s : shapes) {
      Result a = run_engine(m, s.batch, s.prompt, s.gen, 7);
      Result t;
      bool ht = torch && run_torch(script, C, s.batch, s.prompt, s.gen, t);
      if (s.batch == 1) {
        b1 = a.decode_tps;
        bf.fp32 = a;
        bf.th32 = t;
        bf.have32 = ht;
      }
      std::printf("| %d | %.1fM | %d | %d | %d | %.0f | %s | %s | %.2f | %s |\n", C, m.n_params / 1e6, s.batch, s.prompt,
                  s.gen, a.decode_tps, ht ? std::to_string((int)t.decode_tps).c_str() : "-",
                  ht ? (std::to_string(a.decode_tps / t.decode_tps).substr(0, 5) + "x").c_str() : "-", a.decode_ms,
                  ht ? std::to_string(t.decode_ms).substr(0, 6).c_str() : "-");
      std::fflush(stdout);
      if (s.batch == 64 && b1 > 0)
        std::fprintf(stderr, "hidden %d: batch-64 aggregate / batch-1 decode = %.1fx\n", C, a.decode_tps / b1);
    }
    // prefill: one batch of 4 prompts of 128 tokens
    int pb = 4, pl = quick ? 64 : 128;
    Pre p{C, run_engine(m, pb, pl, 2, 9), Result(), false};
    p.have = torch && run_torch(script, C, pb, pl, 2, p.th);
    prefills.push_back(p);
    const Shape s1 = shapes[0];
    round_to_bf16(m);
    bf.r1 = run_engine(m, s1.batch, s1.prompt, s1.gen, 7);
    bf.have16 = torch && run_torch(script, C, s1.batch, s1.prompt, s1.gen, bf.th16, "bfloat16");
    bf16rows.push_back(bf);
  }
  if (!prefills.empty()) std::printf("\n| hidden | prefill batch x prompt | r1 prefill tok/s | torch prefill tok/s | ratio |\n|---|---|---|---|---|\n");
  for (auto& p : prefills)
    std::printf("| %d | 4 x %d | %.0f | %s | %s |\n", p.C, quick ? 64 : 128, p.r1.prefill_tps,
                p.have ? std::to_string((int)p.th.prefill_tps).c_str() : "-",
                p.have ? (std::to_string(p.r1.prefill_tps / p.th.prefill_tps).substr(0, 5) + "x").c_str() : "-");

  if (!bf16rows.empty())
    std::printf("\n| hidden | batch-1 decode, bf16-valued weights | r1 tok/s | r1 fp32 weights tok/s | torch fp32 tok/s | "
                "ratio vs torch fp32 | torch bf16 tok/s | ratio vs torch bf16 |\n|---|---|---|---|---|---|---|---|\n");
  auto ratio = [](bool have, double a, double b) {
    return have ? std::to_string(a / b).substr(0, 5) + "x" : std::string("-");
  };
  for (auto& b : bf16rows)
    std::printf("| %d | %d prompt, %d new | %.0f | %.0f | %s | %s | %s | %s |\n", b.C, shapes[0].prompt, shapes[0].gen,
                b.r1.decode_tps, b.fp32.decode_tps, b.have32 ? std::to_string((int)b.th32.decode_tps).c_str() : "-",
                ratio(b.have32, b.r1.decode_tps, b.th32.decode_tps).c_str(),
                b.have16 ? std::to_string((int)b.th16.decode_tps).c_str() : "-",
                ratio(b.have16, b.r1.decode_tps, b.th16.decode_tps).c_str());

  // Shared prompt: prefill cost with G = 1 vs G = 16 samples of one 256-token prompt.
  if (!big_only) {
    Model m(bench_config(512, 512));
    fast_init(m, 2, 0.02f);
    Engine e(m);
    GenRequest q;
    for (int t = 0; t < 256; t++) q.prompt.push_back((t * 37 + 11) % m.cfg.V);
    GenConfig c;
    c.sampling.temperature = 0.6f;
    c.sampling.top_p = 0.95f;
    c.max_new_tokens = 2;
    std::printf("\n| shared 256-token prompt (hidden 512) | G | prompt tokens computed | prefill ms (incl. K/V copies) |\n|---|---|---|---|\n");
    for (int G : {1, 16}) {
      q.n = G;
      c.max_batch = G;
      e.generate({q}, c);  // warm-up
      e.generate({q}, c);
      std::printf("| | %d | %lld | %.1f |\n", G, e.stats().prefill_rows, e.stats().prefill_s * 1e3);
    }
  }

  // Decode at batch 1 of a model too large for the caches, against the measured memory bandwidth.
  if (!quick) {
    ModelConfig c = ModelConfig::tiny(Arch::Qwen2, 151936, 896, 24, 14, 2, 4864, 128);
    c.tied = true;
    Model m(c);
    fast_init(m, 3, 0.02f);
    double bw = measure_bandwidth();
    // bytes read per decode token: every matrix used in a matmul (the tied embedding once, as the lm_head)
    size_t mat = (size_t)c.L * ((size_t)c.QKV() * c.C + (size_t)c.C * c.QD() + 3 * (size_t)c.FF * c.C) + (size_t)c.V * c.C;
    std::printf("\n| model | params | weights read per token | decode batch 1 | effective GB/s | measured stream GB/s | fraction |\n|---|---|---|---|---|---|---|\n");
    for (int bytes : {4, 2}) {  // fp32 weights, then the same model rounded to bf16 values (a bf16 checkpoint)
      if (bytes == 2) round_to_bf16(m);
      Result r = run_engine(m, 1, 8, 16, 5);
      double gbs = mat * (double)bytes * r.decode_tps / 1e9;
      std::printf("| Qwen2.5-0.5B-sized (random, %s) | %.0fM | %.0f MB | %.2f tok/s (%.1f ms) | %.1f | %.1f | %.0f%% |\n",
                  bytes == 4 ? "fp32" : "bf16 values", m.n_params / 1e6, mat * (double)bytes / 1e6, r.decode_tps,
                  r.decode_ms, gbs, bw, 100.0 * gbs / bw);
      std::fflush(stdout);
    }
  }
  return 0;
}
