// `r1 grpo`: the recipe and the loop. One step's parts (collect, pack, update, record) are in grpo_step.h.
#include "train/grpo.h"

#include "core/check.h"
#include "core/io.h"
#include "core/dist.h"
#include "core/progress.h"
#include "train/checkpoint_dir.h"
#include "train/grpo_step.h"
#include "model/kv_cache.h"
#include "scoring/model_rewards.h"
#include "train/lora_train.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/resource.h>

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
  sampling.declare(o);
  o.add("steps", &steps, "training steps (rollout batches)");
  o.add("mu", &mu, "inner passes over each rollout batch (GRPO's mu)");
  o.add("mini_batches", &mini_batches, "optimizer steps per pass: the rollout batch is split into this many parts");
  o.add("share_prompt", &share_prompt, "in the policy and reference passes, compute the prompt once per group and let its G completions attend to it (same loss and gradients as unshared sequences, up to float rounding; false: each sequence carries its own copy of the prompt)");
  o.add("shards", &shards, "S: each mini-batch's groups are S fixed shards whose gradients are summed in a fixed pairwise tree, so that 1, 2, 4 ... S ranks (mpirun) give the same bits; a power of two dividing prompts_per_step / mini_batches (0: the largest such up to 8)");
  o.add("check_every", &check_every, "with several ranks, compare a hash of the weights across ranks every N steps and stop if the replicas differ (0: off)");
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
  lora.declare(o);
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
  o.add("warn.hacking_window", &warn_hacking_window,
        "reward hacking watch: warn when a model reward (reward_model, judge) rises while accuracy falls from the first "
        "to the second half of this many steps (0: off)");
  o.add("warn.hacking_accuracy_drop", &warn_hacking_accuracy_drop,
        "... by at least this much (accuracy, absolute), while the model reward's half-window mean rises at all");
}

