// Rejection sampling: hand-made completions are kept or dropped exactly as the filter rules say; the end-to-end
// command accounts for every sample and writes SFT-ready rows.
#include "core/check.h"
#include "core/io.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "rollout/sample.h"
#include "train/sft.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

static Candidate cand(const std::string& text, bool correct = true, long tokens = 20, bool truncated = false) {
  return Candidate{text, correct, tokens, truncated};
}

static const std::string kGood = "<think> three plus four makes seven </think> <answer>7</answer>";

TEST(RejectionFilter, EachRuleDropsWhatItShould) {
  RejectionFilter f;
  f.max_tokens = 100;
  EXPECT_EQ(rejection_reason(cand(kGood), f), "");
  EXPECT_EQ(rejection_reason(cand(kGood, true, 20, true), f), "truncated");
  EXPECT_EQ(rejection_reason(cand(kGood, true, 101), f), "overlong");
  EXPECT_EQ(rejection_reason(cand(kGood, true, 100), f), "");  // the limit itself is allowed
  EXPECT_EQ(rejection_reason(cand(kGood, false), f), "incorrect");
  EXPECT_EQ(rejection_reason(cand("The answer is 7. <answer>7</answer>"), f), "format");
  EXPECT_EQ(rejection_reason(cand("<think> 三 加 四 等于 七 so seven </think> <answer>7</answer>"), f), "mixed_language");
  // A chain of thought of numbers and symbols has no words: nothing to mix.
  EXPECT_EQ(rejection_reason(cand("<think> 3+4=7 </think> <answer>7</answer>"), f), "");
  EXPECT_EQ(rejection_reason(cand("<think> compute ```python\nprint(3+4)\n``` gives seven </think> <answer>7</answer>"), f),
            "code_block");
  EXPECT_EQ(rejection_reason(cand("<think> add the numbers add the numbers add the numbers add the numbers add the "
                                  "numbers </think> <answer>7</answer>"), f),
            "repetition");  // 13 trigrams, 3 distinct: 1 - 3/13 = 0.77 > 0.3
  // The answer after the think block is not part of the chain of thought.
  EXPECT_EQ(rejection_reason(cand("<think> three plus four makes seven </think> <answer>七</answer>"), f), "");
}

TEST(RejectionFilter, OrderOfChecksAndSwitches) {
  RejectionFilter f;
  const std::string code = "<think> compute ```python\nprint(3+4)\n``` gives seven </think> <answer>7</answer>";
  EXPECT_EQ(rejection_reason(cand(code, false, 20, true), f), "truncated");  // first failing check wins
  EXPECT_EQ(rejection_reason(cand(code, false), f), "incorrect");
  f.allow_code = true;
  EXPECT_EQ(rejection_reason(cand(code), f), "");
  f.require_format = false;
  EXPECT_EQ(rejection_reason(cand("The answer is 7."), f), "");
  f.min_language = 0;
  EXPECT_EQ(rejection_reason(cand("<think> 三 加 四 等于 七 so seven </think> <answer>7</answer>"), f), "");
  f.max_repetition = 1.0;
  EXPECT_EQ(rejection_reason(cand("<think> go go go go go go go go </think> <answer>7</answer>"), f), "");
  // The think prefix (the prompt opened <think>) is part of the completion for every check.
  RejectionFilter g;
  EXPECT_EQ(rejection_reason(cand(" three plus four makes seven </think> <answer>7</answer>"), g, "<think>"), "");
  EXPECT_EQ(rejection_reason(cand(" three plus four makes seven </think> <answer>7</answer>"), g), "format");
}

TEST(RejectionFilter, DedupeAndQuotaPerPrompt) {
  RejectionFilter f;
  const std::string other = "<think> four plus three is seven </think> <answer>7</answer>";
  std::vector<Candidate> c = {cand(kGood), cand(kGood, false), cand(kGood), cand(other), cand(other)};
  EXPECT_EQ(select_for_prompt(c, f), (std::vector<std::string>{"", "incorrect", "duplicate", "", "duplicate"}));
  f.max_per_prompt = 1;
  EXPECT_EQ(select_for_prompt(c, f), (std::vector<std::string>{"", "incorrect", "duplicate", "quota", "quota"}));
  f.dedupe = false;
  f.max_per_prompt = 0;
  EXPECT_EQ(select_for_prompt(c, f), (std::vector<std::string>{"", "incorrect", "", "", ""}));
}

TEST(Sample, EndToEndAccountsForEverySample) {
  std::string d = "/tmp/r1_sample_test_" + std::to_string(::getpid());
  remove_tree(d);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig mc = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, 512);
  mc.eos_id = tok.eos_id();
  Model m(mc);
  m.init_random(5, 0.05f);
  m.save(d + "/model");
  tok.save(d + "/model");
  SampleConfig c;
  c.model = d + "/model";
  c.limit = 4;
  c.k = 4;
  c.sampling.max_new_tokens = 16;
  c.output = d + "/out/traces.jsonl";
  // Keep everything that finished (no correctness or format needed) to see rows written.
  json st = run_sample(c);
  long dropped = 0;
  for (const auto& [r, n] : st["dropped"].items()) dropped += n.get<long>();
  EXPECT_EQ(st["kept"].get<long>() + dropped, 16);
  EXPECT_EQ(st["samples"].get<long>(), 16);
  EXPECT_TRUE(file_exists(d + "/out/traces.stats.json"));
  EXPECT_EQ(json::parse(read_file(d + "/out/traces.stats.json")), st);
  // Bad configuration: one clear error each.
  SampleConfig bad = c;
  bad.filter.language = "klingon";
  EXPECT_THROW(run_sample(bad), Error);
  bad = c;
  bad.output_format = "csv";
  EXPECT_THROW(run_sample(bad), Error);
  bad = c;
  bad.prompt_template = "fancy";
  EXPECT_THROW(run_sample(bad), Error);
  bad = c;
  bad.task = d + "/missing.jsonl";
  EXPECT_THROW(run_sample(bad), Error);
  remove_tree(d);
}

