// Tokenizer core: vocabulary tables, special-token splitting, decoding, saving, streaming decode. The BPE
// merging of each pre-tokenized piece is in tokenizer_bpe.cpp.
#include "tokenizer/tokenizer.h"

#include "core/check.h"
#include "core/io.h"
#include "tokenizer/tokenizer_impl.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cctype>
#include <cstring>
#include <string_view>

namespace r1 {

// ---- PairMap ----
void PairMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap * 5 < n * 8 + 8) cap <<= 1;  // load factor <= 0.625
  if (cap <= slots_.size()) return;
  std::vector<uint64_t> old(cap, kEmpty);
  old.swap(slots_);
  mask_ = cap - 1;
  shift_ = 64 - __builtin_ctzll(cap);
  for (uint64_t s : old) {
    if (s == kEmpty) continue;
    size_t i = hash(s >> 22);
    while (slots_[i] != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

bool PairMap::insert(int a, int b, Merge m) {
  R1_CHECK(a >= 0 && b >= 0 && a <= kMaxId && b <= kMaxId, "merge table: token ids above ", kMaxId,
           " are not supported");
  R1_CHECK(m.rank >= 0 && m.rank <= kMaxRank, "merge table: more than ", kMaxRank, " merges are not supported");
  if ((size_ + 1) * 8 > slots_.size() * 5) reserve(std::max<size_t>(size_ * 2, 16));
  uint64_t key = (uint64_t(uint32_t(a)) << 21) | uint32_t(b);
  size_t i = hash(key);
  while (slots_[i] != kEmpty) {
    if ((slots_[i] >> 22) == key) return false;
    i = (i + 1) & mask_;
  }
  slots_[i] = (key << 22) | uint64_t(m.rank);
  if (int(to_.size()) <= m.rank) to_.resize(m.rank + 1, -1);
  to_[m.rank] = m.id;
  ++size_;
  return true;
}

// ---- StrIdMap ----
void StrIdMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2 + 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old(cap, Slot{0, -1, 0, 0});
  old.swap(slots_);
  mask_ = cap - 1;
  for (const Slot& sl : old) {
    if (sl.id < 0) continue;
    uint64_t h = std::hash<std::string_view>()(std::string_view(arena_.data() + sl.off, sl.len));
    size_t i = h & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = sl;
  }
}

int StrIdMap::put(std::string_view s, int id, bool overwrite) {
  R1_CHECK(id >= 0, "StrIdMap: negative id");
  if ((size_ + 1) * 2 > slots_.size()) reserve(std::max<size_t>(size_ * 2, 16));
  uint64_t h = std::hash<std::string_view>()(s);
  uint32_t tag = uint32_t(h >> 32);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& sl = slots_[i];
    if (sl.id < 0) break;
    if (sl.tag == tag && sl.len == s.size() && std::memcmp(arena_.data() + sl.off, s.data(), s.size()) == 0) {
      int old = sl.id;
      if (overwrite) sl.id = id;
      return old;
    }
  }
  R1_CHECK(arena_.size() + s.size() < (1ull << 32), "StrIdMap: vocabulary strings exceed 4 GB");
  slots_[i] = Slot{tag, int32_t(id), uint32_t(arena_.size()), uint32_t(s.size())};
  arena_.append(s.data(), s.size());
  ++size_;
  return -1;
}

// ---- byte-level helpers ----
std::string byte_level_encode(const char* s, size_t n) {
  std::string r;
  r.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) r += byte_to_unicode(static_cast<unsigned char>(s[i]));
  return r;
}

std::string byte_level_decode(const std::string& tok) {
  if (utf8_valid_prefix(tok.data(), tok.size()) != tok.size()) return tok;
  std::string r;
  r.reserve(tok.size());
  for (size_t i = 0; i < tok.size();) {
    size_t len;
    uint32_t cp = utf8_decode(tok.data() + i, &len);
    int b = unicode_to_byte(cp);
    if (b < 0) return tok;  // not a byte-level token: its own UTF-8 (as HF's ByteLevel decoder)
    r += char(b);
    i += len;
  }
  return r;
}

