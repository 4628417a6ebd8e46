// SFT: packing and the masked loss/gradients against PyTorch (tools/torch_ref/gen_sft_fixture.py), the loss masks
// of both data forms, bad input, loss falling on a tiny run, and exact resume after a stop.
#include "core/check.h"
#include "core/io.h"
#include "formats/safetensors.h"
#include "model/transformer.h"
#include "rollout/policy.h"
#include "tokenizer/chat_template.h"
#include "train/grpo.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/sft.h"

#include "../tiny_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

static std::string fixture(const std::string& n) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + n; }
static std::string tmp(const std::string& tag) {
  std::string d = "/tmp/r1_sft_test_" + std::to_string(::getpid()) + "_" + tag;
  remove_tree(d);
  make_dirs(d);
  return d;
}

static std::vector<SftExample> fixture_examples(const SafeTensorsFile& f) {
  auto ids = f.read_i64("ex_ids"), learn = f.read_i64("ex_learn"), len = f.read_i64("ex_len");
  std::vector<SftExample> ex;
  size_t o = 0;
  for (auto n : len) {
    SftExample e;
    for (long j = 0; j < n; j++, o++) {
      e.ids.push_back((int)ids[o]);
      e.loss.push_back((uint8_t)learn[o]);
    }
    ex.push_back(e);
  }
  return ex;
}

TEST(Sft, PackedBatchLossAndGradientsMatchTorch) {
  SafeTensorsFile f(fixture("sft/llama_packed.safetensors"));
  const int seq = std::stoi(f.metadata().at("seq")), pad = std::stoi(f.metadata().at("pad"));
  PackedRows p = pack_examples(fixture_examples(f), seq, true, pad);
  std::vector<int> want_ids, want_tg;
  for (auto v : f.read_i64("ids")) want_ids.push_back((int)v);
  for (auto v : f.read_i64("targets")) want_tg.push_back((int)v);
  ASSERT_EQ(p.rows, 4);
  EXPECT_EQ(p.truncated, 1);
  EXPECT_EQ(p.dropped, 1);
  ASSERT_EQ(p.ids, want_ids);
  ASSERT_EQ(p.targets, want_tg);

  Model m = Model::load(fixture("model_llama"));
  float loss = m.cross_entropy_step(p.ids.data(), p.targets.data(), (int)p.rows, seq, true);
  EXPECT_NEAR(loss, f.read_f32("loss")[0], 2e-5 * std::fabs(f.read_f32("loss")[0]));
  int compared = 0;
  for (const auto& s : m.specs) {
    auto want = f.read_f32("grad." + s.name);
    ASSERT_EQ(want.size(), s.numel) << s.name;
    double scale = 0;
    for (float w : want) scale = std::max(scale, (double)std::fabs(w));
    const float* g = m.grads() + s.offset;
    for (size_t i = 0; i < s.numel; i++)
      ASSERT_NEAR(g[i], want[i], 1e-4 * scale + 1e-7) << s.name << "[" << i << "]";
    compared++;
  }
  EXPECT_EQ(compared, (int)m.specs.size());
  // A wrong mask must be caught: scoring one more position changes the loss.
  std::vector<int> tg2 = p.targets;
  for (auto& t : tg2)
    if (t < 0) {
      t = 5;
      break;
    }
  float loss2 = m.cross_entropy_step(p.ids.data(), tg2.data(), (int)p.rows, seq, false);
  EXPECT_GT(std::fabs(loss2 - loss), 1e-4);
}

TEST(Sft, OneExamplePerRowWithoutPacking) {
  SftExample a{{10, 11, 12}, {0, 1, 1}}, b{{20, 21}, {0, 1}}, c{{30, 31}, {0, 0}};
  PackedRows p = pack_examples({a, b, c}, 4, false, 0);
  ASSERT_EQ(p.rows, 2);
  EXPECT_EQ(p.dropped, 1);
  EXPECT_EQ(p.ids, (std::vector<int>{10, 11, 0, 0, 20, 0, 0, 0}));
  EXPECT_EQ(p.targets, (std::vector<int>{11, 12, -1, -1, 21, -1, -1, -1}));
  PackedRows q = pack_examples({a, b}, 4, true, 0);
  ASSERT_EQ(q.rows, 1);
  EXPECT_EQ(q.ids, (std::vector<int>{10, 11, 20, 0}));
  EXPECT_EQ(q.targets, (std::vector<int>{11, 12, 21, -1}));
}

static const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"};