// sft -> sample -> rows that sft reads: a model fine-tuned on one verified trace reproduces it, and sampling
// keeps those completions as prompt/completion rows.
TEST(Sample, KeepsVerifiedTracesOfAFineTunedModel) {
  std::string d = "/tmp/r1_sample_test_sft_" + std::to_string(::getpid());
  remove_tree(d);
  make_dirs(d);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig mc = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 64, 2, 4, 2, 128, 512);
  mc.eos_id = tok.eos_id();
  Model m(mc);
  m.init_random(5, 0.05f);
  m.save(d + "/base");
  tok.save(d + "/base");
  const std::string trace = "<think> two and three make five </think> <answer>5</answer>";
  std::string data, probs;
  for (const char* q : {"What is 2+3?", "What is 1+4?", "What is 0+5?", "What is 3+2?"}) {
    data += json{{"prompt", q}, {"completion", trace}}.dump() + "\n";
    probs += json{{"prompt", q}, {"answer", "5"}}.dump() + "\n";
  }
  atomic_write(d + "/sft.jsonl", data);
  atomic_write(d + "/probs.jsonl", probs);
  SftConfig s;
  s.model = d + "/base";
  s.data = d + "/sft.jsonl";
  s.out = d + "/sft";
  s.prompt_template = "plain";  // short rows keep the test fast
  s.seq = 96;
  s.batch = 4;
  s.epochs = 60;
  s.eval_fraction = 0;
  s.ckpt_every = 0;
  s.log_every = 100;
  s.optim.lr = 1e-2f;
  s.optim.weight_decay = 0;
  run_sft(s);

  SampleConfig c;
  c.model = d + "/sft/model";
  c.task = d + "/probs.jsonl";
  c.prompt_template = "plain";
  c.k = 4;
  c.sampling.max_new_tokens = 80;
  c.output = d + "/traces.jsonl";
  json st = run_sample(c);
  EXPECT_GT(st["kept"].get<long>(), 0) << st.dump();
  EXPECT_GT(st["dropped"].value("duplicate", 0L), 0) << st.dump();  // the same trace sampled twice for a prompt
  std::istringstream in(read_file(c.output));
  std::string line;
  long rows = 0;
  while (std::getline(in, line)) {
    json r = json::parse(line);
    EXPECT_EQ(r["completion"], trace);
    EXPECT_EQ(r["gold"], "5");
    SftExample e = encode_sft_row(r, tok, nullptr, "plain", -1, "row");  // SFT-ready
    long scored = 0;
    for (auto l : e.loss) scored += l;
    EXPECT_EQ(scored, (long)tok.encode(trace).size() + 1);  // the trace and the eos
    EXPECT_EQ(e.ids.size(), tok.encode(r["prompt"].get<std::string>()).size() + scored);
    rows++;
  }
  EXPECT_EQ(rows, st["kept"].get<long>());
  remove_tree(d);
}

TEST(Sample, CliSampleThenSft) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin) GTEST_SKIP() << "R1_BIN not set (run through ctest to test the CLI)";
  std::string d = "/tmp/r1_sample_cli_" + std::to_string(::getpid());
  remove_tree(d);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"});
  ModelConfig mc = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, 512);
  mc.eos_id = tok.eos_id();
  Model m(mc);
  m.init_random(5, 0.05f);
  m.save(d + "/model");
  tok.save(d + "/model");
  std::string cmd = std::string(bin) + " sample model=" + d + "/model limit=2 k=2 sampling.max_new_tokens=8 output=" + d +
                    "/t.jsonl 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_TRUE(file_exists(d + "/t.stats.json"));
  atomic_write(d + "/sft.jsonl", "{\"prompt\": \"1+1=\", \"completion\": \"2\"}\n{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n");
  cmd = std::string(bin) + " sft --config " + std::string(R1_SOURCE_DIR) + "/recipes/sft_tiny.yaml model=" + d +
        "/model data=" + d + "/sft.jsonl out=" + d + "/run seq=64 epochs=1 prompt_template=plain > " + d + "/sft.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << read_file(d + "/sft.log");
  EXPECT_TRUE(file_exists(d + "/run/model/model.safetensors"));
  EXPECT_NE(std::system((std::string(bin) + " sample model=" + d + "/model no_such_field=1 2>/dev/null").c_str()), 0);
  EXPECT_NE(std::system((std::string(bin) + " sft model=" + d + "/model 2>/dev/null").c_str()), 0);  // no data
  remove_tree(d);
}
