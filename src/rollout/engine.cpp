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

}  // namespace

std::vector<GenSample> Engine::generate(const std::vector<GenRequest>& requests, const GenConfig& cfg,
                                        const TokenCallback& on_token) {
  const ModelConfig& mc = model_.cfg;
  const int V = mc.V;
  stats_ = GenStats();
  // ---- validate everything before any work ----
  R1_CHECK(cfg.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1, got ", cfg.max_new_tokens);
  R1_CHECK(cfg.max_batch >= 1, "generate: max_batch (max live sequences) must be >= 1, got ", cfg.max_batch);
  R1_CHECK(cfg.max_prefill_tokens >= 1, "generate: max_prefill_tokens must be >= 1, got ", cfg.max_prefill_tokens);
  R1_CHECK(cfg.stop.empty() || cfg.decode, "generate: stop strings need a decode function (ids -> text)");
  for (int id : cfg.eos_ids) R1_CHECK(id >= 0 && id < V, "generate: eos id ", id, " is outside the vocabulary [0, ", V, ")");
  StopMatcher(cfg.stop);  // validates the stop strings (non-empty)
  { std::vector<float> z(V, 0.f), scr; Rng r(0); sample_token(z.data(), V, cfg.sampling, r, scr); }  // params
  int total = 0, max_prompt = 0;
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
    total += q.n;
    max_prompt = std::max(max_prompt, (int)q.prompt.size());
  }
  std::vector<GenSample> out(total);
  if (total == 0) return out;
  const int slots = std::min(cfg.max_batch, total);
  const int max_len = (int)std::min<long long>(mc.max_pos, (long long)max_prompt + cfg.max_new_tokens);
  KVCache cache(mc, slots, max_len, cfg.kv_budget_bytes);
  Inference inf(model_, cache);

  // ---- queue of (request, sample) in order; per-request first-token logits kept until every sample started ----
  {
    int o = 0;
    for (size_t r = 0; r < requests.size(); r++) {
      for (int j = 0; j < requests[r].n; j++, o++) {
        out[o].request = (int)r;
        out[o].prompt_index = requests[r].prompt_index >= 0 ? requests[r].prompt_index : (int)r;
        out[o].sample_index = requests[r].first_sample + j;
      }
    }
  }
  std::vector<int> unstarted(requests.size());
  for (size_t r = 0; r < requests.size(); r++) unstarted[r] = requests[r].n;
  std::map<int, std::vector<float>> prompt_logits;
  std::vector<int> slot_prompt(slots, -1);  // request whose prompt K/V occupies positions [0, P) of the slot
  std::vector<bool> slot_busy(slots, false);
  std::vector<std::unique_ptr<Live>> live;
  int next = 0;  // next queued output index
  std::vector<SampleResult> res;

  // Appends a sampled token; returns true when the sample is finished.
  auto push_token = [&](Live& s, const SampleResult& r) {
    GenSample& g = out[s.out];
    g.ids.push_back(r.token);
    g.logprobs.push_back(r.logprob);
    const int P = (int)requests[s.request].prompt.size();
    if (is_stop_token(r.token, cfg.eos_ids)) {
      g.finish_reason = "stop";
    } else if (s.stop && s.stop->push(cfg.decode({r.token}))) {
      g.finish_reason = "stop";
      g.stop_text_pos = s.stop->stop_pos();
    } else if ((int)g.ids.size() >= cfg.max_new_tokens || P + (int)g.ids.size() >= mc.max_pos) {
      g.finish_reason = "length";
      g.truncated = true;
    }
    s.done = !g.finish_reason.empty();
    if (on_token) on_token(g, r.token);
  };
  auto retire = [&]() {
    for (auto& s : live)
      if (s->done) slot_busy[s->slot] = false;  // the slot keeps its prompt K/V for a sibling to reuse
    live.erase(std::remove_if(live.begin(), live.end(), [](const std::unique_ptr<Live>& s) { return s->done; }),
               live.end());
  };

  while (next < total || !live.empty()) {
    // ---- admit queued samples into free slots ----
    struct Join {
      Live* s;
      int mode;  // 0 reuse slot in place, 1 copy from src slot, 2 prefill
      int src;
    };
    std::vector<Join> joins;
    while (next < total && (int)live.size() < slots) {
      const int o = next, r = out[o].request;
      int slot = -1, mode = 2, src = -1;
      // Invariant: slot_prompt[k] == r iff positions [0, P) of slot k hold prompt r's K/V, or will once this
      // round's prefills and copies (done in admission order) have run.
      if (prompt_logits.count(r))
        for (int k = 0; k < slots && slot < 0; k++)
          if (!slot_busy[k] && slot_prompt[k] == r) slot = k, mode = 0;  // a finished sibling's slot, in place
      if (slot < 0) {
        // a free slot, preferring one whose prompt no queued sample needs any more
        for (int pass = 0; pass < 2 && slot < 0; pass++)
          for (int k = 0; k < slots && slot < 0; k++)
            if (!slot_busy[k] && (pass == 1 || slot_prompt[k] < 0 || unstarted[slot_prompt[k]] == 0)) slot = k;
        R1_ASSERT(slot >= 0);
        slot_prompt[slot] = -1;
        for (int k = 0; k < slots && src < 0; k++)
          if (slot_prompt[k] == r) src = k;
        // A source exists only while r's logits are kept or r is prefilled in this round, so mode 1 always
        // finds its first-token logits.
        if (src >= 0) mode = 1;
      }
      auto s = std::make_unique<Live>();
      s->out = o;
      s->request = r;
      s->slot = slot;
      s->rng = Rng(seed_for(cfg.seed, (uint64_t)out[o].prompt_index, (uint64_t)out[o].sample_index));
      if (!cfg.stop.empty()) s->stop = std::make_unique<StopMatcher>(cfg.stop);
      slot_busy[slot] = true;
      slot_prompt[slot] = r;
      joins.push_back({s.get(), mode, src});
      live.push_back(std::move(s));
      unstarted[r]--;
      next++;
    }
    stats_.max_live = std::max(stats_.max_live, (int)live.size());
    if (!joins.empty()) {
      // ---- prefill (each prompt once), stacked into passes of at most max_prefill_tokens rows ----
      double t0 = now_s();
      std::vector<std::pair<Join*, int>> todo;  // (joiner, tokens done)
      for (auto& j : joins)
        if (j.mode == 2) {
          todo.push_back({&j, 0});
          cache.set_len(j.s->slot, 0);
          stats_.prompts_prefilled++;
        }
      while (!todo.empty()) {
        std::vector<InferSeq> pass;
        std::vector<size_t> which;
        int budget = cfg.max_prefill_tokens;
        for (size_t i = 0; i < todo.size() && budget > 0; i++) {
          const auto& pr = requests[todo[i].first->s->request].prompt;
          int n = std::min(budget, (int)pr.size() - todo[i].second);
          pass.push_back({todo[i].first->s->slot, pr.data() + todo[i].second, n});
          stats_.prefill_rows += n;
          which.push_back(i);
          budget -= n;
        }
        const float* z = inf.forward(pass);
        for (size_t k = 0; k < which.size(); k++) {
          auto& t = todo[which[k]];
          t.second += pass[k].n;
          const int r = t.first->s->request;
          if (t.second == (int)requests[r].prompt.size())
            prompt_logits[r].assign(z + k * (size_t)V, z + (k + 1) * (size_t)V);
        }
        todo.erase(std::remove_if(todo.begin(), todo.end(),
                                  [&](const std::pair<Join*, int>& t) {
                                    return t.second == (int)requests[t.first->s->request].prompt.size();
                                  }),
                   todo.end());
      }
      // ---- give the other samples the prompt's K/V ----
      for (auto& j : joins) {
        const int P = (int)requests[j.s->request].prompt.size();
        if (j.mode == 0) {
          cache.set_len(j.s->slot, P);
          stats_.prefix_reuses++;
        } else if (j.mode == 1) {
          cache.copy_prefix(j.s->slot, j.src, P);
          stats_.prefix_copies++;
        }
      }
      // ---- first token of every joiner, from its prompt's last-position logits ----
      std::vector<Live*> js;
      std::vector<const float*> rows;
      for (auto& j : joins) {
        js.push_back(j.s);
        rows.push_back(prompt_logits.at(j.s->request).data());
      }
      sample_all(nullptr, V, rows, js, cfg.sampling, res);
      stats_.prefill_s += now_s() - t0;  // prefill time includes picking the first tokens
      for (size_t i = 0; i < js.size(); i++) push_token(*js[i], res[i]);
      for (auto& j : joins)
        if (unstarted[j.s->request] == 0) prompt_logits.erase(j.s->request);
      retire();
      continue;  // admit more before decoding if samples finished at once
    }
    if (live.empty()) continue;
    // ---- one decode step for every live sequence ----
    double t0 = now_s();
    std::vector<InferSeq> step;
    std::vector<Live*> seqs;
    for (auto& s : live) {
      step.push_back({s->slot, &out[s->out].ids.back(), 1});
      seqs.push_back(s.get());
    }
    const float* z = inf.forward(step);
    stats_.decode_steps++;
    stats_.decode_rows += (long long)step.size();
    double t1 = now_s();
    stats_.decode_s += t1 - t0;
    sample_all(z, V, {}, seqs, cfg.sampling, res);
    stats_.sample_s += now_s() - t1;
    for (size_t i = 0; i < seqs.size(); i++) push_token(*seqs[i], res[i]);
    retire();
  }
  return out;
}

}  // namespace r1
