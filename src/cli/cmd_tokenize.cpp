// `r1 tokenize --tokenizer PATH [--input FILE.jsonl] [--add-bos] [--decode] [--skip-special]`
// Encode: each line {"text": "..."} -> {"ids": [...]} on stdout. Decode: {"ids": [...]} -> {"text": "..."}.
// Blank lines are skipped; any other bad line stops with one error naming the file and line number.
#include "cli/registry.h"
#include "core/check.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

namespace {

struct TokenizeOptions {
  std::string tokenizer, input;
  bool add_bos = false, decode = false, skip_special = false;
};

int run_tokenize(const TokenizeOptions& o) {
  r1::Tokenizer tok = r1::Tokenizer::load(o.tokenizer);
  if (o.add_bos)
    R1_CHECK(tok.bos_id() >= 0, o.tokenizer, ": --add-bos given but the tokenizer has no BOS token");
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = "<stdin>";
  if (!o.input.empty()) {
    file.open(o.input, std::ios::binary);
    R1_CHECK(file.good(), o.input, ": cannot open for reading (", std::strerror(errno), ")");
    in = &file;
    name = o.input;
  }
  std::string line, out;
  size_t line_no = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      r1::fail(name, " line ", line_no, ": not valid JSON (", e.what(), ")");
    }
    out.clear();
    if (!o.decode) {
      R1_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), name, " line ", line_no,
               ": expected an object with a string \"text\"");
      std::vector<int> ids = tok.encode(j["text"].get_ref<const std::string&>());
      out += "{\"ids\": [";
      bool first = true;
      if (o.add_bos) {
        out += std::to_string(tok.bos_id());
        first = false;
      }
      for (int id : ids) {
        if (!first) out += ", ";
        first = false;
        out += std::to_string(id);
      }
      out += "]}\n";
    } else {
      R1_CHECK(j.is_object() && j.contains("ids") && j["ids"].is_array(), name, " line ", line_no,
               ": expected an object with an array \"ids\"");
      std::vector<int> ids;
      ids.reserve(j["ids"].size());
      for (size_t k = 0; k < j["ids"].size(); ++k) {
        const auto& v = j["ids"][k];
        R1_CHECK(v.is_number_integer() && v.get<long long>() >= 0 && v.get<long long>() < tok.vocab_size(), name,
                 " line ", line_no, ": ids[", k, "] = ", v.dump(), " is not a token id in [0, ", tok.vocab_size(), ")");
        ids.push_back(v.get<int>());
      }
      nlohmann::json o2 = {{"text", tok.decode(ids, o.skip_special)}};
      // Bytes that are not valid UTF-8 (a sequence cut inside a character) are written as U+FFFD, as HF does.
      out = o2.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  R1_CHECK(!in->bad(), name, ": read error");
  std::fflush(stdout);
  return 0;
}

}  // namespace

R1_COMMAND("tokenize", "Encode JSONL {\"text\"} lines to {\"ids\"} (or --decode the reverse) with a tokenizer",
           [](CLI::App* sub) {
             auto o = std::make_shared<TokenizeOptions>();
             sub->add_option("--tokenizer", o->tokenizer,
                             "tokenizer.json, Hugging Face model folder, vocab.json+merges.txt folder, or .gguf")
                 ->required();
             sub->add_option("--input", o->input, "JSONL file (default: stdin)");
             sub->add_flag("--add-bos", o->add_bos, "prepend the BOS token id");
             sub->add_flag("--decode", o->decode, "decode {\"ids\": [...]} lines to {\"text\": ...}");
             sub->add_flag("--skip-special", o->skip_special, "with --decode: drop special tokens");
             return [o]() { return run_tokenize(*o); };
           });
