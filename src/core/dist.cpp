#include "core/dist.h"

#include "core/check.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#ifdef R1_WITH_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace r1::dist {

namespace {
int g_rank = 0, g_size = 1;
bool g_mpi = false;  // MPI initialised
int g_err_fd = 2;

// The launcher ends the surviving ranks with SIGTERM when one of them dies: say so instead of vanishing.
void on_term(int) {
  char msg[160];
  int n = std::snprintf(msg, sizeof msg,
                        "\n[rank %d] stopping: the job is ending (another rank failed or the launcher was "
                        "interrupted); rerun the same command to resume from the last checkpoint\n",
                        g_rank);
  if (n > 0) (void)!::write(g_err_fd, msg, (size_t)n);
  ::_exit(143);
}

#ifdef R1_WITH_MPI
void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char err[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, err, &len);
  abort_job(std::string("MPI call ") + call + " failed on rank " + std::to_string(g_rank) + ": " +
            std::string(err, (size_t)len));
}
#endif
}  // namespace

bool built_with_mpi() {
#ifdef R1_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_NUM_TASKS", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

void init(int* argc, char*** argv) {
#ifdef R1_WITH_MPI
  if (!launched()) return;  // a plain `r1 ...`: one rank, no MPI runtime started
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "error: MPI_Init failed (started by a launcher, but MPI could not start)\n");
    std::exit(1);
  }
  g_mpi = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (g_size > 1) std::signal(SIGTERM, on_term);
  if (g_rank > 0) {  // rank 0 alone logs; errors still reach the original stderr
    g_err_fd = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
  }
#else
  (void)argc;
  (void)argv;
#endif
}

void finalize() {
#ifdef R1_WITH_MPI
  if (g_mpi) MPI_Finalize();
  g_mpi = false;
#endif
}

int rank() { return g_rank; }
int size() { return g_size; }

void barrier() {
#ifdef R1_WITH_MPI
  if (g_mpi && g_size > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

void allgather(const void* mine, size_t bytes, void* all) {
  if (g_size == 1) {
    if (bytes) std::memcpy(all, mine, bytes);
    return;
  }
#ifdef R1_WITH_MPI
  // in pieces below 2 GiB (MPI counts are int)
  const size_t piece = (size_t)1 << 30;
  std::vector<uint8_t> tmp;
  for (size_t off = 0; off < bytes; off += piece) {
    const size_t n = std::min(piece, bytes - off);
    tmp.resize(n * (size_t)g_size);
    check(MPI_Allgather((const uint8_t*)mine + off, (int)n, MPI_BYTE, tmp.data(), (int)n, MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Allgather");
    for (int r = 0; r < g_size; r++) std::memcpy((uint8_t*)all + (size_t)r * bytes + off, tmp.data() + (size_t)r * n, n);
  }
#endif
}

std::vector<std::string> allgather_strings(const std::string& mine) {
  if (g_size == 1) return {mine};
  std::vector<uint64_t> lens((size_t)g_size);
  const uint64_t my = mine.size();
  allgather(&my, sizeof my, lens.data());
  uint64_t longest = 0;
  for (uint64_t l : lens) longest = std::max(longest, l);
  std::string padded = mine;
  padded.resize(longest);
  std::string all(longest * (size_t)g_size, '\0');
  allgather(padded.data(), longest, all.data());
  std::vector<std::string> out;
  for (int r = 0; r < g_size; r++) out.push_back(all.substr((size_t)r * longest, lens[r]));
  return out;
}

bool root_decides(bool v) {
  if (g_size == 1) return v;
  std::vector<uint8_t> all((size_t)g_size);
  const uint8_t mine = v;
  allgather(&mine, 1, all.data());
  return all[0] != 0;
}

bool all_equal(uint64_t v) {
  if (g_size == 1) return true;
  std::vector<uint64_t> all((size_t)g_size);
  allgather(&v, sizeof v, all.data());
  for (uint64_t x : all)
    if (x != v) return false;
  return true;
}

int error_fd() { return g_err_fd; }

void abort_job(const std::string& message) {
  const std::string m = "\nerror: " + message + "\n";
  (void)!::write(g_err_fd, m.data(), m.size());
#ifdef R1_WITH_MPI
  if (g_mpi) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

}  // namespace r1::dist
