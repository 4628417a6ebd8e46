// Tokenizer core: vocabulary tables, special-token splitting, BPE merging, decoding, saving, streaming decode.
#include "tokenizer/tokenizer.h"

#include "core/check.h"
#include "core/io.h"
#include "tokenizer/tokenizer_impl.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <queue>
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

// ---- BPE ----
namespace {
// Direct-mapped per-thread cache of piece -> ids (bounded, no locking). Key and ids are stored inline so a
// hit touches one cache line.
struct alignas(64) CacheEntry {
  uint64_t hash;
  uint8_t klen, nids;  // klen == 0: empty
  char key[22];
  int32_t ids[8];
};
static_assert(sizeof(CacheEntry) == 64, "one cache line");
constexpr size_t kCacheSize = 1 << 14;
constexpr size_t kCacheMaxKey = 22, kCacheMaxIds = 8;

struct WordCache {
  uint64_t uid = 0;
  std::vector<CacheEntry> entries;
};
CacheEntry* word_cache(uint64_t uid) {
  thread_local WordCache c;
  if (c.uid != uid) {
    c.entries.assign(kCacheSize, CacheEntry{});
    c.uid = uid;
  }
  return c.entries.data();
}

inline uint64_t hash_bytes(const char* s, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, s, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    s += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    std::memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  return h ^ (h >> 32);
}

// Merges `sym` in place: lowest rank first, leftmost on ties. Short words: rescan an array of pair ranks.
void merge_short(const PairMap& merges, std::vector<int>& sym) {
  size_t n = sym.size();
  int rank[64], to[64];
  // Independent lookups first, with prefetches, so their cache misses overlap.
  for (size_t i = 0; i + 1 < n; ++i) merges.prefetch(sym[i], sym[i + 1]);
  for (size_t i = 0; i + 1 < n; ++i) {
    rank[i] = merges.rank(sym[i], sym[i + 1]);
    if (rank[i] != INT_MAX) merges.prefetch_merged(rank[i]);
  }
  for (size_t i = 0; i + 1 < n; ++i) to[i] = rank[i] != INT_MAX ? merges.merged_id(rank[i]) : -1;
  auto set_pair = [&](size_t i) {
    rank[i] = merges.rank(sym[i], sym[i + 1]);
    to[i] = rank[i] != INT_MAX ? merges.merged_id(rank[i]) : -1;
  };
  while (n > 1) {
    int best = INT_MAX;
    size_t bi = 0;
    for (size_t i = 0; i + 1 < n; ++i)
      if (rank[i] < best) {
        best = rank[i];
        bi = i;
      }
    if (best == INT_MAX) break;
    sym[bi] = to[bi];
    for (size_t i = bi + 1; i + 1 < n; ++i) {
      sym[i] = sym[i + 1];
      rank[i] = rank[i + 1];
      to[i] = to[i + 1];
    }
    --n;
    // pairs bi-1 and bi changed
    if (bi > 0) merges.prefetch(sym[bi - 1], sym[bi]);
    if (bi + 1 < n) merges.prefetch(sym[bi], sym[bi + 1]);
    if (bi > 0) set_pair(bi - 1);
    if (bi + 1 < n) set_pair(bi);
  }
  sym.resize(n);
}

// Long words: linked list of symbols + min-heap of candidate merges (rank, position).
void merge_long(const PairMap& merges, std::vector<int>& sym) {
  int n = int(sym.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int rank, pos, a, b, to;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto consider = [&](int i) {
    if (i < 0 || next[i] < 0) return;
    int r = merges.rank(sym[i], sym[next[i]]);
    if (r != INT_MAX) heap.push({r, i, sym[i], sym[next[i]], merges.merged_id(r)});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<char> alive(n, 1);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    if (!alive[c.pos] || next[c.pos] < 0 || sym[c.pos] != c.a || sym[next[c.pos]] != c.b) continue;
    int r = next[c.pos];
    sym[c.pos] = c.to;
    alive[r] = 0;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  size_t k = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) sym[k++] = sym[i];
  sym.resize(k);
}
}  // namespace

void Tokenizer::Impl::bpe_piece(const char* s, size_t n, std::vector<int>& out) const {
  bpe_piece_hashed(s, n, n <= kCacheMaxKey ? hash_bytes(s, n) : 0, out);
}

void Tokenizer::Impl::prefetch_piece(uint64_t h) const {
  __builtin_prefetch(word_cache(uid) + (h & (kCacheSize - 1)));
}

uint64_t Tokenizer::Impl::piece_hash(const char* s, size_t n) { return n <= kCacheMaxKey ? hash_bytes(s, n) : 0; }

void Tokenizer::Impl::bpe_piece_hashed(const char* s, size_t n, uint64_t h, std::vector<int>& out) const {
  if (n == 1) {
    int id = byte_id[static_cast<unsigned char>(s[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (ignore_merges) {
    int id = token_to_id.find(byte_level_encode(s, n));
    if (id >= 0 && in_model[id]) {
      out.push_back(id);
      return;
    }
  }
  CacheEntry* entry = nullptr;
  if (n <= kCacheMaxKey) {
    entry = word_cache(uid) + (h & (kCacheSize - 1));
    if (entry->hash == h && entry->klen == n && std::memcmp(entry->key, s, n) == 0) {
      out.insert(out.end(), entry->ids, entry->ids + entry->nids);
      return;
    }
  }
  thread_local std::vector<int> sym;
  sym.clear();
  for (size_t i = 0; i < n; ++i) {
    int id = byte_id[static_cast<unsigned char>(s[i])];
    if (id >= 0) sym.push_back(id);  // a byte missing from the vocab is dropped (HF BPE without unk_token)
  }
  if (sym.size() <= 64)
    merge_short(merges, sym);
  else
    merge_long(merges, sym);
  out.insert(out.end(), sym.begin(), sym.end());
  if (entry && sym.size() <= kCacheMaxIds) {
    entry->hash = h;
    entry->klen = uint8_t(n);
    std::memcpy(entry->key, s, n);
    entry->nids = uint8_t(sym.size());
    std::copy(sym.begin(), sym.end(), entry->ids);
  }
}

void Tokenizer::Impl::encode_segment(const char* s, size_t n, std::vector<int>& out) const {
  if (n == 0) return;
  std::string normalized;
  if (!normalizer.empty()) {
    normalized = normalizer.apply(std::string(s, n));
    s = normalized.data();
    n = normalized.size();
  }
  if (merge_list.empty() && !(pre.byte_level && pre.add_prefix_space)) {
    // No merges: every byte is its own token whatever the pre-tokenizer does.
    for (size_t i = 0; i < n; ++i) {
      int id = byte_id[static_cast<unsigned char>(s[i])];
      if (id >= 0) out.push_back(id);
    }
    return;
  }
  struct Piece {
    const char* p;
    size_t n;
    uint64_t h;
  };
  struct Ctx {
    const Impl* self;
    std::vector<int>* out;
    std::vector<Piece>* pieces;
  };
  thread_local std::vector<Piece> piece_buf;
  // Pieces are collected first so the word-cache line of a later piece can be prefetched while an earlier one
  // is merged. With add_prefix_space the pieces live in a temporary string, so they are merged at once.
  const bool batch = !(pre.byte_level && pre.add_prefix_space);
  Ctx ctx{this, &out, batch ? &piece_buf : nullptr};
  auto cb = [](void* c, const char* p, size_t len) {
    auto* x = static_cast<Ctx*>(c);
    if (x->pieces)
      x->pieces->push_back({p, len, piece_hash(p, len)});
    else
      x->self->bpe_piece(p, len, *x->out);
  };
  auto drain = [&]() {
    constexpr size_t kAhead = 6;
    const size_t np = piece_buf.size();
    for (size_t k = 0; k < np && k < kAhead; ++k) prefetch_piece(piece_buf[k].h);
    for (size_t k = 0; k < np; ++k) {
      if (k + kAhead < np) prefetch_piece(piece_buf[k + kAhead].h);
      bpe_piece_hashed(piece_buf[k].p, piece_buf[k].n, piece_buf[k].h, out);
    }
    piece_buf.clear();
  };
  // Invalid UTF-8 bytes (not reachable from HF, whose input is a Rust str) become single-byte pieces.
  size_t i = 0;
  while (i < n) {
    size_t v = utf8_valid_prefix(s + i, n - i);
    if (v) {
      piece_buf.clear();
      pre.run(s + i, v, cb, &ctx);
      if (batch) drain();
    }
    i += v;
    if (i < n) {
      bpe_piece(s + i, 1, out);
      ++i;
    }
  }
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

std::vector<std::string> Tokenizer::pretokenize(const std::string& text) const {
  return impl_->pre.split(impl_->normalizer.apply(text));
}

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
