// Byte-level BPE tokenizer that gives the same ids as Hugging Face `tokenizers` for the GPT-2 / Llama 3 / Qwen2 /
// DeepSeek family. Loads tokenizer.json, vocab.json + merges.txt, or a GGUF file's tokenizer.ggml.* keys, and saves
// a tokenizer.json (+ tokenizer_config.json) that Hugging Face loads.
//
// Encoding pipeline (as HF): added/special tokens are split out of the raw text first (leftmost-longest), each
// remaining segment is normalized (none / NFC / NFKC ...), pre-tokenized (regex splits, then ByteLevel), and each
// piece is BPE-merged (lowest merge rank first, leftmost on ties). A Tokenizer is cheap to copy (shared immutable
// state) and encode/decode are thread-safe.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace r1 {

class PreTokenizer;

class Tokenizer {
 public:
  // PATH: a tokenizer.json, a Hugging Face model folder (tokenizer.json, or vocab.json+merges.txt, plus optional
  // tokenizer_config.json for bos/eos/added tokens), a folder with vocab.json + merges.txt, or a .gguf file.
  static Tokenizer load(const std::string& path);
  // Whether folder `dir` holds a tokenizer that load() reads (tokenizer.json, or vocab.json + merges.txt).
  static bool in_folder(const std::string& dir);
  // vocab.json + merges.txt with an explicit pre-tokenizer preset (see PreTokenizer::preset for the names).
  static Tokenizer load_vocab_merges(const std::string& vocab_json, const std::string& merges_txt,
                                     const std::string& pre = "gpt2");
  // tokenizer.json given as text; `source` names it in error messages.
  static Tokenizer from_json_text(const std::string& text, const std::string& source = "tokenizer.json");
  // GGUF file (tokenizer.ggml.model == "gpt2").
  static Tokenizer load_gguf(const std::string& path);
  // Byte-level tokenizer for tiny models: ids 0..255 are the 256 bytes (in GPT-2 byte-to-unicode form in the vocab,
  // so the tokenizer.json is a standard ByteLevel BPE with no merges), then the special tokens in order.
  // eos is "<|endoftext|>" when present, else the first special token; no bos.
  static Tokenizer byte_level(const std::vector<std::string>& special_tokens);

  Tokenizer();  // empty tokenizer (vocab_size() == 0); assign a loaded one to use it
  ~Tokenizer();
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Special tokens are split out first when parse_special (added tokens that are not special are always split out,
  // as llama.cpp does); never adds BOS.
  std::vector<int> encode(const std::string& text, bool parse_special = true) const;
  // Concatenated bytes of the tokens (raw bytes: a sequence cut inside a UTF-8 character gives partial bytes).
  std::string decode(const std::vector<int>& ids, bool skip_special = false) const;
  int token_id(const std::string& token) const;  // id of a token string (special or regular vocab entry), -1 if absent
  std::string token_text(int id) const;          // decoded bytes of one token
  std::string token_string(int id) const;        // the token as written in the vocab (byte-level form), "" for a hole
  bool is_special(int id) const;                 // added token flagged special (control token)
  int vocab_size() const;                        // max id + 1
  int bos_id() const;
  int eos_id() const;  // -1 if none
  void set_bos_id(int id);
  void set_eos_id(int id);
  long long model_max_length() const;
  void set_model_max_length(long long n);
  // The chat template source loaded with the tokenizer from its folder (chat_template.jinja, chat_template.json or
  // tokenizer_config.json's "chat_template", as transformers keeps it); "" if none. save() writes it back.
  const std::string& chat_template() const;
  void set_chat_template(const std::string& source);
  int num_merges() const;
  // Name of the pre-tokenizer preset recognised ("gpt2", "qwen2", "llama-bpe", ...), or "custom".
  std::string pre_name() const;

  // For exporters (GGUF tokenizer.ggml.*): merges as "A B" strings in rank order; llama.cpp token type of an id
  // (1 normal, 3 control = special added token, 4 user-defined = other added token); the tokenizer.ggml.pre name
  // ("gpt-2", "qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3", or "default" if unknown).
  std::vector<std::string> merges() const;
  int gguf_token_type(int id) const;
  std::string gguf_pre() const;
  bool add_bos() const;  // tokenizer_config.json add_bos_token / tokenizer.ggml.add_bos_token

  // Writes dir/tokenizer.json (+ tokenizer_config.json with bos/eos/model_max_length, + chat_template.jinja when
  // there is a chat template, as transformers' save_pretrained does) that Hugging Face `tokenizers`/transformers
  // loads; atomic writes. Creates dir.
  void save(const std::string& dir) const;
  std::string to_json_text() const;  // the tokenizer.json content

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Tokenizer(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
  void make_unique_impl();
  static Tokenizer load_files(const std::string& path);  // load() without the chat template
};

// Streaming decode: feed ids one at a time, get the text that is complete so far (holds back a partial UTF-8
// character until its last byte arrives; bytes that can never complete a character are passed through).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special = false);
  std::string push(int id);
  std::string flush();  // whatever is held back

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  std::string pending_;
};

// Byte-level BPE training (HF BpeTrainer-style): pre-tokenize the corpus with the GPT-2 ByteLevel regex, count
// words, repeatedly merge the most frequent adjacent pair (ties: the pair of smaller ids). The vocabulary is
// the 256 bytes, then one token per merge, then the special tokens; vocab_size counts all of them.
struct BpeTrainOptions {
  int vocab_size = 4096;
  int min_frequency = 2;  // pairs seen fewer times are not merged
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  bool show_progress = false;
};
Tokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& opt);

}  // namespace r1
