// Loaders: tokenizer.json, vocab.json + merges.txt, Hugging Face model folders (with tokenizer_config.json).
#include "core/check.h"
#include "core/io.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

#include <algorithm>
#include <cstring>

namespace r1 {

namespace {

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": not valid JSON (", e.what(), ")");
  }
}

// "a b" -> (a, b); exactly one space, both parts non-empty (as HF requires).
bool split_merge_line(const std::string& line, std::string& a, std::string& b) {
  size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size()) return false;
  if (line.find(' ', sp + 1) != std::string::npos) return false;
  a = line.substr(0, sp);
  b = line.substr(sp + 1);
  return true;
}

using json = nlohmann::json;

// SAX parser that builds a DOM for everything except the two big members, model.vocab (an object of integers)
// and model.merges (an array of strings or string pairs), which go straight into vectors: a 151k-token
// tokenizer.json loads several times faster than through a std::map-based DOM.
struct TokenizerJsonSax : json::json_sax_t {
  std::string source;
  bool root_is_vocab = false;  // vocab.json: the root object is the vocab
  json root;
  std::vector<json*> stack;
  std::vector<std::string> keys;  // key of each open container within its parent ("" in arrays / at the root)
  std::string key_;
  std::vector<std::pair<std::string, long long>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  bool have_vocab = false, have_merges = false;
  enum Mode { Dom, Vocab, Merges, MergePair } mode = Dom;
  int divert_depth = 0;
  std::vector<std::string> pair_;

  std::string at() const {
    if (mode == Vocab) return source + ": " + (root_is_vocab ? "" : "model.vocab") + "[\"" + key_ + "\"]";
    if (mode == Merges || mode == MergePair) return source + ": model.merges[" + std::to_string(merges.size()) + "]";
    return source;
  }
  bool in_model() const { return !root_is_vocab && stack.size() == 2 && keys[1] == "model"; }
  json* put(json&& v) {
    if (stack.empty()) {
      root = std::move(v);
      return &root;
    }
    json* top = stack.back();
    if (top->is_object()) {
      json& ref = (*top)[key_];
      ref = std::move(v);
      return &ref;
    }
    top->push_back(std::move(v));
    return &top->back();
  }
  bool scalar(json&& v, const char* what) {
    switch (mode) {
      case Dom: put(std::move(v)); return true;
      case Vocab:
        if (!v.is_number_integer()) fail(at(), ": expected an integer id, got ", what);
        vocab.emplace_back(key_, v.get<long long>());
        return true;
      case Merges:
        if (!v.is_string()) fail(at(), ": expected \"A B\" or [\"A\", \"B\"], got ", what);
        {
          const std::string& line = v.get_ref<const std::string&>();
          std::string a, b;
          if (!split_merge_line(line, a, b))
            fail(at(), ": expected \"A B\" (two tokens, one space), got \"", line, "\"");
          merges.emplace_back(std::move(a), std::move(b));
        }
        return true;
      case MergePair:
        if (!v.is_string()) fail(at(), ": expected [\"A\", \"B\"] of strings, got a ", what, " element");
        pair_.push_back(v.get<std::string>());
        return true;
    }
    return true;
  }
  bool null() override { return scalar(json(nullptr), "null"); }
  bool boolean(bool v) override { return scalar(json(v), "boolean"); }
  bool number_integer(number_integer_t v) override { return scalar(json(v), "number"); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(json(v), "number"); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v), "non-integer number"); }
  bool string(string_t& v) override { return scalar(json(std::move(v)), "string"); }
  bool binary(binary_t&) override { fail(source, ": unexpected binary value"); }
  bool start_object(std::size_t) override {
    if (mode != Dom) fail(at(), ": unexpected object");
    if ((root_is_vocab && stack.empty()) || (in_model() && key_ == "vocab")) {
      mode = Vocab;
      have_vocab = true;
      divert_depth = int(stack.size());
      return true;
    }
    std::string k = stack.empty() || !stack.back()->is_object() ? "" : key_;
    json* v = put(json::object());
    stack.push_back(v);
    keys.push_back(k);
    return true;
  }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool end_object() override {
    if (mode == Vocab) {
      mode = Dom;
      return true;
    }
    stack.pop_back();
    keys.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode == Merges) {
      mode = MergePair;
      pair_.clear();
      return true;
    }
    if (mode != Dom) fail(at(), ": unexpected array");
    if (in_model() && key_ == "merges") {
      mode = Merges;
      have_merges = true;
      return true;
    }
    std::string k = stack.empty() || !stack.back()->is_object() ? "" : key_;
    json* v = put(json::array());
    stack.push_back(v);
    keys.push_back(k);
    return true;
  }
  bool end_array() override {
    if (mode == MergePair) {
      if (pair_.size() != 2) fail(at(), ": expected [\"A\", \"B\"], got ", pair_.size(), " strings");
      merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode = Merges;
      return true;
    }
    if (mode == Merges) {
      mode = Dom;
      return true;
    }
    stack.pop_back();
    keys.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    fail(source, ": not valid JSON at byte ", pos, " (", e.what(), ")");
  }
};

