// Byte-level BPE training: count pre-tokenized words, then repeatedly merge the most frequent adjacent pair.
// Pair counts are kept incrementally: each merge only revisits the words that contain the merged pair.
#include "core/check.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

#include <cstdio>
#include <queue>
#include <unordered_map>

namespace r1 {

namespace {
uint64_t pack(int a, int b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

struct WordCounter {
  std::unordered_map<std::string, int64_t> counts;
};

// Splits `text` at the special tokens (they are never learned) and counts the pre-tokenized pieces.
void count_text(const std::string& text, const std::vector<std::string>& specials, const PreTokenizer& pre,
                WordCounter& wc) {
  auto add_segment = [&](size_t b, size_t e) {
    size_t i = b;
    while (i < e) {  // invalid UTF-8 bytes become single-byte words
      size_t v = utf8_valid_prefix(text.data() + i, e - i);
      if (v)
        pre.run(text.data() + i, v,
                [](void* c, const char* p, size_t n) { static_cast<WordCounter*>(c)->counts[std::string(p, n)]++; },
                &wc);
      i += v;
      if (i < e) wc.counts[std::string(1, text[i++])]++;
    }
  };
  size_t seg = 0;
  while (true) {
    size_t best = std::string::npos, len = 0;
    for (auto& s : specials) {
      size_t p = text.find(s, seg);
      if (p < best || (p == best && s.size() > len)) {
        best = p;
        len = s.size();
      }
    }
    if (best == std::string::npos) break;
    add_segment(seg, best);
    seg = best + len;
  }
  add_segment(seg, text.size());
}
// Max count first; ties: smaller pair first.
struct Cand {
  int64_t count;
  uint64_t pair;
  bool operator<(const Cand& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

// The words of the corpus as symbol-id sequences with their counts, and the adjacent-pair counts kept up to
// date as merges are made.
struct PairState {
  std::vector<std::vector<int>> words;  // ids 0..255 are the bytes
  std::vector<int64_t> freq;
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int>> where;  // pair -> words that contained it (may be stale)
  std::priority_queue<Cand> heap;                        // candidates; stale entries are skipped when popped
  std::vector<int> stamp;                                // merge number that last rewrote each word
};

PairState count_pairs(const std::vector<std::string>& texts, const std::vector<std::string>& specials,
                      const PreTokenizer& pre) {
  WordCounter wc;
  for (auto& t : texts) count_text(t, specials, pre, wc);
  PairState s;
  s.words.reserve(wc.counts.size());
  for (auto& [w, c] : wc.counts) {
    std::vector<int> ids(w.size());
    for (size_t i = 0; i < w.size(); ++i) ids[i] = static_cast<unsigned char>(w[i]);
    s.words.push_back(std::move(ids));
    s.freq.push_back(c);
  }
  wc.counts.clear();
  for (size_t w = 0; w < s.words.size(); ++w) {
    const auto& ids = s.words[w];
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      uint64_t p = pack(ids[i], ids[i + 1]);
      s.pair_count[p] += s.freq[w];
      auto& v = s.where[p];
      if (v.empty() || v.back() != int(w)) v.push_back(int(w));
    }
  }
  for (auto& [p, c] : s.pair_count) s.heap.push({c, p});
  s.stamp.assign(s.words.size(), -1);
  return s;
}

// Replaces every (a, b) in the words that contain it by new_id (merge number merge_no), updating the pair
// counts, and queues the pairs it created.
void apply_merge(PairState& s, uint64_t pair, int new_id, int merge_no) {
  const int a = int(pair >> 32), b = int(uint32_t(pair));
  std::vector<int> affected;
  affected.swap(s.where[pair]);
  std::unordered_map<uint64_t, int64_t> touched;
  for (int w : affected) {
    if (s.stamp[w] == merge_no) continue;
    s.stamp[w] = merge_no;
    auto& ids = s.words[w];
    bool has = false;
    for (size_t i = 0; i + 1 < ids.size(); ++i)
      if (ids[i] == a && ids[i + 1] == b) {
        has = true;
        break;
      }
    if (!has) continue;
    const int64_t c = s.freq[w];
    for (size_t i = 0; i + 1 < ids.size(); ++i) s.pair_count[pack(ids[i], ids[i + 1])] -= c;
    std::vector<int> out;
    out.reserve(ids.size());
    for (size_t i = 0; i < ids.size();) {
      if (i + 1 < ids.size() && ids[i] == a && ids[i + 1] == b) {
        out.push_back(new_id);
        i += 2;
      } else {
        out.push_back(ids[i++]);
      }
    }
    ids.swap(out);
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      uint64_t p = pack(ids[i], ids[i + 1]);
      s.pair_count[p] += c;
      if (ids[i] == new_id || ids[i + 1] == new_id) {
        touched[p] = 1;
        auto& v = s.where[p];
        if (v.empty() || v.back() != w) v.push_back(w);
      }
    }
  }
  s.pair_count.erase(pair);
  for (auto& [p, unused] : touched) {
    auto pc = s.pair_count.find(p);
    if (pc != s.pair_count.end() && pc->second > 0) s.heap.push({pc->second, p});
  }
}

// The tokenizer: the tokens (raw bytes of each id: the 256 bytes, then the merged ones), the merges in order,
// then the special tokens.
Tokenizer build_trained(const std::vector<std::string>& tok_bytes, const std::vector<std::pair<int, int>>& merges,
                        const BpeTrainOptions& opt, const PreTokenizer& pre) {
  const int n_special = int(opt.special_tokens.size());
  auto m = std::make_shared<Tokenizer::Impl>();
  const std::string where_s = "tokenizer train";
  for (size_t id = 0; id < tok_bytes.size(); ++id)
    m->set_model_token(int(id), byte_level_encode(tok_bytes[id].data(), tok_bytes[id].size()), where_s);
  for (auto& [a, b] : merges) m->add_merge(m->tokens[a], m->tokens[b], where_s);
  for (int i = 0; i < n_special; ++i) {
    AddedToken t;
    t.content = opt.special_tokens[i];
    t.id = int(tok_bytes.size()) + i;
    t.special = true;
    R1_CHECK(m->token_to_id.find(t.content) < 0, "tokenizer train: special token '", t.content,
             "' is given twice or equals a learned token");
    m->add_token(t, where_s);
  }
  m->pre = pre;
  m->finalize();
  int eot = m->token_to_id.find("<|endoftext|>");
  m->eos = eot >= 0 ? eot : (n_special ? int(tok_bytes.size()) : -1);
  return Tokenizer(m);
}

}  // namespace

Tokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& opt) {
  const int n_special = int(opt.special_tokens.size());
  R1_CHECK(opt.vocab_size >= 256 + n_special, "tokenizer train: vocab size ", opt.vocab_size,
           " is below 256 bytes + ", n_special, " special tokens");
  R1_CHECK(opt.min_frequency >= 1, "tokenizer train: min frequency must be >= 1");
  for (auto& s : opt.special_tokens) R1_CHECK(!s.empty(), "tokenizer train: empty special token");

  PreTokenizer pre = PreTokenizer::preset("gpt2");
  PairState st = count_pairs(texts, opt.special_tokens, pre);

  std::vector<std::string> tok_bytes(256);  // raw bytes of each token
  for (int b = 0; b < 256; ++b) tok_bytes[b] = std::string(1, char(b));
  std::unordered_map<std::string, int> bytes_to_id;
  for (int b = 0; b < 256; ++b) bytes_to_id[tok_bytes[b]] = b;

  std::vector<std::pair<int, int>> merges;
  const int target_tokens = opt.vocab_size - n_special;
  int n_tokens = 256;
  while (n_tokens < target_tokens && !st.heap.empty()) {
    Cand top = st.heap.top();
    st.heap.pop();
    auto it = st.pair_count.find(top.pair);
    int64_t cur = it == st.pair_count.end() ? 0 : it->second;
    if (cur != top.count) {  // stale entry
      if (cur > 0) st.heap.push({cur, top.pair});
      continue;
    }
    if (cur < opt.min_frequency) break;
    int a = int(top.pair >> 32), b = int(uint32_t(top.pair));
    std::string merged = tok_bytes[a] + tok_bytes[b];
    int new_id;
    auto found = bytes_to_id.find(merged);
    if (found != bytes_to_id.end()) {
      new_id = found->second;  // same string reached by another merge: reuse its id
    } else {
      new_id = int(tok_bytes.size());
      tok_bytes.push_back(merged);
      bytes_to_id[merged] = new_id;
      ++n_tokens;
    }
    merges.emplace_back(a, b);
    apply_merge(st, top.pair, new_id, int(merges.size()));
    if (opt.show_progress && merges.size() % 1000 == 0)
      std::fprintf(stderr, "\rtokenizer train: %zu merges, vocab %d / %d", merges.size(), n_tokens + n_special,
                   opt.vocab_size);
  }
  if (opt.show_progress) std::fprintf(stderr, "\n");
  return build_trained(tok_bytes, merges, opt, pre);
}

}  // namespace r1
