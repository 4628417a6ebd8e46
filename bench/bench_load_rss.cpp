// Peak memory of loading a model and generating a few tokens, per precision: a random Qwen2.5-0.5B-shaped BF16
// checkpoint (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied embeddings, q/k/v
// bias) is written to a temporary folder, then each way of loading it runs in a fresh process (this program
// re-executed), which greedily generates a few tokens and reports its peak resident set (VmHWM, /proc/self/status:
// fresh after exec, so nothing of the parent counts). Prints a markdown table.
//   (a) fp32                 Model::load, precision fp32 (the engine packs fp32 copies of the matrices)
//   (b) bf16                 Model::load, precision bf16 (fp32 master weights + bf16 copies with backward layouts)
//   (c) bf16 inference-only  Model::load(dir, {inference_only}), precision bf16: what generate/eval/sample/logprobs do
// and, for the safetensors reading path alone, every tensor read through the mapping with and without releasing
// its pages (FileBytes::release).
// Usage: bench_load_rss [--layers N (24)] [--new-tokens N (8)] [--dir DIR (a new /tmp folder)] [--keep]
#include "core/check.h"
#include "core/io.h"
#include "core/precision.h"
#include "formats/dtype.h"
#include "formats/safetensors.h"
#include "model/transformer.h"
#include "rollout/engine.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

using namespace r1;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

long status_kb(const char* key) {  // a "Key:   123 kB" line of /proc/self/status, or -1
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') kb = std::atol(line + n + 1);
  std::fclose(f);
  return kb;
}

ModelConfig qwen25_05b(int layers) {
  nlohmann::json j = {{"architectures", nlohmann::json::array({"Qwen2ForCausalLM"})},
                      {"model_type", "qwen2"},
                      {"hidden_size", 896},
                      {"intermediate_size", 4864},
                      {"num_hidden_layers", layers},
                      {"num_attention_heads", 14},
                      {"num_key_value_heads", 2},
                      {"vocab_size", 151936},
                      {"max_position_embeddings", 32768},
                      {"rms_norm_eps", 1e-6},
                      {"rope_theta", 1000000.0},
                      {"tie_word_embeddings", true},
                      {"bos_token_id", 151643},
                      {"eos_token_id", 151645}};
  return ModelConfig::from_json(j, "Qwen2.5-0.5B-shaped config");
}

// One measurement, in this (re-executed) process. Prints "RESULT key=value ..." for the parent.
int child(const std::string& mode, const std::string& dir, int new_tokens) {
  const double t0 = now();
  if (mode == "mmap" || mode == "mmap-release") {  // the reading path alone: every tensor's bytes touched
    SafeTensorsCheckpoint ck(dir);
    uint64_t sum = 0;
    for (const auto& name : ck.names()) {
      const TensorInfo* t = ck.find(name);
      const uint8_t* p = ck.shard_of(name).data(*t);
      for (size_t i = 0; i < t->nbytes; i += 512) sum += p[i];
      if (mode == "mmap-release") ck.release(name);
    }
    std::printf("RESULT load_s=%.2f hwm_load=%ld hwm_end=%ld fp32_mb=0 bf16_mb=0 gen_s=0 tokens=%llu\n", now() - t0,
                status_kb("VmHWM"), status_kb("VmHWM"), (unsigned long long)(sum % 10));
    return 0;
  }
  set_default_precision(mode == "fp32" ? Precision::FP32 : Precision::BF16);
  LoadOptions opt;
  opt.inference_only = mode == "bf16-io";
  Model m = Model::load(dir, opt);
  double bf16_bytes = 0;
  if (m.precision() == Precision::BF16) {
    for (const auto& l : m.bf16_layers()) bf16_bytes += l.qkv.bytes() + l.o.bytes() + l.gu.bytes() + l.down.bytes();
    bf16_bytes += m.bf16_head()->bytes();
  }
  const double load_s = now() - t0;
  const long hwm_load = status_kb("VmHWM");
  GenRequest rq;
  for (int i = 0; i < 16; i++) rq.prompt.push_back(1000 + 37 * i);
  GenConfig g;
  g.sampling.greedy = true;
  g.sampling.temperature = 0;
  g.max_new_tokens = new_tokens;
  g.max_batch = 1;
  const double t1 = now();
  std::vector<GenSample> out = Engine(m).generate({rq}, g);
  const double gen_s = now() - t1;
  std::string toks;
  for (int id : out[0].ids) toks += (toks.empty() ? "" : ",") + std::to_string(id);
  std::printf("RESULT load_s=%.2f hwm_load=%ld hwm_end=%ld fp32_mb=%.0f bf16_mb=%.0f gen_s=%.2f tokens=%s\n", load_s,
              hwm_load, status_kb("VmHWM"), m.params_mem.size() * 4.0 / kMiB, bf16_bytes / kMiB, gen_s, toks.c_str());
  return 0;
}

struct Row {
  std::string label, mode;
  double load_s = 0, gen_s = 0, fp32_mb = 0, bf16_mb = 0;
  long hwm_load = 0, hwm_end = 0;
  std::string tokens;
  bool ok = false;
  Row(std::string l, std::string m) : label(std::move(l)), mode(std::move(m)) {}
};

