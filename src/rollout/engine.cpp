#include "rollout/engine.h"
#include "core/check.h"
#include "model/infer.h"
#include "model/kv_cache.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>

namespace r1 {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Live {
  int out = 0;      // index into the result vector
  int request = 0;  // index into the request list
  int slot = -1;
  Rng rng;
  std::unique_ptr<StopMatcher> stop;
  bool done = false;
};

// One token per live sequence, sampled in parallel. Exceptions (invalid logits) are carried out of the region.
void sample_all(const float* logits, int V, const std::vector<const float*>& rows, std::vector<Live*>& seqs,
                const SamplingParams& sp, std::vector<SampleResult>& res) {
  const int S = (int)seqs.size();
  res.resize(S);
  std::exception_ptr err;
#pragma omp parallel
  {
    std::vector<float> scratch;
#pragma omp for schedule(dynamic, 4)
    for (int i = 0; i < S; i++) {
      try {
        res[i] = sample_token(rows.empty() ? logits + (size_t)i * V : rows[i], V, sp, seqs[i]->rng, scratch);
      } catch (...) {
#pragma omp critical(r1_engine_err)
        if (!err) err = std::current_exception();
      }
    }
  }
  if (err) std::rethrow_exception(err);
}

// Checks every request and the configuration before any work; returns the longest prompt.
int validate(const std::vector<GenRequest>& requests, const GenConfig& cfg, const ModelConfig& mc) {
  const int V = mc.V;
  R1_CHECK(cfg.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1, got ", cfg.max_new_tokens);
  R1_CHECK(cfg.max_batch >= 1, "generate: max_batch (max live sequences) must be >= 1, got ", cfg.max_batch);
  R1_CHECK(cfg.max_prefill_tokens >= 1, "generate: max_prefill_tokens must be >= 1, got ", cfg.max_prefill_tokens);
  R1_CHECK(cfg.stop.empty() || cfg.decode, "generate: stop strings need a decode function (ids -> text)");
  for (int id : cfg.eos_ids) R1_CHECK(id >= 0 && id < V, "generate: eos id ", id, " is outside the vocabulary [0, ", V, ")");
  StopMatcher(cfg.stop);  // validates the stop strings (non-empty)
  { std::vector<float> z(V, 0.f), scr; Rng r(0); sample_token(z.data(), V, cfg.sampling, r, scr); }  // params
  int max_prompt = 0;
  for (size_t r = 0; r < requests.size(); r++) {
    const GenRequest& q = requests[r];
    R1_CHECK(!q.prompt.empty(), "generate: request ", r, " has an empty prompt");
    R1_CHECK(q.n >= 1, "generate: request ", r, " asks for ", q.n, " samples (need >= 1)");
    R1_CHECK(q.first_sample >= 0, "generate: request ", r, " has first_sample ", q.first_sample, " (need >= 0)");
    R1_CHECK((int)q.prompt.size() < mc.max_pos, "generate: request ", r, " has a prompt of ", q.prompt.size(),
             " tokens; the model's max_position_embeddings is ", mc.max_pos, " (no room to generate)");
    for (size_t t = 0; t < q.prompt.size(); t++)
      R1_CHECK(q.prompt[t] >= 0 && q.prompt[t] < V, "generate: request ", r, " prompt token ", t, " is id ",
               q.prompt[t], ", outside the vocabulary [0, ", V, ")");
    max_prompt = std::max(max_prompt, (int)q.prompt.size());
  }
  return max_prompt;
}

// Auto: bf16 for a model computing in bf16 (its keys and values are bf16 values: the cache holds them exactly).
static KVDtype resolve_kv_dtype(KVDtype d, const Model& m) {
  if (d != KVDtype::Auto) return d;
  return m.precision() == Precision::BF16 ? KVDtype::BF16 : KVDtype::F32;
}

// One generate() call: the queue of (request, sample), the live sequences in their KV-cache slots, and the
// prompts' first-token logits kept until every sample of the prompt has started.
class Generation {
 public:
  Generation(const Model& model, const std::vector<GenRequest>& requests, const GenConfig& cfg,
             const TokenCallback& on_token, GenStats& stats, std::vector<GenSample>& out, int max_prompt)
      : requests_(requests), cfg_(cfg), on_token_(on_token), stats_(stats), out_(out), mc_(model.cfg), V_(model.cfg.V),
        total_((int)out.size()), slots_(std::min(cfg.max_batch, total_)),
        cache_(mc_, slots_, (int)std::min<long long>(mc_.max_pos, (long long)max_prompt + cfg.max_new_tokens),
               cfg.kv_budget_bytes, resolve_kv_dtype(cfg.kv_dtype, model)),
        inf_(model, cache_, true, cfg.batch_invariant), unstarted_(requests.size()), slot_prompt_(slots_, -1), slot_busy_(slots_, false) {
    stats_.kv_cache_bytes = cache_.bytes();
    int o = 0;
    for (size_t r = 0; r < requests.size(); r++) {
      unstarted_[r] = requests[r].n;
      for (int j = 0; j < requests[r].n; j++, o++) {
        out_[o].request = (int)r;
        out_[o].prompt_index = requests[r].prompt_index >= 0 ? requests[r].prompt_index : (int)r;
        out_[o].sample_index = requests[r].first_sample + j;
      }
    }
  }

  void run() {
    while (next_ < total_ || !live_.empty()) {
      std::vector<Join> joins = admit();
      stats_.max_live = std::max(stats_.max_live, (int)live_.size());
      if (!joins.empty()) {
        start(joins);
        continue;  // admit more before decoding if samples finished at once
      }
      if (!live_.empty()) decode_step();
    }
  }

 private:
  struct Join {
    Live* s;
    int mode;  // 0 reuse slot in place, 1 copy from src slot, 2 prefill
    int src;
  };

  // Queued samples into free slots.
  std::vector<Join> admit() {
    std::vector<Join> joins;
    while (next_ < total_ && (int)live_.size() < slots_) {
      const int o = next_, r = out_[o].request;
      int slot = -1, mode = 2, src = -1;
      // Invariant: slot_prompt_[k] == r iff positions [0, P) of slot k hold prompt r's K/V, or will once this
      // round's prefills and copies (done in admission order) have run.
      if (prompt_logits_.count(r))
        for (int k = 0; k < slots_ && slot < 0; k++)
          if (!slot_busy_[k] && slot_prompt_[k] == r) slot = k, mode = 0;  // a finished sibling's slot, in place
      if (slot < 0) {
        // a free slot, preferring one whose prompt no queued sample needs any more
        for (int pass = 0; pass < 2 && slot < 0; pass++)
          for (int k = 0; k < slots_ && slot < 0; k++)
            if (!slot_busy_[k] && (pass == 1 || slot_prompt_[k] < 0 || unstarted_[slot_prompt_[k]] == 0)) slot = k;
        R1_ASSERT(slot >= 0);
        slot_prompt_[slot] = -1;
        for (int k = 0; k < slots_ && src < 0; k++)
          if (slot_prompt_[k] == r) src = k;
        // A source exists only while r's logits are kept or r is prefilled in this round, so mode 1 always
        // finds its first-token logits.
        if (src >= 0) mode = 1;
      }
      auto s = std::make_unique<Live>();
      s->out = o;
      s->request = r;
      s->slot = slot;
      s->rng = Rng(seed_for(cfg_.seed, (uint64_t)out_[o].prompt_index, (uint64_t)out_[o].sample_index));
      if (!cfg_.stop.empty()) s->stop = std::make_unique<StopMatcher>(cfg_.stop);
      slot_busy_[slot] = true;
      slot_prompt_[slot] = r;
      joins.push_back({s.get(), mode, src});
      live_.push_back(std::move(s));
      unstarted_[r]--;
      next_++;
    }
    return joins;
  }

  // Prefill (each prompt once), stacked into passes of at most max_prefill_tokens rows.
  void prefill(std::vector<Join>& joins) {
    std::vector<std::pair<Join*, int>> todo;  // (joiner, tokens done)
    for (auto& j : joins)
      if (j.mode == 2) {
        todo.push_back({&j, 0});
        cache_.set_len(j.s->slot, 0);
        stats_.prompts_prefilled++;
      }
    while (!todo.empty()) {
      std::vector<InferSeq> pass;
      std::vector<size_t> which;
      int budget = cfg_.max_prefill_tokens;
      for (size_t i = 0; i < todo.size() && budget > 0; i++) {
        const auto& pr = requests_[todo[i].first->s->request].prompt;
        int n = std::min(budget, (int)pr.size() - todo[i].second);
        if (cfg_.batch_invariant) {  // whole chunks at fixed offsets: a prompt's chunks never depend on its neighbours
          n = std::min(cfg_.max_prefill_tokens, (int)pr.size() - todo[i].second);
          if (n > budget && !pass.empty()) break;
        }
        pass.push_back({todo[i].first->s->slot, pr.data() + todo[i].second, n});
        stats_.prefill_rows += n;
        which.push_back(i);
        budget -= n;
      }
      const float* z = inf_.forward(pass);
      for (size_t k = 0; k < which.size(); k++) {
        auto& t = todo[which[k]];
        t.second += pass[k].n;
        const int r = t.first->s->request;
        if (t.second == (int)requests_[r].prompt.size())
          prompt_logits_[r].assign(z + k * (size_t)V_, z + (k + 1) * (size_t)V_);
      }
      todo.erase(std::remove_if(todo.begin(), todo.end(),
                                [&](const std::pair<Join*, int>& t) {
                                  return t.second == (int)requests_[t.first->s->request].prompt.size();
                                }),
                 todo.end());
    }
  }

  // The joiners' prompts prefilled or their K/V given, then their first tokens.
  void start(std::vector<Join>& joins) {
    double t0 = now_s();
    prefill(joins);
    // ---- give the other samples the prompt's K/V ----
    for (auto& j : joins) {
      const int P = (int)requests_[j.s->request].prompt.size();
      if (j.mode == 0) {
        cache_.set_len(j.s->slot, P);
        stats_.prefix_reuses++;
      } else if (j.mode == 1) {
        cache_.copy_prefix(j.s->slot, j.src, P);
        stats_.prefix_copies++;
      }
    }
    // ---- first token of every joiner, from its prompt's last-position logits ----
    std::vector<Live*> js;
    std::vector<const float*> rows;
    for (auto& j : joins) {
      js.push_back(j.s);
      rows.push_back(prompt_logits_.at(j.s->request).data());
    }
    sample_all(nullptr, V_, rows, js, cfg_.sampling, res_);
    stats_.prefill_s += now_s() - t0;  // prefill time includes picking the first tokens
    for (size_t i = 0; i < js.size(); i++) push_token(*js[i], res_[i]);
    for (auto& j : joins)
      if (unstarted_[j.s->request] == 0) prompt_logits_.erase(j.s->request);
    retire();
  }

  // One decode step for every live sequence.
  void decode_step() {
    double t0 = now_s();
    std::vector<InferSeq> step;
    std::vector<Live*> seqs;
    for (auto& s : live_) {
      step.push_back({s->slot, &out_[s->out].ids.back(), 1});
      seqs.push_back(s.get());
    }
    const float* z = inf_.forward(step);
    stats_.decode_steps++;
    stats_.decode_rows += (long long)step.size();
    double t1 = now_s();
    stats_.decode_s += t1 - t0;
    sample_all(z, V_, {}, seqs, cfg_.sampling, res_);
    stats_.sample_s += now_s() - t1;
    for (size_t i = 0; i < seqs.size(); i++) push_token(*seqs[i], res_[i]);
    retire();
  }

  // Appends a sampled token; marks the sample done when it finished.
  void push_token(Live& s, const SampleResult& r) {
    GenSample& g = out_[s.out];
    g.ids.push_back(r.token);
    g.logprobs.push_back(r.logprob);
    const int P = (int)requests_[s.request].prompt.size();
    if (is_stop_token(r.token, cfg_.eos_ids)) {
      g.finish_reason = "stop";
    } else if (s.stop && s.stop->push(cfg_.decode({r.token}))) {
      g.finish_reason = "stop";
      g.stop_text_pos = s.stop->stop_pos();
    } else if ((int)g.ids.size() >= cfg_.max_new_tokens || P + (int)g.ids.size() >= mc_.max_pos) {
      g.finish_reason = "length";
      g.truncated = true;
    }
    s.done = !g.finish_reason.empty();
    if (on_token_) on_token_(g, r.token);
  }

  void retire() {
    for (auto& s : live_)
      if (s->done) slot_busy_[s->slot] = false;  // the slot keeps its prompt K/V for a sibling to reuse
    live_.erase(std::remove_if(live_.begin(), live_.end(), [](const std::unique_ptr<Live>& s) { return s->done; }),
                live_.end());
  }

  const std::vector<GenRequest>& requests_;
  const GenConfig& cfg_;
  const TokenCallback& on_token_;
  GenStats& stats_;
  std::vector<GenSample>& out_;
  const ModelConfig& mc_;
  const int V_, total_, slots_;
  KVCache cache_;
  Inference inf_;
  std::vector<int> unstarted_;
  std::map<int, std::vector<float>> prompt_logits_;
  std::vector<int> slot_prompt_;  // request whose prompt K/V occupies positions [0, P) of the slot
  std::vector<bool> slot_busy_;
  std::vector<std::unique_ptr<Live>> live_;
  int next_ = 0;  // next queued output index
  std::vector<SampleResult> res_;
};

}  // namespace

std::vector<GenSample> Engine::generate(const std::vector<GenRequest>& requests, const GenConfig& cfg,
                                        const TokenCallback& on_token) {
  stats_ = GenStats();
  const int max_prompt = validate(requests, cfg, model_.cfg);
  int total = 0;
  for (const auto& q : requests) total += q.n;
  std::vector<GenSample> out(total);
  if (total == 0) return out;
  Generation g(model_, requests, cfg, on_token, stats_, out, max_prompt);
  g.run();
  return out;
}

}  // namespace r1
