#include "train/rm.h"

#include "core/check.h"
#include "core/dist.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "formats/dtype.h"
#include "model/transformer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/hold_out.h"
#include "train/rm_data.h"
#include "train/rm_loss.h"
#include "train/shards.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>

namespace r1 {

using json = nlohmann::json;

void RmRecipe::declare(OptionSet& o) {
  o.add("out", &out, "run folder");
  o.add("model", &model, "a causal LM folder (made a reward model: the body copied, a fresh score head from seed) or a "
        "reward-model folder (*ForSequenceClassification) to train further; required");
  o.add("tokenizer", &tokenizer, "tokenizer folder (default: the model folder)");
  o.add("data", &data, "training JSONL of preference pairs: {\"prompt\", \"chosen\", \"rejected\"} as strings or "
        "lists of messages, or {\"chosen\", \"rejected\"} conversations (implicit prompt); optional \"margin\", \"kind\"");
  o.add("eval_data", &eval_data, "held-out JSONL (default: eval_fraction of data)");
  o.add("eval_fraction", &eval_fraction, "fraction of data held out when eval_data is empty");
  o.add("max_length", &max_length, "longest prompt + response in tokens (at most the model's max_position_embeddings); longer pairs are dropped and counted");
  o.add("batch", &batch, "pairs per optimizer step");
  o.add("shards", &shards, "S: the step's pairs as S fixed shards whose gradients are summed in a fixed pairwise tree, "
        "so that 1, 2, 4 ... S ranks (mpirun) give the same bits; a power of two dividing batch (0: the largest such "
        "up to 8)");
  o.add("epochs", &epochs, "passes over the training pairs (when steps is 0)");
  o.add("steps", &steps, "optimizer steps (0: epochs decide)");
  o.add("seed", &seed, "score head init, shuffle and split seed");
  o.add("center_rewards_coefficient", &center_rewards_coefficient,
        "adds this x (rc + rr)^2 per pair to the loss, keeping rewards centred on 0 (TRL's name; 0: off; "
        "InstructGPT/TRL use 0.01)");
  o.add("margin", &margin, "use each row's \"margin\" (a number): the loss is -log sigmoid(rc - rr - margin)");
  o.add("eval_every", &eval_every, "held-out pair accuracy every N steps (0: only at the start and the end)");
  o.add("ckpt_every", &ckpt_every, "checkpoint every N steps (0: only at the end)");
  o.add("log_every", &log_every, "metrics line every N steps");
  o.add("stop_after", &stop_after, "stop with a checkpoint at this step (0: off)");
  o.add("resume", &resume, "continue from RUN/checkpoint when present");
  o.add("save_dtype", &save_dtype, "f32 | bf16 for the final model");
  declare_optim(o, optim);
  o.add("lora.r", &lora_r, "not supported for reward models: only 0 (the whole model trains)");
}

void check_rm(const RmRecipe& c) {
  R1_CHECK(c.lora_r == 0, "rm: field 'lora.r' = ", c.lora_r, ": LoRA is not supported for reward models (the whole ",
           "model and its score head train); remove the lora fields");
  R1_CHECK(c.batch >= 1 && c.epochs >= 1 && c.steps >= 0, "rm: batch and epochs must be >= 1 and steps >= 0");
  R1_CHECK(c.max_length >= 2, "rm: max_length must be >= 2 (got ", c.max_length, ")");
  R1_CHECK(c.eval_fraction >= 0 && c.eval_fraction < 1, "rm: eval_fraction must be in [0, 1) (got ", c.eval_fraction, ")");
  R1_CHECK(c.center_rewards_coefficient >= 0, "rm: center_rewards_coefficient must be >= 0 (got ",
           c.center_rewards_coefficient, ")");
  R1_CHECK(c.save_dtype == "f32" || c.save_dtype == "bf16", "rm: save_dtype must be f32 or bf16");
  const int S = effective_shards(c.shards, c.batch);
  check_shards(S, "rm");
  R1_CHECK(c.batch % S == 0, "rm: shards = ", S, " must divide batch = ", c.batch, " (each shard holds batch / S pairs)");
}

namespace {

// The reward model to train: the checkpoint's when resuming, else the recipe's model, made a reward model when it
// is a causal LM.
Model load_reward_model(const RmRecipe& c, const std::string& ck) {
  Model m = Model::load(ck.empty() ? c.model : ck);
  if (!ck.empty()) {
    R1_CHECK(m.cfg.head == Head::Score, "rm: the checkpoint ", ck, " is not a reward model (", m.cfg.architecture(), ")");
    return m;
  }
  if (m.cfg.head == Head::Score) return m;
  return reward_model_from(m, (uint64_t)c.seed);
}


struct RmData {
  std::vector<RmPair> train, held;
};

// Pairs longer than `limit` tokens (max_length, capped at the model's positions) are dropped with one warning.
RmData load_data(const RmRecipe& c, const Tokenizer& tok, const ModelConfig& cfg, const ChatTemplate* chat, long limit) {
  RmPairs tr = read_rm_pairs(c.data, tok, cfg, chat, c.margin, limit), ev;
  RmData d{std::move(tr.pairs), {}};
  if (!c.eval_data.empty()) {
    ev = read_rm_pairs(c.eval_data, tok, cfg, chat, c.margin, limit);
    d.held = std::move(ev.pairs);
  } else {
    hold_out(d.train, d.held, c.eval_fraction, (uint64_t)c.seed ^ 0x7e3a1ull);
  }
  if (tr.too_long + ev.too_long > 0 && dist::root())
    std::fprintf(stderr, "[rm] warning: %ld training and %ld held-out pairs are longer than %ld tokens (prompt + the "
                 "longer response; max_length %ld, max_position_embeddings %d) and were dropped\n", tr.too_long,
                 ev.too_long, limit, c.max_length, cfg.max_pos);
  R1_CHECK(!d.train.empty(), "rm: no training pair of ", c.data, " fits in ", limit, " tokens (prompt + the longer ",
           "response; max_length ", c.max_length, ", max_position_embeddings ", cfg.max_pos, ")");
  return d;
}

// Scores of n pairs in one packed batch: rc[i], rr[i]. Returns the rows computed.
long score_pairs(Model& m, const RmPair* const* pairs, int n, float* rc, float* rr) {
  PackedBatch b;
  std::vector<int> rows;
  pack_rm_pairs(pairs, n, b, rows);
  m.forward_score(b.ids.data(), b.N, b.seqs, rows);
  const auto& s = m.act().scores;
  for (int i = 0; i < n; i++) {
    rc[i] = s[2 * (size_t)i];
    rr[i] = s[2 * (size_t)i + 1];
  }
  return b.N;
}

struct StepOut {
  double loss = 0, comm_s = 0;
  std::vector<float> rc, rr;  // every pair of the step, in batch order
  long tokens = 0;            // rows computed by every rank together
};

// One step's gradient over the batch's pairs (S shards of batch / S pairs; a short last batch leaves the later
// shards short or empty), left summed in m's gradients on every rank.
StepOut train_step(Model& m, ShardTree& tree, const std::vector<const RmPair*>& b, int B, double center) {
  const int S = tree.shards(), per = B / S, nb = (int)b.size(), mine = tree.last() - tree.first();
  const size_t blk = 1 + 2 * (size_t)per;  // per shard: loss, rc[per], rr[per]
  std::vector<double> buf((size_t)mine * blk, 0.0), all(buf.size() * (size_t)dist::size());
  std::vector<float> rc(per), rr(per), mg(per), drc(per), drr(per), ds(2 * (size_t)per);
  StepOut o;
  for (const RmPair* p : b) o.tokens += p->tokens();
  for (int s = tree.first(); s < tree.last(); s++) {
    const int lo = std::min(nb, s * per), n = std::min(nb, (s + 1) * per) - lo;
    double* out = buf.data() + (size_t)(s - tree.first()) * blk;
    m.zero_grad();
    if (n > 0) {
      score_pairs(m, b.data() + lo, n, rc.data(), rr.data());
      for (int i = 0; i < n; i++) mg[i] = b[lo + i]->margin;
      out[0] = bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), mg.data(), n, center, nb);
      for (int i = 0; i < n; i++) {
        ds[2 * (size_t)i] = drc[i];
        ds[2 * (size_t)i + 1] = drr[i];
        out[1 + i] = rc[i];
        out[1 + per + i] = rr[i];
      }
      m.backward_score(ds.data());
    }
    tree.add(m.trainable().grads);
  }
  const double c0 = tree.comm_s();
  tree.reduce(m.trainable().grads);
  auto t0 = std::chrono::steady_clock::now();
  dist::allgather(buf.data(), sizeof(double) * buf.size(), all.data());  // rank order = shard order
  o.comm_s = tree.comm_s() - c0 + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int s = 0; s < S; s++) o.loss += all[(size_t)s * blk];
  for (int i = 0; i < nb; i++) {
    o.rc.push_back((float)all[(size_t)(i / per) * blk + 1 + i % per]);
    o.rr.push_back((float)all[(size_t)(i / per) * blk + 1 + per + i % per]);
  }
  return o;
}

