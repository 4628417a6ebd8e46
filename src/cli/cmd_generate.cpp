// `r1 generate --model DIR`: sample completions with the rollout engine (KV cache, continuous batching, shared
// prompt prefixes). One JSON line per sample: prompt_index, sample_index, completion_ids, text (null without a
// tokenizer), logprobs (log softmax(logits / T) of each sampled token, before top-k/top-p/min-p), finish_reason,
// truncated. A single prompt with -n 1 on a terminal streams its text instead.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "rollout/policy.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace {

struct GenerateArgs {
  std::string model, adapter, prompt, prompt_ids, prompts_file, output;
  bool chat = false, add_bos = false, no_stream = false;
  int n = 1, max_new_tokens = 256, top_k = 0, max_batch = 64, prefill_tokens = 2048;
  float temperature = 1.0f, top_p = 1.0f, min_p = 0.0f;
  uint64_t seed = 0;
  double kv_memory_mb = 0;
  std::vector<std::string> stop;
};

std::vector<int> parse_ids(const std::string& text, const std::string& what) {
  std::string s = text;
  for (auto& ch : s)
    if (ch == ',') ch = ' ';
  std::istringstream in(s);
  std::string tok;
  std::vector<int> v;
  while (in >> tok) {
    char* end = nullptr;
    long x = std::strtol(tok.c_str(), &end, 10);
    R1_CHECK(*end == 0 && !tok.empty(), what, ": '", tok, "' is not an integer token id");
    v.push_back((int)x);
  }
  R1_CHECK(!v.empty(), what, ": no token ids");
  return v;
}

// Prompts as text, chat messages or ids -> prompt ids.
struct PromptReader {
  std::string model;
  const r1::Tokenizer* tok;
  const r1::ChatTemplate* tmpl;

  std::vector<int> encode_text(const std::string& text, const std::string& where) const {
    R1_CHECK(tok, where, ": text prompts need a tokenizer in ", model,
             " (tokenizer.json or vocab.json + merges.txt); use --prompt-ids for a folder without one");
    return tok->encode(text, true);
  }
  std::vector<int> from_messages(const nlohmann::json& messages, const std::string& where) const {
    R1_CHECK(tmpl, where, ": \"messages\" need --chat (to apply the model's chat template)");
    R1_CHECK(messages.is_array() && !messages.empty(), where, ": \"messages\" must be a non-empty array");
    for (const auto& msg : messages)
      R1_CHECK(msg.is_object() && msg.contains("role") && msg["role"].is_string() && msg.contains("content"), where,
               ": each message must be an object with a string \"role\" and a \"content\"");
    return encode_text(tmpl->render(messages, true), where);
  }
  std::vector<int> from_text(const std::string& text, const std::string& where) const {
    if (tmpl) return from_messages(nlohmann::json::array({{{"role", "user"}, {"content", text}}}), where);
    return encode_text(text, where);
  }
  // One JSON object per line: {"prompt"}, {"messages"} or {"prompt_ids"}.
  std::vector<std::vector<int>> from_file(const std::string& path) const {
    std::vector<std::vector<int>> prompts;
    std::istringstream in(r1::read_file(path));
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      lineno++;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string where = r1::str(path, ":", lineno);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        r1::fail(where, ": not valid JSON (", e.what(), ")");
      }
      R1_CHECK(j.is_object(), where, ": expected an object {\"prompt\": ...} or {\"messages\": [...]}");
      if (j.contains("messages")) {
        prompts.push_back(from_messages(j["messages"], where));
      } else if (j.contains("prompt_ids")) {
        R1_CHECK(j["prompt_ids"].is_array(), where, ": \"prompt_ids\" must be an array of integers");
        std::vector<int> v;
        for (const auto& x : j["prompt_ids"]) {
          R1_CHECK(x.is_number_integer(), where, ": \"prompt_ids\" must be an array of integers");
          v.push_back(x.get<int>());
        }
        prompts.push_back(v);
      } else {
        R1_CHECK(j.contains("prompt") && j["prompt"].is_string(), where,
                 ": expected a string field \"prompt\", an array \"messages\" or an array \"prompt_ids\"");
        prompts.push_back(from_text(j["prompt"].get<std::string>(), where));
      }
    }
    R1_CHECK(!prompts.empty(), path, ": no prompts (one JSON object per line)");
    return prompts;
  }
};

