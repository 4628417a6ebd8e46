// libFuzzer target for the Countdown verifier: any answer text must give a verdict, never a crash, a hang
// or undefined arithmetic (overflow is a verdict).
#include "core/check.h"
#include "data/countdown.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  try {
    auto v1 = r1::check_countdown_expression(s, {2, 3, 5, 7}, 24, true);
    auto v2 = r1::check_countdown_expression(s, {99, 98, 97}, 100, false);
    auto v3 = r1::check_countdown_completion(s, {1, 3, 4, 6}, 24);
    (void)r1::countdown_verdict_name(v1), (void)v2, (void)v3;
  } catch (const r1::Error&) {
  }
  return 0;
}
