// Shared helpers for the formats tests: a scratch folder and raw-file writers.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <filesystem>

#include "core/check.h"

namespace r1test {

inline std::string scratch_dir(const std::string& tag) {
  std::string tmpl = "/tmp/r1_formats_" + tag + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* d = mkdtemp(buf.data());
  if (!d) throw std::runtime_error("mkdtemp failed");
  return d;
}

// Removes a scratch folder made by scratch_dir.
inline void remove_dir(const std::string& d) {
  std::error_code ec;
  std::filesystem::remove_all(d, ec);
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  }
  std::fclose(f);
}

// Runs `fn`, expects exactly an r1::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected r1::Error containing '" << (parts.empty() ? "" : parts[0]) << "'";
  } catch (const r1::Error& e) {
    std::string msg = e.what();
    if (std::getenv("R1_TEST_VERBOSE")) std::fprintf(stderr, "  error: %s\n", msg.c_str());
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
  }
}

}  // namespace r1test