void fill_vocab(Tokenizer::Impl& m, const std::vector<std::pair<std::string, long long>>& vocab,
                const std::string& where) {
  R1_CHECK(!vocab.empty(), where, ": is empty");
  m.token_to_id.reserve(vocab.size() + 1024);
  long long max_id = 0;
  for (auto& [k, id] : vocab) max_id = std::max(max_id, id);
  // Ids must be (nearly) dense: a stray huge id would otherwise allocate gigabytes.
  R1_CHECK(max_id < (long long)vocab.size() + 65536, where, ": largest id ", max_id, " is far beyond the ",
           vocab.size(), " entries (ids must be dense)");
  if (max_id < (1 << 28)) {
    m.tokens.reserve(max_id + 1);
  }
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (i + 8 < vocab.size()) m.token_to_id.prefetch(vocab[i + 8].first);
    const auto& [k, id] = vocab[i];
    R1_CHECK(id >= 0 && id < (1 << 28), where, "[\"", k, "\"]: id ", id, " is out of range [0, 2^28)");
    m.set_model_token(int(id), k, where);
  }
}

// Llama-3/GPT-2 style defaults when no tokenizer_config.json names bos/eos.
void default_bos_eos(Tokenizer::Impl& m) {
  auto id_of = [&](const char* s) {
    return m.token_to_id.find(s);
  };
  if (m.bos < 0) m.bos = id_of("<|begin_of_text|>");
  if (m.bos < 0) m.bos = id_of("<｜begin▁of▁sentence｜>");
  if (m.eos < 0) m.eos = id_of("<|end_of_text|>");
  if (m.eos < 0) m.eos = id_of("<｜end▁of▁sentence｜>");
  if (m.eos < 0) m.eos = id_of("<|endoftext|>");
}

std::string token_content(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  fail(where, ": expected a string or an object with a string \"content\"");
}

void apply_tokenizer_config_impl(Tokenizer::Impl& m, const std::string& path);
void apply_tokenizer_config(Tokenizer::Impl& m, const std::string& path) {
  try {
    apply_tokenizer_config_impl(m, path);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": a field has the wrong type (", e.what(), ")");
  }
}

