// Token samplers. Work for one row of V logits:
//   pass 1: max (and validation); pass 2: w_i = exp((l_i - max) / T) into scratch, S = sum w (double, fixed lanes):
//   both are kernels (kernels.h row_max, softmax_row_sum), so a backend computes the softmax the sampler draws from.
//   No truncation: inverse-CDF walk over w in id order (64-token block sums skip most of the row).
//   top-k (k <= 1024): one min-heap scan of the row with vectorised rejection of 64-token blocks.
//   Otherwise: cheap counting passes choose a threshold t such that {w >= t} (a prefix of the order) provably
//   holds what the filters need; only those tokens are gathered (AVX-512 compress when available), then top-k
//   by nth_element and top-p by a mass-weighted quickselect on them; never a full sort of V.
//   The kept set is { i : key(l_i, i) >= cut && w_i >= min_p }, drawn in ascending id order from a sorted id list
//   (small sets) or by zeroing dropped weights in place and reusing the whole-row walk (large sets).
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "core/check.h"
#include "kernels/kernels.h"

namespace r1 {
namespace {

constexpr int kLanes = kSumLanes;  // the kernels' fixed accumulation lanes (kernels.h)

void check_params(const SamplingParams& p) {
  R1_CHECK(std::isfinite(p.temperature) && p.temperature >= 0.0f,
           "sampling: SamplingParams.temperature must be a finite value >= 0, got ", p.temperature);
  R1_CHECK(p.top_k >= 0, "sampling: SamplingParams.top_k must be >= 0 (0 = off), got ", p.top_k);
  R1_CHECK(p.top_p > 0.0f && p.top_p <= 1.0f, "sampling: SamplingParams.top_p must be in (0, 1] (1 = off), got ",
           p.top_p);
  R1_CHECK(p.min_p >= 0.0f && p.min_p <= 1.0f, "sampling: SamplingParams.min_p must be in [0, 1] (0 = off), got ",
           p.min_p);
}

void check_row(const float* logits, int V) {
  R1_CHECK(logits != nullptr, "sampling: logits pointer is null");
  R1_CHECK(V > 0 && V < (1 << 24), "sampling: vocabulary size V must be in [1, 2^24), got ", V);
}

// Scans for the first NaN / +inf logit and throws naming it (called only once a row is known to be bad).
[[noreturn]] void fail_bad_logits(const float* l, int V) {
  for (int k = 0; k < V; ++k)
    R1_CHECK(std::isfinite(l[k]) || l[k] == -std::numeric_limits<float>::infinity(), "sampling: logits[", k,
             "] is ", l[k], " (expected a finite value or -inf)");
  fail("sampling: logits row is not usable (non-finite softmax normaliser)");
}

// Max of the row (NaN entries are skipped here and caught by row_sum).
float checked_max(const float* l, int V) {
  const float m = row_max(l, V);
  R1_CHECK(m != -std::numeric_limits<float>::infinity(), "sampling: all ", V,
           " logits are -inf (no token can be sampled)");
  if (!std::isfinite(m)) fail_bad_logits(l, V);
  return m;
}

// S = sum_i exp((l_i - m) / T) in double (kernels.h softmax_row_sum; the weights into w when kStore). Throws on NaN
// logits.
template <bool kStore>
double row_sum(const float* l, int V, float m, float T, float* w) {
  const double s = softmax_row_sum(kStore ? w : nullptr, l, V, m, T);
  if (!std::isfinite(s)) fail_bad_logits(l, V);
  return s;
}

// The log-prob formula shared by sample_token and token_logprob (so both are bit-identical).
inline float logprob_of(const float* l, int tok, float m, float T, double S) {
  const float z = (l[tok] - m) / T;
  return static_cast<float>(static_cast<double>(z) - std::log(S));
}

int argmax_lowest(const float* l, int V, float m) {
  constexpr int kChunk = 512;
  for (int c = 0; c < V; c += kChunk) {  // vectorised test per chunk, scalar scan only in the hit chunk
    const int len = std::min(kChunk, V - c);
    int hit = 0;
#pragma omp simd reduction(| : hit)
    for (int i = 0; i < len; ++i) hit |= l[c + i] == m ? 1 : 0;
    if (hit)
      for (int i = 0; i < len; ++i)
        if (l[c + i] == m) return c + i;
  }
  return 0;  // unreachable: m is an element of l
}

// Sort key of the token order "logit descending (= probability descending), id ascending", as one uint64
// compared descending: the logit's bits made order-preserving as unsigned, then the inverted id.
inline uint64_t make_key(float logit, int id) {
  const float x = logit + 0.0f;  // -0 -> +0
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  b ^= static_cast<uint32_t>(static_cast<int32_t>(b) >> 31) | 0x80000000u;  // negative: ~b; else set the top bit
  return (static_cast<uint64_t>(b) << 32) | static_cast<uint32_t>(~static_cast<uint32_t>(id));
}
inline int key_id(uint64_t k) { return static_cast<int>(~static_cast<uint32_t>(k)); }
inline float key_logit(uint64_t k) {
  uint32_t b = static_cast<uint32_t>(k >> 32);
  b ^= ~static_cast<uint32_t>(static_cast<int32_t>(b) >> 31) | 0x80000000u;  // undo make_key's transform
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// Keys of the k largest tokens of the row (k < V) into H[0, k), by a min-heap scan in id order. A later token
// can only enter with a strictly larger logit than the heap's minimum (equal logit means larger id, i.e. a
// smaller key), so 64-token blocks are rejected by one vectorised compare.
void topk_scan(const float* l, int V, size_t k, uint64_t* H) {
  const auto cmp = std::greater<uint64_t>();
  for (size_t i = 0; i < k; ++i) H[i] = make_key(l[i], static_cast<int>(i));
  std::make_heap(H, H + k, cmp);
  float thr = key_logit(H[0]);
  constexpr int kBlock = 64;
  for (int b = static_cast<int>(k); b < V; b += kBlock) {
    const int e = std::min(V, b + kBlock);
    int hit = 0;
#pragma omp simd reduction(| : hit)
    for (int i = b; i < e; ++i) hit |= l[i] > thr ? 1 : 0;
    if (!hit) continue;
    for (int i = b; i < e; ++i)
      if (l[i] > thr) {
        std::pop_heap(H, H + k, cmp);
        H[k - 1] = make_key(l[i], i);
        std::push_heap(H, H + k, cmp);
        thr = key_logit(H[0]);
      }
  }
}

// Among K[0, n) (distinct keys), returns the smallest key of the shortest descending prefix whose weight sum
// reaches `target`, or `fallback` if the whole range does not reach it. Reorders K; tmp holds n keys.
// Expected O(n): quickselect whose side is chosen by mass, with a branchless partition.
uint64_t weighted_select(const float* w, uint64_t* K, uint64_t* tmp, size_t n, double target, uint64_t fallback) {
  size_t lo = 0, hi = n;
  double acc = 0;  // weight of everything known to precede K[lo, hi)
  while (hi - lo > 64) {
    const uint64_t a = K[lo], b = K[lo + (hi - lo) / 2], c = K[hi - 1];
    const uint64_t piv = std::max(std::min(a, b), std::min(std::max(a, b), c));
    // Larger keys compact to the front of K[lo..) in place (a write never passes the read position), the
    // smaller ones go to tmp, then the pivot and the smaller ones are copied back after the larger part.
    size_t nh = 0, nl = 0;
    for (size_t i = lo; i < hi; ++i) {
      const uint64_t k = K[i];
      K[lo + nh] = k;
      tmp[nl] = k;
      nh += k > piv;
      nl += k < piv;
    }
    const size_t m = lo + nh;
    K[m] = piv;
    std::copy(tmp, tmp + nl, K + m + 1);
    double up[4] = {0, 0, 0, 0};
    size_t i = lo;
    for (; i + 4 <= m; i += 4)
      for (int j = 0; j < 4; ++j) up[j] += w[key_id(K[i + j])];
    for (; i < m; ++i) up[0] += w[key_id(K[i])];
    const double upper = (up[0] + up[1]) + (up[2] + up[3]);
    if (acc + upper >= target) {
      hi = m;
    } else {
      acc += upper;
      acc += w[key_id(K[m])];
      if (acc >= target) return K[m];
      lo = m + 1;
    }
  }
  std::sort(K + lo, K + hi, std::greater<uint64_t>());
  for (size_t i = lo; i < hi; ++i) {
    acc += w[key_id(K[i])];
    if (acc >= target) return K[i];
  }
  return fallback;
}

// Number and total weight of {i : w_i >= t} for t > 0, chunked like row_sum so that every loop vectorises.
void count_mass(const float* w, int V, float t, size_t& count, double& mass) {
  constexpr int kChunk = 1024;
  float buf[kChunk];
  double acc[kLanes] = {};
  int cnt = 0;
  for (int c = 0; c < V; c += kChunk) {
    const int len = std::min(kChunk, V - c);
    for (int i = 0; i < len; ++i) buf[i] = w[c + i] >= t ? w[c + i] : 0.0f;
#pragma omp simd reduction(+ : cnt)
    for (int i = 0; i < len; ++i) cnt += buf[i] != 0.0f ? 1 : 0;
    lane_accumulate(acc, buf, len);
  }
  count = static_cast<size_t>(cnt);
  mass = 0;
  for (int j = 0; j < kLanes; ++j) mass += acc[j];
}

// Ascending ids of {i : w_i >= t} into ids (room for V + kLanes); returns how many.
size_t gather_ids(const float* w, int V, float t, int* ids) {
  size_t n = 0;
  int i = 0;
#ifdef __AVX512F__
  // Register compress + full store (memory-destination compress is slow on some cores).
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  const __m512 vt = _mm512_set1_ps(t);
  for (; i + 16 <= V; i += 16) {
    const __mmask16 mk = _mm512_cmp_ps_mask(_mm512_loadu_ps(w + i), vt, _CMP_GE_OQ);
    _mm512_storeu_si512(ids + n, _mm512_maskz_compress_epi32(mk, idx));
    n += static_cast<size_t>(__builtin_popcount(mk));
    idx = _mm512_add_epi32(idx, step);
  }
#endif
  for (; i < V; ++i) {  // branchless
    ids[n] = i;
    n += w[i] >= t;
  }
  return n;
}

// Kept set after top-k, top-p, min-p: { i : key(w_i, i) >= cut && w_i >= min_w }. keys[0, n) holds a prefix
// of the order that contains the kept set.
struct Kept {
  bool all = true;  // no truncation requested
  uint64_t cut = 0;
  float min_w = 0;
  size_t n = 0;
};

constexpr size_t kListMax = 4096;  // kept candidates above this are drawn by masking the row, not a sorted list

// Reusable buffers (one per thread in sample_token).
struct Work {
  std::vector<uint64_t> keys, tmp;
  std::vector<int> ids;
};

// Gathers into work.keys the keys of {w >= t} for a threshold t such that this set (a prefix of the order)
// provably contains what the filters need; cheap vectorised counting passes pick t. Returns the count.
size_t gather_candidates(const float* l, const float* w, int V, double S, const SamplingParams& p, Work& work) {
  const bool topk_on = p.top_k > 0 && p.top_k < V;
  const bool topp_on = p.top_p < 1.0f;
  const bool minp_on = p.min_p > 0.0f;
  const size_t k = static_cast<size_t>(p.top_k);
  uint64_t* K = work.keys.data();
  std::vector<int>& ids = work.ids;
  // Find a threshold t such that {w >= t} (a prefix of the order) provably contains what the filters need,
  // using cheap counting passes; then gather only those tokens.
  float t = minp_on ? p.min_p : 1e-2f;
  for (;;) {
    if (t == 0.0f) break;
    size_t count;
    double mass;
    count_mass(w, V, t, count, mass);
    const bool minp_covers = minp_on && t <= p.min_p;  // every token that survives min-p is in the set
    bool ok;
    if (topk_on)
      ok = count >= k || (!topp_on && minp_covers);  // fewer than k: the top-k set includes all of them
    else
      ok = (topp_on && mass >= static_cast<double>(p.top_p) * S) || minp_covers;
    if (ok) break;
    t = t > 1e-34f ? t * 1e-2f : 0.0f;
  }
  if (ids.size() < static_cast<size_t>(V) + kLanes) ids.resize(static_cast<size_t>(V) + kLanes);
  const size_t n = gather_ids(w, V, t, ids.data());
  for (size_t i = 0; i < n; ++i) K[i] = make_key(l[ids[i]], ids[i]);
  return n;

}

Kept apply_filters(const float* l, const float* w, int V, double S, const SamplingParams& p, Work& work) {
  std::vector<uint64_t>& keys = work.keys;
  Kept kept;
  const bool topk_on = p.top_k > 0 && p.top_k < V;
  const bool topp_on = p.top_p < 1.0f;
  const bool minp_on = p.min_p > 0.0f;
  if (!topk_on && !topp_on && !minp_on) return kept;
  kept.all = false;
  kept.min_w = minp_on ? p.min_p : 0.0f;  // max weight is exp(0) == 1, so prob >= min_p * max <=> w >= min_p
  if (keys.size() < static_cast<size_t>(V)) keys.resize(V), work.tmp.resize(V);
  uint64_t* K = keys.data();
  const size_t k = static_cast<size_t>(p.top_k);

  size_t n = 0;
  double D = S;  // mass that top-p's cumulative share is taken of
  if (!topk_on && !topp_on) {
    // min-p alone keeps {w >= min_p}: no order needed. Large sets are drawn by the row mask (keys unused).
    size_t count;
    double mass;
    count_mass(w, V, p.min_p, count, mass);
    if (count > kListMax) {
      kept.cut = make_key(-std::numeric_limits<float>::infinity(), V - 1);  // smallest key: no key cut
      kept.n = count;
      return kept;
    }
  }
  if (topk_on && k <= 1024) {
    topk_scan(l, V, k, K);
    n = k;
    D = 0;
    for (size_t i = 0; i < n; ++i) D += w[key_id(K[i])];
  } else {
    n = gather_candidates(l, w, V, S, p, work);
    if (topk_on && n > k) {
      std::nth_element(K, K + (k - 1), K + n, std::greater<uint64_t>());
      n = k;
      D = 0;
      for (size_t i = 0; i < n; ++i) D += w[key_id(K[i])];
    }
  }
  uint64_t lowest = K[0];
  for (size_t i = 1; i < n; ++i) lowest = std::min(lowest, K[i]);
  kept.cut = lowest;
  if (topp_on) kept.cut = weighted_select(w, K, work.tmp.data(), n, static_cast<double>(p.top_p) * D, lowest);
  kept.n = n;
  return kept;
}

// Ascending kept ids (from the candidate keys) into ids.
void kept_ids(const float* w, const std::vector<uint64_t>& keys, const Kept& kept, std::vector<int>& ids) {
  ids.clear();
  for (size_t i = 0; i < kept.n; ++i) {
    const uint64_t key = keys[i];
    if (key >= kept.cut && w[key_id(key)] >= kept.min_w) ids.push_back(key_id(key));
  }
  std::sort(ids.begin(), ids.end());
}

// Inverse CDF over the whole row in id order; block sums let most of the row be skipped.
int draw_all(const float* w, int V, double S, double u) {
  const double target = u * S;
  double acc = 0;
  int i = 0;
  constexpr int kBlock = 64;
  for (; i + kBlock <= V; i += kBlock) {
    double b[8] = {};
    for (int jj = 0; jj < kBlock; jj += 8)
      for (int l = 0; l < 8; ++l) b[l] += w[i + jj + l];
    const double bs = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
    if (acc + bs > target) {
      double a = acc;
      for (int j = i; j < i + kBlock; ++j) {
        a += w[j];
        if (target < a && w[j] > 0) return j;
      }
      acc = a;  // rounding put the crossing past this block
    } else {
      acc += bs;
    }
  }
  for (; i < V; ++i) {
    acc += w[i];
    if (target < acc && w[i] > 0) return i;
  }
  for (int j = V - 1; j > 0; --j)  // u * S rounded past the total: the last token with weight
    if (w[j] > 0) return j;
  return 0;
}

// key(l, i) >= cut && w >= min_w, in a form that vectorises over a row.
inline bool in_kept(float l, float w, int i, float cut_logit, int cut_id, float min_w) {
  return (l > cut_logit || (l == cut_logit && i <= cut_id)) && w >= min_w;
}

// Inverse CDF over the kept set in ascending id order. Small candidate sets walk a sorted id list; large ones
// zero the dropped weights in place (w is not needed afterwards) and reuse the whole-row walk.
int draw_kept(const float* l, float* w, int V, const Kept& kept, Work& work, double u) {
  if (kept.n <= kListMax) {
    kept_ids(w, work.keys, kept, work.ids);
    double Z = 0;
    for (int id : work.ids) Z += w[id];
    const double target = u * Z;
    double acc = 0;
    int last = -1;
    for (int id : work.ids) {
      if (w[id] <= 0) continue;
      acc += w[id];
      last = id;
      if (target < acc) return id;
    }
    R1_CHECK(last >= 0, "sampling: internal error, empty kept set");
    return last;
  }
  const float cut_logit = key_logit(kept.cut);
  const int cut_id = key_id(kept.cut);
  const float min_w = kept.min_w;
  for (int i = 0; i < V; ++i) w[i] = in_kept(l[i], w[i], i, cut_logit, cut_id, min_w) ? w[i] : 0.0f;
  double acc[kLanes] = {};
  lane_accumulate(acc, w, V);
  double Z = 0;
  for (int j = 0; j < kLanes; ++j) Z += acc[j];
  return draw_all(w, V, Z, u);
}

thread_local Work tl_work;

}  // namespace

uint64_t seed_for(uint64_t seed, uint64_t prompt_index, uint64_t sample_index) {
  // Chained bijections: for a fixed seed, distinct (prompt, sample) pairs give unrelated streams.
  uint64_t h = splitmix64(seed ^ 0x243F6A8885A308D3ull);
  h = splitmix64(h ^ (prompt_index * 0x9E3779B97F4A7C15ull));
  h = splitmix64(h ^ (sample_index * 0xC2B2AE3D27D4EB4Full + 0x165667B19E3779F9ull));
  return h;
}

float token_logprob(const float* logits, int V, int token, float temperature) {
  check_row(logits, V);
  R1_CHECK(token >= 0 && token < V, "sampling: token id ", token, " out of range [0, ", V, ")");
  R1_CHECK(std::isfinite(temperature) && temperature >= 0.0f,
           "sampling: temperature must be a finite value >= 0, got ", temperature);
  const float T = temperature == 0.0f ? 1.0f : temperature;
  const float m = checked_max(logits, V);
  const double S = row_sum<false>(logits, V, m, T, nullptr);
  return logprob_of(logits, token, m, T, S);
}

SampleResult sample_token(const float* logits, int V, const SamplingParams& p, Rng& rng,
                          std::vector<float>& scratch) {
  check_row(logits, V);
  check_params(p);
  const float m = checked_max(logits, V);
  if (p.greedy || p.temperature == 0.0f) {
    const int tok = argmax_lowest(logits, V, m);
    const double S = row_sum<false>(logits, V, m, 1.0f, nullptr);
    return {tok, logprob_of(logits, tok, m, 1.0f, S)};
  }
  const float T = p.temperature;
  if (scratch.size() < static_cast<size_t>(V)) scratch.resize(V);
  float* w = scratch.data();
  const double S = row_sum<true>(logits, V, m, T, w);
  const double u = rng.uniform();
  const Kept kept = apply_filters(logits, w, V, S, p, tl_work);
  const int tok = kept.all ? draw_all(w, V, S, u) : draw_kept(logits, w, V, kept, tl_work, u);
  return {tok, logprob_of(logits, tok, m, T, S)};
}

std::vector<std::pair<int, float>> filtered_distribution(const float* logits, int V, const SamplingParams& p) {
  check_row(logits, V);
  check_params(p);
  const float m = checked_max(logits, V);
  if (p.greedy || p.temperature == 0.0f) return {{argmax_lowest(logits, V, m), 1.0f}};
  std::vector<float> w(V);
  const double S = row_sum<true>(logits, V, m, p.temperature, w.data());
  Work work;
  const Kept kept = apply_filters(logits, w.data(), V, S, p, work);
  std::vector<uint64_t> members;
  const float cut_logit = key_logit(kept.cut);
  const int cut_id = key_id(kept.cut);
  for (int i = 0; i < V; ++i)
    if (kept.all || in_kept(logits[i], w[i], i, cut_logit, cut_id, kept.min_w)) members.push_back(make_key(logits[i], i));
  std::sort(members.begin(), members.end(), std::greater<uint64_t>());
  double Z = 0;
  for (uint64_t k : members) Z += w[key_id(k)];
  std::vector<std::pair<int, float>> out;
  for (uint64_t k : members)
    if (w[key_id(k)] > 0) out.emplace_back(key_id(k), static_cast<float>(w[key_id(k)] / Z));
  return out;
}

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (size_t i = 0; i < stops_.size(); ++i) {
    R1_CHECK(!stops_[i].empty(), "sampling: stop string ", i, " is empty (expected a non-empty string)");
    max_len_ = std::max(max_len_, stops_[i].size());
  }
}

bool StopMatcher::push(const std::string& new_text) {
  const size_t old = text_.size();
  text_ += new_text;
  if (stopped() || stops_.empty()) return stopped();
  // Only a match ending in the new text is new: start the search max_len - 1 bytes before it.
  const size_t from = old >= max_len_ - 1 ? old - (max_len_ - 1) : 0;
  for (const std::string& s : stops_) {
    const size_t pos = text_.find(s, from);
    if (pos != std::string::npos && pos < stop_pos_) stop_pos_ = pos;
  }
  return stopped();
}

size_t StopMatcher::safe_len() const {
  if (stopped()) return stop_pos_;
  const size_t n = text_.size();
  for (size_t len = std::min(n, max_len_ > 0 ? max_len_ - 1 : 0); len > 0; --len)
    for (const std::string& s : stops_)
      if (s.size() > len && text_.compare(n - len, len, s, 0, len) == 0) return n - len;
  return n;
}

bool is_stop_token(int id, const std::vector<int>& eos_ids) {
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
}

}  // namespace r1
