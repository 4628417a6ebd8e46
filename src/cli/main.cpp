// r1: DeepSeek-R1's training system as one C++ program. Subcommands live in src/cli/cmd_*.cpp.
#include "cli/registry.h"
#include "core/check.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace r1::cli {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace r1::cli

int main(int argc, char** argv) {
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
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
