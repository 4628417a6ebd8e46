#include "sandbox/sandbox.h"

#include "core/check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace r1 {

const char* sandbox_status_name(SandboxStatus s) {
  switch (s) {
    case SandboxStatus::Exited: return "exited";
    case SandboxStatus::Timeout: return "timeout";
    case SandboxStatus::OutputLimit: return "output_limit";
    default: return "setup_error";
  }
}

namespace {

constexpr size_t kMaxStderr = 64 * 1024;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Host directories a program needs: /usr read-only, the merged-/usr links (or binds where they are real dirs).
void add_root_binds(std::vector<std::string>& a) {
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    struct stat st;
    if (::lstat(d, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlink(d, target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = 0;
      a.insert(a.end(), {"--symlink", target, d});
    } else if (S_ISDIR(st.st_mode)) {
      a.insert(a.end(), {"--ro-bind", d, d});
    }
  }
  a.insert(a.end(), {"--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"});
}

// Everything the child needs, prepared before fork (only async-signal-safe calls happen after fork).
struct Prepared {
  std::vector<std::string> args;
  std::vector<char*> argv;
  std::vector<int> file_fds;  // memfds holding SandboxJob::files, dup'ed to 3, 4, ... in the child
};

Prepared prepare(const SandboxConfig& cfg, const SandboxJob& job) {
  R1_CHECK(!job.argv.empty(), "sandbox: job has an empty argv");
  const SandboxLimits& L = job.limits;
  Prepared p;
  auto& a = p.args;
  // --as-pid-1: the program itself is the namespace's pid 1. bwrap's own reaper process is left behind as an
  // orphan zombie on the host after every run (reaped only by the host's init), and each such zombie counts
  // against the sandbox uid's RLIMIT_NPROC: a few fast runs in a row would then fail to start.
  a = {cfg.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
       "--as-pid-1", "--cap-drop", "ALL", "--hostname", "sandbox"};
  add_root_binds(a);
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--size", std::to_string(L.tmpfs_bytes), "--tmpfs", "/tmp",
                     "--dir", "/box"});
  for (size_t i = 0; i < job.files.size(); ++i) {
    const SandboxFile& f = job.files[i];
    R1_CHECK(!f.name.empty() && f.name.find('/') == std::string::npos && f.name != "." && f.name != "..",
             "sandbox: file name '", f.name, "' must be a plain name");
    int fd = (int)::syscall(SYS_memfd_create, "r1_sandbox_file", (unsigned)MFD_CLOEXEC);
    R1_CHECK(fd >= 0, "sandbox: memfd_create failed: ", std::strerror(errno));
    size_t off = 0;
    while (off < f.content.size()) {
      ssize_t w = ::write(fd, f.content.data() + off, f.content.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        fail("sandbox: writing memfd failed: ", std::strerror(errno));
      }
      off += (size_t)w;
    }
    ::lseek(fd, 0, SEEK_SET);
    p.file_fds.push_back(fd);
    a.insert(a.end(), {"--perms", f.executable ? "0555" : "0444", "--ro-bind-data", std::to_string(3 + i),
                       "/box/" + f.name});
  }
  // bwrap writes {"child-pid": N} here: the host pid of the sandbox's pid 1, which a timeout kills.
  a.insert(a.end(), {"--info-fd", std::to_string(3 + job.files.size())});
  a.insert(a.end(), {"--remount-ro", "/dev", "--remount-ro", "/", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
                     "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
                     "--chdir", "/tmp", "--"});
  a.insert(a.end(), job.argv.begin(), job.argv.end());
  for (auto& s : a) p.argv.push_back(const_cast<char*>(s.c_str()));
  p.argv.push_back(nullptr);
  return p;
}

// Writes to a pipe without letting SIGPIPE kill us (the reader may be gone): block it, and swallow the
// pending one if the write raised it.
ssize_t write_nosigpipe(int fd, const char* data, size_t n) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  ssize_t w = ::write(fd, data, n);
  int saved = errno;
  if (w < 0 && saved == EPIPE) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

struct Running {
  size_t job = 0;
  int slot = 0;
  pid_t pid = -1;
  int pidfd = -1;
  int in_fd = -1, out_fd = -1, err_fd = -1, info_fd = -1;
  std::string info;       // bwrap's --info-fd JSON
  pid_t sandbox_init = -1;  // host pid of the sandbox's pid 1, once known
  size_t in_off = 0;
  Clock::time_point start, deadline;
  bool reaped = false;
  int wait_status = 0;
  bool killed = false;
  Clock::time_point killed_at;
  SandboxStatus forced = SandboxStatus::Exited;
};