struct PairStats {
  double accuracy = 0, margin_mean = 0, chosen_mean = 0, rejected_mean = 0;
};
PairStats pair_stats(const std::vector<float>& rc, const std::vector<float>& rr) {
  PairStats p;
  const size_t n = rc.size();
  for (size_t i = 0; i < n; i++) {
    p.accuracy += rc[i] > rr[i];
    p.margin_mean += (double)rc[i] - rr[i];
    p.chosen_mean += rc[i];
    p.rejected_mean += rr[i];
  }
  if (n) {
    p.accuracy /= n;
    p.margin_mean /= n;
    p.chosen_mean /= n;
    p.rejected_mean /= n;
  }
  return p;
}

// The held-out pairs scored in chunks of `chunk` pairs: accuracy (rc > rr), the training loss's value, the gaps.
struct RmEval {
  long pairs = 0;
  double accuracy = 0, loss = 0, mean_gap = 0;
  std::vector<float> gaps;
  json by_kind = json::object();
};
RmEval evaluate(Model& m, const std::vector<RmPair>& pairs, int chunk, double center) {
  RmEval e;
  const int n = (int)pairs.size();
  e.pairs = n;
  if (n == 0) return e;
  std::vector<const RmPair*> ptr;
  for (const auto& p : pairs) ptr.push_back(&p);
  std::vector<float> rc(n), rr(n), mg(n), drc(n), drr(n);
  for (int lo = 0; lo < n; lo += chunk) score_pairs(m, ptr.data() + lo, std::min(chunk, n - lo), &rc[lo], &rr[lo]);
  for (int i = 0; i < n; i++) mg[i] = pairs[i].margin;
  e.loss = bt_loss(drc.data(), drr.data(), rc.data(), rr.data(), mg.data(), n, center, n);
  PairStats st = pair_stats(rc, rr);
  e.accuracy = st.accuracy;
  e.mean_gap = st.margin_mean;
  std::map<std::string, std::pair<long, long>> kinds;  // kind -> (pairs, correct)
  for (int i = 0; i < n; i++) {
    e.gaps.push_back(rc[i] - rr[i]);
    if (pairs[i].kind.empty()) continue;
    auto& k = kinds[pairs[i].kind];
    k.first++;
    k.second += rc[i] > rr[i];
  }
  for (const auto& [k, v] : kinds) e.by_kind[k] = {{"pairs", v.first}, {"accuracy", (double)v.second / v.first}};
  return e;
}

