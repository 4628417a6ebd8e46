// GGUF tokenizer loader (tokenizer.ggml.* keys).
#include "core/check.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace r1 {

Tokenizer Tokenizer::load_gguf(const std::string& path) {
  fail(path, ": reading a tokenizer from GGUF is not implemented yet");
}

}  // namespace r1