void kill_tree(Running& r, SandboxStatus why) {
  if (r.killed || r.reaped) return;
  // Killing the sandbox's pid 1 makes the kernel kill every process of its pid namespace; bwrap (outside)
  // then reaps it and exits, so nothing is left as an orphan zombie that would still count against the
  // sandbox uid's RLIMIT_NPROC. Before bwrap has reported that pid, kill bwrap's whole process group.
  if (r.sandbox_init > 0)
    ::kill(r.sandbox_init, SIGKILL);
  else
    ::kill(-r.pid, SIGKILL);
  r.killed = true;
  r.killed_at = Clock::now();
  r.forced = why;
}

// ---- starting a job ----

enum { kIn, kOut, kErr, kInfo, kPipes };  // the pipes of a job; [0] is the read end, [1] the write end

void open_pipes(int (&p)[kPipes][2]) {
  for (int k = 0; k < kPipes; ++k) {
    if (::pipe2(p[k], O_CLOEXEC) != 0) {
      const int e = errno;
      for (int i = 0; i < k; ++i) ::close(p[i][0]), ::close(p[i][1]);
      fail("sandbox: pipe failed: ", std::strerror(e));
    }
  }
}

// What the child does between fork and exec, computed before fork.
struct ChildSetup {
  int in = -1, out = -1, err = -1, info = -1;  // stdin read end; stdout, stderr and --info-fd write ends
  const std::vector<int>* file_fds = nullptr;
  int high = 0;  // lowest fd number above every fd the child must keep, so moving them cannot clobber one
  struct rlimit cpu, as, nproc, fsize, nofile, core;
  bool switch_uid = false;
  uid_t uid = 0;
  char* const* argv = nullptr;
};

ChildSetup child_setup(const SandboxConfig& cfg, const SandboxJob& job, const Prepared& prep,
                       const int (&p)[kPipes][2], int slot, bool root) {
  const SandboxLimits& L = job.limits;
  ChildSetup c;
  c.in = p[kIn][0], c.out = p[kOut][1], c.err = p[kErr][1], c.info = p[kInfo][1];
  c.file_fds = &prep.file_fds;
  const rlim_t cpu = (rlim_t)std::max(1.0, std::ceil(L.cpu_seconds));
  c.cpu = {cpu, cpu + 1};  // soft: SIGXCPU, hard: SIGKILL a second later
  c.as = {(rlim_t)L.memory_bytes, (rlim_t)L.memory_bytes};
  c.nproc = {(rlim_t)L.max_processes, (rlim_t)L.max_processes};
  c.fsize = {(rlim_t)L.max_file_bytes, (rlim_t)L.max_file_bytes};
  c.nofile = {(rlim_t)L.max_open_files, (rlim_t)L.max_open_files};
  c.core = {0, 0};
  c.switch_uid = root;
  c.uid = (uid_t)(cfg.uid_base + slot);
  const int nfiles = (int)prep.file_fds.size();
  c.high = std::max({c.in, c.out, c.err, c.info, 3 + nfiles}) + 1;
  for (int fd : prep.file_fds) c.high = std::max(c.high, fd + 1);
  c.argv = prep.argv.data();
  return c;
}

// The forked child: async-signal-safe calls only. Moves the pipes to 0, 1, 2, the job's files to 3, 4, ... and
// the info pipe after them, closes every other fd, sets the limits, drops to the slot's uid (as root), execs bwrap.
[[noreturn]] void exec_child(const ChildSetup& c) {
  static char envpath[] = "PATH=/usr/bin:/bin";
  char* envp[] = {envpath, nullptr};
  ::setpgid(0, 0);
  const int high = c.high, nfiles = (int)c.file_fds->size();
  int in = ::fcntl(c.in, F_DUPFD, high), out = ::fcntl(c.out, F_DUPFD, high), err = ::fcntl(c.err, F_DUPFD, high),
      info = ::fcntl(c.info, F_DUPFD, high);
  int moved[64];
  for (int i = 0; i < nfiles && i < 64; ++i) moved[i] = ::fcntl((*c.file_fds)[i], F_DUPFD, high);
  if (in < 0 || out < 0 || err < 0 || info < 0 || nfiles > 64) ::_exit(126);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
  for (int i = 0; i < nfiles; ++i)
    if (moved[i] < 0 || ::dup2(moved[i], 3 + i) < 0) ::_exit(126);
  if (::dup2(info, 3 + nfiles) < 0) ::_exit(126);
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 4 + nfiles, ~0U, 0) != 0)
#endif
    for (int fd = 4 + nfiles; fd < 65536; ++fd) ::close(fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (::setrlimit(RLIMIT_CPU, &c.cpu) || ::setrlimit(RLIMIT_AS, &c.as) || ::setrlimit(RLIMIT_NPROC, &c.nproc) ||
      ::setrlimit(RLIMIT_FSIZE, &c.fsize) || ::setrlimit(RLIMIT_NOFILE, &c.nofile) ||
      ::setrlimit(RLIMIT_CORE, &c.core))
    ::_exit(126);
  if (c.switch_uid) {
    // Raw syscalls: they change only this (single-threaded) process.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, c.uid, c.uid, c.uid) != 0 ||
        ::syscall(SYS_setresuid, c.uid, c.uid, c.uid) != 0)
      ::_exit(126);
  }
  ::execve(c.argv[0], c.argv, envp);
  ::_exit(127);
}

