// The numbers do not move: a short run of every numeric path (tools/pin_short_run.sh: pretrain -> grpo -> eval ->
// sample -> sft) gives the same model bytes, metrics (timing fields aside), completions, evaluation and traces as
// the code did when the fixture was written (tests/fixtures/pinned/short_run.json). A refactor that changes one
// bit fails here. The digests hold for the CPU features they were recorded with (oneDNN picks its kernels by
// them); on another CPU the test is skipped with a message.
#include "core/io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <string>

using json = nlohmann::json;

static bool cpu_has(const std::string& flag) {
  std::string info = r1::read_file("/proc/cpuinfo");
  size_t at = info.find("\nflags");
  if (at == std::string::npos) return false;
  std::string line = info.substr(at + 1, info.find('\n', at + 1) - at - 1) + " ";
  return line.find(" " + flag + " ") != std::string::npos;
}

TEST(PinnedNumbers, ShortRunOfEveryPathIsBitIdentical) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin) GTEST_SKIP() << "R1_BIN not set (run through ctest)";
  const std::string src = R1_SOURCE_DIR;
  json want = json::parse(r1::read_file(src + "/tests/fixtures/pinned/short_run.json"));
  for (auto& [flag, had] : want["_cpu_flags"].items())
    if (cpu_has(flag) != had.get<bool>())
      GTEST_SKIP() << "this CPU differs from the fixture's in '" << flag << "' (oneDNN picks other kernels); the "
                   << "digests hold only where they were recorded";
  const std::string d = "/tmp/r1_pinned_" + std::to_string(::getpid());
  const std::string out = d + ".json";
  const std::string cmd = src + "/tools/pin_short_run.sh " + bin + " " + d + " > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  json got = json::parse(r1::read_file(out));
  for (auto& [key, value] : want.items()) {
    if (key[0] == '_') continue;
    EXPECT_EQ(got[key], value) << key << " moved (see " << d << ")";
  }
  if (!HasFailure()) std::system(("rm -rf " + d + " " + out).c_str());
}
