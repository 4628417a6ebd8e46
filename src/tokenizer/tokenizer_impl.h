// Internal state of r1::Tokenizer, shared by the loaders, the encoder, save() and the trainer.
#pragma once
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1 {

// Open-addressing hash map from a token pair (a, b) to its merge (rank, merged id). Each slot is one 64-bit word
// (a: 21 bits, b: 21 bits, rank: 22 bits) so the 151k-merge table of Qwen2 takes 2 MB; merged ids live in a
// separate array indexed by rank (read only when a merge is made).
class PairMap {
 public:
  struct Merge {
    int rank;  // INT_MAX when the pair has no merge
    int id;
  };
  static constexpr int kMaxId = (1 << 21) - 1, kMaxRank = (1 << 22) - 2;
  void reserve(size_t n);
  bool insert(int a, int b, Merge m);  // false if the pair is already present
  int rank(int a, int b) const {  // INT_MAX if absent
    if (slots_.empty()) return INT_MAX;
    uint64_t key = (uint64_t(uint32_t(a)) << 21) | uint32_t(b);
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      uint64_t s = slots_[i];
      if ((s >> 22) == key) return int(s & ((1u << 22) - 1));
      if (s == kEmpty) return INT_MAX;
    }
  }
  int merged_id(int rank) const { return to_[rank]; }
  void prefetch_merged(int rank) const { __builtin_prefetch(&to_[rank]); }
  void prefetch(int a, int b) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash((uint64_t(uint32_t(a)) << 21) | uint32_t(b))]);
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  size_t hash(uint64_t k) const { return size_t((k * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<uint64_t> slots_;
  std::vector<int> to_;  // merged id by rank
  size_t mask_ = 0, size_ = 0;
  int shift_ = 64;
};

// String -> id map with open addressing (compact, fast for the 150k-entry vocabularies).
class StrIdMap {
 public:
  void reserve(size_t n);
  int find(std::string_view s) const {
    if (slots_.empty()) return -1;
    uint64_t h = std::hash<std::string_view>()(s);
    uint32_t tag = uint32_t(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& sl = slots_[i];
      if (sl.id < 0) return -1;
      if (sl.tag == tag && sl.len == s.size() && std::memcmp(arena_.data() + sl.off, s.data(), s.size()) == 0)
        return sl.id;
    }
  }
  void prefetch(std::string_view s) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[std::hash<std::string_view>()(s) & mask_]);
  }
  // Inserts s -> id unless present; returns the id already there, or -1 if inserted.
  int insert(std::string_view s, int id) { return put(s, id, false); }
  void set(std::string_view s, int id) { put(s, id, true); }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t tag;
    int32_t id;  // -1 = empty
    uint32_t off, len;  // key bytes in arena_
  };
  int put(std::string_view s, int id, bool overwrite);
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0, size_ = 0;
};

struct AddedToken {
  std::string content;
  int id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

struct Tokenizer::Impl {
  // Vocabulary, indexed by id (holes allowed: an empty token string with no bytes).
  std::vector<std::string> tokens;      // as written in the vocab (byte-level form for model tokens)
  std::vector<std::string> bytes;       // decoded bytes
  std::vector<uint8_t> special;         // 1 for added tokens flagged special
  std::vector<uint8_t> in_model;        // 1 if part of the BPE model's vocab (vs. only an added token)
  StrIdMap token_to_id;                 // vocab strings and added-token contents
  int byte_id[256];                     // id of each single-byte token, -1 if absent

  PairMap merges;
  std::vector<std::pair<int, int>> merge_list;  // in rank order, for save()
  bool ignore_merges = false;

  std::vector<AddedToken> added;
  // Byte trie of added-token contents for leftmost-longest matching.
  struct TrieNode {
    std::vector<std::pair<unsigned char, int>> next;  // sorted by byte
    int added_index = -1;
  };
  std::vector<TrieNode> trie;
  bool can_start[256];

  Normalizer normalizer;
  PreTokenizer pre;
  nlohmann::json post_processor;  // kept from tokenizer.json for save()
  nlohmann::json decoder;         // idem
  int bos = -1, eos = -1;
  bool add_bos = false;
  long long model_max_length = 131072;
  std::string chat_template;  // the folder's chat template source (saved as chat_template.jinja); "" if none
  uint64_t uid = 0;  // identifies this encoder's state for the thread-local word cache

  Impl();
  Impl(const Impl&) = default;
  // Sets tokens[id] (model vocab entry), growing the tables.
  void set_model_token(int id, const std::string& tok, const std::string& where);
  // Registers an added token (id may already be a model token). Rebuild the trie after adding all.
  void add_token(const AddedToken& t, const std::string& where);
  void build_trie();
  // Adds merge (a, b) with the next rank; the merged string must be in the vocab.
  // `where` names the source in errors; with index >= 0 it is followed by "[index]" (or " line index" when
  // line_style), built only if there is an error.
  void add_merge(const std::string& a, const std::string& b, const std::string& where, long index = -1,
                 bool line_style = false);
  // Prefetches the lookups a later add_merge(a, b) will make (loading is bound by cache misses).
  void prefetch_merge(const std::string& a, const std::string& b) const;
  void finalize();  // byte ids, uid

  void encode_segment(const char* s, size_t n, std::vector<int>& out) const;  // normalize + pre-tokenize + BPE
  void bpe_piece(const char* s, size_t n, std::vector<int>& out) const;
  void bpe_piece_hashed(const char* s, size_t n, uint64_t hash, std::vector<int>& out) const;
  void prefetch_piece(uint64_t hash) const;
  static uint64_t piece_hash(const char* s, size_t n);
};

// Decoded bytes of a byte-level vocab string (HF ByteLevel decoder: if any char is not one of the 256, the
// token's own UTF-8 is used).
std::string byte_level_decode(const std::string& tok);
std::string byte_level_encode(const char* s, size_t n);

}  // namespace r1
