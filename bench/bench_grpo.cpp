// GRPO benchmark: steps per minute and the generate / score / train split of `r1 grpo` on the arithmetic task,
// next to a minimal PyTorch GRPO loop with the same model, prompts and settings (bench/torch_grpo.py), run in the
// same process tree on the same machine. Models are random Llama-style with the byte-level vocabulary (261),
// like the tiny recipe's; G = 8 samples x 8 prompts, 64 new tokens at temperature 1, beta 0.001, one update
// per step. r1.cpp runs with share_prompt true (the default: each prompt computed once per group in training) and
// false (every sequence carries its prompt, as the PyTorch loop does), in fp32 and in bf16 mixed precision
// (core/precision.h: the process default set before run_grpo loads the policy and reference, as `precision: bf16`
// does for `r1 grpo`); the PyTorch loop is fp32.
// Usage: bench_grpo [--quick] [--no-torch] [--tiny-only] [--model tiny|512|all] [--share true|false|both]
//                   [--precision fp32|bf16|both]
#include "bench_precision.h"
#include "core/io.h"
#include "core/precision.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/grpo.h"

#include <nlohmann/json.hpp>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

using namespace r1;
using nlohmann::json;

struct Shape {
  const char* name;
  int C, L, NH, NKV, FF;
};

static json run_torch(const Shape& s, int steps, int max_new) {
  char cmd[512];
  std::snprintf(cmd, sizeof cmd,
                "/usr/bin/python3 bench/torch_grpo.py --hidden %d --layers %d --heads %d --kv-heads %d --inter %d "
                "--group 8 --prompts 8 --max-new-tokens %d --steps %d --threads %d 2>/dev/null",
                s.C, s.L, s.NH, s.NKV, s.FF, max_new, steps, omp_get_max_threads());
  FILE* p = popen(cmd, "r");
  if (!p) return nullptr;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  try {
    return json::parse(out);
  } catch (...) {
    return nullptr;
  }
}

int main(int argc, char** argv) {
  bool quick = false, torch = true, tiny = true, h512 = true;
  std::vector<bool> shares = {true, false};
  bool share_given = false;
  std::vector<Precision> precs = {Precision::FP32, Precision::BF16};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--no-torch") torch = false;
    else if (a == "--tiny-only") h512 = false;
    else if (a == "--model" && i + 1 < argc) {
      std::string v = argv[++i];
      tiny = v == "tiny" || v == "all";
      h512 = v == "512" || v == "all";
      if (!tiny && !h512) {
        std::fprintf(stderr, "--model: expected tiny, 512 or all (got '%s')\n", v.c_str());
        return 2;
      }
    } else if (a == "--share" && i + 1 < argc) {
      std::string v = argv[++i];
      share_given = true;
      if (v == "true") shares = {true};
      else if (v == "false") shares = {false};
      else if (v == "both") shares = {true, false};
      else {
        std::fprintf(stderr, "--share: expected true, false or both (got '%s')\n", v.c_str());
        return 2;
      }
    } else if (a == "--precision" && i + 1 < argc) {
      if (!bench::parse_precisions(argv[++i], precs)) return 2;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--no-torch] [--tiny-only] [--model tiny|512|all] [--share true|false|both] "
                   "[--precision fp32|bf16|both]\n",
                   argv[0]);
      return 2;
    }
  }
  if (quick && !share_given) shares = {true};
  const int steps = quick ? 1 : 3, max_new = 64;
  std::printf("## GRPO step (G=8 x 8 prompts, %d new tokens, T=1, beta 0.001, one update), %d threads; PyTorch fp32\n\n",
              max_new, omp_get_max_threads());
  std::printf("| model | share_prompt | precision | r1.cpp steps/min | generate s | score s | train s | r1 bf16/fp32 | PyTorch steps/min | generate s | score s | train s | speedup |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (Shape s : {Shape{"tiny (C=128, L=4)", 128, 4, 4, 2, 384}, Shape{"hidden 512 (L=4)", 512, 4, 8, 4, 1408}}) {
    if (s.C == 128 ? !tiny : !h512) continue;
    json tj = nullptr;
    for (bool share : shares) {
    double fp32_tot = 0;
    for (Precision prec : precs) {
    const bool bf16 = prec == Precision::BF16;
    std::string dir = "/tmp/r1_bench_grpo_" + std::to_string(::getpid());
    remove_tree(dir);
    Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
    ModelConfig mc = ModelConfig::tiny(Arch::Llama, tok.vocab_size(), s.C, s.L, s.NH, s.NKV, s.FF, 1024);
    mc.tied = false;
    mc.eos_id = tok.eos_id();
    Model m(mc);
    m.init_random(1, 0.02f);
    m.save(dir + "/model");
    tok.save(dir + "/model");
    GrpoRecipe r;
    r.model = dir + "/model";
    r.out = dir + "/run";
    r.sampling.max_new_tokens = max_new;
    r.steps = steps + 1;  // the first step is a warm-up
    r.ckpt_every = 0;
    r.eval_problems = 0;
    r.resume = false;
    r.share_prompt = share;
    set_default_precision(prec);  // the models run_grpo loads (policy, reference) take it
    run_grpo(r);
    set_default_precision(Precision::FP32);
    std::istringstream in(read_file(r.out + "/metrics.jsonl"));
    std::string line;
    double gen = 0, score = 0, train = 0, tot = 0;
    int n = 0;
    while (std::getline(in, line)) {
      json j = json::parse(line);
      if (j["step"].get<long>() < 2) continue;
      gen += j["gen_s"].get<double>();
      score += j["score_s"].get<double>();
      train += j["train_s"].get<double>();
      tot += j["step_s"].get<double>();
      n++;
    }
    gen /= n, score /= n, train /= n, tot /= n;
    if (!bf16) fp32_tot = tot;
    char rat[32] = "";
    if (bf16 && fp32_tot > 0) std::snprintf(rat, sizeof rat, "%.2fx", fp32_tot / tot);
    if (torch && tj.is_null()) tj = run_torch(s, steps, max_new);
    if (tj.is_object())
      std::printf("| %s | %s | %s | %.1f | %.2f | %.4f | %.2f | %s | %.1f | %.2f | %.4f | %.2f | %.2fx |\n", s.name,
                  share ? "true" : "false", precision_name(prec), 60 / tot, gen, score, train, rat,
                  tj["steps_per_min"].get<double>(), tj["gen_s"].get<double>(), tj["score_s"].get<double>(),
                  tj["train_s"].get<double>(), (60 / tot) / tj["steps_per_min"].get<double>());
    else
      std::printf("| %s | %s | %s | %.1f | %.2f | %.4f | %.2f | %s | n/a | | | | |\n", s.name, share ? "true" : "false",
                  precision_name(prec), 60 / tot, gen, score, train, rat);
    std::fflush(stdout);
    remove_tree(dir);
    }
    }
  }
  return 0;
}
