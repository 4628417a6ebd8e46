// A miniature of the main job (recipes/r1_zero_demo.yaml) in about a minute: pretrain a very small base on the
// built-in corpus, run R1-Zero GRPO from it (accuracy + format rewards, no SFT), and check the direction of the
// effect against the starting point: the format rate and accuracy rise over the run, both on the held-out
// evaluation (before = the base stage, after = the rl stage; the same problems and protocol) and in the training
// samples (first steps vs last steps).
#include "core/io.h"
#include "train/checkpoint_dir.h"
#include "../train/spawn_r1.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

TEST(R1ZeroMini, AccuracyAndFormatRiseOverTheRun) {
  const std::string d = "/tmp/r1_zero_mini_" + std::to_string(::getpid());
  remove_tree(d);
  make_dirs(d);
  const std::string src = R1_SOURCE_DIR;
  // sums of three numbers in 0..4 (125 in all; 60 drawn for training, the unseen ones held out): small enough
  // that a base trained for half a minute knows the steps
  const std::string tc = "{n: 60, min_operands: 3, max_operands: 3, max_value: 4, p_minus: 0.0}";
  const std::string recipe = d + "/mini.yaml";
  atomic_write(recipe,
               "out: " + d + "/run\n"
               "eval: {task: arithmetic, task_config: " + tc + ", split: test, data_seed: 1,\n"
               "       prompt_template: r1_zero_short, k: 4, pass_k: [1], limit: 64,\n"
               "       sampling: {temperature: 0.6, top_p: 0.95, max_new_tokens: 64}, greedy: false, save_text: false}\n"
               "stages:\n"
               "  - name: base\n"
               "    command: pretrain\n"
               "    config: " + src + "/recipes/pretrain_tiny.yaml\n"
               "    set: {steps: 700, corpus_docs: 40000, seq: 256, batch: 8, eval_every: 0, ckpt_every: 0,\n"
               "          corpus_max_operands: 3, corpus_max_value: 4,\n"
               "          model: {hidden: 128, layers: 2, heads: 4, kv_heads: 2, ffn: 384, max_pos: 256}}\n"
               "  - name: rl\n"
               "    command: grpo\n"
               "    config: " + src + "/recipes/r1_zero_tiny.yaml\n"
               "    set: {model: \"${base.model}\", steps: 40, task_config: " + tc + ", eval_every: 0,\n"
               "          eval_problems: 16, ckpt_every: 0, sampling: {max_new_tokens: 64}}\n");
  pid_t pid = spawn_r1({"pipeline", "--config", recipe}, d + "/log.txt");
  ASSERT_EQ(wait_exit(pid), 0) << read_file(d + "/log.txt");
  json p = json::parse(read_file(d + "/run/pipeline.json"));
  ASSERT_TRUE(p["complete"].get<bool>());
  const json before = p["stages"][0]["eval"], after = p["stages"][1]["eval"];
  std::printf("before: %s\nafter:  %s\n", before.dump().c_str(), after.dump().c_str());
  EXPECT_GT(after["format_rate"].get<double>(), before["format_rate"].get<double>() + 0.2);
  EXPECT_GT(after["pass@1"].get<double>(), before["pass@1"].get<double>() + 0.05);

  // the training samples: the last five steps against the first five
  std::vector<json> m;
  std::istringstream in(read_file(d + "/run/rl/metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      json j = json::parse(line);
      if (j.contains("reward_mean")) m.push_back(j);
    }
  ASSERT_EQ(m.size(), 40u);
  auto avg = [&](const char* key, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; i++) s += m[i][key].get<double>();
    return s / double(to - from);
  };
  EXPECT_GT(avg("format_rate", 35, 40), avg("format_rate", 0, 5) + 0.2);
  EXPECT_GT(avg("accuracy", 35, 40), avg("accuracy", 0, 5));
  remove_tree(d);
}
