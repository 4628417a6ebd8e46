// LoRA against full fine-tuning at real size: one GRPO step (8 prompts x G = 8 x 256 new tokens, the arithmetic
// task, byte-level tokenizer, beta = 0.04 k3) on random weights in Qwen2.5-0.5B and Qwen2.5-1.5B shapes, each in its
// own `r1 grpo` process: step time (rollouts, scoring, training) and peak RSS of the process (wait4), with the
// parts r1 grpo reports in memory.json (weights, adapters, gradients, optimizer, reference, activations, KV cache,
// the rollout engine's packed weights). Prints a Markdown table.
//
// Usage (from the repo root, after scripts/build.sh): bench_lora [--shapes 0.5b,1.5b] [--modes full,lora]
//        [--new-tokens 256] [--r 16] [--keep DIR] [--r1 build/r1]
// Full fine-tuning runs with shards=1 (one gradient buffer; the default 8 shards would add up to four gradient-sized
// partial sums). Full fine-tuning of the 1.5B shape does not fit in 24 GB (16 bytes per parameter for weights, gradients and
// AdamW, plus the reference copy): it runs only when named with --modes full-1.5b.
#include "core/io.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fcntl.h>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace r1;
using nlohmann::json;

namespace {

struct Shape {
  const char* name;
  int C, L, NH, NKV, FF;
};
const Shape kShapes[] = {{"0.5b", 896, 24, 14, 2, 4864}, {"1.5b", 1536, 28, 12, 2, 8960}};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  std::string x;
  while (std::getline(in, x, ',')) v.push_back(x);
  return v;
}

// Qwen2.5 shape (q/k/v bias, tied), byte-level vocabulary with R1's tags, random normal(0, 0.02) weights.
std::string make_model(const Shape& s, const std::string& root) {
  const std::string d = root + "/qwen25_" + s.name;
  if (file_exists(d + "/model.safetensors")) return d;
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), s.C, s.L, s.NH, s.NKV, s.FF, 1024);
  c.tied = true;
  c.eos_id = tok.eos_id();
  Model m(c);
  m.init_random(1, 0.02f);
  m.save(d);
  tok.save(d);
  return d;
}

struct Run {
  double wall_s = 0, peak_rss_gb = 0;
  json metrics, memory;
  bool ok = false;
};

Run run_grpo(const std::string& r1, const std::string& model, const std::string& out, bool lora, int r, int new_tokens) {
  std::vector<std::string> args = {r1, "grpo", "model=" + model, "out=" + out, "task=arithmetic",
                                   "sampling.group_size=8", "sampling.prompts_per_step=8",
                                   "sampling.max_new_tokens=" + std::to_string(new_tokens), "sampling.temperature=1.0",
                                   "steps=1", "eval_problems=1", "eval_every=0", "ckpt_every=0", "grpo.beta=0.04",
                                   "prompt_template=r1_zero_short", "rewards={accuracy: 1.0, format: 0.1}",
                                   "lora.r=" + std::to_string(lora ? r : 0), "lora.alpha=" + std::to_string(2 * r),
                                   "lora.targets=all-linear",
                                   // full fine-tuning in one shard: the default 8 shards keep up to four
                                   // gradient-sized partial sums (the fixed tree of train/shards.h)
                                   "shards=" + std::string(lora ? "0" : "1")};
  Run res;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> av;
    for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    int fd = open((out + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(r1.c_str(), av.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.peak_rss_gb = ru.ru_maxrss * 1024.0 / 1e9;
  res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (res.ok) {
    std::stringstream in(read_file(out + "/metrics.jsonl"));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) res.metrics = json::parse(line);  // the last line: step 1
    res.memory = json::parse(read_file(out + "/memory.json"));
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes = "0.5b,1.5b", modes = "full,lora", keep, r1 = "build/r1";
  int new_tokens = 256, r = 16;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--shapes") shapes = next();
    else if (a == "--modes") modes = next();
    else if (a == "--new-tokens") new_tokens = std::stoi(next());
    else if (a == "--r") r = std::stoi(next());
    else if (a == "--keep") keep = next();
    else if (a == "--r1") r1 = next();
    else {
      std::fprintf(stderr, "usage: bench_lora [--shapes 0.5b,1.5b] [--modes full,lora,full-1.5b] [--new-tokens 256] [--r 16] [--keep DIR]\n");
      return 2;
    }
  }
  const std::string root = keep.empty() ? "/tmp/r1_bench_lora" : keep;
  make_dirs(root);
  if (!file_exists(r1)) {
    std::fprintf(stderr, "bench_lora: %s not found; run from the repository root after scripts/build.sh\n", r1.c_str());
    return 1;
  }
  std::printf("## One GRPO step: 8 prompts x G = 8 x %d new tokens, random weights, byte-level vocabulary, beta 0.04\n\n", new_tokens);
  std::printf("| shape | params | mode | trainable | step s | rollouts s | training s | peak RSS GB | weights | adapters | grads (+partials) | optimizer | reference | activations | KV cache | rollout weight copy |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  auto want = split(modes);
  auto has = [&](const std::string& m) { return std::find(want.begin(), want.end(), m) != want.end(); };
  for (const std::string& sn : split(shapes)) {
    const Shape* s = nullptr;
    for (const Shape& k : kShapes)
      if (sn == k.name) s = &k;
    if (!s) {
      std::fprintf(stderr, "bench_lora: unknown shape '%s' (0.5b, 1.5b)\n", sn.c_str());
      return 2;
    }
    std::fprintf(stderr, "[bench_lora] making the %s model ...\n", s->name);
    const std::string model = make_model(*s, root);
    for (const char* mode : {"full", "lora"}) {
      const bool lora = !std::strcmp(mode, "lora");
      if (!has(mode)) continue;
      if (!lora && sn == "1.5b" && !has("full-1.5b")) {
        std::printf("| Qwen2.5-%s | | full | | (not run: 16 B/param + a reference copy exceed 24 GB) | | | | | | | | | | | |\n", s->name);
        continue;
      }
      std::fprintf(stderr, "[bench_lora] %s %s ...\n", s->name, mode);
      Run run = run_grpo(r1, model, root + "/run_" + sn + "_" + mode, lora, r, new_tokens);
      if (!run.ok) {
        std::printf("| Qwen2.5-%s | | %s | | failed (see %s/run_%s_%s.log) | | | %.2f | | | | | | | | |\n", s->name, mode,
                    root.c_str(), sn.c_str(), mode, run.peak_rss_gb);
        continue;
      }
      const json& m = run.metrics;
      const json& g = run.memory;
      auto gb = [&](const char* k) { return g.value(k, 0.0); };
      std::printf("| Qwen2.5-%s | %.0fM | %s%s | %.2fM | %.1f | %.1f | %.1f | **%.2f** | %.2f | %.3f | %.2f (+%.2f) | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
                  s->name, g.value("params", 0.0) / 1e6, mode, lora ? (" r=" + std::to_string(r)).c_str() : "",
                  g.value("trainable_params", 0.0) / 1e6, m.value("step_s", 0.0), m.value("gen_s", 0.0),
                  m.value("train_s", 0.0), run.peak_rss_gb, gb("base_weights_gb"), gb("adapters_gb"), gb("gradients_gb"),
                  gb("gradient_partials_gb"), gb("optimizer_gb"), gb("reference_gb"), gb("activations_gb"),
                  gb("kv_cache_gb"), gb("packed_weights_gb"));
      std::fflush(stdout);
    }
  }
  return 0;
}