void write_eval_json(const std::string& out, const RmEval& e, long step) {
  json j = {{"step", step},         {"pairs", e.pairs}, {"accuracy", e.accuracy}, {"loss", e.loss},
            {"mean_gap", e.mean_gap}, {"by_kind", e.by_kind}, {"gaps", e.gaps}};
  atomic_write(path_join(out, "eval.json"), j.dump(1));
}

// The order of the training pairs in `epoch`: a seeded shuffle.
std::vector<size_t> epoch_order(size_t n, long seed, long epoch) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng r((uint64_t)seed * 1000003ull + (uint64_t)epoch);
  for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[r.below(i)]);
  return order;
}

// Everything a run holds between steps.
struct RmRun {
  const RmRecipe& c;
  Tokenizer tok;
  Model m;
  RmData data;
  Optimizer opt;
  long steps_per_epoch, total_steps, start = 0;
  std::string metrics;
  RmSummary sum;
};

void save_checkpoint(RmRun& r, long step) {  // rank 0 writes, once every rank reached the step
  dist::barrier();
  if (dist::root()) write_checkpoint_dir(r.c.out, [&](const std::string& d) {
    r.m.save(d);
    r.tok.save(d);
    r.opt.save(path_join(d, "optimizer.safetensors"), r.m.specs);
    atomic_write(path_join(d, "state.json"), json{{"step", step}}.dump(2));
  });
  dist::barrier();
}

