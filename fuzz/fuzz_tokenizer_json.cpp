// libFuzzer target: tokenizer.json parsing (r1::Tokenizer::from_json_text) on arbitrary bytes. A bad file must
// give r1::Error; a file that loads must encode, decode, stream-decode and re-serialize a fixed text without
// crashing.
#include "core/check.h"
#include "tokenizer/tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  r1::Tokenizer t;
  try {
    t = r1::Tokenizer::from_json_text(text, "fuzz.json");
  } catch (const r1::Error&) {
    return 0;
  }
  static const std::string sample = "Hello, world! 12345 \xE4\xBD\xA0\xE5\xA5\xBD <|endoftext|> \xF0\x9F\x98\x81\n\n";
  try {
    std::vector<int> ids = t.encode(sample);
    std::string back = t.decode(ids);
    (void)back;
    r1::StreamDecoder sd(t);
    for (int id : ids) sd.push(id);
    sd.flush();
    (void)t.to_json_text();
  } catch (const r1::Error&) {
    // e.g. a user regex hitting PCRE2's match limit
  }
  return 0;
}
