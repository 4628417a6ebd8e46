// llama.cpp's tokenizer test vectors (ids produced by Hugging Face `tokenizers`): qwen2 with the Qwen2
// vocab.json + merges.txt, gpt-2 from its vocabulary-only GGUF; llama-bpe pre-tokenizer splits by hand.
#include "core/check.h"
#include "core/io.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <sstream>

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
