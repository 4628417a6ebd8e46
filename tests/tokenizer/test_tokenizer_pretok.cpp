// Pre-tokenizer splits checked by hand against the regexes (llama-bpe has no vocabulary in shared/, so its
// llama.cpp vectors are checked at the split level), plus Split behaviours and normalizers.
#include "core/check.h"
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

using namespace r1;
using V = std::vector<std::string>;

static V llama3(const std::string& s) { return PreTokenizer::preset("llama-bpe").split(s); }

TEST(PreTokLlama3, VectorsByHand) {
  // Strings from ggml-vocab-llama-bpe.gguf.inp. Worked through the regex alternatives in order: contractions,
  // [^\r\n\p{L}\p{N}]?\p{L}+, \p{N}{1,3}, " ?[^\s\p{L}\p{N}]+[\r\n]*", \s*[\r\n]+, \s+(?!\S), \s+.
  EXPECT_EQ(llama3("ied 4 \xC2\xBD months"), (V{"ied", " ", "4", " ", "\xC2\xBD", " months"}));
  EXPECT_EQ(llama3("   "), (V{"   "}));
  EXPECT_EQ(llama3("\t\n"), (V{"\t\n"}));
  EXPECT_EQ(llama3("\n\n\n"), (V{"\n\n\n"}));
  EXPECT_EQ(llama3("Hello, world!"), (V{"Hello", ",", " world", "!"}));
  EXPECT_EQ(llama3("   Hello"), (V{"  ", " Hello"}));
  EXPECT_EQ(llama3("    Hello\n    Hello"), (V{"   ", " Hello", "\n", "   ", " Hello"}));
  EXPECT_EQ(llama3("\n ="), (V{"\n", " ="}));
  EXPECT_EQ(llama3("' era"), (V{"'", " era"}));
  EXPECT_EQ(llama3("w048 7tuijk dsdfhu"), (V{"w", "048", " ", "7", "tuijk", " dsdfhu"}));
  EXPECT_EQ(llama3("3333333"), (V{"333", "333", "3"}));
  EXPECT_EQ(llama3("3.3 3..3 3...3"), (V{"3", ".", "3", " ", "3", "..", "3", " ", "3", "...", "3"}));
  EXPECT_EQ(llama3("!!!!!!"), (V{"!!!!!!"}));
  // Emoji is a symbol (not L/N); CJK is L; the fullwidth tilde is a symbol.
  EXPECT_EQ(llama3("Hello, y'all! How are you \xF0\x9F\x98\x81 ?\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8"
                   "apple\xE5\xB7\xA5\xE4\xBD\x9C"
                   "1314151\xE5\xA4\xA9\xEF\xBD\x9E"),
            (V{"Hello", ",", " y", "'all", "!", " How", " are", " you", " \xF0\x9F\x98\x81", " ?",
               "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C", "131", "415", "1", "\xE5\xA4\xA9",
               "\xEF\xBD\x9E"}));
  // Case-insensitive contractions; an apostrophe after a space goes with the space.
  EXPECT_EQ(llama3("I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? "
                   "We'Ve a'lL"),
            (V{"I", "'ve", " been", " '", "told", " he", "'s", " there", ",", " '", "RE", " you", " sure", "?",
               " '", "M", " not", " sure", " I", "'ll", " make", " it", ",", " '", "D", " you", " like", " some",
               " tea", "?", " We", "'Ve", " a", "'lL"}));
  // A whitespace run ending in a newline is one piece (\s*[\r\n]+ backtracks to the last newline).
  std::string ws = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n";
  EXPECT_EQ(llama3(ws + "\xF0\x9F\x9A\x80 (normal)"), (V{ws, "\xF0\x9F\x9A\x80", " (", "normal", ")"}));
}

TEST(PreTokPresets, Qwen2DigitsAreSingle) {
  PreTokenizer q = PreTokenizer::preset("qwen2");
  EXPECT_EQ(q.split("x 3333"), (V{"x", " ", "3", "3", "3", "3"}));
  EXPECT_EQ(PreTokenizer::preset("deepseek-r1-qwen").name, "qwen2");
}

TEST(PreTokPresets, Gpt2) {
  PreTokenizer g = PreTokenizer::preset("gpt-2");
  // ' ?\p{L}+', ' ?\p{N}+', contractions are lower-case only, whitespace before a word keeps one space.
  EXPECT_EQ(g.split("Hello  world 123 it's IT'S"), (V{"Hello", " ", " world", " 123", " it", "'s", " IT", "'", "S"}));
}

TEST(PreTokPresets, DeepseekV3) {
  PreTokenizer d = PreTokenizer::preset("deepseek-v3");
  // Step 1 isolates digit runs of up to 3, step 2 CJK runs, step 3 the word regex on each remaining piece.
  EXPECT_EQ(d.split("Hello 12345 \xE4\xB8\xAD\xE6\x96\x87"),
            (V{"Hello", " ", "123", "45", " ", "\xE4\xB8\xAD\xE6\x96\x87"}));
}

TEST(PreTokPresets, DeepseekLlmAndCoderCompile) {
  PreTokenizer a = PreTokenizer::preset("deepseek-llm");
  EXPECT_EQ(a.split("ab\ncd 12"), (V{"ab", "\n", "cd", " ", "12"}));
  PreTokenizer c = PreTokenizer::preset("deepseek-coder");
  EXPECT_EQ(c.split("ab\ncd 12"), (V{"ab", "\n", "cd", " ", "1", "2"}));
  EXPECT_THROW(PreTokenizer::preset("no-such"), Error);
}