// ---- Impl ----
static std::atomic<uint64_t> g_uid{1};

Tokenizer::Impl::Impl() {
  for (int& b : byte_id) b = -1;
  for (bool& c : can_start) c = false;
  trie.emplace_back();
  pre = PreTokenizer::preset("gpt2");
  uid = g_uid++;
}

static void grow(Tokenizer::Impl& m, int id) {
  if (id >= int(m.tokens.size())) {
    m.tokens.resize(id + 1);
    m.bytes.resize(id + 1);
    m.special.resize(id + 1, 0);
    m.in_model.resize(id + 1, 0);
  }
}

void Tokenizer::Impl::set_model_token(int id, const std::string& tok, const std::string& where) {
  R1_CHECK(id >= 0 && id < (1 << 28), where, ": token id ", id, " for '", tok, "' is out of range [0, 2^28)");
  grow(*this, id);
  R1_CHECK(!in_model[id], where, ": token id ", id, " is given twice ('", tokens[id], "' and '", tok, "')");
  tokens[id] = tok;
  bytes[id] = byte_level_decode(tok);
  in_model[id] = 1;
  int old = token_to_id.insert(tok, id);
  R1_CHECK(old < 0, where, ": token '", tok, "' appears twice (ids ", old, " and ", id, ")");
}

void Tokenizer::Impl::add_token(const AddedToken& t, const std::string& where) {
  R1_CHECK(t.id >= 0 && t.id < (1 << 28), where, ": added token '", t.content, "' has id ", t.id,
           " out of range [0, 2^28)");
  R1_CHECK(!t.content.empty(), where, ": added token with id ", t.id, " has empty content");
  R1_CHECK(t.id < int(tokens.size()) + 65536, where, ": added token '", t.content, "' has id ", t.id,
           ", far beyond the vocabulary size ", tokens.size(), " (ids must be dense)");
  grow(*this, t.id);
  for (auto& a : added)
    if (a.id == t.id) {  // the same id given again (tokenizer_config.json repeating tokenizer.json): update flags
      R1_CHECK(a.content == t.content, where, ": id ", t.id, " is both added token '", a.content, "' and '", t.content,
               "'");
      a = t;
      special[t.id] = t.special;
      return;
    }
  int have = token_to_id.find(t.content);
  R1_CHECK(have < 0 || have == t.id, where, ": added token '", t.content, "' has id ", t.id,
           " but the vocabulary has it as id ", have);
  if (!in_model[t.id]) {
    tokens[t.id] = t.content;
  }
  bytes[t.id] = t.content;  // added tokens decode to their content as written
  special[t.id] = t.special;
  token_to_id.set(t.content, t.id);
  added.push_back(t);
}

void Tokenizer::Impl::build_trie() {
  trie.assign(1, TrieNode{});
  for (bool& c : can_start) c = false;
  for (size_t k = 0; k < added.size(); ++k) {
    const std::string& s = added[k].content;
    int node = 0;
    for (unsigned char c : s) {
      auto& nx = trie[node].next;
      auto pos = std::lower_bound(nx.begin(), nx.end(), std::make_pair(c, INT_MIN));
      if (pos != nx.end() && pos->first == c) {
        node = pos->second;
      } else {
        int child = int(trie.size());
        nx.insert(pos, {c, child});
        trie.emplace_back();
        node = child;
      }
    }
    trie[node].added_index = int(k);
    can_start[static_cast<unsigned char>(s[0])] = true;
  }
}

void Tokenizer::Impl::add_merge(const std::string& a, const std::string& b, const std::string& where_base, long index,
                                bool line_style) {
  int ia = token_to_id.find(a), ib = token_to_id.find(b);
  thread_local std::string ab;
  ab.assign(a);
  ab += b;
  int ic = token_to_id.find(ab);
  if (ia < 0 || ib < 0 || ic < 0) {
    std::string where = where_base;
    if (index >= 0) where += line_style ? " line " + std::to_string(index) : "[" + std::to_string(index) + "]";
    R1_CHECK(ia >= 0, where, ": merge '", a, " ", b, "' names token '", a, "' that is not in the vocab");
    R1_CHECK(ib >= 0, where, ": merge '", a, " ", b, "' names token '", b, "' that is not in the vocab");
    fail(where, ": merge '", a, " ", b, "' gives '", ab, "' that is not in the vocab");
  }
  int rank = int(merge_list.size());
  // A repeated merge keeps its first (lowest) rank, as HF does.
  if (merges.insert(ia, ib, {rank, ic})) merge_list.emplace_back(ia, ib);
}

