// Code RL in miniature (recipes/tiny_code.yaml in about half a minute): write the tiny_code corpus, pretrain
// a very small base on it, run GRPO with the code reward (every rollout's program runs in the sandbox), and check
// that the code reward rises against the starting point: on the held-out problems (before = the base stage,
// after = the rl stage; same problems and protocol) and in the training samples (first steps vs last steps).
#include "core/io.h"
#include "train/checkpoint_dir.h"
#include "../train/spawn_r1.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

TEST(TinyCodeMini, CodeRewardRisesOverTheRun) {
  if (!file_exists("/usr/bin/bwrap")) GTEST_SKIP() << "bubblewrap is not installed (scripts/install-deps.sh)";
  const std::string d = "/tmp/tiny_code_mini_" + std::to_string(::getpid());
  remove_tree(d);
  make_dirs(d);
  const std::string src = R1_SOURCE_DIR;
  // the worded kinds (no number in the question: the program follows from its words), 40 problems for RL; the
  // held-out ones pair an operation with a phrasing that neither the corpus nor RL ever shows
  const std::string tc = "{n: 40, kinds: [one, pair, many], tests: 2}";
  const std::string recipe = d + "/mini.yaml";
  atomic_write(recipe,
               "out: " + d + "/run\n"
               "eval: {task: tiny_code, task_config: " + tc + ", split: test, data_seed: 1, prompt_template: plain,\n"
               "       k: 8, pass_k: [1], greedy: false, save_text: false,\n"
               "       sampling: {temperature: 0.6, top_p: 0.95, max_new_tokens: 80}}\n"
               "stages:\n"
               "  - name: corpus\n"
               "    command: code_corpus\n"
               "    set: {docs: 20000, task_config: " + tc + "}\n"
               "  - name: base\n"
               "    command: pretrain\n"
               "    config: " + src + "/recipes/pretrain_tiny.yaml\n"
               "    set: {corpus: \"${corpus.data}\", steps: 300, seq: 256, batch: 8, eval_every: 0, ckpt_every: 0,\n"
               "          model: {hidden: 128, layers: 2, heads: 4, kv_heads: 2, ffn: 384, max_pos: 256}}\n"
               "  - name: rl\n"
               "    command: grpo\n"
               "    config: " + src + "/recipes/grpo_tiny_code.yaml\n"
               "    set: {model: \"${base.model}\", steps: 60, task_config: " + tc + ", eval_every: 0,\n"
               "          eval_problems: 16, ckpt_every: 0, sampling: {max_new_tokens: 80}}\n");
  pid_t pid = spawn_r1({"pipeline", "--config", recipe}, d + "/log.txt");
  ASSERT_EQ(wait_exit(pid), 0) << read_file(d + "/log.txt");
  json p = json::parse(read_file(d + "/run/pipeline.json"));
  ASSERT_TRUE(p["complete"].get<bool>());
  const json before = p["stages"][1]["eval"], after = p["stages"][2]["eval"];
  std::printf("before: %s\nafter:  %s\n", before.dump().c_str(), after.dump().c_str());
  // 40 problems x 8 samples: about 2.5 points of noise on each side; three seeds rose by 12 to 22 points
  EXPECT_GT(after["pass@1"].get<double>(), before["pass@1"].get<double>() + 0.08);
  EXPECT_LT(after["failure_kinds"]["no_code"].get<double>(), before["failure_kinds"]["no_code"].get<double>());

  // the training samples: the code reward of the last ten steps against the first ten
  std::vector<json> m;
  std::istringstream in(read_file(d + "/run/rl/metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      json j = json::parse(line);
      if (j.contains("reward_mean")) m.push_back(j);
    }
  ASSERT_EQ(m.size(), 60u);
  auto avg = [&](const char* key, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; i++) s += m[i][key].get<double>();
    return s / double(to - from);
  };
  const double first = avg("reward/code/mean", 0, 10), last = avg("reward/code/mean", 50, 60);
  double score = 0, step = 0, programs = 0;
  for (auto& j : m) score += j["score_s"].get<double>(), step += j["step_s"].get<double>();
  programs = 60.0 * 8 * 8;
  std::printf("code reward: steps 1-10 %.3f, steps 51-60 %.3f; scoring %.1f s of %.1f s of GRPO steps (%.0f%%), "
              "%.1f completions/s scored\n",
              first, last, score, step, 100 * score / step, programs / score);
  EXPECT_GT(last, first + 0.1);
  remove_tree(d);
}
