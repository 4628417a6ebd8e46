// libFuzzer target: parse and render arbitrary template bytes with a fixed message list.
// Any r1::Error is an acceptable outcome; crashes, hangs, sanitizer reports and other exceptions are not.
// The render limits are lowered so that every input finishes in milliseconds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/check.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "What is 2+3? {{ not a tag }}"},
    {"role": "assistant", "content": "<think>\nadd\n</think>\n\n5", "reasoning_content": "add",
     "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": {"expr": "2+3"}}}]},
    {"role": "tool", "content": "5"},
    {"role": "user", "content": "Thanks 🙂"}
  ])");
  static const nlohmann::ordered_json extra = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false,
    "tools": [{"type": "function", "function": {"name": "calc", "parameters": {"type": "object"}}}]
  })");
  r1::jinja::Limits limits;
  limits.max_steps = 100000;
  limits.max_output_bytes = 1 << 20;
  limits.max_call_depth = 16;
  std::string source(reinterpret_cast<const char*>(data), size);
  try {
    r1::ChatTemplate t = r1::ChatTemplate::from_string(source, "fuzz.jinja");
    t.set_limits(limits);
    t.render(messages, true, extra);
    t.render(messages, false, extra);
  } catch (const r1::Error&) {
  }
  return 0;
}
