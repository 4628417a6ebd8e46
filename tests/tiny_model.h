// A random tiny model folder for tests: a Qwen2-shaped config (C 32, one layer, 2 heads, 1 key/value head, FF 64)
// over the byte-level tokenizer with `specials`, its eos the tokenizer's, weights from init_random(seed, std),
// saved with the tokenizer. Header-only; tests/<layer>/test_*.cpp include it as "../tiny_model.h".
#pragma once
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace r1::test {

inline std::string save_tiny_qwen2(const std::string& dir, const std::vector<std::string>& specials, int max_pos,
                                   uint64_t seed, float std) {
  Tokenizer tok = Tokenizer::byte_level(specials);
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, tok.vocab_size(), 32, 1, 2, 1, 64, max_pos);
  c.eos_id = tok.eos_id();
  Model m(c);
  m.init_random(seed, std);
  m.save(dir);
  tok.save(dir);
  return dir;
}

// The R1 tags as single tokens (GRPO, rewards).
inline const std::vector<std::string>& r1_specials() {
  static const std::vector<std::string> s = {"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"};
  return s;
}

}  // namespace r1::test
