// BPE engine: tokenizer.json parsing (both merge forms, added tokens, ignore_merges), training by hand and at
// scale, save/reload, round trips on random Unicode, streaming decode, and one clear error per bad input.
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace r1;
using json = nlohmann::json;

static const std::string kShared = std::string(R1_SOURCE_DIR) + "/../shared/data/tokenizer";

static std::string tmpdir(const std::string& tag) {
  return std::string(::testing::TempDir()) + "/r1_tok_" + tag + "_" + std::to_string(::getpid());
}

// A tiny byte-level BPE in tokenizer.json form: bytes for a, b, c, space (Ġ), merges "a b" -> "ab",
// "Ġ ab" -> "Ġab", "ab c" -> "abc" (rank order matters: "Ġ ab" before "ab c").
static json tiny_json(bool list_form) {
  json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"\xC4\xA0", 3}, {"ab", 4}, {"\xC4\xA0" "ab", 5}, {"abc", 6}};
  json merges = list_form ? json::array({json::array({"a", "b"}), json::array({"\xC4\xA0", "ab"}), json::array({"ab", "c"})})
                          : json::array({"a b", "\xC4\xA0 ab", "ab c"});
  return {{"version", "1.0"},
          {"added_tokens", json::array({{{"id", 7}, {"content", "<s>"}, {"special", true}},
                                        {{"id", 8}, {"content", "<tool>"}, {"special", false}}})},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

TEST(Bpe, TinyTokenizerJsonByHand) {
  for (bool list_form : {false, true}) {
    Tokenizer t = Tokenizer::from_json_text(tiny_json(list_form).dump(), "tiny.json");
    EXPECT_EQ(t.vocab_size(), 9);
    EXPECT_EQ(t.num_merges(), 3);
    // "abc": a b c -> (a,b) rank 0 -> ab c -> (ab,c) rank 2 -> abc.
    EXPECT_EQ(t.encode("abc"), (std::vector<int>{6}));
    // " abc": Ġ a b c -> Ġ ab c; (Ġ,ab) rank 1 beats (ab,c) rank 2 -> Ġab c.
    EXPECT_EQ(t.encode(" abc"), (std::vector<int>{5, 2}));
    EXPECT_EQ(t.encode("ab<s>c<tool>"), (std::vector<int>{4, 7, 2, 8}));
    // parse_special=false: <s> is text (bytes not in this vocab are dropped), <tool> (not special) still splits.
    EXPECT_EQ(t.encode("<tool>", false), (std::vector<int>{8}));
    EXPECT_EQ(t.decode({5, 2, 7}), " abc<s>");
    EXPECT_EQ(t.decode({5, 2, 7}, true), " abc");
    EXPECT_TRUE(t.is_special(7));
    EXPECT_FALSE(t.is_special(8));
    EXPECT_EQ(t.token_id("<tool>"), 8);
    EXPECT_EQ(t.token_text(5), " ab");
  }
}

TEST(Bpe, IgnoreMerges) {
  json j = tiny_json(false);
  // "abc" reachable only if merges are ignored and the whole word is looked up: drop the (ab, c) merge.
  j["model"]["merges"] = json::array({"a b", "\xC4\xA0 ab"});
  Tokenizer t = Tokenizer::from_json_text(j.dump(), "t");
  EXPECT_EQ(t.encode("abc"), (std::vector<int>{4, 2}));
  j["model"]["ignore_merges"] = true;
  Tokenizer u = Tokenizer::from_json_text(j.dump(), "t");
  EXPECT_EQ(u.encode("abc"), (std::vector<int>{6}));
}

TEST(Bpe, LongWordUsesHeapMergeWithSameResult) {
  // A piece longer than 64 bytes goes through the heap merger; it must agree with merging chunk by chunk
  // where no merge crosses the chunk border ("ab" pairs never span an odd boundary here).
  Tokenizer t = Tokenizer::from_json_text(tiny_json(false).dump(), "t");
  std::string w;
  for (int i = 0; i < 50; ++i) w += "ab";
  std::vector<int> ids = t.encode(w);
  EXPECT_EQ(ids, std::vector<int>(50, 4));
  std::string w2;
  for (int i = 0; i < 40; ++i) w2 += "abc";
  EXPECT_EQ(t.encode(w2), std::vector<int>(40, 6));
}

TEST(Train, HandComputedMerges) {
  // Words: "ab" x1, " ab" x2. Pair counts: (a,b)=3, (Ġ,a)=2 -> merge a+b (id 256); then (Ġ,ab)=2 -> id 257.
  BpeTrainOptions opt;
  opt.vocab_size = 259;
  opt.special_tokens = {"<|endoftext|>"};
  Tokenizer t = train_bpe({"ab ab ab"}, opt);
  EXPECT_EQ(t.vocab_size(), 259);
  ASSERT_EQ(t.num_merges(), 2);
  EXPECT_EQ(t.token_string(256), "ab");
  EXPECT_EQ(t.token_string(257), "\xC4\xA0" "ab");
  EXPECT_EQ(t.token_id("<|endoftext|>"), 258);
  EXPECT_EQ(t.eos_id(), 258);
  EXPECT_EQ(t.encode("ab ab<|endoftext|>"), (std::vector<int>{256, 257, 258}));
  // min_frequency: with 3 the second merge (count 2) is not made.
  opt.min_frequency = 3;
  EXPECT_EQ(train_bpe({"ab ab ab"}, opt).num_merges(), 1);
  opt.vocab_size = 100;
  EXPECT_THROW(train_bpe({"x"}, opt), Error);
}

static std::string random_text(Rng& rng, int n) {
  // Mixed scripts: ASCII words and punctuation, Latin-1, Greek, Cyrillic, CJK, emoji, whitespace runs.
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0xA0, 0xFF}, {0x391, 0x3C9}, {0x410, 0x44F},
      {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x3040, 0x309F}, {0x0E00, 0x0E5B}};
  std::string s;
  for (int i = 0; i < n; ++i) {
    int r = int(rng.below(20));
    if (r == 0) {
      s += "\n";
    } else if (r == 1) {
      s += "  ";
    } else if (r < 8) {
      s += ' ';
      int len = 1 + int(rng.below(8));
      for (int k = 0; k < len; ++k) s += char('a' + rng.below(26));
    } else {
      auto [lo, hi] = ranges[rng.below(ranges.size())];
      utf8_append(s, uint32_t(lo + rng.below(hi - lo + 1)));
    }
  }
  return s;
}

