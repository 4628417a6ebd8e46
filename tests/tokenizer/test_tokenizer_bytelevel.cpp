// Byte-level tokenizer for tiny models: ids, special-token splitting, round trips, save/reload, StreamDecoder.
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace r1;

static const std::vector<std::string> kSpecials = {"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"};

TEST(ByteLevel, IdsAreBytesThenSpecials) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  EXPECT_EQ(t.vocab_size(), 261);
  EXPECT_EQ(t.token_id("<|endoftext|>"), 256);
  EXPECT_EQ(t.token_id("</answer>"), 260);
  EXPECT_EQ(t.eos_id(), 256);
  EXPECT_EQ(t.bos_id(), -1);
  // GPT-2 byte-to-unicode form: 'A' is itself, space is U+0120 'Ġ', newline U+010A 'Ċ', byte 0 is U+0100 'Ā'.
  EXPECT_EQ(t.token_id("A"), 65);
  EXPECT_EQ(t.token_id("\xC4\xA0"), 32);
  EXPECT_EQ(t.token_id("\xC4\x8A"), 10);
  EXPECT_EQ(t.token_id("\xC4\x80"), 0);
  EXPECT_EQ(t.token_text(32), " ");
  EXPECT_EQ(t.token_text(258), "</think>");
  EXPECT_EQ(t.token_id("nope"), -1);
  std::vector<int> want = {72, 105, 32, 195, 164};  // "Hi ä"
  EXPECT_EQ(t.encode("Hi \xC3\xA4"), want);
}

TEST(ByteLevel, SpecialTokensSplitOut) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  std::vector<int> ids = t.encode("a<think>b</think><answer>4</answer><|endoftext|>");
  std::vector<int> want = {'a', 257, 'b', 258, 259, '4', 260, 256};
  EXPECT_EQ(ids, want);
  // Without parse_special the markers are plain bytes.
  std::vector<int> plain = t.encode("<think>", false);
  ASSERT_EQ(plain.size(), 7u);
  EXPECT_EQ(plain[0], '<');
  // A partial marker is plain text.
  EXPECT_EQ(t.encode("<thin").size(), 5u);
  EXPECT_EQ(t.decode(ids), "a<think>b</think><answer>4</answer><|endoftext|>");
  EXPECT_EQ(t.decode(ids, /*skip_special=*/true), "ab4");
}

TEST(ByteLevel, RoundTripRandomBytes) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  Rng rng(7);
  for (int k = 0; k < 200; ++k) {
    std::string s;
    int n = int(rng.below(64));
    for (int i = 0; i < n; ++i) s += char(rng.below(256));
    std::vector<int> ids = t.encode(s, false);
    ASSERT_EQ(ids.size(), s.size());
    ASSERT_EQ(t.decode(ids), s);
  }
}

TEST(ByteLevel, DecodeRejectsBadIds) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  EXPECT_THROW(t.decode({5, 261}), Error);
  EXPECT_THROW(t.decode({-1}), Error);
  EXPECT_THROW(Tokenizer::byte_level({"<a>", "<a>"}), Error);
}

TEST(ByteLevel, SaveWritesStandardTokenizerJsonAndReloads) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  std::string dir = std::string(::testing::TempDir()) + "/r1_bl_" + std::to_string(::getpid());
  t.save(dir);
  auto j = nlohmann::json::parse(read_file(dir + "/tokenizer.json"));
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["model"]["vocab"].size(), 256u);
  EXPECT_EQ(j["model"]["vocab"]["\xC4\xA0"], 32);
  EXPECT_EQ(j["model"]["merges"].size(), 0u);
  EXPECT_EQ(j["added_tokens"].size(), 5u);
  EXPECT_EQ(j["added_tokens"][1]["content"], "<think>");
  EXPECT_EQ(j["added_tokens"][1]["id"], 257);
  EXPECT_EQ(j["added_tokens"][1]["special"], true);
  EXPECT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
  EXPECT_EQ(j["decoder"]["type"], "ByteLevel");
  auto cfg = nlohmann::json::parse(read_file(dir + "/tokenizer_config.json"));
  EXPECT_EQ(cfg["eos_token"], "<|endoftext|>");
  EXPECT_TRUE(cfg["bos_token"].is_null());
  EXPECT_TRUE(cfg["model_max_length"].is_number_integer());

  Tokenizer u = Tokenizer::load(dir);
  EXPECT_EQ(u.vocab_size(), 261);
  EXPECT_EQ(u.eos_id(), 256);
  std::string s = "x<answer>\xE2\x82\xAC 12</answer>";
  EXPECT_EQ(u.encode(s), t.encode(s));
  Tokenizer v = Tokenizer::load(dir + "/tokenizer.json");
  EXPECT_EQ(v.encode(s), t.encode(s));
}

TEST(ByteLevel, SettersCopyOnWrite) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  Tokenizer u = t;
  u.set_eos_id(260);
  u.set_model_max_length(2048);
  EXPECT_EQ(t.eos_id(), 256);
  EXPECT_EQ(u.eos_id(), 260);
  EXPECT_EQ(u.model_max_length(), 2048);
}

TEST(StreamDecoder, HoldsBackSplitCharacter) {
  Tokenizer t = Tokenizer::byte_level(kSpecials);
  // "€" is E2 82 AC: three byte tokens.
  StreamDecoder d(t);
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xE2), "");
  EXPECT_EQ(d.push(0x82), "");
  EXPECT_EQ(d.push(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(d.push(256), "<|endoftext|>");
  // A 4-byte emoji split 1+3 and a stray continuation byte (never completes: passed through).
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.push(0x9F), "");
  EXPECT_EQ(d.push(0x98), "");
  EXPECT_EQ(d.push(0x80), "\xF0\x9F\x98\x80");
  EXPECT_EQ(d.push(0x80), "\x80");
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.flush(), "\xC3");
  StreamDecoder skip(t, true);
  EXPECT_EQ(skip.push(257), "");
  EXPECT_EQ(skip.push('z'), "z");
}
