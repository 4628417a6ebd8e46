// Generation benchmark: r1.cpp's rollout engine vs PyTorch eager (bench/torch_generate.py, a Hugging-Face-generate
// style KV-cache loop) in the same run, on the same model shapes, greedy, in fp32 and in bf16 mixed precision
// (core/precision.h: the engine decodes through the model's bf16 weight copies with oneDNN bf16 matmuls, fp32 sums;
// the PyTorch peer of a bf16 row holds its weights in bf16, model.to(torch.bfloat16)).
//
//   decode tokens/s  = batch * (new_tokens - 1) / time of the single-token steps (sampling included)
//   prefill tokens/s = batch * prompt_len / prefill time (picking the first token included), as the torch script
// Every r1.cpp cell is the median of --reps timed generations (default 3, 1 with --quick; after one warm-up); PyTorch
// runs once per cell.
//
// Sections:
//  1. The issue's shape: Llama layout, hidden 1024, 8 layers, 16 heads (8 KV heads), FFN 2816, byte-level vocabulary
//     (261 = 256 bytes + 5 specials, as bench_grpo's tokenizer), random weights; prompt 32, 64 new tokens, batch
//     1/8/64/256. Weight GB/s (weight bytes read per decode step x steps/s: every step reads every matrix once; 4 bytes
//     a weight in fp32, 2 in bf16) against a STREAM-style bandwidth measured in the same run (copy and sum, all
//     threads), and GFLOP/s (2 x matmul params per token x tok/s) against the measured matmul ceiling of the row's
//     precision (oneDNN sgemm / the faster of r1::Bf16Matmul and oneDNN's bf16 matmul on a square 2048 product).
//  2. Models of hidden 256/512/1024: Llama layout, L = 4, head_dim 64, NH = C/64, NKV = NH/2, FF = 64*ceil(8C/3/64),
//     V = 32000, untied, random weights (uniform, std 0.02); decode at batch 1/8/64/256, and prefill.
//  3. fp32 batch-1 decode of the same models with bf16-valued weights (a bf16 checkpoint in fp32 mode).
//  4. Shared-prompt prefill cost for G = 1 vs 16 samples (fp32).
//  5. Decode at batch 1 of a Qwen2.5-0.5B-sized model (C 896, L 24, NH 14, NKV 2, FF 4864, V 151936, tied) as a
//     fraction of the measured memory bandwidth.
//
// Usage (from the repo root): bench_generate [--no-torch] [--quick] [--precision fp32|bf16|both] [--reps N]
//     [--hidden 256,512] [--big-only] [--issue-only] [--no-issue] [--torch-script PATH]
// On a shared machine run both with OMP_WAIT_POLICY=passive (inherited by the torch subprocess): spinning OpenMP
// threads that lose their core make every barrier cost a scheduler time slice.
#include "bench_precision.h"
#include "core/precision.h"
#include "formats/dtype.h"
#include "kernels/kernels.h"
#include "model/transformer.h"
#include "rollout/engine.h"

#include <nlohmann/json.hpp>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace r1;

static double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

static ModelConfig bench_config(int C, int max_pos) {
  int NH = C / 64, NKV = std::max(1, NH / 2);
  int FF = 64 * (int)std::ceil(8.0 * C / 3 / 64);
  ModelConfig c = ModelConfig::tiny(Arch::Llama, 32000, C, 4, NH, NKV, FF, max_pos);
  c.eps = 1e-5f;
  c.rope_theta = 500000.0;
  return c;
}

// The issue's decode shape (Llama-style, byte-level vocabulary).
static ModelConfig issue_config(int max_pos) {
  ModelConfig c = ModelConfig::tiny(Arch::Llama, 261, 1024, 8, 16, 8, 2816, max_pos);
  c.eps = 1e-5f;
  c.rope_theta = 500000.0;
  return c;
}

// Weights read by one decode step: every matrix used in a product (a tied embedding once, as the lm_head).
static double matmul_params(const ModelConfig& c) {
  return (double)c.L * ((double)c.QKV() * c.C + (double)c.C * c.QD() + 3.0 * c.FF * c.C) + (double)c.V * c.C;
}