// Held-out evaluation on rank 0: into the record `rec` (eval_* keys), eval.json and the summary.
void record_eval(RmRun& r, json& rec, long step) {
  if (!dist::root() || r.data.held.empty()) return;
  // chunks of one shard's pairs: the activation memory of a training shard
  const int chunk = std::max(1, r.c.batch / effective_shards(r.c.shards, r.c.batch));
  RmEval e = evaluate(r.m, r.data.held, chunk, r.c.center_rewards_coefficient);
  rec["eval_accuracy"] = e.accuracy;
  rec["eval_loss"] = e.loss;
  rec["eval_margin_mean"] = e.mean_gap;
  write_eval_json(r.c.out, e, step);
  if (r.sum.first_eval_loss < 0) {
    r.sum.first_eval_loss = e.loss;
    r.sum.first_eval_accuracy = e.accuracy;
  }
  r.sum.last_eval_loss = e.loss;
  r.sum.last_eval_accuracy = e.accuracy;
}

// Resumes from the checkpoint `ck` (optimizer, step, metrics cut back to it) or starts afresh.
void start_run(RmRun& r, const std::string& ck) {
  if (!ck.empty()) {
    r.opt.load(path_join(ck, "optimizer.safetensors"), r.m.specs);
    r.start = json::parse(read_file(path_join(ck, "state.json"))).at("step").get<long>();
    if (dist::root()) truncate_jsonl_after_step(r.metrics, r.start);
    std::fprintf(stderr, "[rm] resuming from %s at step %ld\n", ck.c_str(), r.start);
  } else if (dist::root()) {
    std::remove(r.metrics.c_str());
  }
  if (dist::root()) atomic_write(path_join(r.c.out, "config.yaml"), effective_config_yaml(r.c));
  dist::barrier();
  if (r.start == 0 && dist::root()) {  // the starting held-out accuracy, always
    json rec = {{"step", 0}};
    record_eval(r, rec, 0);
    if (rec.size() > 1) append_line(r.metrics, rec.dump());
  }
}