void apply_tokenizer_config_impl(Tokenizer::Impl& m, const std::string& path) {
  nlohmann::json cfg = parse_json(read_file(path), path);
  R1_CHECK(cfg.is_object(), path, ": top level must be a JSON object");
  if (cfg.contains("added_tokens_decoder") && !cfg["added_tokens_decoder"].is_null()) {
    const auto& d = cfg["added_tokens_decoder"];
    R1_CHECK(d.is_object(), path, ": added_tokens_decoder must be an object");
    for (auto it = d.begin(); it != d.end(); ++it) {
      std::string w = path + ": added_tokens_decoder[\"" + it.key() + "\"]";
      char* end = nullptr;
      long id = std::strtol(it.key().c_str(), &end, 10);
      R1_CHECK(!it.key().empty() && *end == 0 && id >= 0 && id < (1 << 28), w, ": key must be a token id");
      AddedToken t;
      t.id = int(id);
      t.content = token_content(it.value(), w);
      const auto& v = it.value();
      if (v.is_object()) {
        t.special = v.value("special", false);
        t.lstrip = v.value("lstrip", false);
        t.rstrip = v.value("rstrip", false);
        t.single_word = v.value("single_word", false);
        t.normalized = v.value("normalized", false);
      }
      m.add_token(t, w);
    }
  }
  auto special_id = [&](const char* key) -> int {
    if (!cfg.contains(key) || cfg[key].is_null()) return -2;
    std::string c = token_content(cfg[key], path + ": " + key);
    int id = m.token_to_id.find(c);
    R1_CHECK(id >= 0, path, ": ", key, " '", c, "' is not a token of the vocabulary");
    return id;
  };
  int b = special_id("bos_token"), e = special_id("eos_token");
  if (b != -2) m.bos = b;
  if (e != -2) m.eos = e;
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) m.add_bos = cfg["add_bos_token"];
  if (cfg.contains("model_max_length") && cfg["model_max_length"].is_number()) {
    double v = cfg["model_max_length"].get<double>();
    m.model_max_length = v > 9.2e18 ? (1ll << 62) : (long long)v;
  }
}

std::string file_ext_lower(const std::string& p) {
  size_t dot = p.rfind('.');
  if (dot == std::string::npos) return "";
  std::string e = p.substr(dot + 1);
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

bool has_gguf_magic(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char mg[4] = {0, 0, 0, 0};
  size_t got = std::fread(mg, 1, 4, f);
  std::fclose(f);
  return got == 4 && std::memcmp(mg, "GGUF", 4) == 0;
}

std::string dir_of(const std::string& path) {
  size_t s = path.rfind('/');
  return s == std::string::npos ? "." : path.substr(0, s);
}

}  // namespace

static Tokenizer from_json_text_impl(const std::string& text, const std::string& source);

Tokenizer Tokenizer::from_json_text(const std::string& text, const std::string& source) {
  try {
    return from_json_text_impl(text, source);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong JSON type met by json::value()
    fail(source, ": a field has the wrong type (", e.what(), ")");
  }
}

