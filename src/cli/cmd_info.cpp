// `r1 info`: what this build can do (threads, oneDNN, CPU features).
#include "cli/registry.h"
#include <omp.h>
#include <cstdio>

R1_COMMAND("info", "Print build and machine information", [](CLI::App* sub) {
  return []() {
    std::printf("r1.cpp 0.1\nopenmp threads: %d\n", omp_get_max_threads());
#ifdef __AVX512F__
    std::printf("built with: AVX-512\n");
#elif defined(__AVX2__)
    std::printf("built with: AVX2\n");
#else
    std::printf("built with: portable x86-64\n");
#endif
    return 0;
  };
});
