// GGUF tokenizer keys (tokenizer.ggml.*, as llama.cpp writes them for byte-level BPE models): loader and writer.
#include "tokenizer/tokenizer_gguf.h"

#include "core/check.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace r1 {

namespace {
// llama.cpp's token types (tokenizer.ggml.token_type).
enum TokenType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
}  // namespace

Tokenizer Tokenizer::load_gguf(const std::string& path) {
  GGUFFile f(path);
  std::string model = f.get_string("tokenizer.ggml.model");
  R1_CHECK(model == "gpt2", path, ": tokenizer.ggml.model is '", model,
           "'; only \"gpt2\" (byte-level BPE) is supported");
  auto m = std::make_shared<Impl>();
  std::string pre = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  R1_CHECK(PreTokenizer::is_preset(pre), path, ": tokenizer.ggml.pre '", pre,
           "' is not a known pre-tokenizer (known: gpt2, llama-bpe, qwen2, deepseek-r1-qwen, deepseek-llm, "
           "deepseek-coder, deepseek-v3, default)");
  m->pre = PreTokenizer::preset(pre);
  if (m->pre.name == "qwen2") m->normalizer.forms = {Normalizer::NFC};  // as the HF Qwen2 tokenizer
  const std::vector<std::string>& tokens = f.get_strings("tokenizer.ggml.tokens");
  R1_CHECK(!tokens.empty(), path, ": tokenizer.ggml.tokens is empty");
  R1_CHECK(tokens.size() < (1u << 28), path, ": tokenizer.ggml.tokens has too many entries (", tokens.size(), ")");
  std::vector<int64_t> types;
  if (f.has("tokenizer.ggml.token_type")) {
    types = f.get_i64_array("tokenizer.ggml.token_type");
    R1_CHECK(types.size() == tokens.size(), path, ": tokenizer.ggml.token_type has ", types.size(),
             " entries but tokenizer.ggml.tokens has ", tokens.size());
  }
  m->token_to_id.reserve(tokens.size());
  std::string where = path + ": tokenizer.ggml.tokens";
  for (size_t i = 0; i < tokens.size(); ++i) m->set_model_token(int(i), tokens[i], where);
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != kControl && types[i] != kUserDefined) continue;
    if (tokens[i].empty()) continue;
    AddedToken t;
    t.id = int(i);
    t.content = tokens[i];
    t.special = types[i] == kControl;
    m->add_token(t, path + ": tokenizer.ggml.token_type[" + std::to_string(i) + "]");
  }
  if (f.has("tokenizer.ggml.merges")) {
    const std::vector<std::string>& merges = f.get_strings("tokenizer.ggml.merges");
    m->merges.reserve(merges.size());
    m->merge_list.reserve(merges.size());
    const std::string where = path + ": tokenizer.ggml.merges";
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& line = merges[i];
      size_t sp = line.find(' ', 1);  // the first token may itself start with a space
      R1_CHECK(sp != std::string::npos && sp + 1 < line.size(), where, "[", i, "]: expected \"A B\", got '", line,
               "'");
      m->add_merge(line.substr(0, sp), line.substr(sp + 1), where, long(i));
    }
  }
  auto opt_id = [&](const char* key) -> int {
    if (!f.has(key)) return -1;
    uint64_t v = f.get_u64(key);
    R1_CHECK(v < tokens.size(), path, ": ", key, " = ", v, " is not a token id (vocab size ", tokens.size(), ")");
    return int(v);
  };
  m->finalize();
  m->bos = opt_id("tokenizer.ggml.bos_token_id");
  m->eos = opt_id("tokenizer.ggml.eos_token_id");
  if (f.has("tokenizer.ggml.add_bos_token")) m->add_bos = f.get_bool("tokenizer.ggml.add_bos_token");
  return Tokenizer(m);
}

GGUFMetadata gguf_tokenizer_metadata(const Tokenizer& tok, int n_vocab, int default_bos, int default_eos,
                                     const std::string& where) {
  const int n = tok.vocab_size();
  R1_CHECK(n <= n_vocab, where, ": the tokenizer has ", n, " tokens but the model's vocab_size is ", n_vocab,
           "; a GGUF needs one embedding row per token");
  std::vector<std::string> tokens(n_vocab);
  std::vector<int64_t> types(n_vocab);
  for (int i = 0; i < n_vocab; ++i) {
    std::string s = i < n ? tok.token_string(i) : std::string();
    if (s.empty()) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = kUnused;
    } else {
      tokens[i] = s;
      types[i] = tok.gguf_token_type(i);
    }
  }
  GGUFMetadata kv;
  kv.emplace_back("tokenizer.ggml.model", GGUFValue::string("gpt2"));
  kv.emplace_back("tokenizer.ggml.pre", GGUFValue::string(tok.gguf_pre()));
  kv.emplace_back("tokenizer.ggml.tokens", GGUFValue::strings(std::move(tokens)));
  kv.emplace_back("tokenizer.ggml.token_type", GGUFValue::array_i64(GGUFType::I32, types));
  kv.emplace_back("tokenizer.ggml.merges", GGUFValue::strings(tok.merges()));  // llama.cpp requires the key
  int bos = tok.bos_id() >= 0 ? tok.bos_id() : default_bos;
  int eos = tok.eos_id() >= 0 ? tok.eos_id() : default_eos;
  if (bos >= 0 && bos < n_vocab) kv.emplace_back("tokenizer.ggml.bos_token_id", GGUFValue::u32(uint32_t(bos)));
  if (eos >= 0 && eos < n_vocab) kv.emplace_back("tokenizer.ggml.eos_token_id", GGUFValue::u32(uint32_t(eos)));
  kv.emplace_back("tokenizer.ggml.add_bos_token", GGUFValue::boolean(tok.add_bos()));
  return kv;
}

}  // namespace r1