// Starts job `j` in `slot`: bwrap command line, pipes, fork + exec; the parent keeps the other pipe ends.
Running spawn(const SandboxConfig& cfg, const SandboxJob& job, size_t j, int slot, bool root) {
  Prepared prep = prepare(cfg, job);
  int p[kPipes][2];
  open_pipes(p);
  const ChildSetup setup = child_setup(cfg, job, prep, p, slot, root);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (auto& q : p) ::close(q[0]), ::close(q[1]);
    for (int fd : prep.file_fds) ::close(fd);
    fail("sandbox: fork failed: ", std::strerror(e));
  }
  if (pid == 0) exec_child(setup);
  ::setpgid(pid, pid);  // also from the parent, so kill(-pid) works even before the child ran
  ::close(p[kIn][0]);
  ::close(p[kOut][1]);
  ::close(p[kErr][1]);
  ::close(p[kInfo][1]);
  for (int fd : prep.file_fds) ::close(fd);
  Running r;
  r.job = j;
  r.slot = slot;
  r.pid = pid;
#ifdef SYS_pidfd_open
  r.pidfd = (int)::syscall(SYS_pidfd_open, pid, 0);
#endif
  r.in_fd = p[kIn][1];
  r.out_fd = p[kOut][0];
  r.err_fd = p[kErr][0];
  r.info_fd = p[kInfo][0];
  for (int fd : {r.in_fd, r.out_fd, r.err_fd, r.info_fd}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (job.stdin_data.empty()) close_fd(r.in_fd);
  r.start = Clock::now();
  r.deadline = r.start + std::chrono::microseconds((int64_t)(job.limits.wall_seconds * 1e6));
  return r;
}

// ---- pipe traffic ----

void write_stdin(Running& r, const SandboxJob& job) {
  if (r.in_fd < 0) return;
  ssize_t w = write_nosigpipe(r.in_fd, job.stdin_data.data() + r.in_off, job.stdin_data.size() - r.in_off);
  if (w > 0) r.in_off += (size_t)w;
  if ((w < 0 && errno != EAGAIN && errno != EINTR) || r.in_off >= job.stdin_data.size()) close_fd(r.in_fd);
}

void read_stdout(Running& r, SandboxResult& res, const SandboxLimits& L, char* buf, size_t cap) {
  if (r.out_fd < 0) return;
  ssize_t n = ::read(r.out_fd, buf, cap);
  if (n > 0) {
    size_t room = L.max_output_bytes - std::min<size_t>(res.out.size(), L.max_output_bytes);
    res.out.append(buf, std::min<size_t>((size_t)n, room));
    if ((size_t)n > room) {  // over the cap: stop reading and kill the job
      kill_tree(r, SandboxStatus::OutputLimit);
      close_fd(r.out_fd);
    }
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_fd(r.out_fd);
  }
}

void read_stderr(Running& r, SandboxResult& res, char* buf, size_t cap) {
  if (r.err_fd < 0) return;
  ssize_t n = ::read(r.err_fd, buf, cap);
  if (n > 0) {
    if (res.err.size() < kMaxStderr) res.err.append(buf, std::min<size_t>((size_t)n, kMaxStderr - res.err.size()));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_fd(r.err_fd);
  }
}

