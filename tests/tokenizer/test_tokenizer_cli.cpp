// `r1 tokenize` and `r1 tokenizer train` end to end through the r1 binary (R1_BIN, set by ctest).
#include "core/io.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>

using namespace r1;

static std::string bin() {
  const char* b = std::getenv("R1_BIN");
  return b ? b : "";
}

static int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(Cli, TrainTokenizeDecode) {
  if (bin().empty() || !file_exists(bin())) GTEST_SKIP() << "R1_BIN not set (run through ctest)";
  std::string dir = std::string(::testing::TempDir()) + "/r1_cli_tok_" + std::to_string(::getpid());
  make_dirs(dir);
  std::string corpus;
  for (int i = 0; i < 200; ++i)
    corpus += nlohmann::json({{"text", "The answer is " + std::to_string(i * 7) + ". Think step by step."}}).dump() + "\n";
  atomic_write(dir + "/corpus.jsonl", corpus);
  ASSERT_EQ(run(bin() + " tokenizer train --input " + dir + "/corpus.jsonl --vocab-size 300 --output " + dir +
                "/tok --special '<|endoftext|>' --special '<think>' --quiet"),
            0);
  Tokenizer t = Tokenizer::load(dir + "/tok");
  EXPECT_EQ(t.vocab_size(), 300);
  EXPECT_EQ(t.token_id("<think>"), 299);
  // the alias registered for scripts
  ASSERT_EQ(run(bin() + " tokenizer-train --input " + dir + "/corpus.jsonl --vocab-size 300 --output " + dir +
                "/tok2 --special '<|endoftext|>' --special '<think>' --quiet"),
            0);
  EXPECT_EQ(read_file(dir + "/tok/tokenizer.json"), read_file(dir + "/tok2/tokenizer.json"));

  std::string text = "The answer is 42.<think> ok";
  atomic_write(dir + "/in.jsonl", nlohmann::json({{"text", text}}).dump() + "\n\n" +
                                      nlohmann::json({{"text", "second"}}).dump() + "\n");
  ASSERT_EQ(run(bin() + " tokenize --tokenizer " + dir + "/tok --input " + dir + "/in.jsonl > " + dir + "/ids.jsonl"), 0);
  std::string ids_text = read_file(dir + "/ids.jsonl");
  size_t nl = ids_text.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto j = nlohmann::json::parse(ids_text.substr(0, nl));
  EXPECT_EQ(j["ids"].get<std::vector<int>>(), t.encode(text));
  EXPECT_EQ(std::count(ids_text.begin(), ids_text.end(), '\n'), 2);  // blank line skipped

  ASSERT_EQ(run(bin() + " tokenize --decode --tokenizer " + dir + "/tok < " + dir + "/ids.jsonl > " + dir + "/back.jsonl"), 0);
  std::string back = read_file(dir + "/back.jsonl");
  EXPECT_EQ(nlohmann::json::parse(back.substr(0, back.find('\n')))["text"], text);

  // A bad line: exit 1 and one error naming the line.
  atomic_write(dir + "/bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  EXPECT_EQ(run(bin() + " tokenize --tokenizer " + dir + "/tok --input " + dir + "/bad.jsonl > /dev/null 2> " + dir +
                "/err.txt"),
            1);
  std::string err = read_file(dir + "/err.txt");
  EXPECT_NE(err.find("bad.jsonl line 2"), std::string::npos) << err;
  // --add-bos without a BOS token is refused.
  EXPECT_EQ(run(bin() + " tokenize --add-bos --tokenizer " + dir + "/tok --input " + dir + "/in.jsonl > /dev/null 2>&1"), 1);
}
