#include "train/grpo.h"
#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/tasks.h"
#include "model/transformer.h"
#include "rewards/format.h"
#include "rollout/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <sstream>

namespace r1 {

using nlohmann::json;
using clk = std::chrono::steady_clock;

GrpoRecipe::GrpoRecipe() {
  optim.lr = 3e-6f;  // R1
  optim.weight_decay = 0.0f;
  optim.grad_clip = 1.0f;
  optim.warmup_steps = 0;
  optim.min_lr_ratio = 1.0f;  // constant
}

void GrpoRecipe::declare(OptionSet& o) {
  o.add("out", &out, "run folder");
  o.add("model", &model, "policy initialisation: a Hugging Face model folder");
  o.add("tokenizer", &tokenizer, "tokenizer path (default: the model folder)");
  o.add("task", &task, "task name: arithmetic | countdown | gsm8k | math500 | aime24 | amc23 | jsonl");
  o.add("task_config", &task_config, "task options as a map (see data/tasks.h)");
  o.add("train_split", &train_split, "split whose problems are trained on");
  o.add("eval_split", &eval_split, "held-out split for greedy evaluation");
  o.add("prompt_template", &prompt_template, "r1_zero | r1_zero_short | plain | chat (the model's chat template)");
  o.add("think_prefix", &think_prefix, "text appended after the template, e.g. '<think>'");
  o.add("rewards", &rewards, "reward name -> weight (or {weight, params}); see rewards/registry.h");
  o.add("sampling.group_size", &group_size, "G: completions per prompt");
  o.add("sampling.prompts_per_step", &prompts_per_step, "prompts per step");
  o.add("sampling.temperature", &temperature, "rollout temperature (log-probs are taken at this temperature)");
  o.add("sampling.top_p", &top_p, "rollout top-p (1: off)");
  o.add("sampling.top_k", &top_k, "rollout top-k (0: off)");
  o.add("sampling.max_new_tokens", &max_new_tokens, "maximum completion length");
  o.add("steps", &steps, "training steps (rollout batches)");
  o.add("mu", &mu, "inner passes over each rollout batch (GRPO's mu)");
  o.add("mini_batches", &mini_batches, "optimizer steps per pass: the rollout batch is split into this many parts");
  o.add("share_prompt", &share_prompt, "in the policy and reference passes, compute the prompt once per group and let its G completions attend to it (same loss and gradients as unshared sequences, up to float rounding; false: each sequence carries its own copy of the prompt)");
  o.add("ref_update_every", &ref_update_every, "replace the reference model by the policy every N steps (0: never)");
  o.add("dynamic_sampling", &dynamic_sampling, "drop groups whose rewards are all equal and refill from new prompts (DAPO)");
  o.add("max_refill_rounds", &max_refill_rounds, "refill rounds per step for dynamic sampling");
  o.add("grpo.beta", &loss.beta, "KL weight beta (0: no reference model)");
  o.add("grpo.kl_estimator", &loss.kl_estimator, "k1 | k2 | k3");
  o.add("grpo.clip_eps_low", &loss.clip_eps_low, "lower clip epsilon");
  o.add("grpo.clip_eps_high", &loss.clip_eps_high, "upper clip epsilon (DAPO clip-higher: 0.28)");
  o.add("grpo.loss_agg", &loss.loss_agg, "seq-mean-token-mean (GRPO) | token-mean (DAPO) | seq-mean-token-sum-norm (Dr. GRPO)");
  o.add("grpo.max_len", &loss.max_len, "Dr. GRPO normaliser (0: longest completion in the mini-batch)");
  o.add("grpo.std_norm", &loss.std_norm, "divide advantages by the group std (Dr. GRPO: false)");
  o.add("grpo.adv_eps", &loss.adv_eps, "epsilon added to the group std");
  o.add("grpo.ratio_level", &loss.ratio_level, "token | sequence (GSPO)");
  o.add("grpo.entropy_coef", &loss.entropy_coef, "entropy bonus weight (0: off)");
  o.add("grpo.mask_truncated", &loss.mask_truncated, "exclude truncated completions from the loss");
  declare_optim(o, optim);
  o.add("seed", &seed, "seed for prompt order and sampling");
  o.add("data_seed", &data_seed, "seed of the task's problem draw and train/test split (keep it equal across runs and stages so held-out problems stay unseen)");
  o.add("eval_every", &eval_every, "greedy evaluation on held-out problems every N steps (0: only at start and end)");
  o.add("eval_problems", &eval_problems, "held-out problems per evaluation");
  o.add("ckpt_every", &ckpt_every, "steps between checkpoints");
  o.add("stop_after", &stop_after, "stop with a checkpoint at this step (0: off)");
  o.add("time_budget_s", &time_budget_s, "end the run (final evaluation and model, as at the last step) once this many seconds of training have passed in this process (0: off); for comparisons at equal wall time");
  o.add("resume", &resume, "continue from the run folder's checkpoint when present");
  o.add("warn.entropy_below", &warn_entropy_below, "warn when the mean entropy falls below this (collapse)");
  o.add("warn.kl_above", &warn_kl_above, "warn when the mean KL exceeds this");
  o.add("warn.ratio_above", &warn_ratio_above, "warn when the largest ratio exceeds this");
  o.add("warn.zero_std_above", &warn_zero_std_above, "warn when this fraction of groups has zero reward std");
}

namespace {

// The order problems are drawn in: a fresh shuffle per epoch, a pure function of (seed, epoch), so the data
// cursor alone restores it.
struct Cursor {
  Cursor(size_t n_, uint64_t seed_) : n(n_), seed(seed_) {}
  size_t n;
  uint64_t seed;
  long cached_epoch = -1;
  std::vector<size_t> perm;
  size_t at(long c) {
    long epoch = c / (long)n;
    if (epoch != cached_epoch) {
      perm.resize(n);
      std::iota(perm.begin(), perm.end(), 0);
      Rng r(splitmix64(seed * 1000003ull + (uint64_t)epoch));
      for (size_t i = n - 1; i > 0; i--) std::swap(perm[i], perm[r.below(i + 1)]);
      cached_epoch = epoch;
    }
    return perm[c % (long)n];
  }
};

struct Rollout {
  const Problem* problem;
  long prompt_index;
  std::vector<int> prompt;
  GenSample sample;
  std::string text;
  RewardBreakdown reward;
  double accuracy = 0, format = 0;
  float advantage = 0;
};

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

}  // namespace

GrpoSummary run_grpo(const GrpoRecipe& r) {
  r.loss.validate();
  R1_CHECK(!r.model.empty(), "grpo: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(r.group_size >= 2, "grpo: sampling.group_size must be >= 2 (advantages compare samples of one prompt)");
  R1_CHECK(r.prompts_per_step >= 1 && r.steps >= 1 && r.mu >= 1 && r.mini_batches >= 1, "grpo: prompts_per_step, steps, mu and mini_batches must be >= 1");
  R1_CHECK(is_question_template(r.prompt_template) || r.prompt_template == "chat",
           "grpo: prompt_template '", r.prompt_template, "' is unknown; expected ", prompt_template_names());
  make_dirs(r.out);
  const std::string metrics_path = path_join(r.out, "metrics.jsonl"), comp_path = path_join(r.out, "completions.jsonl");

  Tokenizer tok = Tokenizer::load(r.tokenizer.empty() ? r.model : r.tokenizer);
  auto task = make_task(r.task, r.task_config);
  std::vector<Problem> train = task->problems(r.train_split, (uint64_t)r.data_seed);
  std::vector<Problem> evalp = task->problems(r.eval_split, (uint64_t)r.data_seed);
  if ((int)evalp.size() > r.eval_problems) evalp.resize(r.eval_problems);
  R1_CHECK(!train.empty(), "grpo: task '", r.task, "' split '", r.train_split, "' has no problems");
  std::vector<RewardSpec> specs = parse_reward_specs(r.rewards);

  std::unique_ptr<ChatTemplate> chat;
  if (r.prompt_template == "chat") chat = std::make_unique<ChatTemplate>(ChatTemplate::from_file(path_join(r.model, "tokenizer_config.json")));
  auto prompt_text = [&](const Problem& p) {
    std::string s;
    if (r.prompt_template != "chat") s = question_prompt(r.prompt_template, p.prompt);
    else s = chat->render(json::array({{{"role", "user"}, {"content", p.prompt}}}), true);
    return s + r.think_prefix;
  };

  // ---- state: policy, reference, optimizer, cursor --------------------------------------------------------
  std::string ck = r.resume ? find_checkpoint_dir(r.out) : "";
  Model policy = Model::load(ck.empty() ? r.model : ck);
  std::unique_ptr<Model> ref;
  if (r.loss.beta > 0) {
    std::string ref_src = (!ck.empty() && file_exists(path_join(ck, "ref/config.json"))) ? path_join(ck, "ref") : r.model;
    ref = std::make_unique<Model>(Model::load(ref_src));
  }
  OptimConfig oc = r.optim;
  oc.total_steps = r.steps * r.mu * r.mini_batches;
  Optimizer opt(oc, policy.specs, policy.n_params);
  long start = 0, cursor = 0, ref_version = 0;
  if (!ck.empty()) {
    opt.load(path_join(ck, "optimizer.safetensors"), policy.specs);
    json st = json::parse(read_file(path_join(ck, "state.json")));
    start = st.at("step").get<long>();
    cursor = st.at("cursor").get<long>();
    ref_version = st.at("ref_version").get<long>();
    truncate_jsonl_after_step(metrics_path, start);
    truncate_jsonl_after_step(comp_path, start);
    std::fprintf(stderr, "[grpo] resuming from %s at step %ld\n", ck.c_str(), start);
  } else {
    std::remove(metrics_path.c_str());
    std::remove(comp_path.c_str());
  }
  {
    OptionSet o;
    GrpoRecipe copy = r;
    copy.declare(o);
    atomic_write(path_join(r.out, "config.yaml"), o.to_yaml());
  }
  Cursor order(train.size(), (uint64_t)r.seed);

  std::vector<int> eos_ids;
  if (tok.eos_id() >= 0) eos_ids.push_back(tok.eos_id());
  if (policy.cfg.eos_id >= 0 && std::find(eos_ids.begin(), eos_ids.end(), policy.cfg.eos_id) == eos_ids.end())
    eos_ids.push_back(policy.cfg.eos_id);
  auto completion_text = [&](const GenSample& s) {
    std::vector<int> ids = s.ids;
    if (!ids.empty() && std::find(eos_ids.begin(), eos_ids.end(), ids.back()) != eos_ids.end()) ids.pop_back();
    return tok.decode(ids);
  };
  auto encode_prompt = [&](const Problem& p) {
    std::vector<int> ids = tok.encode(prompt_text(p), true);
    if (policy.cfg.bos_id >= 0 && tok.bos_id() == policy.cfg.bos_id && (ids.empty() || ids[0] != tok.bos_id()))
      ids.insert(ids.begin(), tok.bos_id());
    return ids;
  };

  GenConfig gen;
  gen.sampling.temperature = r.temperature;
  gen.sampling.top_p = r.top_p;
  gen.sampling.top_k = r.top_k;
  gen.max_new_tokens = r.max_new_tokens;
  gen.eos_ids = eos_ids;
  gen.seed = (uint64_t)r.seed;
  gen.max_batch = std::max(16, r.group_size * r.prompts_per_step);

  auto evaluate = [&](json& rec) {
    if (evalp.empty()) return;
    std::vector<GenRequest> reqs;
    for (size_t i = 0; i < evalp.size(); i++) reqs.push_back({encode_prompt(evalp[i]), 1, (int)i, 0});
    GenConfig g = gen;
    g.sampling.greedy = true;
    g.sampling.temperature = 0;
    Engine eng(policy);
    auto out = eng.generate(reqs, g);
    double acc = 0, fmt = 0, len = 0;
    for (auto& s : out) {
      std::string t = completion_text(s);
      acc += task->accuracy(t, evalp[s.request]);
      fmt += format_reward(t, r.think_prefix);
      len += s.ids.size();
    }
    rec["eval_accuracy"] = acc / out.size();
    rec["eval_format_rate"] = fmt / out.size();
    rec["eval_length_mean"] = len / out.size();
  };

  auto save_ckpt = [&](long step) {
    write_checkpoint_dir(r.out, [&](const std::string& d) {
      policy.save(d);
      tok.save(d);
      opt.save(path_join(d, "optimizer.safetensors"), policy.specs);
      if (ref && ref_version > 0) ref->save(path_join(d, "ref"));
      json st = {{"step", step}, {"cursor", cursor}, {"ref_version", ref_version},
                 {"reference", ref_version > 0 ? "checkpoint/ref (policy at step " + std::to_string(ref_version) + ")" : r.model}};
      atomic_write(path_join(d, "state.json"), st.dump(2));
    });
  };

  std::fprintf(stderr, "[grpo] %s policy, %zu parameters; task %s (%zu train, %zu eval problems); G=%d x %d prompts; "
               "beta=%g %s, clip [%g, %g], %s, std_norm=%d, ratio=%s\n",
               policy.cfg.arch_name().c_str(), policy.n_params, r.task.c_str(), train.size(), evalp.size(), r.group_size,
               r.prompts_per_step, r.loss.beta, r.loss.kl_estimator.c_str(), r.loss.clip_eps_low, r.loss.clip_eps_high,
               r.loss.loss_agg.c_str(), (int)r.loss.std_norm, r.loss.ratio_level.c_str());
  if (start == 0) {
    json rec = {{"step", 0}};
    evaluate(rec);
    append_line(metrics_path, rec.dump());
    std::fprintf(stderr, "[grpo] before training: eval accuracy %.3f, format rate %.3f\n", rec.value("eval_accuracy", 0.0),
                 rec.value("eval_format_rate", 0.0));
  }

  GrpoSummary summary;
  Progress prog("grpo", r.steps - start);
  const int G = r.group_size;
  const auto t_run0 = clk::now();
  for (long step = start; step < r.steps; step++) {
    auto t_step = clk::now();
    // ---- generate ----------------------------------------------------------------------------------------
    std::vector<Rollout> batch;
    int groups_drawn = 0, groups_zero_std = 0;
    double gen_s = 0, score_s = 0;
    long gen_tokens = 0;
    for (int round = 0; round <= (r.dynamic_sampling ? r.max_refill_rounds : 0); round++) {
      int want = r.prompts_per_step - (int)(batch.size() / G);
      if (want <= 0) break;
      std::vector<GenRequest> reqs;
      std::vector<Rollout> fresh;
      for (int i = 0; i < want; i++) {
        const Problem& p = train[order.at(cursor)];
        GenRequest q;
        q.prompt = encode_prompt(p);
        q.n = G;
        q.prompt_index = (int)cursor;
        reqs.push_back(q);
        cursor++;
      }
      auto t0 = clk::now();
      Engine eng(policy);
      auto samples = eng.generate(reqs, gen);
      gen_s += std::chrono::duration<double>(clk::now() - t0).count();
      t0 = clk::now();
      std::vector<std::string> texts;
      std::vector<const Problem*> probs;
      std::vector<int64_t> lens;
      for (auto& s : samples) {
        Rollout ro;
        ro.problem = &train[order.at(reqs[s.request].prompt_index)];
        ro.prompt_index = reqs[s.request].prompt_index;
        ro.prompt = reqs[s.request].prompt;
        ro.text = completion_text(s);
        ro.sample = std::move(s);
        gen_tokens += ro.sample.ids.size();
        texts.push_back(ro.text);
        probs.push_back(ro.problem);
        lens.push_back((int64_t)ro.sample.ids.size());
        fresh.push_back(std::move(ro));
      }
      auto scores = task->score_batch(texts, probs, specs, lens, r.think_prefix);
      for (size_t i = 0; i < fresh.size(); i++) {
        fresh[i].reward = scores[i];
        fresh[i].accuracy = task->accuracy(fresh[i].text, *fresh[i].problem);
        fresh[i].format = format_reward(fresh[i].text, r.think_prefix);
      }
      score_s += std::chrono::duration<double>(clk::now() - t0).count();
      // groups: G consecutive samples of one request
      for (size_t g0 = 0; g0 < fresh.size(); g0 += G) {
        groups_drawn++;
        bool all_equal = true;
        for (int i = 1; i < G; i++) all_equal &= fresh[g0 + i].reward.total == fresh[g0].reward.total;
        groups_zero_std += all_equal;
        bool last_round = !r.dynamic_sampling || round == r.max_refill_rounds;
        if (all_equal && r.dynamic_sampling && !last_round) continue;
        for (int i = 0; i < G; i++) batch.push_back(std::move(fresh[g0 + i]));
      }
    }
    // ---- advantages -------------------------------------------------------------------------------------
    std::vector<float> rw;
    for (auto& ro : batch) rw.push_back((float)ro.reward.total);
    std::vector<float> adv = group_advantages(rw, G, r.loss.std_norm, r.loss.adv_eps);
    for (size_t i = 0; i < batch.size(); i++) batch[i].advantage = adv[i];

    // ---- train ------------------------------------------------------------------------------------------
    auto t_train = clk::now();
    const float temp = r.temperature > 0 ? r.temperature : 1.0f;
    int nseq = (int)batch.size();
    int mb_size = (nseq + r.mini_batches - 1) / r.mini_batches;
    // Each mini-batch is packed (model/transformer.h PackedSeq): a completion's rows are its prompt's last token
    // and its tokens but the last (targets: the completion); with share_prompt the rest of the prompt is one
    // prefix sequence shared by consecutive rollouts of the same prompt (a group), else it leads each sequence.
    struct MiniBatch {
      int N = 0;
      std::vector<PackedSeq> seqs;
      std::vector<int> ids, tg;
      std::vector<float> old_lp, ref_lp;
      std::vector<SeqSpan> spans;
    };
    std::vector<MiniBatch> mbs;
    for (int s0 = 0; s0 < nseq; s0 += mb_size) {
      MiniBatch mb;
      int s1 = std::min(nseq, s0 + mb_size);
      int shared = -1;  // index in mb.seqs of the current prompt's prefix
      auto add_rows = [&](const std::vector<int>& ids, const std::vector<int>& tg) {
        mb.seqs.push_back({mb.N, (int)ids.size(), -1});
        mb.ids.insert(mb.ids.end(), ids.begin(), ids.end());
        mb.tg.insert(mb.tg.end(), tg.begin(), tg.end());
        mb.N += (int)ids.size();
      };
      for (int i = s0; i < s1; i++) {
        const Rollout& ro = batch[i];
        const int P = (int)ro.prompt.size(), Cn = (int)ro.sample.ids.size();
        R1_CHECK(P >= 1 && Cn >= 1, "grpo: a rollout needs a prompt and at least one completion token");
        std::vector<int> head(ro.prompt.begin(), ro.prompt.end() - 1);  // prompt rows before the last
        std::vector<int> ids{ro.prompt.back()}, tg(ro.sample.ids.begin(), ro.sample.ids.end());
        ids.insert(ids.end(), ro.sample.ids.begin(), ro.sample.ids.end() - 1);
        int prefix = -1;
        if (!head.empty() && r.share_prompt) {
          bool same = shared >= 0 && i > s0 && batch[i - 1].prompt == ro.prompt;
          if (!same) {
            add_rows(head, std::vector<int>(head.size(), -1));
            shared = (int)mb.seqs.size() - 1;
          }
          prefix = shared;
        } else if (!head.empty()) {  // unshared: the prompt leads the sequence's own rows
          ids.insert(ids.begin(), head.begin(), head.end());
          tg.insert(tg.begin(), head.size(), -1);
        }
        int off_scored = mb.N + (int)(ids.size() - Cn);
        add_rows(ids, tg);
        mb.seqs.back().prefix = prefix;
        mb.old_lp.resize(mb.N, 0.f);
        for (int j = 0; j < Cn; j++) mb.old_lp[off_scored + j] = ro.sample.logprobs[j];
        SeqSpan sp;
        sp.offset = off_scored;
        sp.length = Cn;
        sp.advantage = ro.advantage;
        sp.truncated = ro.sample.truncated;
        mb.spans.push_back(sp);
      }
      size_t N = (size_t)mb.N;
      if (ref) {
        ref->forward(mb.ids.data(), mb.tg.data(), mb.N, mb.seqs, temp, false);
        mb.ref_lp.assign(ref->act().lp, ref->act().lp + N);
      }
      mbs.push_back(std::move(mb));
    }
    GrpoLossResult first{};
    double loss_sum = 0, gn_sum = 0, ent_sum = 0, kl_sum = 0, cl_lo = 0, cl_hi = 0, rmax = 0;
    int updates = 0;
    float lr = 0;
    for (int it = 0; it < r.mu; it++)
      for (auto& mb : mbs) {
        size_t N = (size_t)mb.N;
        policy.zero_grad();
        policy.forward(mb.ids.data(), mb.tg.data(), mb.N, mb.seqs, temp, true);
        std::vector<float> dlp(N), dent(N);
        GrpoLossResult res = grpo_loss(r.loss, policy.act().lp, mb.old_lp.data(), ref ? mb.ref_lp.data() : nullptr,
                                       policy.act().ent, mb.spans, (int)N, dlp.data(), dent.data());
        policy.backward(dlp.data(), r.loss.entropy_coef != 0 ? dent.data() : nullptr);
        float gn = clip_grad_norm(policy.grads(), policy.n_params, oc.grad_clip);
        lr = lr_at(oc, opt.steps());
        opt.step(policy.params(), policy.grads(), lr);
        if (updates == 0) first = res;
        loss_sum += res.loss;
        gn_sum += gn;
        ent_sum += res.entropy_mean;
        kl_sum += res.kl_mean;
        cl_lo += res.clip_frac_low;
        cl_hi += res.clip_frac_high;
        rmax = std::max(rmax, res.ratio_max);
        updates++;
      }
    double train_s = std::chrono::duration<double>(clk::now() - t_train).count();
    if (ref && r.ref_update_every > 0 && (step + 1) % r.ref_update_every == 0) {
      std::memcpy(ref->params(), policy.params(), sizeof(float) * policy.n_params);
      ref_version = step + 1;
    }

    // ---- record -----------------------------------------------------------------------------------------
    std::vector<double> totals, accs, fmts, lens, cots;
    std::map<std::string, std::vector<double>> parts;
    long truncated = 0, maxlen = 0;
    for (auto& ro : batch) {
      totals.push_back(ro.reward.total);
      accs.push_back(ro.accuracy);
      fmts.push_back(ro.format);
      lens.push_back((double)ro.sample.ids.size());
      cots.push_back((double)cot_chars(ro.text, r.think_prefix));
      maxlen = std::max<long>(maxlen, (long)ro.sample.ids.size());
      truncated += ro.sample.truncated;
      for (auto& [name, v] : ro.reward.parts) parts[name].push_back(v);
    }
    double step_s = std::chrono::duration<double>(clk::now() - t_step).count();
    json rec = {{"step", step + 1},
                {"reward_mean", mean_of(totals)},
                {"reward_std", std_of(totals)},
                {"accuracy", mean_of(accs)},
                {"format_rate", mean_of(fmts)},
                {"response_length_mean", mean_of(lens)},
                {"response_length_max", maxlen},
                {"cot_chars_mean", mean_of(cots)},
                {"truncated_frac", batch.empty() ? 0.0 : (double)truncated / batch.size()},
                {"entropy", ent_sum / std::max(1, updates)},
                {"kl", ref ? json(kl_sum / std::max(1, updates)) : json(nullptr)},
                {"clip_frac_low", cl_lo / std::max(1, updates)},
                {"clip_frac_high", cl_hi / std::max(1, updates)},
                {"ratio_max", rmax},
                {"zero_std_frac", groups_drawn ? (double)groups_zero_std / groups_drawn : 0.0},
                {"loss", loss_sum / std::max(1, updates)},
                {"grad_norm", gn_sum / std::max(1, updates)},
                {"lr", lr},
                {"tokens_per_s", gen_tokens / std::max(1e-9, gen_s)},
                {"gen_s", gen_s},
                {"score_s", score_s},
                {"train_s", train_s},
                {"step_s", step_s}};
    for (auto& [name, v] : parts) {
      rec["reward/" + name + "/mean"] = mean_of(v);
      rec["reward/" + name + "/std"] = std_of(v);
    }
    const double elapsed = std::chrono::duration<double>(clk::now() - t_run0).count();
    rec["elapsed_s"] = elapsed;
    const bool out_of_time = r.time_budget_s > 0 && elapsed >= r.time_budget_s;
    bool last = step + 1 == r.steps || out_of_time;
    if ((r.eval_every > 0 && (step + 1) % r.eval_every == 0) || last) evaluate(rec);
    append_line(metrics_path, rec.dump());
    {
      std::string lines;
      for (auto& ro : batch) {
        json c = {{"step", step + 1}, {"prompt_index", ro.prompt_index}, {"problem_id", ro.problem->id},
                  {"sample_index", ro.sample.sample_index}, {"gold", ro.problem->gold}, {"completion", ro.text},
                  {"length", ro.sample.ids.size()}, {"finish_reason", ro.sample.finish_reason},
                  {"reward", ro.reward.total}, {"advantage", ro.advantage}};
        for (auto& [name, v] : ro.reward.parts) c["rewards"][name] = v;
        lines += c.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      }
      lines.pop_back();
      append_line(comp_path, lines);
    }
    // warnings for the failure modes users of other stacks report
    double ent = rec["entropy"].get<double>();
    if (ent < r.warn_entropy_below)
      std::fprintf(stderr, "\n[grpo] warning: step %ld: mean entropy %.4f is below %.4f (entropy collapse?)\n", step + 1, ent, r.warn_entropy_below);
    if (ref && rec["kl"].get<double>() > r.warn_kl_above)
      std::fprintf(stderr, "\n[grpo] warning: step %ld: KL %.4f exceeds %.4f\n", step + 1, rec["kl"].get<double>(), r.warn_kl_above);
    if (rmax > r.warn_ratio_above)
      std::fprintf(stderr, "\n[grpo] warning: step %ld: max ratio %.3f exceeds %.3f (ratio spike)\n", step + 1, rmax, r.warn_ratio_above);
    if (rec["zero_std_frac"].get<double>() > r.warn_zero_std_above)
      std::fprintf(stderr, "\n[grpo] warning: step %ld: %.0f%% of groups have zero reward std (no learning signal; "
                   "consider dynamic_sampling=true)\n", step + 1, 100 * rec["zero_std_frac"].get<double>());
    if (step == start) summary.first_reward = mean_of(totals);
    summary.last_reward = mean_of(totals);
    summary.steps_run++;
    char extra[200];
    std::snprintf(extra, sizeof extra, "reward %.3f  acc %.3f  format %.3f  len %.1f%s", mean_of(totals), mean_of(accs),
                  mean_of(fmts), mean_of(lens),
                  rec.contains("eval_accuracy") ? ("  eval_acc " + std::to_string(rec["eval_accuracy"].get<double>()).substr(0, 5)).c_str() : "");
    prog.update(step + 1 - start, extra);
    bool stop = r.stop_after > 0 && step + 1 >= r.stop_after && !last;
    if ((r.ckpt_every > 0 && (step + 1) % r.ckpt_every == 0) || last || stop) save_ckpt(step + 1);
    if (stop) {
      std::fprintf(stderr, "\n[grpo] stopped at step %ld (stop_after); rerun to resume\n", step + 1);
      return summary;
    }
    if (out_of_time) {
      std::fprintf(stderr, "\n[grpo] time budget of %.0f s reached after step %ld\n", r.time_budget_s, step + 1);
      break;
    }
  }
  prog.finish();
  std::string md = path_join(r.out, "model");
  policy.save(md);
  tok.save(md);
  std::fprintf(stderr, "[grpo] final policy written to %s\n", md.c_str());
  return summary;
}

}  // namespace r1