Row run_child(const std::string& exe, const Row& r0, const std::string& dir, int new_tokens) {
  Row r = r0;
  const std::string cmd = "'" + exe + "' --child " + r.mode + " '" + dir + "' " + std::to_string(new_tokens);
  FILE* p = ::popen(cmd.c_str(), "r");
  R1_CHECK(p, "popen failed: ", cmd);
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    if (std::strncmp(line, "RESULT ", 7) != 0) continue;
    char toks[4000] = {0};
    r.ok = std::sscanf(line, "RESULT load_s=%lf hwm_load=%ld hwm_end=%ld fp32_mb=%lf bf16_mb=%lf gen_s=%lf tokens=%3999s",
                       &r.load_s, &r.hwm_load, &r.hwm_end, &r.fp32_mb, &r.bf16_mb, &r.gen_s, toks) == 7;
    r.tokens = toks;
  }
  const int rc = ::pclose(p);
  if (rc != 0) r.ok = false;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 5 && std::string(argv[1]) == "--child") return child(argv[2], argv[3], std::atoi(argv[4]));
    int layers = 24, new_tokens = 8;
    std::string dir;
    bool keep = false;
    for (int i = 1; i < argc; i++) {
      const std::string a = argv[i];
      if (a == "--layers" && i + 1 < argc) layers = std::atoi(argv[++i]);
      else if (a == "--new-tokens" && i + 1 < argc) new_tokens = std::atoi(argv[++i]);
      else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
      else if (a == "--keep") keep = true;
      else fail("bench_load_rss: unknown argument '", a, "' (--layers N, --new-tokens N, --dir DIR, --keep)");
    }
    const bool made_dir = dir.empty();
    if (made_dir) {
      char tmpl[] = "/tmp/r1_bench_load_rss_XXXXXX";
      R1_CHECK(::mkdtemp(tmpl), "mkdtemp failed");
      dir = tmpl;
    }
    const ModelConfig cfg = qwen25_05b(layers);
    size_t n_params = 0;
    {
      const double t0 = now();
      set_default_precision(Precision::FP32);
      Model m(cfg);
      m.init_random(1, 0.02f);
      m.save(dir, DType::BF16);
      n_params = m.n_params;
      std::fprintf(stderr, "wrote %s (%.1f s)\n", dir.c_str(), now() - t0);
    }
    const double file_mb = (double)std::filesystem::file_size(path_join(dir, "model.safetensors")) / kMiB;
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    R1_CHECK(n > 0, "readlink /proc/self/exe failed");
    exe[n] = 0;

    std::vector<Row> rows = {{"(a) fp32", "fp32"},
                             {"(b) bf16, normal load", "bf16"},
                             {"(c) bf16, inference-only load", "bf16-io"},
                             {"safetensors read through the mmap, pages kept", "mmap"},
                             {"safetensors read through the mmap, pages released per tensor", "mmap-release"}};
    for (Row& r : rows) {
      r = run_child(exe, r, dir, new_tokens);
      std::fprintf(stderr, "%s: %s\n", r.label.c_str(), r.ok ? "done" : "FAILED");
    }

    std::printf("# load peak RSS: Qwen2.5-0.5B-shaped, %d layers, %.1f M parameters, BF16 checkpoint %.0f MiB\n\n",
                layers, n_params / 1e6, file_mb);
    std::printf("Peak RSS = VmHWM of a fresh process that loads the checkpoint, then greedily generates %d tokens "
                "after a 16-token prompt (batch 1). fp32 block = params_mem; bf16 copies = the packed Bf16Matmul "
                "layouts (Bf16Matmul::bytes(), without its unpacked staging copy); load (s) includes building the bf16 copies, "
                "which a normal load does at the first forward.\n\n",
                new_tokens);
    std::printf("| load | peak RSS after load (MiB) | peak RSS after generating (MiB) | load (s) | generate (s) | "
                "fp32 block (MiB) | bf16 copies (MiB) | tokens |\n|---|---|---|---|---|---|---|---|\n");
    for (const Row& r : rows) {
      if (!r.ok) {
        std::printf("| %s | failed | | | | | | |\n", r.label.c_str());
        continue;
      }
      const bool gen = r.mode != "mmap" && r.mode != "mmap-release";
      std::printf("| %s | %.0f | %s | %.2f | %s | %s | %s | %s |\n", r.label.c_str(), r.hwm_load / 1024.0,
                  gen ? std::to_string((long)(r.hwm_end / 1024.0 + 0.5)).c_str() : "-", r.load_s,
                  gen ? std::to_string(r.gen_s).substr(0, 4).c_str() : "-",
                  gen ? std::to_string((long)(r.fp32_mb + 0.5)).c_str() : "-",
                  gen ? std::to_string((long)(r.bf16_mb + 0.5)).c_str() : "-", gen ? r.tokens.c_str() : "-");
    }
    if (rows[1].ok && rows[2].ok)
      std::printf("\nbf16 normal and inference-only loads generate the same tokens: %s\n",
                  rows[1].tokens == rows[2].tokens ? "yes" : "NO");
    if (made_dir && !keep) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_load_rss: %s\n", e.what());
    return 1;
  }
}