TEST(Sft, LossMasksOfBothDataForms) {
  Tokenizer tok = Tokenizer::byte_level(kSpecials);
  const int U = tok.token_id("<|user|>"), A = tok.token_id("<|assistant|>"), E = tok.token_id("<|end|>");
  // prompt/completion: prompt unscored, completion and eos scored
  SftExample e = encode_sft_row(json{{"prompt", "ab"}, {"completion", "c"}}, tok, nullptr, "plain", -1, "x:1");
  EXPECT_EQ(e.ids, (std::vector<int>{'a', 'b', 'c', tok.eos_id()}));
  EXPECT_EQ(e.loss, (std::vector<uint8_t>{0, 0, 1, 1}));
  // messages: only assistant turns (with their closing token) are scored, not the generation prompt
  ChatTemplate chat = ChatTemplate::from_string(
      "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
      "{% if add_generation_prompt %}<|assistant|>{% endif %}");
  json msgs = {{{"role", "user"}, {"content", "q"}}, {{"role", "assistant"}, {"content", "r"}},
               {{"role", "user"}, {"content", "s"}}, {{"role", "assistant"}, {"content", "t"}}};
  SftExample m = encode_sft_row(json{{"messages", msgs}}, tok, &chat, "plain", -1, "x:2");
  EXPECT_EQ(m.ids, (std::vector<int>{U, 'q', E, A, 'r', E, U, 's', E, A, 't', E}));
  EXPECT_EQ(m.loss, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1}));
  // bad rows: one clear error each
  EXPECT_THROW(encode_sft_row(json{{"prompt", "a"}}, tok, nullptr, "plain", -1, "x:3"), Error);
  EXPECT_THROW(encode_sft_row(json{{"messages", msgs}}, tok, nullptr, "plain", -1, "x:4"), Error);
  EXPECT_THROW(encode_sft_row(json{{"messages", json::array({msgs[0]})}}, tok, &chat, "plain", -1, "x:5"), Error);
  EXPECT_THROW(encode_sft_row(json::array(), tok, nullptr, "plain", -1, "x:6"), Error);
  try {
    encode_sft_row(json{{"prompt", 3}, {"completion", "c"}}, tok, nullptr, "plain", -1, "data.jsonl:7");
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("data.jsonl:7"), std::string::npos) << err.what();
  }
}

static std::string tiny_model(const std::string& dir) { return test::save_tiny_qwen2(dir, kSpecials, 128, 11, 0.05f); }

static std::string tiny_data(const std::string& dir) {
  std::string s;
  for (int i = 0; i < 60; i++) {
    int a = i % 10, b = (i * 7) % 10;
    s += json{{"prompt", std::to_string(a) + "+" + std::to_string(b) + "="}, {"completion", std::to_string(a + b)}}.dump() + "\n";
  }
  std::string p = dir + "/data.jsonl";
  atomic_write(p, s);
  return p;
}

