// `r1 generate` end to end through the binary (R1_BIN, set by ctest): an ids-only Hugging Face folder reproduces
// PyTorch's greedy continuation, output lines carry the documented fields, and bad input gives one clear error.
#include "core/io.h"
#include "formats/safetensors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <sstream>

using namespace r1;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

struct CliRun {
  int rc;
  std::string out;
};

static CliRun run(const std::string& args) {
  const char* bin = std::getenv("R1_BIN");
  std::string cmd = std::string(bin) + " generate " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

static std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') v.push_back(nlohmann::json::parse(line));
  return v;
}

class GenerateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("R1_BIN")) GTEST_SKIP() << "R1_BIN is not set (run through ctest)";
  }
};

TEST_F(GenerateCli, IdsOnlyFolderReproducesPyTorchGreedy) {
  for (const char* name : {"model_llama", "model_qwen2", "model_qwen3"}) {
    std::string dir = fixture(name);
    SafeTensorsFile ref(dir + "/reference.safetensors");
    auto prompt = ref.read_i64("generate_prompt"), want = ref.read_i64("generate_tokens");
    int P = (int)ref.find("generate_prompt")->shape[1], G = (int)ref.find("generate_tokens")->shape[1];
    for (int row = 0; row < 2; row++) {
      std::string ids;
      for (int t = 0; t < P; t++) ids += std::to_string(prompt[(size_t)row * P + t]) + " ";
      CliRun r = run("--model " + dir + " --prompt-ids \"" + ids + "\" --temperature 0 --max-new-tokens " +
                  std::to_string(G));
      ASSERT_EQ(r.rc, 0) << r.out;
      auto lines = json_lines(r.out);
      ASSERT_EQ(lines.size(), 1u) << r.out;
      auto& j = lines[0];
      std::vector<int> got = j.at("completion_ids").template get<std::vector<int>>();
      std::vector<int> exp;
      for (int t = 0; t < G; t++) exp.push_back((int)want[(size_t)row * G + t]);
      EXPECT_EQ(got, exp) << name << " row " << row;
      EXPECT_TRUE(j.at("text").is_null());
      EXPECT_EQ(j.at("logprobs").size(), (size_t)G);
      EXPECT_EQ(j.at("prompt_index"), 0);
      EXPECT_EQ(j.at("sample_index"), 0);
      EXPECT_EQ(j.at("finish_reason"), "length");
    }
  }
}

TEST_F(GenerateCli, SamplesBosAndOutputFile) {
  std::string dir = fixture("model_qwen3");
  std::string out = std::string(R1_BINARY_DIR) + "/test_generate_cli_out.jsonl";
  std::remove(out.c_str());
  CliRun r = run("--model " + dir + " --prompt-ids \"5,9\" --add-bos -n 3 --max-new-tokens 7 --temperature 0.7 --top-k 10 "
              "--seed 5 --output " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto lines = json_lines(read_file(out));
  ASSERT_EQ(lines.size(), 3u);
  for (int s = 0; s < 3; s++) {
    EXPECT_EQ(lines[s].at("sample_index"), s);
    EXPECT_EQ(lines[s].at("completion_ids").size(), lines[s].at("logprobs").size());
  }
  // --add-bos prepends bos_token_id (1 in the fixture): same as giving it explicitly
  CliRun r2 = run("--model " + dir + " --prompt-ids \"1 5 9\" -n 3 --max-new-tokens 7 --temperature 0.7 --top-k 10 --seed 5");
  ASSERT_EQ(r2.rc, 0) << r2.out;
  auto l2 = json_lines(r2.out);
  ASSERT_EQ(l2.size(), 3u);
  for (int s = 0; s < 3; s++) EXPECT_EQ(l2[s].at("completion_ids"), lines[s].at("completion_ids"));
  std::remove(out.c_str());
}

TEST_F(GenerateCli, BadInputIsOneClearError) {
  std::string dir = fixture("model_llama");
  auto expect_err = [&](const std::string& args, const std::string& needle) {
    CliRun r = run(args);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_NE(r.out.find(needle), std::string::npos) << args << "\n" << r.out;
  };
  expect_err("--model " + dir + " --prompt hello", "need a tokenizer");
  expect_err("--model " + dir + " --prompt-ids \"1 x\"", "'x' is not an integer token id");
  expect_err("--model " + dir + " --prompt-ids \"1 99\"", "outside the vocabulary");
  expect_err("--model " + dir, "exactly one of");
  expect_err("--model " + dir + " --prompt-ids 1 --kv-memory-mb 0.001", "KV cache needs");
  std::string bad = std::string(R1_BINARY_DIR) + "/test_generate_cli_bad.jsonl";
  atomic_write(bad, "{\"prompt_ids\": [1, 2]}\n{oops\n");
  expect_err("--model " + dir + " --prompts " + bad, "test_generate_cli_bad.jsonl:2");
  atomic_write(bad, "{\"text\": \"x\"}\n");
  expect_err("--model " + dir + " --prompts " + bad, "test_generate_cli_bad.jsonl:1: expected a string field");
  std::remove(bad.c_str());
  expect_err("--model /nonexistent --prompt-ids 1", "/nonexistent");
}
