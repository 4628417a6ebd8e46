// libFuzzer target for the text-parsing rewards: R1 format, tag count, language word counting, program
// extraction (stdin/stdout and function-call) and code-test parsing. Any input must give a value or an r1::Error,
// never a crash or a hang.
#include "core/check.h"
#include "rewards/code.h"
#include "rewards/format.h"
#include "rewards/language.h"
#include "rewards/shaping.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  try {
    double f = r1::format_reward(s, size % 2 ? "<think>" : "");
    double t = r1::tag_count_reward(s, "", size % 3 == 0);
    double l = r1::language_consistency_reward(s, size % 5 == 0 ? "zh" : "en");
    double rep = r1::repetition_penalty(s, 1 + (int)(size % 4), -1.0);
    if (f < 0 || f > 1 || t < 0 || t > 1 || l < 0 || l > 1 || rep > 0 || rep < -1) __builtin_trap();
    auto prog = r1::extract_program(s);
    if (prog && prog->language != "python" && prog->language != "cpp") __builtin_trap();
    const std::string prompt = size % 2 ? "def f(x):\n" : "";
    auto fn = r1::extract_function_program(s, prompt, "f");
    if (fn && fn->compare(0, prompt.size(), prompt) != 0) __builtin_trap();  // the program starts with the prompt
    (void)r1::normalize_output(s);
    auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) {
      r1::CodeTests t = r1::code_tests_from_meta(j);  // never throws
      if (t.error.empty() && t.size() == 0) __builtin_trap();
      (void)r1::parse_code_tests(j);
    }
  } catch (const r1::Error&) {
  }
  return 0;
}
