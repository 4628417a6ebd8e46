// Tokenizer benchmark: encode throughput (MB/s, one thread) with the 151k-token Qwen2 BPE on English text
// (GSM8K questions + answers) and on generated mixed-script text, and the load time of that vocabulary.
// Prints markdown. Usage (from the repo root): bench_tokenizer [shared_dir]   (default: ../shared)
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

using namespace r1;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// Encode speed is measured in this thread's CPU time, so other processes sharing the cores do not distort it.
static double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static std::vector<std::string> gsm8k_docs(const std::string& path) {
  std::vector<std::string> docs;
  std::string data = read_file(path);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    docs.push_back(j["question"].get<std::string>() + "\n" + j["answer"].get<std::string>());
  }
  return docs;
}

// Mixed scripts: English, Chinese, Russian, Arabic, Hindi, Japanese kana, emoji, digits, code-like punctuation.
static std::vector<std::string> mixed_docs(size_t total_bytes) {
  static const char* words[] = {"the", "model", "reasoning", "answer", "think", "step", "value", "function"};
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x4E00, 0x62FF}, {0x410, 0x44F}, {0x627, 0x64A}, {0x905, 0x939}, {0x3041, 0x3096}, {0x1F600, 0x1F64F}};
  Rng rng(42);
  std::vector<std::string> docs;
  size_t bytes = 0;
  while (bytes < total_bytes) {
    std::string d;
    while (d.size() < 600) {
      int r = int(rng.below(10));
      if (r < 3) {
        d += std::string(" ") + words[rng.below(8)];
      } else if (r < 4) {
        d += " " + std::to_string(rng.below(100000));
      } else if (r < 5) {
        d += rng.below(2) ? ", " : ".\n";
      } else if (r < 6) {
        d += " f(x) = {a[i] + b};";
      } else {
        auto [lo, hi] = ranges[rng.below(ranges.size())];
        int n = 1 + int(rng.below(6));
        d += ' ';
        for (int k = 0; k < n; ++k) utf8_append(d, uint32_t(lo + rng.below(hi - lo + 1)));
      }
    }
    bytes += d.size();
    docs.push_back(std::move(d));
  }
  return docs;
}

struct Result {
  double cold_mbs, warm_mbs, tokens_per_byte;
};

static Result run_encode(const Tokenizer& t, const std::vector<std::string>& docs) {
  size_t bytes = 0, toks = 0;
  for (auto& d : docs) bytes += d.size();
  Result r{};
  double c0 = cpu_now();
  for (auto& d : docs) toks += t.encode(d).size();
  r.cold_mbs = bytes / 1e6 / (cpu_now() - c0);
  r.tokens_per_byte = double(toks) / bytes;
  // steady state: repeat for at least one CPU second
  int reps = 0;
  c0 = cpu_now();
  do {
    for (auto& d : docs) toks += t.encode(d).size();
    ++reps;
  } while (cpu_now() - c0 < 1.0);
  r.warm_mbs = reps * bytes / 1e6 / (cpu_now() - c0);
  return r;
}

int main(int argc, char** argv) {
  std::string shared = argc > 1 ? argv[1] : std::string("../shared");
  std::string vocab = shared + "/data/tokenizer/vocab.json", merges = shared + "/data/tokenizer/merges_noheader.txt";
  std::string gsm = shared + "/data/benchmarks/gsm8k_test.jsonl";
  if (!file_exists(vocab) || !file_exists(gsm)) {
    std::printf("bench_tokenizer: %s not found; skipped\n", vocab.c_str());
    return 0;
  }
  // Load times are wall-clock (they include reading the files).
  auto t0 = Clock::now();
  Tokenizer qwen = Tokenizer::load_vocab_merges(vocab, merges, "qwen2");
  double load_vm = since(t0);
  std::string dir = "/tmp/r1_bench_tok_" + std::to_string(::getpid());
  qwen.save(dir);
  t0 = Clock::now();
  Tokenizer qwen_json = Tokenizer::load(dir + "/tokenizer.json");
  double load_json = since(t0);
  std::remove((dir + "/tokenizer.json").c_str());
  std::remove((dir + "/tokenizer_config.json").c_str());
  ::rmdir(dir.c_str());

  std::vector<std::string> en = gsm8k_docs(gsm), mixed = mixed_docs(1 << 20);
  size_t en_bytes = 0, mx_bytes = 0;
  for (auto& d : en) en_bytes += d.size();
  for (auto& d : mixed) mx_bytes += d.size();
  Result ren = run_encode(qwen, en), rmx = run_encode(qwen, mixed);
  Tokenizer bl = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>"});
  Result rbl = run_encode(bl, en);

  std::printf("## Tokenizer (one thread; encode MB/s per CPU-second of that thread)\n\n");
  std::printf("| what | result |\n|---|---|\n");
  std::printf("| load Qwen2 vocab.json + merges.txt (151,643 tokens, 151,387 merges) | %.2f s |\n", load_vm);
  std::printf("| load the same as tokenizer.json | %.2f s |\n", load_json);
  std::printf("\n| text | bytes | tokens/byte | encode MB/s, first pass | encode MB/s, warm word cache |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| English (GSM8K test, %zu docs), Qwen2 BPE | %zu | %.3f | %.1f | %.1f |\n", en.size(), en_bytes,
              ren.tokens_per_byte, ren.cold_mbs, ren.warm_mbs);
  std::printf("| mixed scripts (generated, %zu docs), Qwen2 BPE | %zu | %.3f | %.1f | %.1f |\n", mixed.size(),
              mx_bytes, rmx.tokens_per_byte, rmx.cold_mbs, rmx.warm_mbs);
  std::printf("| English, byte-level (no merges) | %zu | %.3f | %.1f | %.1f |\n", en_bytes, rbl.tokens_per_byte,
              rbl.cold_mbs, rbl.warm_mbs);
  return 0;
}
