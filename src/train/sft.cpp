#include "train/lora_train.h"
#include "train/sft.h"

#include "core/check.h"
#include "core/dist.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/prompts.h"
#include "formats/dtype.h"
#include "model/transformer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_dir.h"
#include "train/shard_step.h"
#include "train/hold_out.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <sstream>

namespace r1 {

using json = nlohmann::json;

SftConfig::SftConfig() {}

void SftConfig::declare(OptionSet& o) {
  o.add("out", &out, "run folder");
  o.add("model", &model, "initial model (Hugging Face folder); required");
  o.add("tokenizer", &tokenizer, "tokenizer folder (default: the model folder)");
  o.add("data", &data, "training JSONL: {\"messages\": [...]} or {\"prompt\", \"completion\"} per line");
  o.add("eval_data", &eval_data, "held-out JSONL (default: eval_fraction of data)");
  o.add("eval_fraction", &eval_fraction, "fraction of data held out when eval_data is empty");
  o.add("prompt_template", &prompt_template, "prompt/completion rows: plain | r1_zero | r1_zero_short | chat");
  o.add("seq", &seq, "positions per row");
  o.add("batch", &batch, "rows per micro-batch");
  o.add("grad_accum", &grad_accum, "micro-batches per optimizer step");
  o.add("shards", &shards, "S: the step's batch x grad_accum rows as S fixed shards whose gradients are summed in a fixed pairwise tree, so that 1, 2, 4 ... S ranks (mpirun) give the same bits; a power of two dividing them (0: the largest such up to 8)");
  o.add("pack", &pack, "pack several examples per row (attention crosses examples); false: one per row");
  o.add("epochs", &epochs, "passes over the training rows");
  o.add("seed", &seed, "shuffle and split seed");
  o.add("eval_every", &eval_every, "eval loss every N steps (0: only at the end)");
  o.add("ckpt_every", &ckpt_every, "checkpoint every N steps (0: only at the end)");
  o.add("log_every", &log_every, "metrics line every N steps");
  o.add("stop_after", &stop_after, "stop with a checkpoint at this step (0: off)");
  o.add("resume", &resume, "continue from RUN/checkpoint when present");
  o.add("save_dtype", &save_dtype, "f32 | bf16 for the final model");
  declare_optim(o, optim);
  lora.declare(o);
}

PackedRows pack_examples(const std::vector<SftExample>& ex, int seq, bool pack, int pad_id) {
  R1_CHECK(seq >= 1, "sft: seq must be >= 1");
  PackedRows p;
  p.seq = seq;
  int used = seq;  // positions used in the current row; seq = no open row
  for (const auto& e : ex) {
    R1_CHECK(e.ids.size() == e.loss.size(), "sft: example ids and loss mask differ in length");
    long n = (long)e.ids.size() - 1;  // positions
    bool any = false;
    for (size_t j = 1; j < e.ids.size() && j <= (size_t)seq; j++) any |= e.loss[j] != 0;
    if (n < 1 || !any) {
      p.dropped++;
      continue;
    }
    if (n > seq) {
      n = seq;
      p.truncated++;
    }
    if (!pack || used + n > seq) {  // open a new row
      p.ids.resize(p.ids.size() + seq, pad_id);
      p.targets.resize(p.targets.size() + seq, -1);
      p.rows++;
      used = 0;
    }
    size_t base = (size_t)(p.rows - 1) * seq + used;
    for (long t = 0; t < n; t++) {
      p.ids[base + t] = e.ids[t];
      p.targets[base + t] = e.loss[t + 1] ? e.ids[t + 1] : -1;
    }
    used += (int)n;
    if (!pack) used = seq;
  }
  return p;
}

namespace {

std::string msg_at(const json& m, size_t i) { return m[i]["content"].get<std::string>(); }

struct Encoder {
  const Tokenizer& tok;
  const ChatTemplate* chat;
  std::string prompt_template;
  int bos_to_add;  // model's BOS when the tokenizer does not write it, else -1

