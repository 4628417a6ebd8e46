#include "train/pretrain.h"
#include "core/check.h"
#include "core/dist.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/corpus.h"
#include "formats/dtype.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/shard_step.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace r1 {

using nlohmann::json;

PretrainConfig::PretrainConfig() {
  optim.lr = 3e-3f;
  optim.warmup_steps = 20;
  optim.weight_decay = 0.1f;
  optim.grad_clip = 1.0f;
  optim.min_lr_ratio = 0.1f;
}

void PretrainConfig::declare(OptionSet& o) {
  o.add("out", &out, "run folder (model/, checkpoint/, metrics.jsonl, config.yaml)");
  o.add("corpus", &corpus, "'builtin' for the synthetic arithmetic corpus, or a .txt / .jsonl ({\"text\": ...}) file");
  o.add("corpus_docs", &corpus_docs, "documents in the builtin corpus");
  o.add("corpus_seed", &corpus_seed, "seed of the builtin corpus");
  o.add("corpus_max_value", &corpus_max_value, "builtin corpus: operands are in [0, corpus_max_value] (match the task's max_value)");
  o.add("corpus_max_operands", &corpus_max_operands, "builtin corpus: problems have 2 to this many operands (match the task's max_operands)");
  o.add("corpus_p_minus", &corpus_p_minus, "builtin corpus: probability of each operator being '-' (0: sums only; match the task's p_minus)");
  o.add("corpus_working_reply", &corpus_working_reply, "builtin corpus: fraction of step-by-step working documents framed as an Assistant's reply (the rest are plain text); lower makes the base answer directly");
  o.add("corpus_reply_tags", &corpus_reply_tags, "builtin corpus: fraction of worked (step-by-step) Assistant replies marked up with <think>/<answer> (the rare behaviour RL reinforces)");
  o.add("corpus_direct_reply_tags", &corpus_direct_reply_tags, "builtin corpus: fraction of direct Assistant replies marked up as <answer> N </answer> (a guess in the answer tags)");
  o.add("corpus_mix", &corpus_mix, "builtin corpus: shares of document kinds, a map of direct / dialogue / working / facts / answer_key / notes / tagged to a fraction (unnamed kinds keep src/data/corpus.h's defaults; prose gets what is left)");
  o.add("init", &init, "Hugging Face model folder to continue from (empty: a new model from model.*)");
  o.add("tokenizer", &tokenizer, "tokenizer for a text corpus (empty: built-in byte-level tokenizer)");
  o.add("model.arch", &arch, "llama | qwen2 | qwen3 for a new model");
  o.add("model.hidden", &hidden, "hidden size C");
  o.add("model.layers", &layers, "layers L");
  o.add("model.heads", &heads, "attention heads NH");
  o.add("model.kv_heads", &kv_heads, "key/value heads NKV");
  o.add("model.ffn", &ffn, "MLP inner size FF");
  o.add("model.max_pos", &max_pos, "max_position_embeddings");
  o.add("batch", &batch, "sequences per micro-batch B");
  o.add("seq", &seq, "tokens per sequence T");
  o.add("grad_accum", &grad_accum, "micro-batches per optimizer step");
  o.add("shards", &shards, "S: the step's batch x grad_accum sequences as S fixed shards whose gradients are summed in a fixed pairwise tree, so that 1, 2, 4 ... S ranks (mpirun) give the same bits; a power of two dividing them (0: the largest such up to 8)");
  o.add("steps", &steps, "optimizer steps");
  o.add("seed", &seed, "seed for initialisation and batch sampling");
  o.add("eval_every", &eval_every, "steps between held-out evaluations (0: never)");
  o.add("ckpt_every", &ckpt_every, "steps between checkpoints (0: only at the end)");
  o.add("log_every", &log_every, "steps between metric lines");
  o.add("eval_batches", &eval_batches, "held-out micro-batches per evaluation");
  o.add("resume", &resume, "continue from the run folder's checkpoint when present");
  o.add("stop_after", &stop_after, "stop with a checkpoint at this step, keeping the schedule of `steps` (0: off)");
  o.add("save_dtype", &save_dtype, "dtype of the final model: f32 | bf16");
  declare_optim(o, optim);
}