// Random weights, quickly: uniform with standard deviation `std` (norm weights 1), filled in parallel blocks.
// (Model::init_random draws normals serially, which takes long for the 0.5B-sized model.)
static void fast_init(Model& m, uint64_t seed, float std) {
  const float a = std * std::sqrt(3.0f);
  float* base = m.params();  // (marks the bf16 copies stale)
  for (const auto& s : m.specs) {
    float* p = base + s.offset;
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
  double decode_min = 0, decode_max = 0;  // decode tok/s over the repetitions
  // The weight products of the decode steps (gemm_stats of a whole run less that of a prefill-only run): their share
  // of the decode time and their own GFLOP/s.
  double mm_share = 0, mm_gflops = 0;
};

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// `reps` engine runs after a warm-up: batch distinct random prompts of prompt_len tokens, greedy, new_tokens each,
// all live at once. Each figure is the median over the runs.
static Result run_engine(const Model& m, int batch, int prompt_len, int new_tokens, uint64_t seed, int reps) {
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
  {  // warm-up (oneDNN kernel selection, page faults, the bf16 copies)
    GenConfig w = c;
    w.max_new_tokens = std::min(new_tokens, 4);
    e.generate(rq, w);
  }
  std::vector<double> pre, dec, ms;
  GemmStats full;
  double last_decode_s = 0;
  for (int r = 0; r < std::max(1, reps); r++) {
    gemm_stats() = GemmStats{};
    e.generate(rq, c);
    full = gemm_stats();
    const GenStats& st = e.stats();
    double dt = st.decode_s + st.sample_s;
    last_decode_s = dt;
    pre.push_back((double)batch * prompt_len / st.prefill_s);
    dec.push_back((double)st.decode_rows / dt);
    ms.push_back(dt / std::max<long long>(1, st.decode_steps) * 1e3);
  }
  GemmStats prefill_only;
  {
    GenConfig p = c;
    p.max_new_tokens = 1;
    gemm_stats() = GemmStats{};
    e.generate(rq, p);
    prefill_only = gemm_stats();
  }
  Result r;
  const double mm_s = full.seconds - prefill_only.seconds, mm_f = full.flops - prefill_only.flops;
  if (mm_s > 0 && last_decode_s > 0) r.mm_share = mm_s / last_decode_s, r.mm_gflops = mm_f / mm_s / 1e9;
  r.prefill_tps = median(pre);
  r.decode_tps = median(dec);
  r.decode_ms = median(ms);
  r.decode_min = *std::min_element(dec.begin(), dec.end());
  r.decode_max = *std::max_element(dec.begin(), dec.end());
  return r;
}

static bool run_torch_uncached(const std::string& script, const ModelConfig& c, int batch, int prompt_len,
                               int new_tokens, Result& r, const std::string& dtype) {
  std::string cmd = "/usr/bin/python3 " + script + " --hidden " + std::to_string(c.C) + " --layers " +
                    std::to_string(c.L) + " --heads " + std::to_string(c.NH) + " --kv-heads " + std::to_string(c.NKV) +
                    " --inter " + std::to_string(c.FF) + " --vocab " + std::to_string(c.V) + " --batch " +
                    std::to_string(batch) + " --prompt-len " + std::to_string(prompt_len) + " --new-tokens " +
                    std::to_string(new_tokens) + " --threads " + std::to_string(omp_get_max_threads()) + " --dtype " +
                    dtype + " 2>&1";
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
  static bool said = false;
  if (!said && j.contains("blas")) {
    std::fprintf(stderr, "PyTorch peer: torch %s, BLAS %s\n", j.value("torch", "?").c_str(),
                 j["blas"].get<std::string>().c_str());
    said = true;
  }
  return true;
}

// The same PyTorch cell is run once per process (the bf16-valued-weights table reuses the main table's).
static bool run_torch(const std::string& script, const ModelConfig& c, int batch, int prompt_len, int new_tokens,
                      Result& r, Precision prec) {
  using Key = std::tuple<int, int, int, int, int, int, int, int, bool>;
  static std::map<Key, std::pair<bool, Result>> cache;
  const bool bf16 = prec == Precision::BF16;
  Key k{c.C, c.L, c.NH, c.V, c.FF, batch, prompt_len, new_tokens, bf16};
  auto it = cache.find(k);
  if (it == cache.end()) {
    Result t;
    bool ok = run_torch_uncached(script, c, batch, prompt_len, new_tokens, t, bf16 ? "bfloat16" : "float32");
    it = cache.emplace(k, std::make_pair(ok, t)).first;
  }
  r = it->second.second;
  return it->second.first;
}

// STREAM-style bandwidth with every OpenMP thread, 1 GiB arrays (beyond any cache), best of 5 passes, GB/s:
// copy b[i] = a[i] (read + write bytes counted, as STREAM does), sum of a (every thread sums its share with 16
// independent accumulators: a pure read, as a batch-1 decode is).
struct Bandwidth {
  double copy = 0, sum = 0;
};
static Bandwidth measure_bandwidth() {
  const size_t n = (size_t)256 << 20;
  std::vector<float> a(n), b(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023), b[i] = 0.f;
  Bandwidth bw;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      float acc[16] = {0};
#pragma omp for schedule(static)
      for (size_t i = 0; i < n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += a[i + k];
      for (int k = 0; k < 16; k++) total += acc[k];
    }
    sink = sink + total;
    double dt = now_s() - t0;
    bw.sum = std::max(bw.sum, n * sizeof(float) / dt / 1e9);
  }
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    const float* __restrict src = a.data();
    float* __restrict dst = b.data();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
    double dt = now_s() - t0;
    sink = sink + b[(size_t)rep * 4096];
    bw.copy = std::max(bw.copy, 2.0 * n * sizeof(float) / dt / 1e9);
  }
  return bw;
}

