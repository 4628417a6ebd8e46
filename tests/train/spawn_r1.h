// Test helper: run the r1 binary (R1_BIN under ctest, else the build folder's r1) as a separate process.
// Crash/resume tests kill it with SIGKILL. fork + exec, because a forked child of a process that has already
// used OpenMP must not use OpenMP itself (libgomp's pool does not survive fork).
#pragma once
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

inline std::string r1_binary() {
  const char* bin = std::getenv("R1_BIN");
  return bin ? bin : std::string(R1_BINARY_DIR) + "/r1";
}

// `log`: when given, stdout and stderr are appended to this file; otherwise stderr goes to /dev/null.
inline pid_t spawn_r1(const std::vector<std::string>& args, const std::string& log = "") {
  std::string path = r1_binary();
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (log.empty()) {
      int devnull = ::open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
    } else {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
