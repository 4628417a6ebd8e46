// `r1 plot`: the embedded script matches tools/plot_runs.py, and a run folder gets its PNG curves.
#include "core/io.h"
#include "spawn_r1.h"
#include "train/checkpoint_dir.h"

#include <gtest/gtest.h>

using namespace r1;

TEST(Plot, EmbeddedScriptMatchesTool) {
  std::string tool = read_file(std::string(R1_SOURCE_DIR) + "/tools/plot_runs.py");
  std::string inc = read_file(std::string(R1_SOURCE_DIR) + "/src/cli/plot_runs_py.inc");
  EXPECT_EQ(inc, "R\"PY(" + tool + ")PY\"\n") << "regenerate src/cli/plot_runs_py.inc from tools/plot_runs.py";
}

TEST(Plot, DrawsCurvesOfARunAndRejectsAFolderWithoutMetrics) {
  if (!file_exists("/usr/bin/python3") || std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed (./scripts/install-deps.sh installs it)";
  std::string run = "/tmp/r1_plot_test_" + std::to_string(::getpid());
  remove_tree(run);
  make_dirs(run);
  std::string m;
  for (int s = 1; s <= 5; s++)
    m += "{\"step\":" + std::to_string(s) + ",\"reward_mean\":" + std::to_string(0.1 * s) + ",\"kl\":null,\"entropy\":1.5}\n";
  atomic_write(run + "/metrics.jsonl", m);
  ASSERT_EQ(wait_exit(spawn_r1({"plot", run})), 0);
  EXPECT_TRUE(file_exists(run + "/plots/reward_mean.png"));
  EXPECT_TRUE(file_exists(run + "/plots/entropy.png"));
  EXPECT_TRUE(file_exists(run + "/plots/overview.png"));
  EXPECT_FALSE(file_exists(run + "/plots/kl.png"));  // only nulls: no panel
  std::string png = read_file(run + "/plots/overview.png");
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_NE(wait_exit(spawn_r1({"plot", run + "/missing"})), 0);
}