// bwrap's --info-fd JSON: picks up the host pid of the sandbox's pid 1 once it is complete.
void read_info(Running& r, char* buf, size_t cap) {
  if (r.info_fd < 0) return;
  ssize_t n = ::read(r.info_fd, buf, cap);
  if (n > 0 && r.info.size() < 4096) {
    r.info.append(buf, (size_t)n);
    size_t k = r.info.find("\"child-pid\":");
    if (k != std::string::npos && r.sandbox_init < 0) {
      long v = std::strtol(r.info.c_str() + k + 12, nullptr, 10);
      if (v > 1 && r.info.find('}', k) != std::string::npos) r.sandbox_init = (pid_t)v;
    }
  } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    close_fd(r.info_fd);
  }
}

// Polls every running job's pipes (and pidfd) until the earliest deadline, then moves whatever is ready.
void poll_pipes(std::vector<Running>& running, const std::vector<SandboxJob>& jobs,
                std::vector<SandboxResult>& results) {
  enum { kPid = kPipes };
  std::vector<pollfd> pfds;
  std::vector<std::pair<size_t, int>> who;  // (running index, kIn / kOut / kErr / kInfo / kPid)
  auto now = Clock::now();
  int64_t timeout_ms = 100;
  for (size_t i = 0; i < running.size(); ++i) {
    Running& r = running[i];
    if (r.in_fd >= 0) pfds.push_back({r.in_fd, POLLOUT, 0}), who.push_back({i, kIn});
    if (r.out_fd >= 0) pfds.push_back({r.out_fd, POLLIN, 0}), who.push_back({i, kOut});
    if (r.err_fd >= 0) pfds.push_back({r.err_fd, POLLIN, 0}), who.push_back({i, kErr});
    if (r.info_fd >= 0) pfds.push_back({r.info_fd, POLLIN, 0}), who.push_back({i, kInfo});
    if (r.pidfd >= 0 && !r.reaped) pfds.push_back({r.pidfd, POLLIN, 0}), who.push_back({i, kPid});
    if (r.pidfd < 0) timeout_ms = std::min<int64_t>(timeout_ms, 5);
    if (!r.killed) {
      int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(r.deadline - now).count() + 1;
      timeout_ms = std::min(timeout_ms, std::max<int64_t>(left, 0));
    }
  }
  int pr = ::poll(pfds.data(), pfds.size(), (int)timeout_ms);
  R1_CHECK(pr >= 0 || errno == EINTR, "sandbox: poll failed: ", std::strerror(errno));
  char buf[65536];
  for (size_t k = 0; pr > 0 && k < pfds.size(); ++k) {
    if (!pfds[k].revents) continue;
    Running& r = running[who[k].first];
    SandboxResult& res = results[r.job];
    const SandboxJob& job = jobs[r.job];
    switch (who[k].second) {
      case kIn: write_stdin(r, job); break;
      case kOut: read_stdout(r, res, job.limits, buf, sizeof(buf)); break;
      case kErr: read_stderr(r, res, buf, sizeof(buf)); break;
      case kInfo: read_info(r, buf, sizeof(buf)); break;
      default: break;  // pidfd readable: handled by waitpid in job_done
    }
  }
}

// ---- waiting, limits and results ----

// Enforces the deadline, reaps bwrap, and says whether the job is over (bwrap reaped and its pipes drained,
// or given up on).
bool job_done(Running& r, Clock::time_point now) {
  if (!r.reaped && !r.killed && now >= r.deadline) kill_tree(r, SandboxStatus::Timeout);
  if (!r.reaped && r.killed && seconds_since(r.killed_at) > 1.0) ::kill(-r.pid, SIGKILL);  // fallback
  if (!r.reaped) {
    int st = 0;
    pid_t w = ::waitpid(r.pid, &st, WNOHANG);
    if (w == r.pid) r.reaped = true, r.wait_status = st;
    if (w < 0 && errno == ECHILD) r.reaped = true, r.wait_status = W_EXITCODE(0, SIGKILL);  // reaped elsewhere
  }
  // Once bwrap is gone, its pipes close as soon as the namespace's last process dies; after a kill,
  // stop waiting for them after one second whatever happens.
  bool pipes_done = r.out_fd < 0 && r.err_fd < 0;
  bool give_up = r.reaped && r.killed && seconds_since(r.killed_at) > 1.0;
  bool stale = r.reaped && !r.killed && now >= r.deadline && !pipes_done;  // a leftover holds the pipes
  if (stale) r.killed = true, r.forced = SandboxStatus::Timeout;
  return r.reaped && (pipes_done || give_up || stale);
}

void close_all(Running& r) {
  close_fd(r.in_fd);
  close_fd(r.out_fd);
  close_fd(r.err_fd);
  close_fd(r.info_fd);
  close_fd(r.pidfd);
}

