// r1: DeepSeek-R1's training system as one C++ program. Subcommands live in src/cli/cmd_*.cpp.
#include "cli/registry.h"
#include "core/check.h"
#include "core/dist.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace r1::cli {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace r1::cli

namespace {

// One rank failed: say so (on the rank's own stderr) and end the job; alone, just return the status.
int fail_run(const char* what) {
  if (r1::dist::size() > 1)
    r1::dist::abort_job(std::string("rank ") + std::to_string(r1::dist::rank()) + ": " + what);
  std::fprintf(stderr, "error: %s\n", what);
  return 1;
}

int run_app(int argc, char** argv) {
  CLI::App app{"r1.cpp: GRPO, SFT, distillation and evaluation of reasoning models, in one C++ program"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "r1.cpp 0.1");
  r1::cli::register_stage_commands();
  auto& reg = r1::cli::registry();
  std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& c : reg) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runners[sub] = c.setup(sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    return fail_run(e.what());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  r1::dist::init(&argc, &argv);
  const int rc = run_app(argc, argv);
  r1::dist::finalize();
  return rc;
}