TEST(Train, TrainedTokenizerRoundTripsAndReloads) {
  Rng rng(123);
  std::vector<std::string> corpus;
  for (int i = 0; i < 300; ++i) corpus.push_back(random_text(rng, 60));
  BpeTrainOptions opt;
  opt.vocab_size = 700;
  opt.special_tokens = {"<|endoftext|>", "<think>", "</think>"};
  Tokenizer t = train_bpe(corpus, opt);
  EXPECT_EQ(t.vocab_size(), 700);
  EXPECT_EQ(t.num_merges(), 700 - 256 - 3);
  std::string dir = tmpdir("train");
  t.save(dir);
  Tokenizer u = Tokenizer::load(dir);
  EXPECT_EQ(u.vocab_size(), 700);
  EXPECT_EQ(u.num_merges(), t.num_merges());
  EXPECT_EQ(u.eos_id(), t.eos_id());
  size_t total_bytes = 0, total_ids = 0;
  Rng r2(99);
  for (int i = 0; i < 100; ++i) {
    std::string s = random_text(r2, 40) + "<think>" + random_text(r2, 10);
    std::vector<int> a = t.encode(s), b = u.encode(s);
    ASSERT_EQ(a, b) << "reloaded tokenizer gives different ids";
    ASSERT_EQ(t.decode(a), s);
    total_bytes += s.size();
    total_ids += a.size();
  }
  EXPECT_LT(total_ids * 10, total_bytes * 9) << "merges should compress the text";
}