TEST(PreTokJson, SplitBehaviours) {
  auto make = [](const char* behavior, bool invert = false) {
    nlohmann::json j = {{"type", "Split"},
                        {"pattern", {{"String", "-"}}},
                        {"behavior", behavior},
                        {"invert", invert}};
    return PreTokenizer::from_json(j, "test");
  };
  // HF docs example: "the-final--countdown"
  std::string s = "the-final--countdown";
  EXPECT_EQ(make("Removed").split(s), (V{"the", "final", "countdown"}));
  EXPECT_EQ(make("Isolated").split(s), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(make("MergedWithPrevious").split(s), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(make("MergedWithNext").split(s), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(make("Contiguous").split(s), (V{"the", "-", "final", "--", "countdown"}));
}

TEST(PreTokJson, RecognisesQwen2AndLlama3) {
  nlohmann::json q = {{"type", "Sequence"},
                      {"pretokenizers",
                       {{{"type", "Split"}, {"pattern", {{"Regex", kRegexQwen2}}}, {"behavior", "Isolated"}, {"invert", false}},
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  EXPECT_EQ(PreTokenizer::from_json(q, "t").name, "qwen2");
  q["pretokenizers"][0]["pattern"]["Regex"] = kRegexLlama3;
  EXPECT_EQ(PreTokenizer::from_json(q, "t").name, "llama-bpe");
  nlohmann::json bad = {{"type", "Whitespace"}};
  EXPECT_THROW(PreTokenizer::from_json(bad, "t"), Error);
  nlohmann::json badre = {{"type", "Split"}, {"pattern", {{"Regex", "(("}}}, {"behavior", "Isolated"}};
  try {
    PreTokenizer::from_json(badre, "f.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("invalid regex"), std::string::npos);
  }
}

TEST(PreTokByteLevel, PrefixSpace) {
  PreTokenizer p;
  p.set_byte_level(true, true, true);
  EXPECT_EQ(p.split("Hello world"), (V{" Hello", " world"}));
  EXPECT_EQ(p.split(" Hello"), (V{" Hello"}));
}

TEST(Normalizer, Nfc) {
  Normalizer n;
  n.forms = {Normalizer::NFC};
  EXPECT_EQ(n.apply("A\xCC\x88pfel"), "\xC3\x84pfel");  // A + combining diaeresis -> Ä
  EXPECT_EQ(n.apply("plain"), "plain");
  EXPECT_EQ(n.apply("bad \xFF"), "bad \xFF");  // invalid UTF-8 is left alone
  Normalizer k;
  k.forms = {Normalizer::NFKC};
  EXPECT_EQ(k.apply("\xEF\xBC\xA1"), "A");  // fullwidth A
}

TEST(Utf8, ValidPrefix) {
  EXPECT_EQ(utf8_valid_prefix("abc", 3), 3u);
  EXPECT_EQ(utf8_valid_prefix("a\xC3", 2), 1u);
  EXPECT_EQ(utf8_valid_prefix("a\xC0\x80", 3), 1u);          // overlong
  EXPECT_EQ(utf8_valid_prefix("a\xED\xA0\x80", 4), 1u);      // surrogate
  EXPECT_EQ(utf8_valid_prefix("\xF4\x90\x80\x80", 4), 0u);   // > U+10FFFF
  EXPECT_EQ(utf8_valid_prefix("\xF0\x9F\x98\x81", 4), 4u);
}

// The NFC fast path (text of "inert" code points is returned as is) must agree with utf8proc's NFC.
#include <utf8proc.h>
#include "core/rng.h"
static std::string reference_nfc(const std::string& s) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), s.size(), &out,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::string r = n >= 0 ? std::string(reinterpret_cast<char*>(out), n) : s;
  std::free(out);
  return r;
}

TEST(Normalizer, NfcFastPathAgreesWithUtf8proc) {
  Normalizer n;
  n.forms = {Normalizer::NFC};
  // Ranges with precomposed letters, combining marks, Greek singletons (U+0374, U+037E, U+0387, U+1F71),
  // Hangul syllables and jamo, kana with voicing marks, Devanagari with nukta, CJK, compatibility characters.
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x41, 0x7A},     {0xC0, 0x17F},    {0x300, 0x36F},   {0x370, 0x3FF},   {0x1F00, 0x1FFF},
      {0x1100, 0x11FF}, {0xAC00, 0xAC40}, {0x3040, 0x30FF}, {0x900, 0x97F},   {0x4E00, 0x4E40},
      {0x2000, 0x2130}, {0xF900, 0xFA10}, {0x11099, 0x110BA}, {0x1D15E, 0x1D164}};
  Rng rng(11);
  int changed = 0;
  for (int k = 0; k < 3000; ++k) {
    std::string s;
    int len = 1 + int(rng.below(6));
    for (int i = 0; i < len; ++i) {
      auto [lo, hi] = ranges[rng.below(ranges.size())];
      utf8_append(s, uint32_t(lo + rng.below(hi - lo + 1)));
    }
    std::string want = reference_nfc(s);
    ASSERT_EQ(n.apply(s), want) << "case " << k;
    changed += want != s;
  }
  EXPECT_GT(changed, 100);  // the cases exercise the slow path too
}
