// `r1 tokenizer train --input FILE [--input FILE ...] --vocab-size N --output DIR [--special TOKEN ...]`
// (also registered as `r1 tokenizer-train`). Trains a byte-level BPE and writes DIR/tokenizer.json and
// DIR/tokenizer_config.json. Inputs ending in .jsonl give one text per line from the field --field
// (default "text"); other files are read as plain text, one text per line.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

namespace {

struct TrainOptions {
  std::vector<std::string> inputs;
  std::string output, field = "text";
  int vocab_size = 4096, min_frequency = 2;
  long long model_max_length = 2048;
  std::vector<std::string> specials = {"<|endoftext|>"};
  bool quiet = false;
};

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

int run_train(const TrainOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> texts;
  size_t bytes = 0;
  for (const std::string& path : o.inputs) {
    std::string data = r1::read_file(path);
    bool jsonl = ends_with(path, ".jsonl");
    size_t pos = 0, line_no = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      size_t end = nl == std::string::npos ? data.size() : nl + 1;
      std::string line = data.substr(pos, end - pos);
      pos = end;
      ++line_no;
      if (jsonl) {
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          r1::fail(path, " line ", line_no, ": not valid JSON (", e.what(), ")");
        }
        R1_CHECK(j.is_object() && j.contains(o.field) && j[o.field].is_string(), path, " line ", line_no,
                 ": expected an object with a string \"", o.field, "\"");
        texts.push_back(j[o.field].get<std::string>());
      } else {
        texts.push_back(std::move(line));
      }
      bytes += texts.back().size();
    }
  }
  R1_CHECK(!texts.empty(), "tokenizer train: the inputs hold no text");
  r1::BpeTrainOptions opt;
  opt.vocab_size = o.vocab_size;
  opt.min_frequency = o.min_frequency;
  opt.special_tokens = o.specials;
  opt.show_progress = !o.quiet;
  r1::Tokenizer tok = r1::train_bpe(texts, opt);
  tok.set_model_max_length(o.model_max_length);
  tok.save(o.output);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.quiet)
    std::fprintf(stderr, "tokenizer train: %zu texts, %.1f MB, vocab %d (%d merges) in %.1f s -> %s/tokenizer.json\n",
                 texts.size(), bytes / 1e6, tok.vocab_size(), tok.num_merges(), secs, o.output.c_str());
  return 0;
}

void add_train_options(CLI::App* app, TrainOptions& o) {
  app->add_option("--input", o.inputs, "corpus file(s): .jsonl (one text per line, --field) or plain text")
      ->required();
  app->add_option("--output", o.output, "output folder for tokenizer.json + tokenizer_config.json")->required();
  app->add_option("--vocab-size", o.vocab_size, "total vocabulary size (256 bytes + merges + special tokens)");
  app->add_option("--min-frequency", o.min_frequency, "do not merge pairs seen fewer times");
  app->add_option("--special", o.specials, "special tokens, in id order (default <|endoftext|>)");
  app->add_option("--field", o.field, "JSONL field holding the text");
  app->add_option("--model-max-length", o.model_max_length, "model_max_length written to tokenizer_config.json");
  app->add_flag("--quiet", o.quiet, "no progress output");
}

}  // namespace

R1_COMMAND("tokenizer", "Tokenizer tools: `r1 tokenizer train ...` trains a byte-level BPE", [](CLI::App* sub) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* train = sub->add_subcommand("train", "Train a byte-level BPE tokenizer and write tokenizer.json");
  add_train_options(train, *o);
  sub->require_subcommand(1);
  return [o, train]() {
    if (train->parsed()) return run_train(*o);
    return 1;
  };
});

R1_COMMAND("tokenizer-train", "Train a byte-level BPE tokenizer (same as `r1 tokenizer train`)", [](CLI::App* sub) {
  auto o = std::make_shared<TrainOptions>();
  add_train_options(sub, *o);
  return [o]() { return run_train(*o); };
});