  void add(SftExample& e, const std::string& text, bool learn) const {
    auto ids = tok.encode(text, true);
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.loss.insert(e.loss.end(), ids.size(), learn ? 1 : 0);
  }
  SftExample encode(const json& j, const std::string& where) const {
    R1_CHECK(j.is_object(), where, ": expected an object with \"messages\" or \"prompt\" and \"completion\"");
    SftExample e;
    if (bos_to_add >= 0) {
      e.ids.push_back(bos_to_add);
      e.loss.push_back(0);
    }
    if (j.contains("messages")) {
      R1_CHECK(chat, where, ": \"messages\" need a chat template (chat_template.jinja, chat_template.json or tokenizer_config.json in the tokenizer folder)");
      const json& m = j["messages"];
      R1_CHECK(m.is_array() && !m.empty(), where, ": \"messages\" must be a non-empty array");
      bool any = false;
      for (const auto& msg : m) {
        R1_CHECK(msg.is_object() && msg.contains("role") && msg["role"].is_string() && msg.contains("content") &&
                     msg["content"].is_string(),
                 where, ": each message needs a string \"role\" and a string \"content\"");
        any |= msg["role"] == "assistant";
      }
      R1_CHECK(any, where, ": no assistant message (nothing to learn)");
      std::string full = chat->render(m, false);
      size_t done = 0;  // characters of `full` already encoded
      for (size_t i = 0; i < m.size(); i++) {
        if (m[i]["role"] != "assistant") continue;
        json head = json::array(), upto = json::array();
        for (size_t k = 0; k < i; k++) head.push_back(m[k]);
        upto = head;
        upto.push_back(m[i]);
        std::string before = chat->render(head, true), through = chat->render(upto, false);
        // The turn starts where the generation prompt and the rendered turn part ways: their common text (e.g.
        // "<|im_start|>assistant\n") is prompt; anything a generation prompt adds that the rendered turn lacks
        // (R1's "<think>\n") is not in the data, so it cannot be scored.
        size_t lcp = 0;
        while (lcp < before.size() && lcp < through.size() && before[lcp] == through[lcp]) lcp++;
        const std::string reply = through.substr(lcp);
        R1_CHECK(!reply.empty(), where, ": assistant turn ", i, " renders as nothing");
        size_t pos = full.find(reply, done), len = reply.size();
        if (pos == std::string::npos) {
          // Inside the whole conversation the template renders this turn differently than as the last turn
          // (Qwen3 drops the empty think block of earlier turns): score the message text as the whole
          // conversation shows it, with the turn's closing text when it follows.
          std::string content = msg_at(m, i);
          size_t cut = content.rfind("</think>");
          if (cut != std::string::npos) content = content.substr(cut + 8);
          size_t a = content.find_first_not_of(" \t\r\n"), b = content.find_last_not_of(" \t\r\n");
          R1_CHECK(a != std::string::npos, where, ": assistant turn ", i, " has no text to learn outside its think block");
          content = content.substr(a, b - a + 1);
          size_t in_reply = reply.rfind(content);
          pos = full.find(content, done);
          R1_CHECK(pos != std::string::npos && in_reply != std::string::npos, where,
                   ": cannot find assistant turn ", i, " in the rendered conversation");
          std::string closing = reply.substr(in_reply + content.size());
          len = content.size() + (full.compare(pos + content.size(), closing.size(), closing) == 0 ? closing.size() : 0);
        }
        add(e, full.substr(done, pos - done), false);
        add(e, full.substr(pos, len), true);
        done = pos + len;
      }
      if (done < full.size()) add(e, full.substr(done), false);
    } else {
      R1_CHECK(j.contains("prompt") && j["prompt"].is_string() && j.contains("completion") && j["completion"].is_string(),
               where, ": expected string fields \"prompt\" and \"completion\" (or \"messages\")");
      std::string p = j["prompt"].get<std::string>();
      if (is_question_template(prompt_template)) p = question_prompt(prompt_template, p);
      else if (prompt_template == "chat") {
        R1_CHECK(chat, where, ": prompt_template chat needs a chat template in the tokenizer folder");
        p = chat->render(json::array({{{"role", "user"}, {"content", p}}}), true);
      }
      add(e, p, false);
      add(e, j["completion"].get<std::string>(), true);
      if (tok.eos_id() >= 0) {
        e.ids.push_back(tok.eos_id());
        e.loss.push_back(1);
      }
    }
    return e;
  }
};

std::vector<SftExample> read_examples(const std::string& path, const Encoder& enc) {
  R1_CHECK(file_exists(path), "sft: data file ", path, " does not exist");
  std::istringstream in(read_file(path));
  std::string line;
  long ln = 0;
  std::vector<SftExample> out;
  while (std::getline(in, line)) {
    ln++;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = str(path, ":", ln);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    out.push_back(enc.encode(j, where));
  }
  R1_CHECK(!out.empty(), "sft: ", path, " holds no examples");
  return out;
}


// The [B, T] batches of a run: micro-batch mb (global index) holds rows of epoch mb / micro_per_epoch in that
// epoch's shuffled order; held-out rows in file order.
struct Batcher {
  Batcher(const PackedRows& r, int b, int t, int pad_id, long micro, long sd)
      : rows(r), B(b), T(t), pad(pad_id), micro_per_epoch(micro), seed(sd), ids((size_t)b * t), tg((size_t)b * t) {}
  const PackedRows& rows;
  int B, T, pad;
  long micro_per_epoch, seed;
  std::vector<int> ids, tg;  // [B, T] the current batch
  std::vector<long> order;
  long order_epoch = -1;

