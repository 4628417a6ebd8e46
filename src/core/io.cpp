#include "core/io.h"
#include "core/check.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace r1 {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  R1_CHECK(f.good(), path, ": cannot open for reading (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path) {
  if (path.empty() || is_directory(path)) return;
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (!part.empty() && !is_directory(part)) {
      R1_CHECK(::mkdir(part.c_str(), 0755) == 0 || errno == EEXIST, part, ": cannot create directory (",
               std::strerror(errno), ")");
    }
    if (pos == std::string::npos) break;
  }
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash == 0 ? 1 : slash);
}

std::string path_join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (!b.empty() && b[0] == '/') return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

void atomic_write(const std::string& path, const std::function<void(FILE*)>& fill) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  R1_CHECK(f, tmp, ": cannot open for writing (", std::strerror(errno), ")");
  try {
    fill(f);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail(path, ": write failed (", std::strerror(errno), ")");
  }
  R1_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": rename from ", tmp, " failed (",
           std::strerror(errno), ")");
}

void atomic_write(const std::string& path, const std::string& content) {
  atomic_write(path, [&](FILE* f) {
    R1_CHECK(std::fwrite(content.data(), 1, content.size(), f) == content.size(), path, ": short write");
  });
}

void append_line(const std::string& path, const std::string& line) {
  FILE* f = std::fopen(path.c_str(), "ab");
  R1_CHECK(f, path, ": cannot open for appending (", std::strerror(errno), ")");
  std::fwrite(line.data(), 1, line.size(), f);
  std::fputc('\n', f);
  std::fflush(f);
  ::fsync(::fileno(f));
  std::fclose(f);
}

MappedFile::MappedFile(const std::string& p) : path(p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  R1_CHECK(fd >= 0, p, ": cannot open (", std::strerror(errno), ")");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(p, ": cannot stat");
  }
  size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      ::close(fd);
      fail(p, ": mmap failed (", std::strerror(errno), ")");
    }
    data = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data) ::munmap(const_cast<uint8_t*>(data), size);
}

}  // namespace r1
