// Test helper: count the host processes that a sandbox's jobs left behind (processes owned by its uids).
#pragma once
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

// Live processes on the host owned by the uids uid_base .. uid_base + 16 (Sandbox::config().uid_base).
// Zombies (dead, waiting for the container's init to reap them) count only with count_zombies.
inline int sandbox_processes(uint32_t uid_base, bool count_zombies = false) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct stat st;
    std::string p = std::string("/proc/") + e->d_name;
    if (stat(p.c_str(), &st) != 0 || st.st_uid < uid_base || st.st_uid >= uid_base + 16) continue;
    std::ifstream f(p + "/stat");
    std::string line;
    std::getline(f, line);
    size_t rp = line.rfind(')');
    if (!count_zombies && rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] == 'Z') continue;
    ++n;
  }
  closedir(d);
  return n;
}

// Waits up to one second for sandbox_processes(uid_base) to reach 0.
inline bool wait_no_sandbox_processes(uint32_t uid_base) {
  for (int i = 0; i < 50; ++i) {
    if (sandbox_processes(uid_base) == 0) return true;
    usleep(20000);
  }
  return false;
}