static Tokenizer from_json_text_impl(const std::string& text, const std::string& source) {
  using Impl = Tokenizer::Impl;
  TokenizerJsonSax sax;
  sax.source = source;
  json::sax_parse(text, &sax);
  json& j = sax.root;
  R1_CHECK(j.is_object(), source, ": top level must be a JSON object");
  R1_CHECK(j.contains("model") && j["model"].is_object(), source, ": missing object \"model\"");
  const auto& model = j["model"];
  if (model.contains("type")) {
    R1_CHECK(model["type"].is_string() && model["type"] == "BPE", source, ": model.type is ", model["type"].dump(),
             "; only \"BPE\" (byte-level) is supported");
  }
  R1_CHECK(sax.have_vocab || model.contains("vocab"), source, ": missing \"model.vocab\"");
  R1_CHECK(sax.have_vocab, source, ": model.vocab must be an object mapping token strings to integer ids");
  auto m = std::make_shared<Impl>();
  fill_vocab(*m, sax.vocab, source + ": model.vocab");
  R1_CHECK(sax.have_merges || !model.contains("merges") || model["merges"].is_null(), source,
           ": model.merges must be an array");
  m->merge_list.reserve(sax.merges.size());
  m->merges.reserve(sax.merges.size());
  const std::string merges_where = source + ": model.merges";
  for (size_t i = 0; i < sax.merges.size(); ++i) {
    if (i + 8 < sax.merges.size()) m->prefetch_merge(sax.merges[i + 8].first, sax.merges[i + 8].second);
    m->add_merge(sax.merges[i].first, sax.merges[i].second, merges_where, long(i));
  }
  if (model.contains("ignore_merges") && model["ignore_merges"].is_boolean()) m->ignore_merges = model["ignore_merges"];
  if (model.contains("continuing_subword_prefix") && !model["continuing_subword_prefix"].is_null() &&
      model["continuing_subword_prefix"] != "")
    fail(source, ": model.continuing_subword_prefix is not supported (byte-level BPE has none)");
  if (model.contains("end_of_word_suffix") && !model["end_of_word_suffix"].is_null() && model["end_of_word_suffix"] != "")
    fail(source, ": model.end_of_word_suffix is not supported (byte-level BPE has none)");
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const auto& at = j["added_tokens"];
    R1_CHECK(at.is_array(), source, ": added_tokens must be an array");
    for (size_t i = 0; i < at.size(); ++i) {
      std::string w = source + ": added_tokens[" + std::to_string(i) + "]";
      const auto& e = at[i];
      R1_CHECK(e.is_object(), w, ": expected an object");
      R1_CHECK(e.contains("id") && e["id"].is_number_integer(), w, ": missing integer \"id\"");
      R1_CHECK(e.contains("content") && e["content"].is_string(), w, ": missing string \"content\"");
      AddedToken t;
      long long id = e["id"].get<long long>();
      R1_CHECK(id >= 0 && id < (1 << 28), w, ": id ", id, " is out of range");
      t.id = int(id);
      t.content = e["content"].get<std::string>();
      auto flag = [&](const char* k) {
        if (!e.contains(k)) return false;
        R1_CHECK(e[k].is_boolean(), w, ".", k, ": expected true or false");
        return e[k].get<bool>();
      };
      t.special = flag("special");
      t.lstrip = flag("lstrip");
      t.rstrip = flag("rstrip");
      t.single_word = flag("single_word");
      t.normalized = flag("normalized");
      m->add_token(t, w);
    }
  }
  m->normalizer = Normalizer::from_json(j.value("normalizer", nlohmann::json()), source);
  m->pre = PreTokenizer::from_json(j.value("pre_tokenizer", nlohmann::json()), source);
  R1_CHECK(m->pre.byte_level, source, ": pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
  m->post_processor = j.value("post_processor", nlohmann::json());
  m->decoder = j.value("decoder", nlohmann::json());
  if (!m->decoder.is_null()) {
    R1_CHECK(m->decoder.is_object(), source, ": decoder must be null or an object");
    std::string dt = m->decoder.value("type", "");
    bool ok = dt == "ByteLevel";
    if (dt == "Sequence" && m->decoder.contains("decoders") && m->decoder["decoders"].is_array())
      for (auto& d : m->decoder["decoders"])
        if (d.is_object() && d.value("type", "") == "ByteLevel") ok = true;
    R1_CHECK(ok, source, ": decoder type '", dt, "' is not supported (expected ByteLevel)");
  }
  m->finalize();
  default_bos_eos(*m);
  return Tokenizer(m);
}

Tokenizer Tokenizer::load_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                       const std::string& pre) {
  auto m = std::make_shared<Impl>();
  m->pre = PreTokenizer::preset(pre);
  if (m->pre.name == "qwen2") m->normalizer.forms = {Normalizer::NFC};  // Qwen2Tokenizer normalizes to NFC
  {
    TokenizerJsonSax sax;
    sax.source = vocab_json;
    sax.root_is_vocab = true;
    json::sax_parse(read_file(vocab_json), &sax);
    R1_CHECK(sax.have_vocab, vocab_json, ": must be a JSON object mapping token strings to integer ids");
    fill_vocab(*m, sax.vocab, vocab_json);
  }
  std::string text = read_file(merges_txt);
  m->merges.reserve(text.size() / 10);
  size_t pos = 0, line_no = 0;
  std::string a, b;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    R1_CHECK(split_merge_line(line, a, b), merges_txt, " line ", line_no,
             ": expected two tokens separated by one space, got '", line, "'");
    m->add_merge(a, b, merges_txt, long(line_no), /*line_style=*/true);
  }
  m->finalize();
  default_bos_eos(*m);
  return Tokenizer(m);
}