static std::vector<json> lines(const std::string& path) {
  std::vector<json> v;
  std::istringstream in(read_file(path));
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

static SftConfig tiny_cfg(const std::string& d) {
  SftConfig c;
  c.model = tiny_model(d + "/init");
  c.data = tiny_data(d);
  c.out = d + "/run";
  c.seq = 32;
  c.batch = 4;
  c.epochs = 6;
  c.eval_fraction = 0.2;
  c.eval_every = 0;
  c.ckpt_every = 0;
  c.optim.lr = 1e-2f;
  c.optim.warmup_steps = 2;
  return c;
}

TEST(Sft, TinyRunLearnsAndResumesExactly) {
  std::string d = tmp("run");
  SftConfig c = tiny_cfg(d);
  SftSummary s = run_sft(c);
  EXPECT_GT(s.steps, 10);
  ASSERT_GT(s.first_eval_loss, 0);
  EXPECT_LT(s.last_eval_loss, s.first_eval_loss - 0.5) << "eval loss " << s.first_eval_loss << " -> " << s.last_eval_loss;
  EXPECT_TRUE(file_exists(c.out + "/model/model.safetensors"));
  auto full = lines(c.out + "/metrics.jsonl");

  // Stop at step 5 (checkpoint), then resume: the metrics must equal the uninterrupted run's.
  SftConfig r = c;
  r.out = d + "/run2";
  r.stop_after = 5;
  run_sft(r);
  r.stop_after = 0;
  run_sft(r);
  auto resumed = lines(r.out + "/metrics.jsonl");
  ASSERT_EQ(resumed.size(), full.size());
  for (size_t i = 0; i < full.size(); i++) {
    EXPECT_EQ(resumed[i]["step"], full[i]["step"]);
    EXPECT_EQ(resumed[i]["loss"], full[i]["loss"]) << "line " << i;
    EXPECT_EQ(resumed[i].value("eval_loss", -1.0), full[i].value("eval_loss", -1.0)) << "line " << i;
  }

  // Bad configuration and data: one clear error each.
  SftConfig bad = c;
  bad.out = d + "/bad";
  bad.data = d + "/missing.jsonl";
  EXPECT_THROW(run_sft(bad), Error);
  atomic_write(d + "/broken.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{not json\n");
  bad.data = d + "/broken.jsonl";
  try {
    run_sft(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.jsonl:2"), std::string::npos) << e.what();
  }
  bad = c;
  bad.out = d + "/bad2";
  bad.seq = 100000;
  EXPECT_THROW(run_sft(bad), Error);
  bad.seq = 32;
  bad.prompt_template = "weird";
  EXPECT_THROW(run_sft(bad), Error);
  remove_tree(d);
}

// SFT with LoRA: the held-out loss falls with the base frozen; a checkpoint holds the adapters and their optimizer
// state only; stop/resume is exact; the output is adapter/ (PEFT) and model/ (merged, what r1 merge-lora writes).
TEST(Sft, LoraRunLearnsResumesExactlyAndMerges) {
  std::string d = tmp("lora");
  SftConfig c = tiny_cfg(d);
  c.lora.r = 8;
  c.lora.alpha = 16;
  c.optim.lr = 3e-2f;
  SftSummary s = run_sft(c);
  ASSERT_GT(s.first_eval_loss, 0);
  EXPECT_LT(s.last_eval_loss, s.first_eval_loss - 0.5) << "eval loss " << s.first_eval_loss << " -> " << s.last_eval_loss;
  const std::string ck = find_checkpoint_dir(c.out);
  EXPECT_TRUE(file_exists(ck + "/adapter/adapter_model.safetensors"));
  EXPECT_FALSE(file_exists(ck + "/model.safetensors"));
  SafeTensorsFile opt(ck + "/optimizer.safetensors");
  size_t opt_floats = 0;
  for (const auto& t : opt.tensors()) opt_floats += (size_t)t.numel();
  Model base = Model::load(c.model);
  Lora ad = Lora::load(c.out + "/adapter", base.cfg);
  EXPECT_LE(opt_floats, 2 * ad.n + 16) << "the optimizer state covers the adapters only";
  // merged output == base + adapter, and == r1 merge-lora's
  Model merged = Model::load(c.out + "/model");
  Model with = Model::load(c.model);
  with.attach_lora(std::move(ad));
  std::vector<int> ids = {5, 9, 12, 40, 41, 42, 60, 7}, tg = {9, 12, 40, 41, 42, 60, 7, 3};
  merged.forward(ids.data(), tg.data(), 1, 8);
  with.forward(ids.data(), tg.data(), 1, 8);
  for (int i = 0; i < 8; i++) EXPECT_NEAR(merged.act().lp[i], with.act().lp[i], 1e-5) << i;
  EXPECT_NE(read_file(c.out + "/model/model.safetensors"), read_file(c.model + "/model.safetensors"));

  SftConfig r = c;
  r.out = d + "/run2";
  r.stop_after = 5;
  run_sft(r);
  r.stop_after = 0;
  run_sft(r);
  auto full = lines(c.out + "/metrics.jsonl"), resumed = lines(r.out + "/metrics.jsonl");
  ASSERT_EQ(resumed.size(), full.size());
  for (size_t i = 0; i < full.size(); i++) EXPECT_EQ(resumed[i]["loss"], full[i]["loss"]) << "line " << i;
  EXPECT_EQ(read_file(c.out + "/adapter/adapter_model.safetensors"), read_file(r.out + "/adapter/adapter_model.safetensors"));
  remove_tree(d);
}

// A model whose chat template lives in tokenizer_config.json (as Hugging Face ships many): `r1 sft` writes the
// template with its output the way transformers' save_pretrained does (chat_template.jinja), so that
// `prompt_template: chat` works on it (issue 14: the front ends read the template only from tokenizer_config.json).
TEST(Sft, OutputWorksWithPromptTemplateChat) {
  std::string d = tmp("chat");
  SftConfig c = tiny_cfg(d);
  const std::string tmpl = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
                           "{% if add_generation_prompt %}<|assistant|>{% endif %}";
  json tc = json::parse(read_file(c.model + "/tokenizer_config.json"));
  tc["chat_template"] = tmpl;
  atomic_write(c.model + "/tokenizer_config.json", tc.dump(2));
  std::string rows;
  for (int i = 0; i < 8; i++)
    rows += json{{"messages", {{{"role", "user"}, {"content", "q" + std::to_string(i)}},
                               {{"role", "assistant"}, {"content", "r" + std::to_string(i)}}}}}.dump() + "\n";
  atomic_write(d + "/msgs.jsonl", rows);
  c.data = d + "/msgs.jsonl";
  c.prompt_template = "chat";
  c.epochs = 1;
  c.eval_fraction = 0;
  run_sft(c);
  const std::string out = c.out + "/model";
  EXPECT_EQ(read_file(out + "/chat_template.jinja"), tmpl);
  EXPECT_EQ(Tokenizer::load(out).chat_template(), tmpl);
  Policy pol = Policy::load({out, "", "", ""}, "chat", "", "test");
  EXPECT_EQ(pol.prompt_text("hi"), "<|user|>hi<|end|><|assistant|>");
  // and a GRPO step under the chat template runs on it
  GrpoRecipe g;
  g.model = out;
  g.out = d + "/grpo";
  g.prompt_template = "chat";
  g.steps = 1;
  g.group_size = 2;
  g.prompts_per_step = 1;
  g.sampling.max_new_tokens = 4;
  g.eval_problems = 2;
  g.ckpt_every = 0;
  EXPECT_EQ(run_grpo(g).steps_run, 1);
  EXPECT_EQ(read_file(g.out + "/model/chat_template.jinja"), tmpl);  // GRPO keeps it too
  remove_tree(d);
}

TEST(Sft, ShippedRecipesParse) {
  for (const char* name : {"sft_tiny.yaml"}) {
    SftConfig c;
    OptionSet o;
    c.declare(o);
    EXPECT_NO_THROW(o.load_yaml(std::string(R1_SOURCE_DIR) + "/recipes/" + name)) << name;
    EXPECT_FALSE(c.data.empty()) << name;
  }
  SftConfig c;
  OptionSet o;
  c.declare(o);
  EXPECT_THROW(o.apply_overrides({"no_such_field=1"}), Error);
}

// Real chat templates (../shared/refs/chat_templates): the assistant turn is scored, the prompt is not, and the
// scored text is exactly the reply plus the template's closing text.
TEST(Sft, RealChatTemplatesScoreOnlyTheReply) {
  const std::string dir = "../shared/refs/chat_templates/";
  if (!file_exists(dir)) GTEST_SKIP() << dir << " absent (read-only shared data)";
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>"});
  int tested = 0;
  for (const char* name : {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja",
                           "Qwen-Qwen3-0.6B.jinja", "Qwen-QwQ-32B.jinja"}) {
    if (!file_exists(dir + name)) continue;
    ChatTemplate chat = ChatTemplate::from_file(dir + name);
    json msgs = {{{"role", "user"}, {"content", "What is 2+3?"}}, {{"role", "assistant"}, {"content", "It is 5."}}};
    SftExample e = encode_sft_row(json{{"messages", msgs}}, tok, &chat, "plain", -1, name);
    std::string scored, all;
    for (size_t j = 0; j < e.ids.size(); j++) {
      std::string t = tok.decode({e.ids[j]});
      all += t;
      if (e.loss[j]) scored += t;
    }
    EXPECT_EQ(all, chat.render(msgs, false)) << name;
    EXPECT_NE(scored.find("It is 5."), std::string::npos) << name << ": scored '" << scored << "'";
    EXPECT_EQ(scored.find("2+3"), std::string::npos) << name << ": scored '" << scored << "'";
    // two exchanges: both replies scored, neither question
    json two = msgs;
    two.push_back({{"role", "user"}, {"content", "And 4+4?"}});
    two.push_back({{"role", "assistant"}, {"content", "It is 8."}});
    SftExample e2 = encode_sft_row(json{{"messages", two}}, tok, &chat, "plain", -1, name);
    std::string scored2;
    for (size_t j = 0; j < e2.ids.size(); j++)
      if (e2.loss[j]) scored2 += tok.decode({e2.ids[j]});
    EXPECT_NE(scored2.find("It is 5."), std::string::npos) << name << ": scored '" << scored2 << "'";
    EXPECT_NE(scored2.find("It is 8."), std::string::npos) << name << ": scored '" << scored2 << "'";
    EXPECT_EQ(scored2.find("4+4"), std::string::npos) << name << ": scored '" << scored2 << "'";
    // the closing text of each turn is learned too (the model must learn to stop)
    EXPECT_GT(scored2.size(), std::string("It is 5.It is 8.").size() + 4) << name << ": scored '" << scored2 << "'";
    if (std::getenv("R1_SFT_SHOW")) std::printf("%s: [%s]\n", name, scored2.c_str());
    tested++;
  }
  EXPECT_EQ(tested, 4);
}