// The last-level cache as the OS reports it (in a VM: the host's, shared with other guests).
static std::string llc_note() {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 <= 0) return "";
  return "; last-level cache " + std::to_string(l3 >> 20) + " MiB (as reported)";
}

// The matmul ceilings: oneDNN sgemm, and the faster of r1::Bf16Matmul and oneDNN's own bf16 matmul
// (bench_precision.h), on a square n^3 product; best of 5 after a warm-up, GFLOP/s.
static double sgemm_ceiling(int n) {
  std::vector<float> a((size_t)n * n, 1.f), b((size_t)n * n, 1.f), c((size_t)n * n);
  gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  double best = 1e30;
  for (int i = 0; i < 5; i++) {
    double t0 = now_s();
    gemm(false, true, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    best = std::min(best, now_s() - t0);
  }
  return 2.0 * n * n * n / best / 1e9;
}
int main(int argc, char** argv) {
  bool torch = true, quick = false, big_only = false, issue = true, issue_only = false;
  int reps = -1;
  std::vector<Precision> precs = {Precision::FP32, Precision::BF16};
  std::string script = "bench/torch_generate.py";
  std::vector<int> hiddens = {256, 512, 1024};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--no-torch") torch = false;
    else if (a == "--quick") quick = true;
    else if (a == "--big-only") big_only = true;
    else if (a == "--issue-only") issue_only = true;
    else if (a == "--no-issue") issue = false;
    else if (a == "--torch-script" && i + 1 < argc) script = argv[++i];
    else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else if (a == "--precision" && i + 1 < argc) {
      if (!bench::parse_precisions(argv[++i], precs)) return 2;
    } else if (a == "--hidden" && i + 1 < argc) {
      hiddens.clear();
      std::string s = argv[++i];
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        hiddens.push_back(std::stoi(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--no-torch] [--quick] [--precision fp32|bf16|both] [--reps N] [--hidden 256,512,1024] "
                   "[--big-only] [--issue-only] [--no-issue] [--torch-script PATH]\n",
                   argv[0]);
      return 2;
    }
  }
  if (reps <= 0) reps = quick ? 1 : 3;
  if (torch) {
    FILE* f = std::fopen(script.c_str(), "r");
    if (!f) {
      std::fprintf(stderr, "note: %s not found (run from the repo root); PyTorch columns skipped\n", script.c_str());
      torch = false;
    } else {
      std::fclose(f);
    }
  }
  const bool has32 = std::find(precs.begin(), precs.end(), Precision::FP32) != precs.end();
  const bool has16 = std::find(precs.begin(), precs.end(), Precision::BF16) != precs.end();
  const int threads = omp_get_max_threads();
  std::string pnames;
  for (Precision p : precs) pnames += (pnames.empty() ? "" : " + ") + std::string(precision_name(p));
  std::printf("# r1.cpp generate benchmark (%d threads, %s, greedy, r1.cpp cells the median of %d runs; PyTorch eager "
              "peer: %s)\n\n",
              threads, pnames.c_str(), reps, torch ? script.c_str() : "skipped");
  if (big_only) hiddens.clear(), issue = false;
  if (issue_only) hiddens.clear(), issue = true;

  // Ceilings and bandwidth, measured here (printed first: sections 1 and 5 refer to them).
  const double ceil32 = sgemm_ceiling(2048), ceil16 = has16 ? bench::bf16_ceiling(2048) : 0;
  const bool want_bw = issue || (!quick && !issue_only);
  Bandwidth bw;
  if (want_bw) bw = measure_bandwidth();
  std::printf("oneDNN sgemm 2048x2048x2048: %.1f GFLOP/s (the fp32 ceiling)\n", ceil32);
  if (want_bw)
    std::printf("STREAM-style bandwidth, %d threads, 1 GiB arrays, best of 5: copy %.1f GB/s (read + write), sum %.1f "
                "GB/s (read only)%s\n",
                threads, bw.copy, bw.sum, llc_note().c_str());
  std::printf("\n");
  auto ceil_of = [&](Precision p) { return p == Precision::BF16 ? ceil16 : ceil32; };
  auto ratio = [](bool have, double a, double b) {
    return have && b > 0 ? fmt("%.2fx", a / b) : std::string("-");
  };

  // 1. The issue's shape.
  if (issue) {
    const ModelConfig ic = issue_config(512);
    const int prompt = 32, gen = quick ? 8 : 64;
    std::vector<int> batches = quick ? std::vector<int>{1, 64} : std::vector<int>{1, 8, 64, 256};
    Model m(ic);
    fast_init(m, 4, 0.02f);
    const double mat = matmul_params(ic);
    std::printf("## Decode, the issue's shape: Llama, hidden %d, %d layers, %d heads (%d KV), FFN %d, byte-level vocabulary "
                "(%d), %.1fM params, random weights; prompt %d, %d new tokens\n\n",
                ic.C, ic.L, ic.NH, ic.NKV, ic.FF, ic.V, m.n_params / 1e6, prompt, gen);
    std::printf("weight GB/s = matmul weights (%.1fM: %.0f MB in fp32, %.0f MB in bf16) x decode steps/s (every step "
                "reads every matrix once); GFLOP/s = 2 x %.1fM x decode tok/s (attention, <2%% here, not counted); both "
                "against this run's stream sum bandwidth and the ceiling of the row's precision (weights that fit in the "
                "last-level cache can be read faster than the stream figure). products: the decode steps' weight "
                "products (gemm_stats, activation rounding included), their share of the decode time and their own "
                "GFLOP/s. PyTorch: fp32 for fp32 rows, bf16 weights for bf16 rows.\n\n",
                mat / 1e6, mat * 4 / 1e6, mat * 2 / 1e6, mat / 1e6);
    std::printf("| batch | precision | r1 decode tok/s | min-max of %d | r1 ms/step | r1 bf16/fp32 | r1 prefill tok/s | "
                "torch decode tok/s | vs torch | weight GB/s | of stream sum | GFLOP/s | of ceiling | products share "
                "| products GFLOP/s |\n",
                reps);
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int batch : batches) {
      double fp32_tps = 0;
      for (Precision prec : precs) {
        m.set_precision(prec);
        Result a = run_engine(m, batch, prompt, gen, 7, reps);
        Result t;
        bool ht = torch && run_torch(script, ic, batch, prompt, gen, t, prec);
        const bool bf16 = prec == Precision::BF16;
        if (!bf16) fp32_tps = a.decode_tps;
        double gbs = mat * (bf16 ? 2 : 4) * (a.decode_tps / batch) / 1e9;
        double gf = 2 * mat * a.decode_tps / 1e9;
        std::printf("| %d | %s | %.0f | %.0f-%.0f | %.2f | %s | %.0f | %s | %s | %.1f | %.0f%% | %.1f | %.0f%% | %.0f%% | %.1f |\n",
                    batch, precision_name(prec), a.decode_tps, a.decode_min, a.decode_max, a.decode_ms,
                    bf16 && fp32_tps > 0 ? fmt("%.2fx", a.decode_tps / fp32_tps).c_str() : "", a.prefill_tps,
                    ht ? fmt("%.0f", t.decode_tps).c_str() : "-", ratio(ht, a.decode_tps, t.decode_tps).c_str(), gbs,
                    100 * gbs / bw.sum, gf, 100 * gf / ceil_of(prec), 100 * a.mm_share, a.mm_gflops);
        std::fflush(stdout);
      }
    }
    std::printf("\n");
  }

  // 2. Hidden 256/512/1024 (L = 4, V = 32000).
  // batch, prompt_len, new_tokens per decode measurement (kept small so the default run stays within minutes)
  struct Shape { int batch, prompt, gen; };
  std::vector<Shape> shapes = {{1, 16, 64}, {8, 16, 32}, {64, 16, 16}, {256, 8, 8}};
  if (quick) shapes = {{1, 16, 16}, {8, 16, 8}, {64, 8, 4}};
  if (!hiddens.empty()) {
    std::printf("## Decode, L = 4, V = 32000 (PyTorch: fp32 for fp32 rows, bf16 weights for bf16 rows)\n\n");
    std::printf("| hidden | params | precision | batch | prompt | new | r1 decode tok/s | torch decode tok/s | ratio | r1 ms/step "
                "| torch ms/step | r1 bf16/fp32 |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  struct Pre { int C; Precision prec; Result r1, th; bool have; };
  std::vector<Pre> prefills;
  // fp32 batch-1 decode of the same model with bf16-valued weights (a bf16 checkpoint): the engine multiplies by bf16
  // copies of its matrices (half the bytes, same products); PyTorch fp32 (what HF loads on CPU by default) and bf16
  struct Bf16Row { int C; Result r1, fp32, th32, th16; bool have32, have16; };
  std::vector<Bf16Row> bf16rows;
  const int pb = 4, pl = quick ? 64 : 128;
  for (int C : hiddens) {
    const ModelConfig cfg = bench_config(C, 512);
    Model m(cfg);
    fast_init(m, 1, 0.02f);
    Bf16Row bf{C, Result(), Result(), Result(), Result(), false, false};
    std::map<int, double> fp32_tps;
    for (Precision prec : precs) {
      m.set_precision(prec);
      const bool b16 = prec == Precision::BF16;
      double b1 = 0;
      for (auto s : shapes) {
        Result a = run_engine(m, s.batch, s.prompt, s.gen, 7, reps);
        Result t;
        bool ht = torch && run_torch(script, cfg, s.batch, s.prompt, s.gen, t, prec);
        if (s.batch == 1) {
          b1 = a.decode_tps;
          if (!b16) bf.fp32 = a;
        }
        if (!b16) fp32_tps[s.batch] = a.decode_tps;
        std::printf("| %d | %.1fM | %s | %d | %d | %d | %.0f | %s | %s | %.2f | %s | %s |\n", C, m.n_params / 1e6,
                    precision_name(prec), s.batch, s.prompt, s.gen, a.decode_tps,
                    ht ? std::to_string((int)t.decode_tps).c_str() : "-", ratio(ht, a.decode_tps, t.decode_tps).c_str(),
                    a.decode_ms, ht ? fmt("%.2f", t.decode_ms).c_str() : "-",
                    b16 && fp32_tps.count(s.batch) ? fmt("%.2fx", a.decode_tps / fp32_tps[s.batch]).c_str() : "");
        std::fflush(stdout);
        if (s.batch == 64 && b1 > 0)
          std::fprintf(stderr, "hidden %d %s: batch-64 aggregate / batch-1 decode = %.1fx\n", C, precision_name(prec),
                       a.decode_tps / b1);
      }
      // prefill: one batch of 4 prompts of 128 tokens
      Pre p{C, prec, run_engine(m, pb, pl, 2, 9, reps), Result(), false};
      p.have = torch && run_torch(script, cfg, pb, pl, 2, p.th, prec);
      prefills.push_back(p);
    }
    if (has32) {
      const Shape s1 = shapes[0];
      m.set_precision(Precision::FP32);
      round_to_bf16(m);
      bf.r1 = run_engine(m, s1.batch, s1.prompt, s1.gen, 7, reps);
      bf.have32 = torch && run_torch(script, cfg, s1.batch, s1.prompt, s1.gen, bf.th32, Precision::FP32);
      bf.have16 = torch && run_torch(script, cfg, s1.batch, s1.prompt, s1.gen, bf.th16, Precision::BF16);
      bf16rows.push_back(bf);
    }
  }
  if (!prefills.empty())
    std::printf("\n| hidden | precision | prefill batch x prompt | r1 prefill tok/s | torch prefill tok/s | ratio |\n"
                "|---|---|---|---|---|---|\n");
  for (auto& p : prefills)
    std::printf("| %d | %s | %d x %d | %.0f | %s | %s |\n", p.C, precision_name(p.prec), pb, pl, p.r1.prefill_tps,
                p.have ? std::to_string((int)p.th.prefill_tps).c_str() : "-",
                ratio(p.have, p.r1.prefill_tps, p.th.prefill_tps).c_str());

  // 3. fp32 mode, bf16-valued weights.
  if (!bf16rows.empty())
    std::printf("\n| hidden | batch-1 decode, bf16-valued weights (fp32 mode) | r1 tok/s | r1 fp32 weights tok/s | torch fp32 tok/s | "
                "ratio vs torch fp32 | torch bf16 tok/s | ratio vs torch bf16 |\n|---|---|---|---|---|---|---|---|\n");
  for (auto& b : bf16rows)
    std::printf("| %d | %d prompt, %d new | %.0f | %.0f | %s | %s | %s | %s |\n", b.C, shapes[0].prompt, shapes[0].gen,
                b.r1.decode_tps, b.fp32.decode_tps, b.have32 ? std::to_string((int)b.th32.decode_tps).c_str() : "-",
                ratio(b.have32, b.r1.decode_tps, b.th32.decode_tps).c_str(),
                b.have16 ? std::to_string((int)b.th16.decode_tps).c_str() : "-",
                ratio(b.have16, b.r1.decode_tps, b.th16.decode_tps).c_str());
  std::fflush(stdout);

  // 4. Shared prompt: prefill cost with G = 1 vs G = 16 samples of one 256-token prompt.
  if (!big_only && !issue_only) {
    Model m(bench_config(512, 512));
    fast_init(m, 2, 0.02f);
    Engine e(m);
    GenRequest q;
    for (int t = 0; t < 256; t++) q.prompt.push_back((t * 37 + 11) % m.cfg.V);
    GenConfig c;
    c.sampling.temperature = 0.6f;
    c.sampling.top_p = 0.95f;
    c.max_new_tokens = 2;
    std::printf("\n| shared 256-token prompt (hidden 512, fp32) | G | prompt tokens computed | prefill ms (incl. K/V copies) |\n|---|---|---|---|\n");
    for (int G : {1, 16}) {
      q.n = G;
      c.max_batch = G;
      e.generate({q}, c);  // warm-up
      e.generate({q}, c);
      std::printf("| | %d | %lld | %.1f |\n", G, e.stats().prefill_rows, e.stats().prefill_s * 1e3);
    }
  }

  // 5. Decode at batch 1 of a model too large for the caches, against the measured memory bandwidth.
  if (!quick && !issue_only) {
    ModelConfig c = ModelConfig::tiny(Arch::Qwen2, 151936, 896, 24, 14, 2, 4864, 128);
    c.tied = true;
    Model m(c);
    fast_init(m, 3, 0.02f);
    // bytes read per decode token: every matrix used in a matmul (the tied embedding once, as the lm_head)
    const double mat = matmul_params(c);
    std::printf("\n| model | params | weights read per token | decode batch 1 | effective GB/s | stream sum GB/s | of sum | "
                "stream copy GB/s | of copy |\n|---|---|---|---|---|---|---|---|---|\n");
    struct Case { const char* name; int bytes; Precision prec; bool round; };
    std::vector<Case> cases;
    if (has32) cases.push_back({"fp32", 4, Precision::FP32, false});
    if (has32) cases.push_back({"fp32 mode, bf16 values", 2, Precision::FP32, true});
    if (has16) cases.push_back({"precision bf16", 2, Precision::BF16, true});
    for (const Case& k : cases) {  // rounding to bf16 values last: the fp32 row reads the unrounded weights
      if (k.round) round_to_bf16(m);
      m.set_precision(k.prec);
      Result r = run_engine(m, 1, 8, 16, 5, reps);
      double gbs = mat * k.bytes * r.decode_tps / 1e9;
      std::printf("| Qwen2.5-0.5B-sized (random, %s) | %.0fM | %.0f MB | %.2f tok/s (%.1f ms) | %.1f | %.1f | %.0f%% | "
                  "%.1f | %.0f%% |\n",
                  k.name, m.n_params / 1e6, mat * k.bytes / 1e6, r.decode_tps, r.decode_ms, gbs, bw.sum,
                  100.0 * gbs / bw.sum, bw.copy, 100.0 * gbs / bw.copy);
      std::fflush(stdout);
    }
  }
  return 0;
}
