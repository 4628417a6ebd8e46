// Formats throughput: bulk half-precision conversions (vector path vs the scalar functions) and a
// safetensors BF16 write + mmap load. Prints a markdown table. Usage: bench_formats [million_elements=16]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <unistd.h>

#include "core/io.h"
#include "formats/dtype.h"
#include "formats/safetensors.h"

using namespace r1;

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
template <class F> double best_of(int reps, F f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    f();
    best = std::min(best, now() - t0);
  }
  return best;
}
void row(const char* what, size_t n, double secs, size_t bytes_per_elem) {
  std::printf("| %s | %.1f | %.2f | %.2f |\n", what, secs * 1e3, n / secs / 1e9, n * bytes_per_elem / secs / 1e9);
}
}  // namespace

int main(int argc, char** argv) {
  const size_t n = size_t((argc > 1 ? std::atof(argv[1]) : 16.0) * 1e6);
  std::vector<float> f(n), back(n);
  std::vector<uint16_t> h(n);
  for (size_t i = 0; i < n; ++i) f[i] = float((i * 2654435761u) % 100000) * 1e-3f - 50.0f;
  volatile uint32_t sink = 0;

  std::printf("# formats bench: %zu elements\n\n| operation | ms | Gelem/s | GB/s (src+dst) |\n|---|---|---|---|\n", n);
  row("f32 -> bf16 (bulk)", n, best_of(5, [&] { f32_to_bf16(f.data(), h.data(), n); }), 6);
  row("f32 -> bf16 (scalar loop)", n, best_of(3, [&] { for (size_t i = 0; i < n; ++i) h[i] = f32_to_bf16(f[i]); sink = h[n / 2]; }), 6);
  row("bf16 -> f32 (bulk)", n, best_of(5, [&] { bf16_to_f32(h.data(), back.data(), n); }), 6);
  row("f32 -> f16 (bulk)", n, best_of(5, [&] { f32_to_f16(f.data(), h.data(), n); }), 6);
  row("f32 -> f16 (scalar loop)", n, best_of(3, [&] { for (size_t i = 0; i < n; ++i) h[i] = f32_to_f16(f[i]); sink = h[n / 2]; }), 6);
  row("f16 -> f32 (bulk)", n, best_of(5, [&] { f16_to_f32(h.data(), back.data(), n); }), 6);
  row("f16 -> f32 (scalar loop)", n, best_of(3, [&] { for (size_t i = 0; i < n; ++i) back[i] = f16_to_f32(h[i]); sink = uint32_t(back[n / 2]); }), 6);

  const std::string path = "/tmp/r1_bench_formats_" + std::to_string(::getpid()) + ".safetensors";
  double tw = best_of(1, [&] { write_safetensors(path, {{"w", {int64_t(n)}, DType::F32, f.data()}}, DType::BF16); });
  row("write_safetensors f32 -> BF16 file (fsync)", n, tw, 6);
  double tr = best_of(3, [&] {
    SafeTensorsFile st(path);
    st.read_f32_into("w", back.data(), n);
  });
  row("SafeTensorsFile open + read_f32_into (BF16, page cache warm)", n, tr, 6);
  std::remove(path.c_str());
  (void)sink;
  return 0;
}
