// Training curves as PNG files with matplotlib (Debian's python3-matplotlib): tools/plot_runs.py, embedded in the
// binary (src/cli/plot_runs_py.inc), run on one or more run folders holding metrics.jsonl; several are overlaid.
#pragma once
#include <string>
#include <vector>

namespace r1::cli {

// Draws the plots of `runs` into `out`; returns the script's exit status. Throws r1::Error when a run folder has
// no metrics.jsonl or python3 cannot be run.
int plot_runs(const std::vector<std::string>& runs, const std::string& out);

}  // namespace r1::cli