int run_generate(const GenerateArgs& a) {
  const int given = !a.prompt.empty() + !a.prompt_ids.empty() + !a.prompts_file.empty();
  R1_CHECK(given == 1, "generate: give exactly one of --prompt TEXT, --prompt-ids \"1 2 3\" or --prompts FILE.jsonl");
  r1::Policy pol = r1::Policy::load({a.model, "", "", a.adapter, /*tokenizer_optional=*/true, /*inference_only=*/true},
                                    a.chat ? "chat" : "plain", "",
                                    a.chat ? "generate --chat" : "generate");
  const r1::Model& m = pol.model();
  const r1::Tokenizer* tok = pol.has_tokenizer() ? &pol.tokenizer() : nullptr;
  const r1::ChatTemplate* tmpl = pol.chat_template();
  int bos = m.cfg.bos_id >= 0 ? m.cfg.bos_id : (tok ? tok->bos_id() : -1);
  R1_CHECK(!a.add_bos || bos >= 0, "generate --add-bos: neither ", a.model,
           "/config.json (bos_token_id) nor the tokenizer names a BOS token");

  std::vector<std::vector<int>> prompts;
  PromptReader rd{a.model, tok, tmpl};
  if (!a.prompt.empty()) prompts.push_back(rd.from_text(a.prompt, "--prompt"));
  if (!a.prompt_ids.empty()) prompts.push_back(parse_ids(a.prompt_ids, "--prompt-ids"));
  if (!a.prompts_file.empty()) prompts = rd.from_file(a.prompts_file);

  std::vector<r1::GenRequest> rq;
  for (size_t i = 0; i < prompts.size(); i++) {
    r1::GenRequest q;
    if (a.add_bos && (prompts[i].empty() || prompts[i][0] != bos)) q.prompt.push_back(bos);
    q.prompt.insert(q.prompt.end(), prompts[i].begin(), prompts[i].end());
    q.n = a.n;
    q.prompt_index = (int)i;
    rq.push_back(q);
  }
  r1::GenConfig c;
  c.sampling.temperature = a.temperature;
  c.sampling.greedy = a.temperature == 0.0f;
  c.sampling.top_k = a.top_k;
  c.sampling.top_p = a.top_p;
  c.sampling.min_p = a.min_p;
  c.max_new_tokens = a.max_new_tokens;
  c.seed = a.seed;
  c.max_batch = a.max_batch;
  c.max_prefill_tokens = a.prefill_tokens;
  c.kv_budget_bytes = (size_t)(a.kv_memory_mb * 1048576.0);
  c.eos_ids = pol.eos_ids();
  c.stop = a.stop;
  if (tok) c.decode = [t = *tok](const std::vector<int>& ids) { return t.decode(ids, true); };
  R1_CHECK(c.stop.empty() || tok, "generate --stop: stop strings need a tokenizer in ", a.model);

  const bool stream = rq.size() == 1 && a.n == 1 && a.output.empty() && tok && !a.no_stream && isatty(1);
  r1::Engine engine(m);
  r1::TokenCallback on_token;
  std::unique_ptr<r1::StreamDecoder> sd;
  std::unique_ptr<r1::StopMatcher> shown;
  size_t printed = 0;
  if (stream) {
    sd = std::make_unique<r1::StreamDecoder>(*tok, true);
    shown = std::make_unique<r1::StopMatcher>(c.stop);
    on_token = [&](const r1::GenSample& s, int token) {
      shown->push(sd->push(token));
      if (!s.finish_reason.empty()) shown->push(sd->flush());
      size_t safe = s.finish_reason.empty() ? shown->safe_len() : (shown->stopped() ? shown->stop_pos() : shown->text().size());
      if (safe > printed) {
        std::fwrite(shown->text().data() + printed, 1, safe - printed, stdout);
        std::fflush(stdout);
        printed = safe;
      }
    };
  }
  auto out = engine.generate(rq, c, on_token);
  if (stream) {
    std::printf("\n");
    const auto& s = out[0];
    std::fprintf(stderr, "[%zu tokens, finish_reason %s]\n", s.ids.size(), s.finish_reason.c_str());
    return 0;
  }
  std::string lines;
  for (const auto& s : out) {
    nlohmann::ordered_json j;
    j["prompt_index"] = s.prompt_index;
    j["sample_index"] = s.sample_index;
    j["completion_ids"] = s.ids;
    if (tok) {
      std::string text = tok->decode(s.ids, true);
      if (s.stop_text_pos != std::string::npos && s.stop_text_pos <= text.size()) text.resize(s.stop_text_pos);
      j["text"] = text;
    } else {
      j["text"] = nullptr;
    }
    j["logprobs"] = s.logprobs;
    j["finish_reason"] = s.finish_reason;
    j["truncated"] = s.truncated;
    lines += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (a.output.empty()) {
    std::fwrite(lines.data(), 1, lines.size(), stdout);
  } else {
    r1::atomic_write(a.output, lines);
  }
  const auto& st = engine.stats();
  std::fprintf(stderr, "generate: %zu samples, %lld prompt tokens prefilled in %.3f s, %lld decode tokens in %.3f s\n",
               out.size(), st.prefill_rows, st.prefill_s, st.decode_rows, st.decode_s);
  return 0;
}

}  // namespace

