// libFuzzer target: nlohmann::json on arbitrary bytes (the parser behind safetensors headers, checkpoint
// indexes and every JSON file r1.cpp reads). Parsing must not crash; a parsed value must survive
// dump -> parse unchanged.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using json = nlohmann::json;
  json j = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  std::string s;
  try {
    s = j.dump();  // throws type_error 316 on invalid UTF-8 in strings
  } catch (const json::type_error&) {
    return 0;
  }
  json k = json::parse(s, nullptr, false);
  if (k.is_discarded() || k != j) __builtin_trap();
  return 0;
}
