// The generation front end (rollout/policy.h): where a folder keeps its chat template and eos ids, how a question
// becomes prompt ids, and how sampled ids become text.
#include "core/check.h"
#include "core/io.h"
#include "data/prompts.h"
#include "rollout/policy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>

using namespace r1;
using json = nlohmann::json;

namespace {
const std::string kTmpl = "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
                          "{% if add_generation_prompt %}[assistant:{% endif %}";

// A byte-level tiny model folder; eos = <|endoftext|> (id 256), BOS given by the config when bos.
std::string tiny_folder(const std::string& name, bool bos) {
  std::string d = "/tmp/r1_policy_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<s>"});
  if (bos) tok.set_bos_id(tok.token_id("<s>"));
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 16, 1, 2, 1, 32, 64);
  c.eos_id = tok.eos_id();
  c.bos_id = bos ? tok.token_id("<s>") : -1;
  Model m(c);
  m.init_random(3, 0.05f);
  m.save(d);
  tok.save(d);
  return d;
}
}  // namespace

TEST(Policy, ChatTemplateFromEachPlaceTransformersKeepsIt) {
  const std::string d = tiny_folder("tmpl", false);
  std::string e;
  try {
    Policy::load({d, "", "", ""}, "chat", "", "eval");
  } catch (const Error& x) {
    e = x.what();
  }
  EXPECT_NE(e.find("eval: prompt_template chat: " + d + " has no chat template"), std::string::npos) << e;
  const std::string want = "[user:What is 2+2?][assistant:<think>";
  // tokenizer_config.json "chat_template" (and its special tokens as render defaults)
  json tc = json::parse(read_file(d + "/tokenizer_config.json"));
  tc["chat_template"] = kTmpl;
  atomic_write(d + "/tokenizer_config.json", tc.dump());
  EXPECT_EQ(Policy::load({d, "", "", ""}, "chat", "<think>", "t").prompt_text("What is 2+2?"), want);
  tc.erase("chat_template");
  atomic_write(d + "/tokenizer_config.json", tc.dump());
  // chat_template.json
  atomic_write(d + "/chat_template.json", json{{"chat_template", kTmpl}}.dump());
  EXPECT_EQ(Policy::load({d, "", "", ""}, "chat", "<think>", "t").prompt_text("What is 2+2?"), want);
  // chat_template.jinja wins over the others
  atomic_write(d + "/chat_template.jinja", "J:" + kTmpl);
  EXPECT_EQ(Policy::load({d, "", "", ""}, "chat", "<think>", "t").prompt_text("What is 2+2?"), "J:" + want);
  // a question template by name
  Policy p = Policy::load({d, "", "", ""}, "r1_zero_short", "", "t");
  EXPECT_EQ(p.prompt_text("Q?"), question_prompt("r1_zero_short", "Q?"));
  EXPECT_THROW(Policy::load({d, "", "", ""}, "r1-zero", "", "t"), Error);
  std::filesystem::remove_all(d);
}

TEST(Policy, EosFromConfigGenerationConfigAndTokenizer) {
  const std::string d = tiny_folder("eos", false);
  Policy p = Policy::load({d, "", "", ""}, "plain", "", "t");
  EXPECT_EQ(p.eos_ids(), (std::vector<int>{256}));
  atomic_write(d + "/generation_config.json", R"({"eos_token_id": [257, 256, 99999]})");  // out of V: dropped
  p = Policy::load({d, "", "", ""}, "plain", "", "t");
  EXPECT_EQ(p.eos_ids(), (std::vector<int>{256, 257}));
  atomic_write(d + "/generation_config.json", R"({"eos_token_id": "x"})");
  EXPECT_THROW(Policy::load({d, "", "", ""}, "plain", "", "t"), Error);
  atomic_write(d + "/generation_config.json", "{not json");
  EXPECT_THROW(Policy::load({d, "", "", ""}, "plain", "", "t"), Error);
  std::filesystem::remove_all(d);
}

TEST(Policy, PromptIdsAndCompletionText) {
  const std::string d = tiny_folder("ids", true);
  Policy p = Policy::load({d, "", "", ""}, "plain", "", "t");
  const int bos = p.tokenizer().token_id("<s>");
  EXPECT_EQ(p.encode_question("ab"), (std::vector<int>{bos, 'a', 'b'}));  // the config names the tokenizer's BOS
  EXPECT_EQ(p.encode_question("<s>ab"), (std::vector<int>{bos, 'a', 'b'}));  // not twice
  GenSample s;
  s.ids = {'h', 'i', 256};
  int n = 0;
  EXPECT_EQ(p.completion_text(s, &n), "hi");  // the ending eos is not text
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(p.finished(s, 256, 100));
  EXPECT_TRUE(p.finished(s, 'x', 3));
  EXPECT_FALSE(p.finished(s, 'x', 4));
  SamplingRecipe r{0.6f, 0.95f, 5, 17};
  GenConfig g = p.gen_config(r, 9, 4);
  EXPECT_FLOAT_EQ(g.sampling.temperature, 0.6f);
  EXPECT_FLOAT_EQ(g.sampling.top_p, 0.95f);
  EXPECT_EQ(g.sampling.top_k, 5);
  EXPECT_EQ(g.max_new_tokens, 17);
  EXPECT_EQ(g.seed, 9u);
  EXPECT_EQ(g.max_batch, 4);
  EXPECT_EQ(g.eos_ids, p.eos_ids());
  // the weights may come from another folder (a checkpoint) with the same config
  Policy q = Policy::load({d, "", d, ""}, "plain", "", "t");
  EXPECT_EQ(q.model().n_params, p.model().n_params);
  std::filesystem::remove_all(d);
}

TEST(SamplingRecipe, ChecksNameTheField) {
  SamplingRecipe r;
  r.top_p = 0;
  try {
    r.check("sample");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample: sampling.top_p must be in (0, 1]"), std::string::npos) << e.what();
  }
  r = SamplingRecipe{0.0f, 1.0f, 0, 8};
  EXPECT_THROW(r.check("sample"), Error);
  EXPECT_NO_THROW(r.check("eval", /*greedy_ok=*/true));
}