static const std::vector<std::string> kSpecials = {"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"};

CorpusConfig builtin_corpus_config(const PretrainConfig& c) {
  R1_CHECK(c.corpus_max_operands >= 2 && c.corpus_max_value >= 1,
           "pretrain: corpus_max_operands must be >= 2 and corpus_max_value >= 1 (got ", c.corpus_max_operands, ", ",
           c.corpus_max_value, ")");
  for (auto [name, v] : {std::pair{"corpus_p_minus", c.corpus_p_minus}, {"corpus_reply_tags", c.corpus_reply_tags},
                         {"corpus_direct_reply_tags", c.corpus_direct_reply_tags},
                         {"corpus_working_reply", c.corpus_working_reply}})
    R1_CHECK(v >= 0 && v <= 1, "pretrain: ", name, " is a probability in [0, 1], got ", v);
  CorpusConfig cc;
  cc.seed = (uint64_t)c.corpus_seed;
  cc.n_docs = c.corpus_docs;
  cc.max_value = c.corpus_max_value;
  cc.p_reply_tags = c.corpus_reply_tags;
  cc.p_direct_reply_tags = c.corpus_direct_reply_tags;
  cc.p_working_reply = c.corpus_working_reply;
  cc.p_minus = c.corpus_p_minus;
  cc.max_operands = c.corpus_max_operands;
  R1_CHECK(c.corpus_mix.is_object(), "pretrain: field 'corpus_mix' expects a map of document kind to share, got ",
           c.corpus_mix.dump());
  const std::pair<const char*, double*> kinds[] = {
      {"direct", &cc.p_direct}, {"dialogue", &cc.p_dialogue}, {"working", &cc.p_working}, {"facts", &cc.p_facts},
      {"answer_key", &cc.p_answer_key}, {"notes", &cc.p_notes}, {"tagged", &cc.p_tagged}};
  for (auto& [k, v] : c.corpus_mix.items()) {
    double* dst = nullptr;
    for (auto& kd : kinds)
      if (k == kd.first) dst = kd.second;
    R1_CHECK(dst, "pretrain: corpus_mix has an unknown kind '", k,
             "'; expected direct, dialogue, working, facts, answer_key, notes or tagged");
    R1_CHECK(v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1, "pretrain: corpus_mix.", k,
             " must be a number in [0, 1], got ", v.dump());
    *dst = v.get<double>();
  }
  double total = 0;
  for (auto& kd : kinds) total += *kd.second;
  R1_CHECK(total <= 1 + 1e-9, "pretrain: corpus_mix shares (with the defaults of kinds not named) add up to ", total,
           ", more than 1 (prose gets 1 minus the total)");
  return cc;
}

static std::vector<int> build_token_stream(const PretrainConfig& c, const Tokenizer& tok) {
  std::vector<int> ids;
  int eos = tok.eos_id();
  R1_CHECK(eos >= 0, "tokenizer has no end-of-text token (needed to separate documents)");
  // The builtin corpus writes its tags as the tokenizer's special tokens (the same ids the R1-Zero template
  // produces); text from a user's file never turns into special tokens.
  const bool specials = c.corpus == "builtin";
  auto add_doc = [&](const std::string& d) {
    auto e = tok.encode(d, specials);
    ids.insert(ids.end(), e.begin(), e.end());
    ids.push_back(eos);
  };
  if (c.corpus == "builtin") {
    for (const auto& d : synthetic_arithmetic_docs(builtin_corpus_config(c))) add_doc(d);
  } else {
    std::string text = read_file(c.corpus);
    bool jsonl = c.corpus.size() > 6 && c.corpus.substr(c.corpus.size() - 6) == ".jsonl";
    if (jsonl) {
      std::istringstream in(text);
      std::string line;
      long ln = 0;
      while (std::getline(in, line)) {
        ln++;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json j;
        try {
          j = json::parse(line);
        } catch (const json::exception& e) {
          fail(c.corpus, ":", ln, ": not valid JSON (", e.what(), ")");
        }
        R1_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), c.corpus, ":", ln,
                 ": expected an object with a string field \"text\"");
        add_doc(j["text"].get<std::string>());
      }
    } else {
      add_doc(text);
    }
  }
  return ids;
}

