// libFuzzer target: verify(arbitrary, arbitrary) and the answer parser must not crash or hang.
// Input: gold and pred separated by the first NUL byte (or the first half / second half when there is none).
#include "core/check.h"
#include "rewards/math/parse.h"
#include "rewards/math_verify.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string s(reinterpret_cast<const char*>(data), size);
  size_t cut = s.find('\0');
  std::string gold = cut == std::string::npos ? s.substr(0, size / 2) : s.substr(0, cut);
  std::string pred = cut == std::string::npos ? s.substr(size / 2) : s.substr(cut + 1);
  try {
    r1::VerifyOptions lenient;
    lenient.pred_bare_fallback = true;
    (void)r1::verify(gold, pred);
    (void)r1::verify(gold, pred, lenient);
    (void)r1::verify(gold, pred, r1::lenient_options());  // Math-Verify parity: relations, labels, boxes
    (void)r1::canonical_answer(pred);
    (void)r1::latex::parse_answer(r1::latex::normalize_latex(s));
  } catch (const r1::Error&) {
  }
  return 0;
}
