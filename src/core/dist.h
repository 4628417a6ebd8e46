// The job's processes for data-parallel runs (README "Running on a cluster"). Every rank runs the same command on
// the same recipe; each computes its share of the step's shards, the ranks exchange partial sums, and rank 0
// alone writes files and progress. Built with MPI (CMake option R1_MPI, on when OpenMPI is found) and started by
// mpirun / srun, the ranks are MPI's; otherwise, or when not started by a launcher, there is one rank and nothing
// here communicates.
//
// Faults: MPI errors return codes that are turned into one message naming the call, then the whole job is
// aborted; a rank that dies makes the launcher end the others, each of which says so on stderr before it exits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace r1::dist {

// Called once by main() before any other use, and finalize() at its end.
void init(int* argc, char*** argv);
void finalize();

bool built_with_mpi();
bool launched();      // started by an MPI launcher (mpirun, srun ...) in an MPI build
int rank();           // 0 .. size()-1
int size();
inline bool root() { return rank() == 0; }

void barrier();
// Every rank contributes `bytes` bytes (the same count on every rank); every rank gets all of them in rank order.
void allgather(const void* mine, size_t bytes, void* all);
// Each rank's string (any length), in rank order, on every rank.
std::vector<std::string> allgather_strings(const std::string& mine);
// Rank 0's value of `v`, on every rank (decisions that depend on a clock must be the same everywhere).
bool root_decides(bool v);
// The same value on every rank? (min == max of a 64-bit value, e.g. a hash of the weights)
bool all_equal(uint64_t v);
// Ends every rank with `message` (printed by the caller's rank).
[[noreturn]] void abort_job(const std::string& message);
// Where errors go: stderr on rank 0; on the other ranks, whose stdout and stderr are silenced (rank 0 alone logs),
// the original stderr.
int error_fd();

}  // namespace r1::dist