TEST(RoundTrip, Qwen2RandomUnicode) {
  if (!file_exists(kShared + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load_vocab_merges(kShared + "/vocab.json", kShared + "/merges_noheader.txt", "qwen2");
  Rng rng(2024);
  for (int i = 0; i < 300; ++i) {
    std::string s = random_text(rng, 1 + int(rng.below(80)));
    // Qwen2 normalizes to NFC; the random text holds no combining sequences that NFC would change except
    // possibly Thai, so compare against the NFC form.
    Normalizer nfc;
    nfc.forms = {Normalizer::NFC};
    ASSERT_EQ(t.decode(t.encode(s)), nfc.apply(s)) << "case " << i;
  }
  // Arbitrary bytes (not UTF-8) still round-trip through byte tokens.
  std::string bad = "ok \xFF\xFE x \xC3";
  EXPECT_EQ(t.decode(t.encode(bad)), bad);
}

TEST(RoundTrip, Qwen2SaveAsTokenizerJsonAndReload) {
  if (!file_exists(kShared + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load_vocab_merges(kShared + "/vocab.json", kShared + "/merges_noheader.txt", "qwen2");
  std::string dir = tmpdir("qwen2");
  t.save(dir);
  json j = json::parse(read_file(dir + "/tokenizer.json"));
  EXPECT_EQ(j["normalizer"]["type"], "NFC");
  EXPECT_EQ(j["pre_tokenizer"]["type"], "Sequence");
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"], kRegexQwen2);
  EXPECT_EQ(j["model"]["merges"].size(), 151387u);
  Tokenizer u = Tokenizer::load(dir + "/tokenizer.json");
  EXPECT_EQ(u.pre_name(), "qwen2");
  Rng rng(5);
  for (int i = 0; i < 50; ++i) {
    std::string s = random_text(rng, 50);
    ASSERT_EQ(t.encode(s), u.encode(s));
  }
}

TEST(StreamDecode, Qwen2MultiByteCharAcrossTokens) {
  if (!file_exists(kShared + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load_vocab_merges(kShared + "/vocab.json", kShared + "/merges_noheader.txt", "qwen2");
  // The llama emoji and a rare Khmer sequence are split into byte-level pieces that cut UTF-8 characters.
  std::string s = "this is \xF0\x9F\xA6\x99.cpp \xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B";
  std::vector<int> ids = t.encode(s);
  bool saw_partial = false;
  for (int id : ids) {
    std::string b = t.token_text(id);
    if (utf8_valid_prefix(b.data(), b.size()) != b.size()) saw_partial = true;
  }
  ASSERT_TRUE(saw_partial) << "test string should have a token that is not whole UTF-8";
  StreamDecoder d(t);
  std::string out;
  for (int id : ids) {
    std::string piece = d.push(id);
    EXPECT_EQ(utf8_valid_prefix(piece.data(), piece.size()), piece.size()) << "emitted partial UTF-8";
    out += piece;
  }
  out += d.flush();
  EXPECT_EQ(out, s);
}

// ---- bad input: one clear r1::Error naming the file and the field ----
static void expect_error(const std::function<void()>& f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(BadInput, TokenizerJson) {
  expect_error([] { Tokenizer::from_json_text("{not json", "bad.json"); }, {"bad.json", "not valid JSON"});
  expect_error([] { Tokenizer::from_json_text("[1,2]", "bad.json"); }, {"bad.json", "top level"});
  json j = tiny_json(false);
  j["model"].erase("vocab");
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.vocab"});
  j = tiny_json(false);
  j["model"]["vocab"] = json::array({1, 2});
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.vocab"});
  j = tiny_json(false);
  j["model"]["vocab"]["zz"] = "seven";
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.vocab", "zz", "integer"});
  j = tiny_json(false);
  j["model"]["merges"].push_back("a q");
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); },
               {"bad.json", "model.merges[3]", "'q'", "not in the vocab"});
  j = tiny_json(false);
  j["model"]["merges"].push_back("b c");  // "bc" is not a token
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.merges[3]", "'bc'"});
  j = tiny_json(false);
  j["model"]["merges"].push_back("abc");
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.merges[3]", "A B"});
  j = tiny_json(false);
  j["model"]["merges"].push_back(json::array({"a"}));
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.merges[3]"});
  j = tiny_json(false);
  j["model"]["vocab"]["dup"] = 0;
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "id 0"});
  j = tiny_json(false);
  j["model"]["type"] = "WordPiece";
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "model.type"});
  j = tiny_json(false);
  j["added_tokens"][0].erase("id");
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "added_tokens[0]", "id"});
  j = tiny_json(false);
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "normalizer", "Lowercase"});
  j = tiny_json(false);
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "pre_tokenizer", "Metaspace"});
  j = tiny_json(false);
  j["pre_tokenizer"] = nullptr;
  expect_error([&] { Tokenizer::from_json_text(j.dump(), "bad.json"); }, {"bad.json", "ByteLevel"});
}