namespace {

// The raw chat template of a folder, where transformers keeps it: chat_template.jinja, chat_template.json's
// "chat_template", or tokenizer_config.json's (a string, or the "default" entry of a list). "" if none; a
// malformed file is reported when the template is used (tokenizer/chat_template.h), not here.
std::string folder_chat_template(const std::string& dir) {
  const std::string jinja = path_join(dir, "chat_template.jinja");
  if (file_exists(jinja)) return read_file(jinja);
  for (const char* name : {"chat_template.json", "tokenizer_config.json"}) {
    const std::string p = path_join(dir, name);
    if (!file_exists(p)) continue;
    nlohmann::json j = nlohmann::json::parse(read_file(p), nullptr, false);
    if (!j.is_object() || !j.contains("chat_template")) continue;
    const auto& ct = j["chat_template"];
    if (ct.is_string()) return ct.get<std::string>();
    if (ct.is_array())
      for (const auto& e : ct)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          return e["template"].get<std::string>();
  }
  return "";
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  Tokenizer t = load_files(path);
  const std::string dir = is_directory(path) ? path : dir_of(path);
  if (file_ext_lower(path) != "gguf") {
    std::string ct = folder_chat_template(dir);
    if (!ct.empty()) t.set_chat_template(ct);
  }
  return t;
}

bool Tokenizer::in_folder(const std::string& dir) {
  return file_exists(path_join(dir, "tokenizer.json")) ||
         (file_exists(path_join(dir, "vocab.json")) && file_exists(path_join(dir, "merges.txt")));
}

Tokenizer Tokenizer::load_files(const std::string& path) {
  if (is_directory(path)) {
    std::string tj = path_join(path, "tokenizer.json"), cfg = path_join(path, "tokenizer_config.json");
    Tokenizer t;
    if (file_exists(tj)) {
      t = from_json_text(read_file(tj), tj);
    } else if (file_exists(path_join(path, "vocab.json")) && file_exists(path_join(path, "merges.txt"))) {
      std::string pre = "gpt2";
      if (file_exists(cfg)) {
        nlohmann::json c = parse_json(read_file(cfg), cfg);
        std::string cls = c.is_object() && c.contains("tokenizer_class") && c["tokenizer_class"].is_string()
                              ? c["tokenizer_class"].get<std::string>()
                              : "";
        if (cls.find("Qwen2") != std::string::npos) pre = "qwen2";
      }
      t = load_vocab_merges(path_join(path, "vocab.json"), path_join(path, "merges.txt"), pre);
    } else {
      fail(path, ": folder has neither tokenizer.json nor vocab.json + merges.txt");
    }
    if (file_exists(cfg)) {
      t.make_unique_impl();
      apply_tokenizer_config(*t.impl_, cfg);
      t.impl_->finalize();
    }
    return t;
  }
  R1_CHECK(file_exists(path), path, ": no such file or folder");
  if (file_ext_lower(path) == "gguf" || has_gguf_magic(path)) return load_gguf(path);
  Tokenizer t = from_json_text(read_file(path), path);
  std::string cfg = path_join(dir_of(path), "tokenizer_config.json");
  if (file_exists(cfg)) {
    t.make_unique_impl();
    apply_tokenizer_config(*t.impl_, cfg);
    t.impl_->finalize();
  }
  return t;
}

}  // namespace r1