void Tokenizer::Impl::prefetch_merge(const std::string& a, const std::string& b) const {
  token_to_id.prefetch(a);
  token_to_id.prefetch(b);
  thread_local std::string ab;
  ab.assign(a);
  ab += b;
  token_to_id.prefetch(ab);
}

void Tokenizer::Impl::finalize() {
  for (int b = 0; b < 256; ++b) {
    int id = token_to_id.find(byte_to_unicode(static_cast<unsigned char>(b)));
    byte_id[b] = (id >= 0 && in_model[id]) ? id : -1;
  }
  build_trie();
  uid = g_uid++;
}

// ---- Tokenizer ----
Tokenizer::Tokenizer() : impl_(std::make_shared<Impl>()) { impl_->finalize(); }
Tokenizer::Tokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

void Tokenizer::make_unique_impl() {
  if (impl_.use_count() > 1) impl_ = std::make_shared<Impl>(*impl_);
}

static bool is_space_byte(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static bool is_word_char_before(const std::string& t, size_t pos) {
  if (pos == 0) return false;
  size_t i = pos - 1;
  while (i > 0 && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) --i;
  unsigned char c = t[i];
  return c >= 0x80 || std::isalnum(c) || c == '_';
}
static bool is_word_char_at(const std::string& t, size_t pos) {
  if (pos >= t.size()) return false;
  unsigned char c = t[pos];
  return c >= 0x80 || std::isalnum(c) || c == '_';
}

std::vector<int> Tokenizer::encode(const std::string& text, bool parse_special) const {
  const Impl& m = *impl_;
  std::vector<int> out;
  out.reserve(text.size() / 3 + 4);
  const size_t n = text.size();
  if (m.added.empty()) {
    m.encode_segment(text.data(), n, out);
    return out;
  }
  size_t seg = 0, i = 0;
  while (i < n) {
    if (!m.can_start[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // longest added token starting at i
    int node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < n; ++j) {
      const auto& nx = m.trie[node].next;
      unsigned char c = text[j];
      auto pos = std::lower_bound(nx.begin(), nx.end(), std::make_pair(c, INT_MIN));
      if (pos == nx.end() || pos->first != c) break;
      node = pos->second;
      int k = m.trie[node].added_index;
      if (k >= 0 && (parse_special || !m.added[k].special)) {
        best = k;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = m.added[best];
    size_t ms = i, me = best_end;
    if (t.single_word && (is_word_char_before(text, ms) || is_word_char_at(text, me))) {
      ++i;
      continue;
    }
    if (t.lstrip)
      while (ms > seg && is_space_byte(text[ms - 1])) --ms;
    if (t.rstrip)
      while (me < n && is_space_byte(text[me])) ++me;
    m.encode_segment(text.data() + seg, ms - seg, out);
    out.push_back(t.id);
    seg = i = me;
  }
  m.encode_segment(text.data() + seg, n - seg, out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string out;
  for (int id : ids) {
    R1_CHECK(id >= 0 && id < int(m.tokens.size()), "decode: token id ", id, " is out of range [0, ", m.tokens.size(),
             ")");
    if (skip_special && m.special[id]) continue;
    out += m.bytes[id];
  }
  return out;
}

int Tokenizer::token_id(const std::string& token) const {
  return impl_->token_to_id.find(token);
}

std::string Tokenizer::token_text(int id) const {
  R1_CHECK(id >= 0 && id < int(impl_->tokens.size()), "token_text: id ", id, " is out of range [0, ",
           impl_->tokens.size(), ")");
  return impl_->bytes[id];
}

std::string Tokenizer::token_string(int id) const {
  R1_CHECK(id >= 0 && id < int(impl_->tokens.size()), "token_string: id ", id, " is out of range [0, ",
           impl_->tokens.size(), ")");
  return impl_->tokens[id];
}

bool Tokenizer::is_special(int id) const { return id >= 0 && id < int(impl_->special.size()) && impl_->special[id]; }
int Tokenizer::vocab_size() const { return int(impl_->tokens.size()); }
int Tokenizer::bos_id() const { return impl_->bos; }
int Tokenizer::eos_id() const { return impl_->eos; }
void Tokenizer::set_bos_id(int id) {
  R1_CHECK(id >= -1 && id < vocab_size(), "set_bos_id: id ", id, " is out of range");
  make_unique_impl();
  impl_->bos = id;
}
void Tokenizer::set_eos_id(int id) {
  R1_CHECK(id >= -1 && id < vocab_size(), "set_eos_id: id ", id, " is out of range");
  make_unique_impl();
  impl_->eos = id;
}
long long Tokenizer::model_max_length() const { return impl_->model_max_length; }
void Tokenizer::set_model_max_length(long long n) {
  make_unique_impl();
  impl_->model_max_length = n;
}
int Tokenizer::num_merges() const { return int(impl_->merge_list.size()); }
std::string Tokenizer::pre_name() const { return impl_->pre.name; }

std::vector<std::string> Tokenizer::merges() const {
  std::vector<std::string> r;
  r.reserve(impl_->merge_list.size());
  for (auto [a, b] : impl_->merge_list) r.push_back(impl_->tokens[a] + " " + impl_->tokens[b]);
  return r;
}

int Tokenizer::gguf_token_type(int id) const {
  R1_CHECK(id >= 0 && id < vocab_size(), "gguf_token_type: id ", id, " is out of range [0, ", vocab_size(), ")");
  for (auto& a : impl_->added)
    if (a.id == id) return a.special ? 3 : 4;
  return 1;
}

std::string Tokenizer::gguf_pre() const {
  const std::string& n = impl_->pre.name;
  if (n == "gpt2") return "gpt-2";
  if (n == "custom") return "default";
  return n;
}

bool Tokenizer::add_bos() const { return impl_->add_bos; }

Tokenizer Tokenizer::byte_level(const std::vector<std::string>& special_tokens) {
  auto m = std::make_shared<Impl>();
  for (int b = 0; b < 256; ++b) m->set_model_token(b, byte_to_unicode(static_cast<unsigned char>(b)), "byte_level");
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    R1_CHECK(m->token_to_id.find(special_tokens[i]) < 0, "byte_level: special token '",
             special_tokens[i], "' is given twice or is a byte token");
    AddedToken t;
    t.content = special_tokens[i];
    t.id = 256 + int(i);
    t.special = true;
    m->add_token(t, "byte_level");
  }
  m->pre = PreTokenizer::preset("gpt2");
  m->finalize();
  int eot = m->token_to_id.find("<|endoftext|>");
  m->eos = eot >= 0 ? eot : (special_tokens.empty() ? -1 : 256);
  return Tokenizer(m);
}

// ---- save ----
static std::string jstr(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Tokenizer::to_json_text() const {
  const Impl& m = *impl_;
  std::string o;
  o.reserve(m.tokens.size() * 24 + m.merge_list.size() * 24 + 4096);
  o += "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [";
  std::vector<AddedToken> added = m.added;
  std::sort(added.begin(), added.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (size_t i = 0; i < added.size(); ++i) {
    const AddedToken& t = added[i];
    nlohmann::ordered_json j;
    j["id"] = t.id;
    j["content"] = t.content;
    j["single_word"] = t.single_word;
    j["lstrip"] = t.lstrip;
    j["rstrip"] = t.rstrip;
    j["normalized"] = t.normalized;
    j["special"] = t.special;
    o += i ? ",\n    " : "\n    ";
    o += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  o += added.empty() ? "],\n" : "\n  ],\n";
  o += "  \"normalizer\": " + m.normalizer.to_json().dump() + ",\n";
  o += "  \"pre_tokenizer\": " + m.pre.to_json().dump() + ",\n";
  nlohmann::json post = m.post_processor;
  if (post.is_null())
    post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  o += "  \"post_processor\": " + post.dump() + ",\n";
  nlohmann::json dec = m.decoder;
  if (dec.is_null())
    dec = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  o += "  \"decoder\": " + dec.dump() + ",\n";
  o += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
       "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
       "    \"byte_fallback\": false,\n    \"ignore_merges\": ";
  o += m.ignore_merges ? "true" : "false";
  o += ",\n    \"vocab\": {";
  bool first = true;
  for (size_t id = 0; id < m.tokens.size(); ++id) {
    if (!m.in_model[id]) continue;
    o += first ? "\n      " : ",\n      ";
    first = false;
    o += jstr(m.tokens[id]) + ": " + std::to_string(id);
  }
  o += "\n    },\n    \"merges\": [";
  bool has_space = false;
  for (auto& [a, b] : m.merge_list)
    if (m.tokens[a].find(' ') != std::string::npos || m.tokens[b].find(' ') != std::string::npos) has_space = true;
  for (size_t i = 0; i < m.merge_list.size(); ++i) {
    auto [a, b] = m.merge_list[i];
    o += i ? ",\n      " : "\n      ";
    if (has_space)
      o += "[" + jstr(m.tokens[a]) + ", " + jstr(m.tokens[b]) + "]";
    else
      o += jstr(m.tokens[a] + " " + m.tokens[b]);
  }
  o += m.merge_list.empty() ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n";
  return o;
}

void Tokenizer::save(const std::string& dir) const {
  const Impl& m = *impl_;
  make_dirs(dir);
  atomic_write(path_join(dir, "tokenizer.json"), to_json_text());
  nlohmann::ordered_json cfg;
  cfg["add_bos_token"] = m.add_bos;
  cfg["add_eos_token"] = false;
  nlohmann::ordered_json dec = nlohmann::ordered_json::object();
  std::vector<AddedToken> added = m.added;
  std::sort(added.begin(), added.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (auto& t : added) {
    nlohmann::ordered_json j;
    j["content"] = t.content;
    j["lstrip"] = t.lstrip;
    j["normalized"] = t.normalized;
    j["rstrip"] = t.rstrip;
    j["single_word"] = t.single_word;
    j["special"] = t.special;
    dec[std::to_string(t.id)] = j;
  }
  cfg["added_tokens_decoder"] = dec;
  cfg["bos_token"] = m.bos >= 0 ? nlohmann::ordered_json(m.tokens[m.bos]) : nlohmann::ordered_json(nullptr);
  cfg["eos_token"] = m.eos >= 0 ? nlohmann::ordered_json(m.tokens[m.eos]) : nlohmann::ordered_json(nullptr);
  cfg["clean_up_tokenization_spaces"] = false;
  cfg["model_max_length"] = m.model_max_length;
  cfg["tokenizer_class"] = "PreTrainedTokenizerFast";
  atomic_write(path_join(dir, "tokenizer_config.json"),
               cfg.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (!m.chat_template.empty()) atomic_write(path_join(dir, "chat_template.jinja"), m.chat_template);
}

const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
void Tokenizer::set_chat_template(const std::string& source) {
  make_unique_impl();
  impl_->chat_template = source;
}

// ---- StreamDecoder ----
StreamDecoder::StreamDecoder(const Tokenizer& tok, bool skip_special) : tok_(&tok), skip_special_(skip_special) {}

std::string StreamDecoder::push(int id) {
  if (skip_special_ && tok_->is_special(id)) return "";
  pending_ += tok_->token_text(id);
  // Hold back a trailing lead byte plus continuation bytes that do not yet form a whole character.
  size_t n = pending_.size(), cut = n;
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    unsigned char c = pending_[n - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
    if (c >= 0xF5) need = 1;
    if (need > back) cut = n - back;
    break;
  }
  std::string out = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace r1
