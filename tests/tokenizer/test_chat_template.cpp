// Chat templates: renderings must equal Jinja2's character for character.
// Expected strings come from tools/gen_chat_fixtures.py (Debian's python3-jinja2 configured as transformers
// configures it); the four model templates are read from ../shared/refs/chat_templates/ at test time.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "core/check.h"
#include "core/io.h"

using namespace r1;
using ojson = nlohmann::ordered_json;

namespace {

const std::string kRoot = R1_SOURCE_DIR;
const std::string kShared = kRoot + "/../shared";
const std::string kTemplates = kShared + "/refs/chat_templates";

const ojson& fixtures() {
  static const ojson doc = ojson::parse(read_file(kRoot + "/tests/fixtures/chat_templates/cases.json"));
  return doc;
}

// Message of the r1::Error thrown by f, or "" when nothing is thrown.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string tmp_path(const std::string& name) {
  return "/tmp/r1_chat_test_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST(ChatTemplate, FeatureTemplatesMatchJinja) {
  const ojson& doc = fixtures();
  ASSERT_GE(doc["features"].size(), 60u);
  int checked = 0;
  for (const auto& f : doc["features"]) {
    std::string src = f["source"].get<std::string>();
    SCOPED_TRACE("template: " + src);
    if (f.value("error", false)) {
      std::string err = error_of([&] {
        ChatTemplate::from_string(src, "feature.jinja").render(doc["feature_messages"], false, doc["feature_context"]);
      });
      EXPECT_NE(err, "") << "Jinja fails here (" << f["jinja_error"].get<std::string>() << ") but we did not";
      EXPECT_EQ(err.rfind("feature.jinja:", 0), 0u) << err;
    } else {
      std::string got;
      std::string err = error_of([&] {
        got = ChatTemplate::from_string(src, "feature.jinja").render(doc["feature_messages"], false,
                                                                      doc["feature_context"]);
      });
      EXPECT_EQ(err, "");
      EXPECT_EQ(got, f["expected"].get<std::string>());
    }
    checked++;
  }
  EXPECT_EQ(checked, int(doc["features"].size()));
}

