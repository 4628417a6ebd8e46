// Pre-tokenizers of Hugging Face `tokenizers` used by byte-level BPE models: a chain of Split(regex) steps followed
// by ByteLevel (optional prefix space, optional GPT-2 regex), plus the text normalizers (NFC, NFKC, NFD, NFKD).
// Regexes run on PCRE2 with JIT in UTF+UCP mode; each step sees one piece of the previous step as its whole
// subject (so look-ahead stops at piece ends, as in HF).
#pragma once
#include "core/utf8.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace r1 {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// A compiled PCRE2 pattern (UTF, UCP, JIT when available). Thread-safe for matching.
class Regex {
 public:
  Regex(const std::string& pattern, const std::string& where);  // throws r1::Error naming `where`
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Finds the first match in s[start, n); returns false if none. s must be valid UTF-8.
  bool find(const char* s, size_t n, size_t start, size_t* mbeg, size_t* mend) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

class PreTokenizer {
 public:
  struct Split {
    std::shared_ptr<Regex> regex;  // null for a literal string pattern
    std::string literal;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
  };
  // Named presets: gpt2, llama-bpe (alias llama3), qwen2 (alias deepseek-r1-qwen), deepseek-llm, deepseek-coder,
  // deepseek-v3, default (llama.cpp's fallback). Throws r1::Error for an unknown name.
  static PreTokenizer preset(const std::string& name);
  static bool is_preset(const std::string& name);
  // HF "pre_tokenizer" JSON (null, ByteLevel, Split, Digits, Sequence of those). `where` names the file.
  static PreTokenizer from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;

  void set_byte_level(bool enabled, bool add_prefix_space, bool use_regex);

  // Calls cb(ctx, piece, len) for every piece of s[0, n) (s valid UTF-8).
  using PieceFn = void (*)(void* ctx, const char* piece, size_t len);
  void run(const char* s, size_t n, PieceFn cb, void* ctx) const;
  std::vector<std::string> split(const std::string& text) const;

  std::string name = "custom";  // preset recognised, for reporting
  std::vector<Split> splits;
  bool byte_level = true;
  bool add_prefix_space = false;
  bool use_regex = false;  // ByteLevel's own GPT-2 regex
  bool trim_offsets = true;

 private:
  void run_step(size_t step, const char* s, size_t n, PieceFn cb, void* ctx) const;
};

// Text normalizer: a sequence of Unicode normal forms. Empty = none.
struct Normalizer {
  enum Form { NFC, NFD, NFKC, NFKD };
  std::vector<Form> forms;
  static Normalizer from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  bool empty() const { return forms.empty(); }
  // Normalizes valid UTF-8 text; text that is not valid UTF-8 is returned unchanged.
  std::string apply(const std::string& s) const;
};

// GPT-2's byte <-> printable-unicode mapping used by ByteLevel.
const std::string& byte_to_unicode(unsigned char b);  // UTF-8 of the char for byte b
int unicode_to_byte(uint32_t codepoint);              // -1 if the codepoint is not one of the 256
// Length of the valid UTF-8 prefix of s[0, n) (strict: no overlongs, surrogates or > U+10FFFF).
size_t utf8_valid_prefix(const char* s, size_t n);
// Decodes one code point at s (valid UTF-8 assumed); sets *len.
uint32_t utf8_decode(const char* s, size_t* len);
// utf8_append(out, cp) comes from core/utf8.h

// The regex strings of the presets (public from HF tokenizer.json files / llama.cpp).
extern const char* const kRegexGpt2;
extern const char* const kRegexLlama3;
extern const char* const kRegexQwen2;

}  // namespace r1