  void fill(long mb) {
    long epoch = mb / micro_per_epoch, j = mb % micro_per_epoch;
    if (epoch != order_epoch) {
      order.resize(rows.rows);
      std::iota(order.begin(), order.end(), 0L);
      Rng r((uint64_t)seed * 1000003ull + (uint64_t)epoch);
      for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[r.below(i)]);
      order_epoch = epoch;
    }
    std::fill(ids.begin(), ids.end(), pad);
    std::fill(tg.begin(), tg.end(), -1);
    for (int b = 0; b < B; b++) {
      long k = j * B + b;
      if (k >= rows.rows) break;  // last micro-batch of an epoch: fewer rows (masked padding)
      std::copy_n(rows.ids.begin() + order[k] * T, T, ids.begin() + (size_t)b * T);
      std::copy_n(rows.targets.begin() + order[k] * T, T, tg.begin() + (size_t)b * T);
    }
  }

  // Mean cross-entropy over the held-out rows' scored tokens (-1: none).
  double eval_loss(Model& m, const PackedRows& eval_rows) {
    if (eval_rows.rows == 0) return -1;
    double sum = 0;
    long cnt = 0;
    for (long r0 = 0; r0 < eval_rows.rows; r0 += B) {
      std::fill(ids.begin(), ids.end(), pad);
      std::fill(tg.begin(), tg.end(), -1);
      long n = std::min<long>(B, eval_rows.rows - r0);
      std::copy_n(eval_rows.ids.begin() + r0 * T, n * T, ids.begin());
      std::copy_n(eval_rows.targets.begin() + r0 * T, n * T, tg.begin());
      m.forward(ids.data(), tg.data(), B, T);
      const float* lp = m.act().lp;
      for (size_t i = 0; i < ids.size(); i++)
        if (tg[i] >= 0) {
          sum -= lp[i];
          cnt++;
        }
    }
    return cnt ? sum / cnt : -1;
  }
};

}  // namespace

SftExample encode_sft_row(const json& row, const Tokenizer& tok, const ChatTemplate* chat,
                          const std::string& prompt_template, int bos, const std::string& where) {
  return Encoder{tok, chat, prompt_template, bos}.encode(row, where);
}

