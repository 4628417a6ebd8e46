// File helpers. Everything r1.cpp writes that a user keeps (checkpoints, logs, JSON) goes through
// atomic_write: write to PATH.tmp.<pid>, fsync, rename over PATH. A crash leaves the old file or the new one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include <functional>
#include <cstdio>

namespace r1 {

std::string read_file(const std::string& path);                // throws r1::Error naming the path
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
void make_dirs(const std::string& path);                       // mkdir -p
std::string path_join(const std::string& a, const std::string& b);
std::string parent_dir(const std::string& path);               // "a/b/c.json" -> "a/b"; "c.json" -> ""
// Writes via a temporary file and rename. `fill` writes the content to the FILE*.
void atomic_write(const std::string& path, const std::function<void(FILE*)>& fill);
void atomic_write(const std::string& path, const std::string& content);
// Appends one line and flushes (for metrics.jsonl / completions.jsonl: never overwritten).
void append_line(const std::string& path, const std::string& line);

// Read-only memory map of a whole file. Throws r1::Error naming the path.
struct MappedFile {
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string path;
};

}  // namespace r1
