// `r1 info`: what this build can do (threads, MPI, CPU features).
#include "cli/registry.h"
#include "core/dist.h"
#include <omp.h>
#include <cstdio>

R1_COMMAND("info", "Print build and machine information", [](CLI::App* sub) {
  return []() {
    std::printf("r1.cpp 0.1\nopenmp threads: %d\n", omp_get_max_threads());
    if (!r1::dist::built_with_mpi()) std::printf("mpi: not built in (one process; CMake R1_MPI needs OpenMPI)\n");
    else if (!r1::dist::launched()) std::printf("mpi: built in; 1 rank (not started by mpirun / srun)\n");
    else std::printf("mpi: built in; %d ranks (this is rank %d)\n", r1::dist::size(), r1::dist::rank());
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