TEST(BadInput, VocabMergesFiles) {
  std::string dir = tmpdir("bad");
  make_dirs(dir);
  atomic_write(dir + "/vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  atomic_write(dir + "/merges.txt", "#version: 0.2\na b\n");
  Tokenizer ok = Tokenizer::load(dir);
  EXPECT_EQ(ok.encode("ab"), (std::vector<int>{2}));
  atomic_write(dir + "/merges.txt", "#version: 0.2\na b\nab\n");
  expect_error([&] { Tokenizer::load(dir); }, {"merges.txt line 3", "two tokens"});
  atomic_write(dir + "/merges.txt", "a  b\n");
  expect_error([&] { Tokenizer::load(dir); }, {"merges.txt line 1"});
  atomic_write(dir + "/merges.txt", "a x\n");
  expect_error([&] { Tokenizer::load(dir); }, {"merges.txt line 1", "'x'"});
  atomic_write(dir + "/vocab.json", R"({"a": 0, "b": )");
  expect_error([&] { Tokenizer::load(dir); }, {"vocab.json", "not valid JSON"});
  atomic_write(dir + "/vocab.json", R"({"a": 0, "b": -4})");
  expect_error([&] { Tokenizer::load(dir); }, {"vocab.json", "\"b\"", "out of range"});
  expect_error([&] { Tokenizer::load(dir + "/nope"); }, {"nope", "no such file"});
  std::string empty = tmpdir("empty");
  make_dirs(empty);
  expect_error([&] { Tokenizer::load(empty); }, {"neither tokenizer.json nor vocab.json"});
}

TEST(BadInput, TokenizerConfig) {
  std::string dir = tmpdir("cfg");
  make_dirs(dir);
  atomic_write(dir + "/tokenizer.json", tiny_json(false).dump());
  atomic_write(dir + "/tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": {"content": "<tool>"}})");
  Tokenizer t = Tokenizer::load(dir);
  EXPECT_EQ(t.bos_id(), 7);
  EXPECT_EQ(t.eos_id(), 8);
  atomic_write(dir + "/tokenizer_config.json", R"({"eos_token": "<nope>"})");
  expect_error([&] { Tokenizer::load(dir); }, {"tokenizer_config.json", "eos_token", "<nope>"});
  atomic_write(dir + "/tokenizer_config.json", R"({"added_tokens_decoder": {"x": {"content": "<q>"}}})");
  expect_error([&] { Tokenizer::load(dir); }, {"tokenizer_config.json", "added_tokens_decoder[\"x\"]"});
}

TEST(BadInput, Gguf) {
  std::string dir = tmpdir("gguf");
  make_dirs(dir);
  atomic_write(dir + "/x.gguf", "GGUF\x03\x00\x00\x00garbage");
  expect_error([&] { Tokenizer::load(dir + "/x.gguf"); }, {"x.gguf"});
}

TEST(Threads, ParallelEncodeMatchesSerial) {
  // encode() is const and keeps its caches per thread: OpenMP threads must get the serial results.
  Rng rng(77);
  std::vector<std::string> corpus;
  for (int i = 0; i < 200; ++i) corpus.push_back(random_text(rng, 50));
  BpeTrainOptions opt;
  opt.vocab_size = 600;
  Tokenizer t = train_bpe(corpus, opt);
  std::vector<std::vector<int>> serial(corpus.size()), par(corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) serial[i] = t.encode(corpus[i]);
#pragma omp parallel for num_threads(4) schedule(dynamic)
  for (int i = 0; i < int(corpus.size()); ++i) par[i] = t.encode(corpus[i]);
  EXPECT_EQ(serial, par);
}