namespace {

// Policy, reference, optimizer and data cursor: fresh, or restored from the run folder's checkpoint.
struct GrpoState {
  std::string ck;  // checkpoint folder resumed from ("" = fresh)
  Policy policy;
  std::unique_ptr<Model> ref;  // a separate reference model (beta > 0 without LoRA)
  bool base_ref = false;       // beta > 0 with LoRA: the reference is the policy with its adapters off
  std::unique_ptr<Optimizer> opt;
  Model* reference() { return ref ? ref.get() : base_ref ? &policy.model() : nullptr; }
  long start = 0, cursor = 0, ref_version = 0;
};

GrpoState load_state(const GrpoRecipe& r, const std::string& metrics_path, const std::string& comp_path) {
  std::string ck = r.resume ? find_checkpoint_dir(r.out) : "";
  const bool lora = r.lora.enabled();
  GrpoState st{ck, Policy::load({r.model, r.tokenizer, trainer_weights(r.model, ck, r.lora, "grpo"), ""},
                                r.prompt_template, r.think_prefix, "grpo"),
               nullptr, false, nullptr};
  if (lora) {
    attach_recipe_lora(st.policy.model(), r.lora, ck, (uint64_t)r.seed, "grpo");
    const std::string ra = ck.empty() ? "" : path_join(ck, "ref_adapter");
    if (!ra.empty() && is_directory(ra))  // a reference update happened before the checkpoint
      st.policy.model().lora().ref_params = Lora::load(ra, st.policy.model().cfg).params;
  }
  st.base_ref = lora && r.loss.beta > 0;
  if (r.loss.beta > 0 && !lora) {
    std::string ref_src = (!ck.empty() && file_exists(path_join(ck, "ref/config.json"))) ? path_join(ck, "ref") : r.model;
    st.ref = std::make_unique<Model>(Model::load(ref_src));
  }
  OptimConfig oc = r.optim;
  oc.total_steps = r.steps * r.mu * r.mini_batches;
  Model& policy = st.policy.model();
  const Model::Trainable tr = policy.trainable();  // the adapters with LoRA
  st.opt = std::make_unique<Optimizer>(oc, *tr.specs, tr.n);
  if (!ck.empty()) {
    st.opt->load(path_join(ck, "optimizer.safetensors"), *tr.specs);
    json s = json::parse(read_file(path_join(ck, "state.json")));
    st.start = s.at("step").get<long>();
    st.cursor = s.at("cursor").get<long>();
    st.ref_version = s.at("ref_version").get<long>();
    if (dist::root()) {
      truncate_jsonl_after_step(metrics_path, st.start);
      truncate_jsonl_after_step(comp_path, st.start);
    }
    std::fprintf(stderr, "[grpo] resuming from %s at step %ld\n", ck.c_str(), st.start);
  } else if (dist::root()) {
    std::remove(metrics_path.c_str());
    std::remove(comp_path.c_str());
  }
  dist::barrier();  // no rank reads the run folder while rank 0 tidies it
  return st;
}

// Rank 0 writes (every replica holds the same state); the checkpoint is complete once it is renamed into place, after
// every rank reached the step.
void save_checkpoint(const GrpoRecipe& r, GrpoState& st, long step) {
  dist::barrier();
  if (dist::root()) write_checkpoint_dir(r.out, [&](const std::string& d) {
    save_checkpoint_weights(st.policy.model(), d, r.model);  // the adapters only, with LoRA
    st.policy.tokenizer().save(d);
    st.opt->save(path_join(d, "optimizer.safetensors"), *st.policy.model().trainable().specs);
    if (st.ref && st.ref_version > 0) st.ref->save(path_join(d, "ref"));
    if (st.base_ref && st.ref_version > 0) {  // LoRA: the reference's adapters (the base is the recipe's model)
      Lora ra = st.policy.model().lora();
      ra.params = ra.ref_params;
      ra.save(path_join(d, "ref_adapter"), r.model);
    }
    json s = {{"step", step}, {"cursor", st.cursor}, {"ref_version", st.ref_version},
              {"reference", st.ref_version > 0 ? "checkpoint/ref (policy at step " + std::to_string(st.ref_version) + ")" : r.model}};
    atomic_write(path_join(d, "state.json"), s.dump(2));
  });
  dist::barrier();
}

// FNV-1a over the trained parameters' bytes (the adapters with LoRA): equal on every rank unless a replica drifted.
uint64_t weights_hash(Model& m) {
  uint64_t h = 1469598103934665603ull;
  const Model::Trainable t = m.trainable();
  const auto* p = reinterpret_cast<const unsigned char*>(t.params);
  for (size_t i = 0; i < t.n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Where the memory goes, after the first step (when every buffer has reached its size): written to memory.json
// and printed once. packed_weights: the rollout engine's copy of the matrices in oneDNN's layout (freed after
// each generate() call); kv_cache likewise.
json memory_report(GrpoState& st, const grpo::Collected& c, const ShardTree& tree, size_t act_bytes) {
  Model& m = st.policy.model();
  const ModelConfig& k = m.cfg;
  const double GB = 1e9;
  const double matrices = (double)k.L * ((double)k.QKV() * k.C + (double)k.C * k.QD() + 3.0 * k.FF * k.C) + (double)k.V * k.C;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  json j = {{"base_weights_gb", m.n_params * 4.0 / GB},
            {"adapters_gb", m.has_lora() ? m.lora().n * 4.0 / GB : 0.0},
            {"gradients_gb", (m.has_lora() ? m.lora().grads.size() : m.grads_mem.size()) * 4.0 / GB},
            {"gradient_partials_gb", tree.bytes() / GB},
            {"optimizer_gb", (st.opt->m().size() + st.opt->v().size()) * 4.0 / GB},
            {"reference_gb", st.ref ? st.ref->n_params * 4.0 / GB : m.has_lora() ? m.lora().ref_params.size() * 4.0 / GB : 0.0},
            {"reference", st.ref ? "a separate copy of the model" : st.base_ref ? "the base (adapters off): no copy" : "none (beta = 0)"},
            {"activations_gb", act_bytes / GB},
            {"kv_cache_gb", c.kv_cache_bytes / GB},
            {"packed_weights_gb", matrices * 4.0 / GB},
            {"peak_rss_gb", ru.ru_maxrss * 1024.0 / GB},
            {"trainable_params", m.trainable().n},
            {"params", m.n_params}};
  return j;
}

void check_recipe(const GrpoRecipe& r) {
  register_model_rewards();  // reward_model, judge (scoring/model_rewards.h)
  r.loss.validate();
  R1_CHECK(!r.model.empty(), "grpo: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(r.group_size >= 2, "grpo: sampling.group_size must be >= 2 (advantages compare samples of one prompt)");
  R1_CHECK(r.prompts_per_step >= 1 && r.steps >= 1 && r.mu >= 1 && r.mini_batches >= 1, "grpo: prompts_per_step, steps, mu and mini_batches must be >= 1");
  r.sampling.check("grpo", true);
  parse_reward_specs(r.rewards);
  R1_CHECK(r.prompts_per_step % r.mini_batches == 0, "grpo: mini_batches = ", r.mini_batches,
           " must divide sampling.prompts_per_step = ", r.prompts_per_step, " (a mini-batch is whole groups)");
  const int S = effective_shards(r.shards, r.prompts_per_step / r.mini_batches);
  check_shards(S, "grpo");
  R1_CHECK((r.prompts_per_step / r.mini_batches) % S == 0, "grpo: shards = ", S, " must divide the ",
           r.prompts_per_step / r.mini_batches, " groups of a mini-batch (sampling.prompts_per_step / mini_batches); ",
           "set shards to a power of two that does");
  r.lora.check("grpo");
  R1_CHECK(!r.dynamic_sampling || dist::size() == 1, "grpo: dynamic_sampling refills dropped groups from new prompts, ",
           "which moves groups between ranks; run it in one process (", dist::size(), " ranks now)");
}

// The run's settings, on stderr: what the policy is, the task, the GRPO variant, LoRA and ranks.
void print_banner(const GrpoRecipe& r, const Model& policy, size_t n_train, size_t n_eval, int S,
                  const ShardTree& tree) {
  std::fprintf(stderr, "[grpo] %s policy, %zu parameters; task %s (%zu train, %zu eval problems); G=%d x %d prompts; "
               "beta=%g %s, clip [%g, %g], %s, std_norm=%d, ratio=%s\n",
               policy.cfg.arch_name().c_str(), policy.n_params, r.task.c_str(), n_train, n_eval, r.group_size,
               r.prompts_per_step, r.loss.beta, r.loss.kl_estimator.c_str(), r.loss.clip_eps_low, r.loss.clip_eps_high,
               r.loss.loss_agg.c_str(), (int)r.loss.std_norm, r.loss.ratio_level.c_str());
  if (policy.has_lora())
    std::fprintf(stderr, "[grpo] LoRA r=%d alpha=%g on %d projections per layer: %zu trainable parameters (%.2f%%); "
                 "the reference is the base (adapters off)\n", r.lora.r, r.lora.alpha, policy.lora().sites_per_layer(),
                 policy.lora().n, 100.0 * policy.lora().n / policy.n_params);
  if (dist::size() > 1)
    std::fprintf(stderr, "[grpo] %d ranks, %d shards: rank 0 samples and trains shards [0, %d)\n", dist::size(), S,
                 tree.last());
}

}  // namespace

void check_grpo(const GrpoRecipe& r) { check_recipe(r); }

GrpoSummary run_grpo(const GrpoRecipe& r) {
  check_recipe(r);
  make_dirs(r.out);
  const std::string metrics_path = path_join(r.out, "metrics.jsonl"), comp_path = path_join(r.out, "completions.jsonl");
  auto task = make_task(r.task, r.task_config);
  std::vector<Problem> train = task->problems(r.train_split, (uint64_t)r.data_seed);
  std::vector<Problem> evalp = task->problems(r.eval_split, (uint64_t)r.data_seed);
  if ((int)evalp.size() > r.eval_problems) evalp.resize(r.eval_problems);
  R1_CHECK(!train.empty(), "grpo: task '", r.task, "' split '", r.train_split, "' has no problems");
  std::vector<RewardSpec> specs = parse_reward_specs(r.rewards);

  GrpoState st = load_state(r, metrics_path, comp_path);
  Model& policy = st.policy.model();
  if (dist::root()) atomic_write(path_join(r.out, "config.yaml"), effective_config_yaml(r));
  grpo::Cursor order(train.size(), (uint64_t)r.seed);
  GenConfig gen = st.policy.gen_config(r.sampling, (uint64_t)r.seed, std::max(16, r.group_size * r.prompts_per_step));
  gen.batch_invariant = true;  // a group samples the same bits whichever rank, and with whichever groups, it runs
  const int S = effective_shards(r.shards, r.prompts_per_step / r.mini_batches);
  const grpo::Layout layout{r.prompts_per_step, r.mini_batches, S};
  ShardTree tree(S, policy.trainable().n, "grpo");
  const grpo::StepContext ctx{r, st.policy, *task, train, specs, gen, layout, tree};

  print_banner(r, policy, train.size(), evalp.size(), S, tree);
  if (st.start == 0 && dist::root()) {
    json rec = {{"step", 0}};
    grpo::greedy_eval(st.policy, *task, evalp, gen, rec);
    append_line(metrics_path, rec.dump());
    std::fprintf(stderr, "[grpo] before training: eval accuracy %.3f, format rate %.3f\n", rec.value("eval_accuracy", 0.0),
                 rec.value("eval_format_rate", 0.0));
  }

  GrpoSummary summary;
  Progress prog("grpo", r.steps - st.start);
  grpo::StepWarnings warnings(r);
  const float temp = r.sampling.temperature > 0 ? r.sampling.temperature : 1.0f;
  const auto t_run0 = clk::now();
  for (long step = st.start; step < r.steps; step++) {
    auto t_step = clk::now();
    grpo::Collected c = grpo::collect_rollouts(ctx, order, st.cursor);
    grpo::assign_advantages(c.batch, r.group_size, r.loss);
    auto t_train = clk::now();
    auto shards = grpo::pack_shards(c.batch, layout, r.share_prompt, st.reference(), temp);
    grpo::UpdateTotals u = grpo::grpo_update(r.loss, r.mu, layout, policy, *st.opt, shards, tree, st.reference() != nullptr, temp);
    // A big model's activation block (GBs) is freed before the engine (evaluation, the next rollouts) packs its
    // weights and allocates its KV cache; re-faulting it costs far less than the step.
    const size_t act_bytes = policy.activation_bytes();
    if (act_bytes > physical_memory_bytes() / 8) policy.release_activations();
    double train_s = std::chrono::duration<double>(clk::now() - t_train).count();
    if (st.reference() && r.ref_update_every > 0 && (step + 1) % r.ref_update_every == 0) {
      if (st.ref) std::memcpy(st.ref->params(), policy.params(), sizeof(float) * policy.n_params);
      else policy.lora().ref_params = policy.lora().params;  // LoRA: the reference becomes base + today's adapters
      st.ref_version = step + 1;
    }
    if (dist::size() > 1 && r.check_every > 0 && (step + 1) % r.check_every == 0 && !dist::all_equal(weights_hash(policy)))
      dist::abort_job("grpo: step " + std::to_string(step + 1) + ": the replicas' weights differ between ranks "
                      "(a rank computed something else: different build, CPU features or input files?)");
    auto t_gather = clk::now();
    grpo::gather_rollouts(c, ctx, order);  // rank 0 gets every rank's rollouts for the records
    u.comm_s += std::chrono::duration<double>(clk::now() - t_gather).count();

    const double elapsed = std::chrono::duration<double>(clk::now() - t_run0).count();
    const bool out_of_time = dist::root_decides(r.time_budget_s > 0 && elapsed >= r.time_budget_s);
    const bool last = step + 1 == r.steps || out_of_time;
    json rec = grpo::step_metrics(step + 1, c, u, st.reference() != nullptr, r.think_prefix, specs);
    if (dist::root()) {
      rec["train_s"] = train_s;
      rec["comm_s"] = u.comm_s;
      rec["step_s"] = std::chrono::duration<double>(clk::now() - t_step).count();
      rec["elapsed_s"] = elapsed;
      if ((r.eval_every > 0 && (step + 1) % r.eval_every == 0) || last) grpo::greedy_eval(st.policy, *task, evalp, gen, rec);
      append_line(metrics_path, rec.dump());
      append_line(comp_path, grpo::completion_lines(step + 1, c.batch));
      warnings.check(step + 1, rec, st.reference() != nullptr);
    }
    if (step == st.start) summary.first_reward = rec["reward_mean"].get<double>();
    if (step == st.start && dist::root()) {
      json mem = memory_report(st, c, tree, act_bytes);
      atomic_write(path_join(r.out, "memory.json"), mem.dump(2) + "\n");
      std::fprintf(stderr, "\n[grpo] memory (GB): weights %.2f, adapters %.3f, gradients %.2f (+ shard partials %.2f), "
                   "optimizer %.2f, reference %.2f, activations %.2f, KV cache %.2f, rollout weight copy %.2f; peak RSS %.2f\n",
                   mem["base_weights_gb"].get<double>(), mem["adapters_gb"].get<double>(), mem["gradients_gb"].get<double>(),
                   mem["gradient_partials_gb"].get<double>(),
                   mem["optimizer_gb"].get<double>(), mem["reference_gb"].get<double>(), mem["activations_gb"].get<double>(),
                   mem["kv_cache_gb"].get<double>(), mem["packed_weights_gb"].get<double>(), mem["peak_rss_gb"].get<double>());
    }
    summary.last_reward = rec["reward_mean"].get<double>();
    summary.steps_run++;
    char extra[200];
    std::snprintf(extra, sizeof extra, "reward %.3f  acc %.3f  format %.3f  len %.1f%s", rec["reward_mean"].get<double>(),
                  rec["accuracy"].get<double>(), rec["format_rate"].get<double>(), rec["response_length_mean"].get<double>(),
                  rec.contains("eval_accuracy") ? ("  eval_acc " + std::to_string(rec["eval_accuracy"].get<double>()).substr(0, 5)).c_str() : "");
    prog.update(step + 1 - st.start, extra);
    const bool stop = r.stop_after > 0 && step + 1 >= r.stop_after && !last;
    if ((r.ckpt_every > 0 && (step + 1) % r.ckpt_every == 0) || last || stop) save_checkpoint(r, st, step + 1);
    if (stop) {
      warnings.flush();
      std::fprintf(stderr, "\n[grpo] stopped at step %ld (stop_after); rerun to resume\n", step + 1);
      return summary;
    }
    if (out_of_time) {
      std::fprintf(stderr, "\n[grpo] time budget of %.0f s reached after step %ld\n", r.time_budget_s, step + 1);
      break;
    }
  }
  prog.finish();
  warnings.flush();
  std::string md = path_join(r.out, "model");
  if (dist::root()) save_final_model(policy, st.policy.tokenizer(), r.out, r.model, DType::F32);  // merged with LoRA
  dist::barrier();  // the model is in place before any rank goes on (a pipeline's next stage reads it)
  std::fprintf(stderr, "[grpo] final policy written to %s\n", md.c_str());
  return summary;
}

}  // namespace r1