// The model pretraining starts from: model_src (a checkpoint or `init`) when given, else a new one of the
// recipe's shape, initialised from c.seed; checked against the tokenizer and seq.
static std::unique_ptr<Model> pretrain_model(const PretrainConfig& c, const Tokenizer& tok, const std::string& model_src) {
  std::unique_ptr<Model> mp;
  if (!model_src.empty()) {
    mp = std::make_unique<Model>(Model::load(model_src));
  } else {
    Arch a = c.arch == "llama" ? Arch::Llama : c.arch == "qwen2" ? Arch::Qwen2 : c.arch == "qwen3" ? Arch::Qwen3 : (fail("model.arch: '", c.arch, "' is unknown; expected llama, qwen2 or qwen3"), Arch::Llama);
    ModelConfig mc = ModelConfig::tiny(a, tok.vocab_size(), c.hidden, c.layers, c.heads, c.kv_heads, c.ffn, c.max_pos);
    mc.bos_id = tok.bos_id();
    mc.eos_id = tok.eos_id();
    mp = std::make_unique<Model>(mc);
    mp->init_random((uint64_t)c.seed);
  }
  R1_CHECK(mp->cfg.V >= tok.vocab_size(), "pretrain: model vocab_size ", mp->cfg.V, " is smaller than the tokenizer's ", tok.vocab_size());
  R1_CHECK(c.seq <= mp->cfg.max_pos, "pretrain: seq ", c.seq, " exceeds the model's max_position_embeddings ", mp->cfg.max_pos);
  return mp;
}

