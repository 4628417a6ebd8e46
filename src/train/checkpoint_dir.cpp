#include "train/checkpoint_dir.h"
#include "core/check.h"
#include "core/io.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <sstream>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace r1 {

void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") remove_tree(path + "/" + n);
      }
      ::closedir(d);
    }
    ::rmdir(path.c_str());
  } else {
    ::unlink(path.c_str());
  }
}

void write_checkpoint_dir(const std::string& run, const std::function<void(const std::string&)>& fill) {
  make_dirs(run);
  std::string tmp = path_join(run, "checkpoint.tmp." + std::to_string(::getpid()));
  std::string cur = path_join(run, "checkpoint"), old = path_join(run, "checkpoint.old");
  remove_tree(tmp);
  make_dirs(tmp);
  fill(tmp);
  R1_CHECK(file_exists(path_join(tmp, "state.json")), tmp, ": checkpoint writer did not write state.json");
  remove_tree(old);
  if (file_exists(cur))
    R1_CHECK(std::rename(cur.c_str(), old.c_str()) == 0, cur, ": cannot move aside (", std::strerror(errno), ")");
  R1_CHECK(std::rename(tmp.c_str(), cur.c_str()) == 0, tmp, ": cannot rename to ", cur, " (", std::strerror(errno), ")");
  remove_tree(old);
}

void truncate_jsonl_after_step(const std::string& path, long last_step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).value("step", 0L) > last_step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by a crash
    }
    kept += line + "\n";
  }
  atomic_write(path, kept);
}

std::string find_checkpoint_dir(const std::string& run) {
  for (const char* n : {"checkpoint", "checkpoint.old"}) {
    std::string d = path_join(run, n);
    if (file_exists(path_join(d, "state.json"))) return d;
  }
  return "";
}

}  // namespace r1