// The run's steps from r.start; false when it stopped early (stop_after).
bool train_loop(RmRun& r) {
  const RmRecipe& c = r.c;
  ShardTree tree(effective_shards(c.shards, c.batch), r.m.trainable().n, "rm");
  Progress prog("rm", r.total_steps - r.start);
  std::vector<size_t> order;
  long order_epoch = -1;
  for (long step = r.start; step < r.total_steps; step++) {
    auto t0 = std::chrono::steady_clock::now();
    const long epoch = step / r.steps_per_epoch, j = step % r.steps_per_epoch;
    if (epoch != order_epoch) order = epoch_order(r.data.train.size(), c.seed, order_epoch = epoch);
    std::vector<const RmPair*> batch;
    for (size_t k = (size_t)j * c.batch; k < order.size() && batch.size() < (size_t)c.batch; k++)
      batch.push_back(&r.data.train[order[k]]);
    StepOut so = train_step(r.m, tree, batch, c.batch, c.center_rewards_coefficient);
    UpdateStats upd = optimizer_update(r.opt, r.m, 1, step);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const PairStats ps = pair_stats(so.rc, so.rr);
    if (step == r.start) r.sum.first_loss = (float)so.loss;
    r.sum.last_loss = (float)so.loss;
    r.sum.steps = step + 1;
    const bool last = step + 1 == r.total_steps;
    json rec = {{"step", step + 1}, {"epoch", (double)(step + 1) / r.steps_per_epoch}, {"loss", so.loss},
                {"accuracy", ps.accuracy}, {"margin_mean", ps.margin_mean}, {"reward_chosen_mean", ps.chosen_mean},
                {"reward_rejected_mean", ps.rejected_mean}, {"lr", upd.lr}, {"grad_norm", upd.grad_norm},
                {"pairs", (long)batch.size()}, {"pairs_per_s", batch.size() / dt}, {"tokens_per_s", so.tokens / dt}};
    if (dist::size() > 1) rec["comm_s"] = so.comm_s;
    if ((c.eval_every > 0 && (step + 1) % c.eval_every == 0) || last) record_eval(r, rec, step + 1);
    if (dist::root() && ((step + 1) % std::max(1L, c.log_every) == 0 || last || rec.contains("eval_accuracy")))
      append_line(r.metrics, rec.dump());
    char extra[128];
    std::snprintf(extra, sizeof extra, "loss %.4f  acc %.2f  lr %.2e", so.loss, ps.accuracy, upd.lr);
    prog.update(step + 1 - r.start, extra);
    const bool stop = c.stop_after > 0 && step + 1 >= c.stop_after && !last;
    if ((c.ckpt_every > 0 && (step + 1) % c.ckpt_every == 0) || last || stop) save_checkpoint(r, step + 1);
    if (stop) {
      std::fprintf(stderr, "\n[rm] stopped at step %ld (stop_after); rerun to resume\n", step + 1);
      return false;
    }
  }
  prog.finish();
  return true;
}

}  // namespace

RmSummary run_rm(const RmRecipe& c) {
  check_rm(c);
  R1_CHECK(!c.model.empty(), "rm: field 'model' is required (a causal LM or reward-model folder)");
  R1_CHECK(!c.data.empty(), "rm: field 'data' is required (a JSONL file of preference pairs)");
  const std::string tdir = c.tokenizer.empty() ? c.model : c.tokenizer;
  Tokenizer tok = Tokenizer::load(tdir);
  std::unique_ptr<ChatTemplate> chat = ChatTemplate::find(tdir);
  const std::string ck = c.resume ? find_checkpoint_dir(c.out) : "";
  Model m = load_reward_model(c, ck);
  R1_CHECK(m.cfg.V >= tok.vocab_size(), "rm: model vocab_size ", m.cfg.V, " is smaller than the tokenizer's ",
           tok.vocab_size());
  RmData data = load_data(c, tok, m.cfg, chat.get(), std::min(c.max_length, (long)m.cfg.max_pos));
  make_dirs(c.out);  // only once the inputs are known to be usable
  const long n = (long)data.train.size(), spe = (n + c.batch - 1) / c.batch;
  if (dist::root())
    std::fprintf(stderr, "[rm] %ld training pairs (%ld steps per epoch of %d pairs), %zu held-out pairs\n", n, spe,
                 c.batch, data.held.size());
  OptimConfig oc = c.optim;
  oc.total_steps = c.steps > 0 ? c.steps : spe * c.epochs;
  Optimizer opt(oc, m.specs, m.n_params);
  RmRun r{c, tok, std::move(m), std::move(data), std::move(opt), spe, oc.total_steps, 0, path_join(c.out, "metrics.jsonl"), {}};
  start_run(r, ck);
  if (!train_loop(r)) return r.sum;
  if (dist::root()) {
    r.m.save(path_join(c.out, "model"), c.save_dtype == "bf16" ? DType::BF16 : DType::F32);
    r.tok.save(path_join(c.out, "model"));  // with its chat template
  }
  dist::barrier();
  std::fprintf(stderr, "[rm] reward model written to %s/model\n", c.out.c_str());
  return r.sum;
}

}  // namespace r1