// The fields run_sft needs before it reads anything.
static void check_sft_config(const SftConfig& c) {
  R1_CHECK(!c.model.empty(), "sft: field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(!c.data.empty(), "sft: field 'data' is required (a JSONL file)");
  R1_CHECK(c.seq >= 2 && c.batch >= 1 && c.grad_accum >= 1 && c.epochs >= 1,
           "sft: seq must be >= 2 and batch, grad_accum, epochs >= 1");
  R1_CHECK(c.eval_fraction >= 0 && c.eval_fraction < 1, "sft: eval_fraction must be in [0, 1) (got ", c.eval_fraction, ")");
  R1_CHECK(is_question_template(c.prompt_template) || c.prompt_template == "chat",
           "sft: prompt_template '", c.prompt_template, "' is unknown; expected ", prompt_template_names());
  R1_CHECK(c.save_dtype == "f32" || c.save_dtype == "bf16", "sft: save_dtype must be f32 or bf16");
}

SftSummary run_sft(const SftConfig& c) {
  check_sft_config(c);
  const std::string tdir = c.tokenizer.empty() ? c.model : c.tokenizer;
  Tokenizer tok = Tokenizer::load(tdir);
  std::unique_ptr<ChatTemplate> chat = ChatTemplate::find(tdir);

  std::string ck = c.resume ? find_checkpoint_dir(c.out) : "";
  Model m = load_trainable_model(c.model, ck, c.lora, (uint64_t)c.seed, "sft");
  const Model::Trainable tr = m.trainable();  // the adapters with LoRA, else every parameter
  R1_CHECK(c.seq <= m.cfg.max_pos, "sft: seq ", c.seq, " exceeds the model's max_position_embeddings ", m.cfg.max_pos);
  R1_CHECK(m.cfg.V >= tok.vocab_size(), "sft: model vocab_size ", m.cfg.V, " is smaller than the tokenizer's ", tok.vocab_size());
  int bos = (m.cfg.bos_id >= 0 && tok.bos_id() == m.cfg.bos_id) ? m.cfg.bos_id : -1;
  Encoder enc{tok, chat.get(), c.prompt_template, bos};

  std::vector<SftExample> train = read_examples(c.data, enc), held;
  if (!c.eval_data.empty()) held = read_examples(c.eval_data, enc);
  else hold_out(train, held, c.eval_fraction, (uint64_t)c.seed ^ 0xe7a1ull);
  const int pad = tok.eos_id() >= 0 ? tok.eos_id() : 0;
  PackedRows rows = pack_examples(train, c.seq, c.pack, pad);
  PackedRows eval_rows = pack_examples(held, c.seq, c.pack, pad);
  R1_CHECK(rows.rows > 0, "sft: no training example of ", c.data, " has a token to learn within seq = ", c.seq,
           " positions (an example longer than seq keeps its first seq positions; raise seq)");
  make_dirs(c.out);  // only once the inputs are known to be usable
  std::fprintf(stderr, "[sft] %zu train examples -> %ld rows of %d (%ld truncated, %ld dropped); %zu held out -> %ld rows\n",
               train.size(), rows.rows, c.seq, rows.truncated, rows.dropped, held.size(), eval_rows.rows);

  const long micro_per_epoch = (rows.rows + c.batch - 1) / c.batch;
  const long steps_per_epoch = std::max(1L, micro_per_epoch / c.grad_accum);
  const long total_steps = steps_per_epoch * c.epochs;
  OptimConfig oc = c.optim;
  oc.total_steps = total_steps;
  Optimizer opt(oc, *tr.specs, tr.n);
  long start = 0;
  const std::string metrics = path_join(c.out, "metrics.jsonl");
  if (!ck.empty()) {
    opt.load(path_join(ck, "optimizer.safetensors"), *tr.specs);
    start = json::parse(read_file(path_join(ck, "state.json"))).at("step").get<long>();
    if (dist::root()) truncate_jsonl_after_step(metrics, start);
    std::fprintf(stderr, "[sft] resuming from %s at step %ld\n", ck.c_str(), start);
  } else if (dist::root()) {
    std::remove(metrics.c_str());
  }
  if (dist::root()) atomic_write(path_join(c.out, "config.yaml"), effective_config_yaml(c));
  dist::barrier();

  const int B = c.batch, T = c.seq, Q = B * c.grad_accum;
  Batcher bat(rows, B, T, pad, micro_per_epoch, c.seed);
  ShardTree tree(effective_shards(c.shards, Q), tr.n, "sft");
  std::vector<int> step_ids((size_t)Q * T), step_tg((size_t)Q * T);  // the step's micro-batches, one after another
  auto save_ckpt = [&](long step) {  // rank 0 writes, once every rank reached the step
    dist::barrier();
    if (dist::root()) write_checkpoint_dir(c.out, [&](const std::string& d) {
      save_checkpoint_weights(m, d, c.model);  // the adapters only, with LoRA
      tok.save(d);  // with its chat template
      opt.save(path_join(d, "optimizer.safetensors"), *tr.specs);
      atomic_write(path_join(d, "state.json"), json{{"step", step}}.dump(2));
    });
    dist::barrier();
  };

  SftSummary sum;
  Progress prog("sft", total_steps - start);
  if (start == 0 && dist::root()) {  // the starting eval loss, always
    double el = bat.eval_loss(m, eval_rows);
    if (el >= 0) {
      append_line(metrics, json{{"step", 0}, {"eval_loss", el}}.dump());
      sum.first_eval_loss = el;
    }
  }
  for (long step = start; step < total_steps; step++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int a = 0; a < c.grad_accum; a++) {
      bat.fill(step * c.grad_accum + a);
      std::copy(bat.ids.begin(), bat.ids.end(), step_ids.begin() + (size_t)a * B * T);
      std::copy(bat.tg.begin(), bat.tg.end(), step_tg.begin() + (size_t)a * B * T);
    }
    ShardStepResult sr = sharded_cross_entropy(m, tree, step_ids.data(), step_tg.data(), Q, T, B);
    float loss = (float)sr.loss;
    const long tokens = sr.tokens;
    UpdateStats upd = optimizer_update(opt, m, 1, step);
    float gn = upd.grad_norm, lr = upd.lr;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step == start) sum.first_loss = loss;
    sum.last_loss = loss;
    sum.steps = step + 1;
    bool last = step + 1 == total_steps;
    json rec = {{"step", step + 1}, {"epoch", (double)(step + 1) / steps_per_epoch}, {"loss", loss}, {"lr", lr},
                {"grad_norm", gn}, {"loss_tokens", tokens}, {"tokens_per_s", (double)B * T * c.grad_accum / dt}};
    if (dist::size() > 1) rec["comm_s"] = sr.comm_s;
    if (dist::root() && ((c.eval_every > 0 && (step + 1) % c.eval_every == 0) || last)) {
      double el = bat.eval_loss(m, eval_rows);
      if (el >= 0) {
        rec["eval_loss"] = el;
        sum.last_eval_loss = el;
        if (sum.first_eval_loss < 0) sum.first_eval_loss = el;
      }
    }
    if (dist::root() && ((step + 1) % std::max(1L, c.log_every) == 0 || last || rec.contains("eval_loss")))
      append_line(metrics, rec.dump());
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.4f  lr %.2e", loss, lr);
    prog.update(step + 1 - start, extra);
    bool stop = c.stop_after > 0 && step + 1 >= c.stop_after && !last;
    if ((c.ckpt_every > 0 && (step + 1) % c.ckpt_every == 0) || last || stop) save_ckpt(step + 1);
    if (stop) {
      std::fprintf(stderr, "\n[sft] stopped at step %ld (stop_after); rerun to resume\n", step + 1);
      return sum;
    }
  }
  prog.finish();
  std::string md = path_join(c.out, "model");
  if (dist::root()) save_final_model(m, tok, c.out, c.model, c.save_dtype == "bf16" ? DType::BF16 : DType::F32);
  dist::barrier();
  std::fprintf(stderr, "[sft] final model written to %s\n", md.c_str());
  return sum;
}

}  // namespace r1
