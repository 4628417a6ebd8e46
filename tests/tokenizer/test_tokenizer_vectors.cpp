// llama.cpp's tokenizer test vectors (ids produced by Hugging Face `tokenizers`): qwen2 with the Qwen2
// vocab.json + merges.txt, gpt-2 from its vocabulary-only GGUF; llama-bpe pre-tokenizer splits by hand.
#include "core/check.h"
#include "core/io.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <sstream>
#include <unistd.h>

using namespace r1;

static const std::string kShared = std::string(R1_SOURCE_DIR) + "/../shared/data/tokenizer";
static const std::string kVectors = kShared + "/llama_cpp_tests";

struct Vectors {
  std::vector<std::string> inputs;
  std::vector<std::vector<int>> ids;
};

// .inp: strings separated by "\n__ggml_vocab_test__\n" (the file ends with the separator); .out: one line of ids each.
static Vectors read_vectors(const std::string& stem) {
  Vectors v;
  std::string inp = read_file(stem + ".inp"), out = read_file(stem + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (pos < inp.size()) {
    size_t e = inp.find(sep, pos);
    if (e == std::string::npos) e = inp.size();
    v.inputs.push_back(inp.substr(pos, e - pos));
    pos = e + sep.size();
  }
  std::istringstream ls(out);
  std::string line;
  while (std::getline(ls, line)) {
    std::istringstream is(line);
    std::vector<int> ids;
    int x;
    while (is >> x) ids.push_back(x);
    v.ids.push_back(ids);
  }
  return v;
}

static void check_all(const Tokenizer& t, const Vectors& v) {
  ASSERT_EQ(v.inputs.size(), v.ids.size());
  int ok = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    std::vector<int> got = t.encode(v.inputs[i]);
    if (got == v.ids[i]) {
      ++ok;
    } else {
      std::ostringstream g, w;
      for (int x : got) g << ' ' << x;
      for (int x : v.ids[i]) w << ' ' << x;
      ADD_FAILURE() << "vector " << i << " '" << v.inputs[i] << "'\n got:" << g.str() << "\nwant:" << w.str();
    }
    EXPECT_EQ(t.decode(got), v.inputs[i]) << "round trip of vector " << i;
  }
  EXPECT_EQ(ok, int(v.inputs.size()));
}

TEST(Vectors, Qwen2FromVocabAndMerges) {
  if (!file_exists(kShared + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load_vocab_merges(kShared + "/vocab.json", kShared + "/merges_noheader.txt", "qwen2");
  EXPECT_EQ(t.vocab_size(), 151643);
  EXPECT_EQ(t.pre_name(), "qwen2");
  Vectors v = read_vectors(kVectors + "/ggml-vocab-qwen2.gguf");
  EXPECT_EQ(v.inputs.size(), 46u);
  check_all(t, v);
}

TEST(Vectors, Gpt2FromGguf) {
  if (!file_exists(kVectors + "/ggml-vocab-gpt-2.gguf")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load(kVectors + "/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(t.pre_name(), "gpt2");
  Vectors v = read_vectors(kVectors + "/ggml-vocab-gpt-2.gguf");
  check_all(t, v);
}

// A Hugging Face folder: vocab.json + merges.txt + Qwen3's tokenizer_config.json (added_tokens_decoder with
// <think> = 151667 and </think> = 151668, not special; <|im_start|> special; eos <|im_end|>).
TEST(Vectors, Qwen3FolderWithTokenizerConfig) {
  std::string cfg = std::string(R1_SOURCE_DIR) + "/../shared/refs/model_configs/qwen3_30b/tokenizer_config.json";
  if (!file_exists(kShared + "/vocab.json") || !file_exists(cfg)) GTEST_SKIP() << "../shared files absent";
  std::string dir = std::string(::testing::TempDir()) + "/r1_q3_" + std::to_string(::getpid());
  make_dirs(dir);
  for (auto [from, to] : {std::pair<std::string, std::string>{kShared + "/vocab.json", "vocab.json"},
                          {kShared + "/merges_noheader.txt", "merges.txt"},
                          {cfg, "tokenizer_config.json"}}) {
    std::string link = dir + "/" + to;
    ::unlink(link.c_str());
    ASSERT_EQ(::symlink(from.c_str(), link.c_str()), 0);
  }
  Tokenizer t = Tokenizer::load(dir);
  EXPECT_EQ(t.pre_name(), "qwen2");  // chosen from tokenizer_class Qwen2Tokenizer
  EXPECT_EQ(t.token_id("<think>"), 151667);
  EXPECT_EQ(t.token_id("</think>"), 151668);
  EXPECT_FALSE(t.is_special(151667));
  EXPECT_TRUE(t.is_special(151644));
  EXPECT_EQ(t.eos_id(), t.token_id("<|im_end|>"));
  EXPECT_EQ(t.bos_id(), -1);
  EXPECT_EQ(t.model_max_length(), 131072);
  std::vector<int> ids = t.encode("<|im_start|>user\nHi<|im_end|>\n<think>\nok</think>");
  std::vector<int> want = {151644};
  for (int x : t.encode("user\nHi")) want.push_back(x);
  want.push_back(151645);
  want.push_back(t.encode("\n")[0]);
  want.push_back(151667);
  for (int x : t.encode("\nok")) want.push_back(x);
  want.push_back(151668);
  EXPECT_EQ(ids, want);
  EXPECT_EQ(t.decode(ids, /*skip_special=*/true), "user\nHi\n<think>\nok</think>");
}

// Export the Qwen2 tokenizer as GGUF tokenizer.ggml.* keys (formats/gguf.h writer) and read it back.
#include "formats/gguf.h"
TEST(Vectors, Qwen2GgufRoundTrip) {
  if (!file_exists(kShared + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer t = Tokenizer::load_vocab_merges(kShared + "/vocab.json", kShared + "/merges_noheader.txt", "qwen2");
  EXPECT_EQ(t.gguf_pre(), "qwen2");
  std::vector<std::string> toks;
  std::vector<int64_t> types;
  for (int i = 0; i < t.vocab_size(); ++i) {
    toks.push_back(t.token_string(i));
    types.push_back(t.gguf_token_type(i));
  }
  GGUFWriter w;
  w.set("general.architecture", GGUFValue::string("qwen2"));
  w.set("tokenizer.ggml.model", GGUFValue::string("gpt2"));
  w.set("tokenizer.ggml.pre", GGUFValue::string(t.gguf_pre()));
  w.set("tokenizer.ggml.tokens", GGUFValue::strings(toks));
  w.set("tokenizer.ggml.token_type", GGUFValue::array_i64(GGUFType::I32, types));
  w.set("tokenizer.ggml.merges", GGUFValue::strings(t.merges()));
  w.set("tokenizer.ggml.eos_token_id", GGUFValue::u32(151642));
  std::string path = std::string(::testing::TempDir()) + "/r1_q2_" + std::to_string(::getpid()) + ".gguf";
  w.write(path);
  Tokenizer g = Tokenizer::load(path);
  EXPECT_EQ(g.vocab_size(), t.vocab_size());
  EXPECT_EQ(g.num_merges(), t.num_merges());
  EXPECT_EQ(g.eos_id(), 151642);
  Vectors v = read_vectors(kVectors + "/ggml-vocab-qwen2.gguf");
  check_all(g, v);
  ::unlink(path.c_str());
}
