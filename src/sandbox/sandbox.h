// Runs untrusted programs inside bubblewrap (bwrap) and collects their output. Model-written code only ever
// runs through here; if bwrap cannot build its namespaces, Sandbox::run throws r1::Error (fail closed) and
// nothing runs.
//
// Each job is one `bwrap` process started with fork/exec. In the child, before exec:
//   setpgid (own process group), stdin/stdout/stderr pipes, close every other fd, setrlimit
//   (RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE=0), and, when we are root,
//   a switch to an unprivileged uid/gid (uid_base + slot). That switch is what makes RLIMIT_NPROC bite: the
//   kernel never applies RLIMIT_NPROC to host uid 0, even inside a user namespace mapped to it. Each parallel
//   slot has its own uid so one job's fork bomb cannot starve another. (Not running as root, there is no
//   switch and RLIMIT_NPROC counts every process and thread of the caller's uid: max_processes must then
//   exceed that count, or the availability probe fails and the reward refuses to run.)
// bwrap runs the program as the pid namespace's pid 1 (--as-pid-1; see sandbox.cpp for why) and builds:
// new user/pid/net/ipc/uts/cgroup namespaces (no network: only a down loopback), no capabilities, no
// further user namespaces, a new session (no terminal), death with its parent, a read-only root holding
// only read-only binds of /usr (plus /bin /lib /lib64 /sbin as symlinks or binds, and
// /etc/ld.so.cache), a fresh /proc for the pid namespace, a minimal read-only /dev (null, zero, random...),
// the job's files read-only under /box, and a size-capped private tmpfs on /tmp, the only writable place
// (also the working directory). The environment is cleared except PATH, HOME=/tmp, TMPDIR, LANG.
// The parent runs up to `parallelism` jobs at once with poll() over the pipes (and a pidfd per job): no
// threads. It writes stdin, reads stdout up to max_output_bytes (more -> the job is killed, status
// output_limit), keeps at most 64 KiB of stderr, and at the wall-clock deadline SIGKILLs the sandbox's
// pid 1 (its host pid comes from bwrap --info-fd; when it dies the kernel kills everything in the pid
// namespace, and bwrap exits), falling back to bwrap's whole process group.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace r1 {

struct SandboxLimits {
  double cpu_seconds = 2.0;                 // RLIMIT_CPU per process (rounded up to whole seconds)
  double wall_seconds = 5.0;                // then the whole tree is killed
  uint64_t memory_bytes = 512ull << 20;     // RLIMIT_AS per process
  int max_processes = 32;                   // RLIMIT_NPROC for the sandbox uid (threads count)
  uint64_t max_output_bytes = 1ull << 20;   // stdout cap
  uint64_t max_file_bytes = 16ull << 20;    // RLIMIT_FSIZE
  uint64_t tmpfs_bytes = 64ull << 20;       // size of the writable /tmp
  int max_open_files = 64;                  // RLIMIT_NOFILE
};

struct SandboxFile {
  std::string name;      // placed at /box/<name> (no '/' or "..")
  std::string content;
  bool executable = false;
};

struct SandboxJob {
  std::vector<std::string> argv;  // argv[0] is an absolute path inside the sandbox
  std::string stdin_data;
  std::vector<SandboxFile> files;
  SandboxLimits limits;
};

enum class SandboxStatus {
  Exited,        // the program exited by itself (see exit_code; bwrap reports death by signal N as 128+N)
  Timeout,       // killed at the wall-clock deadline
  OutputLimit,   // killed for printing more than max_output_bytes
  SetupError,    // bwrap itself failed for this job
};
const char* sandbox_status_name(SandboxStatus s);

struct SandboxResult {
  SandboxStatus status = SandboxStatus::SetupError;
  int exit_code = -1;
  std::string out;
  std::string err;  // at most 64 KiB
  double wall_seconds = 0;
  bool ok() const { return status == SandboxStatus::Exited && exit_code == 0; }
};

struct SandboxConfig {
  std::string bwrap = "/usr/bin/bwrap";
  int parallelism = 2;  // 1..16
  // Used only when running as root: slot k runs as uid/gid uid_base + k. 0 = automatic: 200000 + a block of 16
  // uids chosen from the process id and an instance counter.
  uint32_t uid_base = 0;
};

class Sandbox {
 public:
  explicit Sandbox(SandboxConfig config = {});
  // Runs a trivial program in the sandbox once and throws r1::Error, quoting bwrap's message, if that fails.
  // run() calls it on first use.
  void check_available();
  // Runs every job (at most config.parallelism at once); results in job order.
  std::vector<SandboxResult> run(const std::vector<SandboxJob>& jobs);
  const SandboxConfig& config() const { return config_; }

 private:
  SandboxConfig config_;
  bool checked_ = false;
  std::recursive_mutex mu_;
};

// One process-wide sandbox with the default config (parallelism from env R1_SANDBOX_JOBS, default 2).
Sandbox& default_sandbox();

}  // namespace r1
