// `r1 plot RUN_DIR [RUN_DIR ...] [--output DIR]`: training curves as PNG files (matplotlib, Debian's
// python3-matplotlib). Several runs are overlaid. tools/plot_runs.py is embedded in the binary
// (src/cli/plot_runs_py.inc, regenerated from it), so the command works from any folder.
#include "cli/plot.h"
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"

#include <cstdio>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>

namespace {
// Kept identical to tools/plot_runs.py (a test checks that they match).
const char* kScript =
#include "plot_runs_py.inc"
    ;
}  // namespace

namespace r1::cli {

int plot_runs(const std::vector<std::string>& runs, const std::string& dir) {
  for (const auto& r : runs)
    R1_CHECK(r1::file_exists(r1::path_join(r, "metrics.jsonl")), r, ": no metrics.jsonl (expected an r1 run folder)");
  std::string script = "/tmp/r1_plot_" + std::to_string(::getpid()) + ".py";
  r1::atomic_write(script, kScript);
  std::vector<std::string> args = {"python3", script, dir};
  for (const auto& r : runs) args.push_back(r);
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp("/usr/bin/python3", argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::remove(script.c_str());
  R1_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 127, "plot: cannot run /usr/bin/python3 (install python3-matplotlib: ./scripts/install-deps.sh)");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace r1::cli

R1_COMMAND("plot", "Draw training curves (reward, accuracy, format rate, length, KL, entropy, loss) as PNG", [](CLI::App* sub) {
  auto runs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  sub->add_option("runs", *runs, "run folders holding metrics.jsonl")->required();
  sub->add_option("--output", *out, "where the PNG files go (default: RUN_DIR/plots of the first run)");
  return [=]() { return r1::cli::plot_runs(*runs, out->empty() ? r1::path_join((*runs)[0], "plots") : *out); };
});