float run_pretrain(const PretrainConfig& c) {
  R1_CHECK(c.batch > 0 && c.seq > 1 && c.grad_accum > 0 && c.steps > 0, "pretrain: batch, seq, grad_accum and steps must be positive");
  make_dirs(c.out);
  Tokenizer tok = c.tokenizer.empty() ? Tokenizer::byte_level(kSpecials) : Tokenizer::load(c.tokenizer);
  std::vector<int> stream = build_token_stream(c, tok);
  // hold out the last 5% for evaluation
  size_t n_eval = std::max<size_t>((size_t)c.seq + 1, stream.size() / 20);
  R1_CHECK(stream.size() > n_eval + (size_t)c.seq + 1, "pretrain: corpus too small (", stream.size(),
           " tokens) for seq ", c.seq);
  size_t n_train = stream.size() - n_eval;

  std::string ck = c.resume ? find_checkpoint_dir(c.out) : "";
  std::string model_src = !ck.empty() ? ck : c.init;
  std::unique_ptr<Model> mp = pretrain_model(c, tok, model_src);
  Model& m = *mp;

  OptimConfig oc = c.optim;
  oc.total_steps = c.steps;
  Optimizer opt(oc, m.specs, m.n_params);
  Rng rng((uint64_t)c.seed ^ 0x5eedull);
  long start = 0;
  if (!ck.empty()) {
    opt.load(path_join(ck, "optimizer.safetensors"), m.specs);
    json st = json::parse(read_file(path_join(ck, "state.json")));
    start = st.at("step").get<long>();
    rng.s0 = std::stoull(st.at("rng_s0").get<std::string>());
    rng.s1 = std::stoull(st.at("rng_s1").get<std::string>());
    std::fprintf(stderr, "[pretrain] resuming from %s at step %ld\n", ck.c_str(), start);
    if (dist::root()) truncate_jsonl_after_step(path_join(c.out, "metrics.jsonl"), start);
  } else if (dist::root()) {
    // a fresh run starts a fresh metrics log
    std::remove(path_join(c.out, "metrics.jsonl").c_str());
  }
  if (dist::root()) atomic_write(path_join(c.out, "config.yaml"), effective_config_yaml(c));
  dist::barrier();
  std::fprintf(stderr, "[pretrain] %s model: %zu parameters (C=%d L=%d NH=%d NKV=%d FF=%d V=%d); %zu train / %zu held-out tokens\n",
               m.cfg.arch_name().c_str(), m.n_params, m.cfg.C, m.cfg.L, m.cfg.NH, m.cfg.NKV, m.cfg.FF, m.cfg.V, n_train, n_eval);

  const int B = c.batch, T = c.seq, Q = B * c.grad_accum;
  ShardTree tree(effective_shards(c.shards, Q), m.n_params, "pretrain");
  std::vector<int> ids((size_t)Q * T), tg((size_t)Q * T);  // the step's micro-batches, one after another
  // B windows of the stream into micro-batch `a` of ids/tg
  auto fill_batch = [&](Rng& r, size_t lo, size_t hi, int a) {
    for (int b = 0; b < B; b++) {
      size_t s = lo + r.below(hi - lo - T - 1);
      const size_t row = ((size_t)a * B + b) * T;
      for (int t = 0; t < T; t++) {
        ids[row + t] = stream[s + t];
        tg[row + t] = stream[s + t + 1];
      }
    }
  };
  auto evaluate = [&]() {
    Rng er(12345);  // the same held-out windows every time
    double s = 0;
    for (int i = 0; i < c.eval_batches; i++) {
      fill_batch(er, n_train, stream.size(), 0);
      s += m.cross_entropy_step(ids.data(), tg.data(), B, T, false);
    }
    return s / c.eval_batches;
  };
  auto save_ckpt = [&](long step) {  // rank 0 writes, once every rank reached the step
    dist::barrier();
    if (dist::root()) write_checkpoint_dir(c.out, [&](const std::string& d) {
      m.save(d);
      tok.save(d);
      opt.save(path_join(d, "optimizer.safetensors"), m.specs);
      json st = {{"step", step}, {"rng_s0", std::to_string(rng.s0)}, {"rng_s1", std::to_string(rng.s1)}};
      atomic_write(path_join(d, "state.json"), st.dump(2));
    });
    dist::barrier();
  };

  Progress prog("pretrain", c.steps - start);
  float loss = 0;
  double tokens_per_step = (double)B * T * c.grad_accum;
  for (long step = start; step < c.steps; step++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int a = 0; a < c.grad_accum; a++) fill_batch(rng, 0, n_train, a);
    ShardStepResult sr = sharded_cross_entropy(m, tree, ids.data(), tg.data(), Q, T, B);
    loss = (float)sr.loss;
    UpdateStats upd = optimizer_update(opt, m, 1, step);
    float gn = upd.grad_norm, lr = upd.lr;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json rec = {{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", gn}, {"tokens_per_s", tokens_per_step / dt}};
    if (dist::size() > 1) rec["comm_s"] = sr.comm_s;
    bool last = step + 1 == c.steps;
    if (dist::root() && c.eval_every > 0 && ((step + 1) % c.eval_every == 0 || last)) rec["eval_loss"] = evaluate();
    if (dist::root() && ((step + 1) % std::max(1L, c.log_every) == 0 || last || rec.contains("eval_loss")))
      append_line(path_join(c.out, "metrics.jsonl"), rec.dump());
    char extra[160];
    std::snprintf(extra, sizeof extra, "loss %.4f%s  lr %.2e  %.0f tok/s", loss,
                  rec.contains("eval_loss") ? (" eval " + std::to_string(rec["eval_loss"].get<double>()).substr(0, 6)).c_str() : "",
                  lr, tokens_per_step / dt);
    prog.update(step + 1 - start, extra);
    bool stop = c.stop_after > 0 && step + 1 >= c.stop_after && !last;
    if ((c.ckpt_every > 0 && (step + 1) % c.ckpt_every == 0) || last || stop) save_ckpt(step + 1);
    if (stop) {
      std::fprintf(stderr, "\n[pretrain] stopped at step %ld (stop_after); rerun to resume\n", step + 1);
      return loss;
    }
  }
  prog.finish("loss " + std::to_string(loss));
  std::string md = path_join(c.out, "model");
  if (dist::root()) {
    m.save(md, c.save_dtype == "bf16" ? DType::BF16 : DType::F32);
    tok.save(md);
  }
  dist::barrier();
  std::fprintf(stderr, "[pretrain] final model written to %s\n", md.c_str());
  return loss;
}

}  // namespace r1
