// BPE encoding of a text segment: normalize, pre-tokenize, then merge each piece (lowest merge rank first,
// leftmost on ties), with a per-thread cache of recent pieces.
#include "tokenizer/tokenizer_impl.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <queue>
#include <string>
#include <vector>

namespace r1 {

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

}  // namespace r1