TEST(ChatTemplate, ModelTemplatesMatchJinja) {
  if (!is_directory(kTemplates)) GTEST_SKIP() << "shared data absent: " << kTemplates << " (chat templates)";
  const ojson& doc = fixtures();
  std::map<std::string, ChatTemplate> loaded;
  for (auto it = doc["templates"].begin(); it != doc["templates"].end(); ++it)
    loaded.emplace(it.key(), ChatTemplate::from_file(kTemplates + "/" + it.value().get<std::string>()));
  ASSERT_EQ(loaded.size(), 4u);
  size_t n = 0;
  for (const auto& c : doc["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ChatTemplate& t = loaded.at(c["template"].get<std::string>());
    std::string got = t.render(c["messages"], c["add_generation_prompt"].get<bool>(), c["extra_context"]);
    EXPECT_EQ(got, c["expected"].get<std::string>());
    n++;
  }
  EXPECT_GE(n, 70u);
}

// Hand-written from reading the Qwen3 template: earlier assistant turns lose their <think> block, the final
// assistant turn after the last user query keeps it, and enable_thinking=false pre-fills an empty think block.
TEST(ChatTemplate, Qwen3ChatRendersExactly) {
  std::string path = kTemplates + "/Qwen-Qwen3-0.6B.jinja";
  if (!file_exists(path)) GTEST_SKIP() << "shared data absent: " << path;
  ChatTemplate t = ChatTemplate::from_file(path);
  std::vector<ChatMessage> chat = {
      {"system", "Be brief.", nullptr},
      {"user", "1+1?", nullptr},
      {"assistant", "<think>\nadd\n</think>\n\n2", nullptr},
      {"user", "2+2?", nullptr},
  };
  EXPECT_EQ(t.render(chat, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\n1+1?<|im_end|>\n"
            "<|im_start|>assistant\n2<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(t.render(chat, true, ojson{{"enable_thinking", false}}),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\n1+1?<|im_end|>\n"
            "<|im_start|>assistant\n2<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  chat.push_back({"assistant", "4", nlohmann::json{{"reasoning_content", "\ntwo plus two\n"}}});
  EXPECT_EQ(t.render(chat, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\n1+1?<|im_end|>\n"
            "<|im_start|>assistant\n2<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\ntwo plus two\n</think>\n\n4<|im_end|>\n");
}

// tokenizer_config.json: its own chat_template, and its special tokens passed as transformers passes them
// (the fixture renders with them explicitly; here they must come from the file).
TEST(ChatTemplate, TokenizerConfigSuppliesTemplateAndSpecialTokens) {
  std::string dir = kShared + "/refs/model_configs";
  if (!is_directory(dir)) GTEST_SKIP() << "shared data absent: " << dir;
  const ojson& doc = fixtures();
  ASSERT_GE(doc["config_cases"].size(), 10u);
  std::map<std::string, ChatTemplate> loaded;
  for (const auto& c : doc["config_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::string rel = c["config"].get<std::string>();
    if (!loaded.count(rel)) loaded.emplace(rel, ChatTemplate::from_file(dir + "/" + rel));
    const ChatTemplate& t = loaded.at(rel);
    EXPECT_EQ(ojson(t.defaults()), c["special_tokens"]);
    EXPECT_EQ(t.render(c["messages"], c["add_generation_prompt"].get<bool>()), c["expected"].get<std::string>());
  }
  const ChatTemplate& r1 = loaded.at("deepseek_r1_distill_qwen_32b/tokenizer_config.json");
  EXPECT_EQ(r1.defaults().value("bos_token", ""), "<｜begin▁of▁sentence｜>");
  ojson msgs = ojson::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q"}])");
  EXPECT_EQ(r1.render(msgs, true), "<｜begin▁of▁sentence｜>S<｜User｜>Q<｜Assistant｜>");
}

TEST(ChatTemplate, TemplateListPicksDefault) {
  std::string p = tmp_path("list.json");
  atomic_write(p, R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                       {"name": "default", "template": "{{ bos_token }}D{{ messages|length }}"}],
                     "bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": null})");
  ChatTemplate t = ChatTemplate::from_file(p);
  EXPECT_EQ(t.render(ojson::array(), false), "<s>D0");
  EXPECT_FALSE(t.defaults().contains("eos_token"));
  atomic_write(p, R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
  EXPECT_NE(error_of([&] { ChatTemplate::from_file(p); }).find("no template named \"default\""), std::string::npos);
  atomic_write(p, R"({"model_max_length": 5})");
  EXPECT_NE(error_of([&] { ChatTemplate::from_file(p); }).find("no \"chat_template\" field"), std::string::npos);
  atomic_write(p, R"({"chat_template": 5})");
  EXPECT_NE(error_of([&] { ChatTemplate::from_file(p); }).find("must be a string"), std::string::npos);
  atomic_write(p, "{not json");
  EXPECT_NE(error_of([&] { ChatTemplate::from_file(p); }).find("not valid JSON"), std::string::npos);
  std::remove(p.c_str());
  EXPECT_NE(error_of([&] { ChatTemplate::from_file(p); }), "");
}

// Each bad template gives one r1::Error naming the origin and the line.
TEST(ChatTemplate, BadTemplatesNameOriginAndLine) {
  struct Case {
    const char* src;
    const char* where;  // expected "origin:line:" prefix
    const char* what;   // expected part of the message
  };
  const Case cases[] = {
      {"line one\n{% if x %}\nnever closed\n", "bad.jinja:3:", "endif"},
      {"a\nb\n{{ x | nosuchfilter }}", "bad.jinja:3:", "no filter named 'nosuchfilter'"},
      {"a\n{{ 'unterminated }}", "bad.jinja:2:", "unterminated string"},
      {"{{ x is nosuchtest }}", "bad.jinja:1:", "no test named 'nosuchtest'"},
      {"{% for x in y %}\n{% endif %}", "bad.jinja:2:", "unknown tag 'endif'"},
      {"{% nosuchtag %}", "bad.jinja:1:", "unknown tag 'nosuchtag'"},
      {"\n\n{{ 1 + }}", "bad.jinja:3:", "unexpected"},
      {"{{ x", "bad.jinja:1:", "end of print statement"},
      {"x\n{# open comment", "bad.jinja:2:", "Missing end of comment tag"},
      {"{{ [1, 2 }}", "bad.jinja:1:", "expected ']'"},
      {"{% include 'x.jinja' %}", "bad.jinja:1:", "not supported"},
      {"{% break %}", "bad.jinja:1:", "outside of a for loop"},
      {"ok\n\xff\xfe", "bad.jinja:2:", "not valid UTF-8"},
      {"{{ '\\x4' }}", "bad.jinja:1:", "truncated"},
      {"{{ 99999999999999999999 }}", "bad.jinja:1:", "too large"},
      {"{{ a ! b }}", "bad.jinja:1:", "unexpected char '!'"},
  };
  for (const auto& c : cases) {
    std::string err = error_of([&] { ChatTemplate::from_string(c.src, "bad.jinja"); });
    EXPECT_EQ(err.rfind(c.where, 0), 0u) << "template: " << c.src << "\nerror: " << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << "template: " << c.src << "\nerror: " << err;
  }
}

TEST(ChatTemplate, RenderErrorsNameOriginAndLine) {
  ojson msgs = ojson::parse(R"([{"role":"user","content":"hi"}])");
  struct Case {
    const char* src;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"x\n{% if messages[0].role != 'system' %}{{ raise_exception('need a system message') }}{% endif %}",
       "t.jinja:2:", "need a system message"},
      {"{{ missing.attr }}", "t.jinja:1:", "'missing' is undefined"},
      {"\n{{ messages[0].nothing.more }}", "t.jinja:2:", "no attribute 'nothing'"},
      {"{{ 'a' + 1 }}", "t.jinja:1:", "can only concatenate str"},
      {"{{ 1 // 0 }}", "t.jinja:1:", "division or modulo by zero"},
      {"{% set ns = 3 %}{% set ns.a = 1 %}", "t.jinja:1:", "non-namespace"},
      {"{{ messages.append(1) }}", "t.jinja:1:", "unsafe"},
      {"{{ range(1000000) | length }}", "t.jinja:1:", "Range too big"},
      {"{% for a, b in [1] %}{% endfor %}", "t.jinja:1:", "cannot unpack"},
      {"{{ 9223372036854775807 + 1 }}", "t.jinja:1:", "overflow"},
      {"{{ {}|tojson }}{{ namespace()|tojson }}", "t.jinja:1:", "not JSON serializable"},
  };
  for (const auto& c : cases) {
    std::string err = error_of([&] { ChatTemplate::from_string(c.src, "t.jinja").render(msgs, false); });
    EXPECT_EQ(err.rfind(c.where, 0), 0u) << "template: " << c.src << "\nerror: " << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << "template: " << c.src << "\nerror: " << err;
  }
}

TEST(ChatTemplate, BadMessagesAreRejected) {
  ChatTemplate t = ChatTemplate::from_string("{{ messages|length }}", "m.jinja");
  EXPECT_NE(error_of([&] { t.render(ojson::object(), false); }).find("messages must be a JSON array"),
            std::string::npos);
  EXPECT_NE(error_of([&] { t.render(ojson::parse("[1]"), false); }).find("messages[0] must be an object"),
            std::string::npos);
  EXPECT_NE(error_of([&] { t.render(ojson::array(), false, ojson{{"messages", 1}}); }).find("must not set"),
            std::string::npos);
  EXPECT_EQ(t.render(ojson::array(), false), "0");
}

// Templates that would run forever, build huge strings, nest deeply or recurse end with an error.
TEST(ChatTemplate, LimitsStopRunawayTemplates) {
  jinja::Limits lim;
  lim.max_steps = 200000;
  lim.max_output_bytes = 1 << 20;
  const char* runaway[] = {
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
      "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
      "{{ 'x' * 100000000 }}",
      "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}",
      "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
      "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",
      "{% for i in range(100000) %}{{ 'abcdefghij' * 10 }}{% endfor %}",
  };
  for (const char* src : runaway) {
    ChatTemplate t = ChatTemplate::from_string(src, "loop.jinja");
    t.set_limits(lim);
    std::string err = error_of([&] { t.render(ojson::array(), false); });
    EXPECT_EQ(err.rfind("loop.jinja:1:", 0), 0u) << src << "\n" << err;
  }
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(error_of([&] { ChatTemplate::from_string(deep, "deep.jinja"); }).find("nested too deeply"),
            std::string::npos);
  std::string deep_blocks;
  for (int i = 0; i < 500; i++) deep_blocks += "{% if true %}";
  EXPECT_NE(error_of([&] { ChatTemplate::from_string(deep_blocks, "deep.jinja"); }), "");
}

// The CLI prints exactly what the library renders (R1_BIN is set when run through ctest).
TEST(ChatTemplate, CliPrintsRendering) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin || !file_exists(bin)) GTEST_SKIP() << "R1_BIN not set (run through ctest to test the CLI)";
  std::string tpl = tmp_path("cli.jinja"), msgs = tmp_path("cli_msgs.json");
  atomic_write(tpl, "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}"
                    "{% if add_generation_prompt %}<assistant>{% endif %}");
  atomic_write(msgs, R"([{"role": "user", "content": "héllo {{ x }}"}])");
  std::string cmd = std::string(bin) + " chat-template --template " + tpl + " --messages " + msgs +
                    " --add-generation-prompt 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "<user>héllo {{ x }}\n<assistant>");
  // A bad template path gives a clear error and a non-zero exit status.
  cmd = std::string(bin) + " chat-template --template " + tpl + ".missing --messages " + msgs + " 2>&1";
  p = ::popen(cmd.c_str(), "r");
  out.clear();
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_NE(::pclose(p), 0);
  EXPECT_NE(out.find(".missing"), std::string::npos) << out;
  std::remove(tpl.c_str());
  std::remove(msgs.c_str());
}