R1_COMMAND("generate", "Sample completions (KV cache, continuous batching); one JSON line per sample", [](CLI::App* sub) {
  auto a = std::make_shared<GenerateArgs>();
  sub->add_option("--model", a->model, "Hugging Face model folder (config.json + model.safetensors [+ tokenizer])")
      ->required();
  sub->add_option("--adapter", a->adapter, "a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied to the model");
  sub->add_option("--prompt", a->prompt, "prompt text (needs a tokenizer in the folder)");
  sub->add_option("--prompt-ids", a->prompt_ids, "prompt token ids, separated by spaces or commas");
  sub->add_option("--prompts", a->prompts_file,
                  "JSONL file: one {\"prompt\": TEXT}, {\"messages\": [...]} (with --chat) or {\"prompt_ids\": [...]} per line");
  sub->add_flag("--chat", a->chat, "apply the model's chat template (tokenizer_config.json) with a generation prompt");
  sub->add_flag("--add-bos", a->add_bos, "prepend the BOS token (bos_token_id) unless the prompt starts with it");
  sub->add_option("-n", a->n, "samples per prompt")->check(CLI::PositiveNumber);
  sub->add_option("--max-new-tokens", a->max_new_tokens, "maximum tokens per completion")->check(CLI::PositiveNumber);
  sub->add_option("--temperature", a->temperature, "sampling temperature; 0 = greedy");
  sub->add_option("--top-p", a->top_p, "nucleus sampling threshold in (0, 1]; 1 = off");
  sub->add_option("--top-k", a->top_k, "keep the k most probable tokens; 0 = off");
  sub->add_option("--min-p", a->min_p, "drop tokens below min_p x the top probability; 0 = off");
  sub->add_option("--seed", a->seed, "random seed (sample s of prompt p uses its own stream)");
  sub->add_option("--stop", a->stop, "stop string (repeatable); the text is cut before it");
  sub->add_option("--output", a->output, "write the JSON lines to this file (atomically) instead of stdout");
  sub->add_option("--max-batch", a->max_batch, "maximum live sequences (KV-cache slots)")->check(CLI::PositiveNumber);
  sub->add_option("--prefill-tokens", a->prefill_tokens, "prompt tokens per prefill pass")->check(CLI::PositiveNumber);
  sub->add_option("--kv-memory-mb", a->kv_memory_mb, "KV-cache budget in MiB (default: half of physical memory)");
  r1::cli::add_precision_option(sub);
  sub->add_flag("--no-stream", a->no_stream, "never stream text, always print JSON lines");
  return [a]() { return run_generate(*a); };
});
