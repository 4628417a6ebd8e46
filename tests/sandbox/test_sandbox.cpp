// The process jail itself (sandbox/sandbox.h): jobs run in parallel, leave nothing behind, are cut off at the
// output cap and the wall-clock deadline, and nothing runs when bwrap cannot. The code reward's tests, hostile
// programs included, are in tests/rewards/test_code.cpp.
#include "core/check.h"
#include "sandbox/sandbox.h"

#include "sandbox_procs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using namespace r1;

namespace {

Sandbox& box() {
  static Sandbox b(SandboxConfig{});  // parallelism 2
  return b;
}

}  // namespace

TEST(Sandbox, RunsJobsInParallel) {
  SandboxJob j;
  j.argv = {"/bin/sh", "-c", "sleep 1; echo done"};
  auto t0 = std::chrono::steady_clock::now();
  auto r = box().run({j, j});
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r[0].ok() && r[1].ok());
  EXPECT_EQ(r[1].out, "done\n");
  EXPECT_LT(s, 1.8) << "two 1 s jobs with parallelism 2 should overlap";
}

// Each run must leave nothing behind, not even a zombie: an orphan zombie keeps counting against the sandbox
// uid's RLIMIT_NPROC until the host's init reaps it, and enough of them stop programs from starting.
TEST(Sandbox, NoZombiesAfterManyRuns) {
  SandboxJob j;
  j.argv = {"/bin/true"};
  j.limits.max_processes = 4;
  std::vector<SandboxJob> jobs(24, j);
  auto r = box().run(jobs);
  for (auto& x : r) EXPECT_TRUE(x.ok()) << sandbox_status_name(x.status) << " " << x.err;
  EXPECT_EQ(sandbox_processes(box().config().uid_base, /*count_zombies=*/true), 0);
}

TEST(Sandbox, FailsClosedWithoutBwrap) {
  for (const char* bw : {"/nonexistent/bwrap", "/bin/false"}) {
    Sandbox bad(SandboxConfig{bw, 2, 0});
    SandboxJob j;
    j.argv = {"/bin/sh", "-c", "echo ran"};
    try {
      bad.run({j});
      ADD_FAILURE() << "no error with bwrap = " << bw;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("code sandbox unavailable"), std::string::npos) << e.what();
    }
  }
}

TEST(Sandbox, OutputCapAndTimeoutAreFast) {
  SandboxJob spam;
  spam.argv = {"/bin/sh", "-c", "yes xxxxxxxxxxxxxxxx"};
  spam.limits.max_output_bytes = 1 << 20;
  SandboxJob sleeper;
  sleeper.argv = {"/bin/sh", "-c", "sleep 100"};
  sleeper.limits.wall_seconds = 0.5;
  auto r = box().run({spam, sleeper});
  EXPECT_EQ(r[0].status, SandboxStatus::OutputLimit);
  EXPECT_EQ(r[0].out.size(), (size_t)1 << 20);
  EXPECT_LT(r[0].wall_seconds, 2.0);
  EXPECT_EQ(r[1].status, SandboxStatus::Timeout);
  EXPECT_LT(r[1].wall_seconds, 1.5);
  EXPECT_TRUE(wait_no_sandbox_processes(box().config().uid_base));
}