// Status and exit code of a finished job (its output is already in `res`); closes its fds.
void finish(Running& r, SandboxResult& res) {
  res.wall_seconds = seconds_since(r.start);
  if (r.killed) {
    res.status = r.forced;
    res.exit_code = -1;
  } else if (WIFEXITED(r.wait_status)) {
    res.exit_code = WEXITSTATUS(r.wait_status);
    // bwrap exits 1 with "bwrap: ..." on stderr when it cannot set the sandbox up.
    bool setup = res.exit_code == 1 && res.err.rfind("bwrap:", 0) == 0;
    res.status = (res.exit_code >= 126 && res.exit_code <= 127 && res.out.empty() && res.err.empty()) || setup
                     ? SandboxStatus::SetupError
                     : SandboxStatus::Exited;
  } else {
    res.status = SandboxStatus::SetupError;
    res.exit_code = 128 + WTERMSIG(r.wait_status);
  }
  close_all(r);
}

// After an error: kill and reap every running job, close its fds.
void abort_all(std::vector<Running>& running) {
  for (Running& r : running) {
    kill_tree(r, SandboxStatus::SetupError);
    if (!r.reaped) ::kill(-r.pid, SIGKILL), ::waitpid(r.pid, nullptr, 0);
    close_all(r);
  }
}

}  // namespace

Sandbox::Sandbox(SandboxConfig config) : config_(std::move(config)) {
  R1_CHECK(config_.parallelism >= 1 && config_.parallelism <= 16, "sandbox: parallelism must be in 1..16, got ",
           config_.parallelism);
  if (config_.uid_base == 0) {
    // A block of 16 uids per (process, instance), so sandboxes of different processes (ctest -j, several
    // trainers) never share a uid and with it an RLIMIT_NPROC budget.
    static std::atomic<uint32_t> instances{0};
    uint32_t k = ((uint32_t)::getpid() % 40000u) * 4u + (instances++ % 4u);
    config_.uid_base = 200000u + k * 16u;
  }
}

void Sandbox::check_available() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (checked_) return;
  R1_CHECK(::access(config_.bwrap.c_str(), X_OK) == 0, "code sandbox unavailable: '", config_.bwrap,
           "' is not an executable (install the Debian package bubblewrap); refusing to run model code unsandboxed");
  checked_ = true;  // run() below must not recurse into the check
  SandboxJob probe;
  probe.argv = {"/bin/sh", "-c", "echo sandbox-ok"};
  probe.limits.wall_seconds = 10;
  std::vector<SandboxResult> r;
  try {
    r = run({probe});
  } catch (...) {
    checked_ = false;
    throw;
  }
  if (!(r[0].ok() && r[0].out == "sandbox-ok\n")) {
    checked_ = false;
    fail("code sandbox unavailable: bwrap could not build its namespaces (status ", sandbox_status_name(r[0].status),
         ", exit ", r[0].exit_code, "): ", r[0].err.empty() ? std::string("no message") : r[0].err,
         "; refusing to run model code outside a sandbox");
  }
}

std::vector<SandboxResult> Sandbox::run(const std::vector<SandboxJob>& jobs) {
  std::lock_guard<std::recursive_mutex> lock(mu_);  // slots (and their uids) belong to one run at a time
  check_available();
  std::vector<SandboxResult> results(jobs.size());
  std::vector<Running> running;
  std::vector<bool> slot_busy(config_.parallelism, false);
  const bool root = ::geteuid() == 0;
  size_t next = 0;
  try {
    while (next < jobs.size() || !running.empty()) {
      while (next < jobs.size() && (int)running.size() < config_.parallelism) {
        int slot = 0;
        while (slot_busy[slot]) ++slot;
        running.push_back(spawn(config_, jobs[next], next, slot, root));
        slot_busy[slot] = true;
        ++next;
      }
      poll_pipes(running, jobs, results);
      const auto now = Clock::now();
      for (size_t i = 0; i < running.size();) {
        Running& r = running[i];
        if (job_done(r, now)) {
          finish(r, results[r.job]);
          slot_busy[r.slot] = false;
          running.erase(running.begin() + (long)i);
        } else {
          ++i;
        }
      }
    }
  } catch (...) {
    abort_all(running);
    throw;
  }
  return results;
}

Sandbox& default_sandbox() {
  static std::mutex mu;
  static Sandbox* box = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (!box) {
    SandboxConfig cfg;
    if (const char* j = std::getenv("R1_SANDBOX_JOBS")) cfg.parallelism = std::max(1, std::atoi(j));
    box = new Sandbox(cfg);
  }
  return *box;
}

}  // namespace r1
