#include "rollout/policy.h"

#include "core/check.h"
#include "core/io.h"
#include "data/prompts.h"
#include "model/gguf_model.h"

#include <algorithm>
#include <set>

namespace r1 {

using json = nlohmann::json;

void SamplingRecipe::declare(OptionSet& o, const std::string& p) {
  o.add(p + ".temperature", &temperature, "sampling temperature (log-probs are taken at this temperature)");
  o.add(p + ".top_p", &top_p, "nucleus sampling threshold in (0, 1] (1: off)");
  o.add(p + ".top_k", &top_k, "keep the k most probable tokens (0: off)");
  o.add(p + ".max_new_tokens", &max_new_tokens, "completion budget in tokens");
}

void SamplingRecipe::check(const std::string& who, bool greedy_ok) const {
  R1_CHECK(greedy_ok ? temperature >= 0 : temperature > 0, who, ": sampling.temperature must be ",
           greedy_ok ? ">= 0" : "> 0", " (got ", temperature, ")");
  R1_CHECK(top_p > 0 && top_p <= 1, who, ": sampling.top_p must be in (0, 1] (got ", top_p, ")");
  R1_CHECK(top_k >= 0, who, ": sampling.top_k must be >= 0 (got ", top_k, ")");
  R1_CHECK(max_new_tokens >= 1, who, ": sampling.max_new_tokens must be >= 1 (got ", max_new_tokens, ")");
}

SamplingParams SamplingRecipe::params() const {
  SamplingParams p;
  p.temperature = temperature;
  p.top_p = top_p;
  p.top_k = top_k;
  return p;
}

std::vector<int> collect_eos_ids(const std::string& dir, const Model& m, const Tokenizer* tok) {
  std::set<int> ids;
  if (m.cfg.eos_id >= 0) ids.insert(m.cfg.eos_id);
  const std::string gpath = path_join(dir, "generation_config.json");
  if (file_exists(gpath)) {
    json g;
    try {
      g = json::parse(read_file(gpath));
    } catch (const json::exception& e) {
      fail(gpath, ": not valid JSON (", e.what(), ")");
    }
    if (g.is_object() && g.contains("eos_token_id")) {
      const auto& e = g["eos_token_id"];
      if (e.is_number_integer()) ids.insert(e.get<int>());
      else if (e.is_array())
        for (const auto& x : e) {
          R1_CHECK(x.is_number_integer(), gpath, ": eos_token_id must be an integer or a list of integers");
          ids.insert(x.get<int>());
        }
      else R1_CHECK(e.is_null(), gpath, ": eos_token_id must be an integer or a list of integers");
    }
  }
  if (tok && tok->eos_id() >= 0) ids.insert(tok->eos_id());
  std::vector<int> out;
  for (int id : ids)
    if (id >= 0 && id < m.cfg.V) out.push_back(id);
  return out;
}

static bool folder_has_tokenizer(const std::string& path) {
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) return file_exists(path);
  return Tokenizer::in_folder(path);
}

Policy Policy::load(const PolicySource& src, const std::string& prompt_template, const std::string& think_prefix,
                    const std::string& who) {
  R1_CHECK(!src.model.empty(), who, ": field 'model' is required (a Hugging Face model folder)");
  R1_CHECK(is_question_template(prompt_template) || prompt_template == "chat", who, ": prompt_template '",
           prompt_template, "' is unknown; expected ", prompt_template_names());
  Policy p;
  p.template_ = prompt_template;
  p.think_prefix_ = think_prefix;
  const std::string tdir = src.tokenizer.empty() ? src.model : src.tokenizer;
  if (!src.tokenizer_optional || folder_has_tokenizer(tdir)) p.tok_ = Tokenizer::load(tdir);
  if (prompt_template == "chat") {
    R1_CHECK(p.has_tokenizer(), who, ": prompt_template chat: ", tdir,
             " has no tokenizer (tokenizer.json or vocab.json + merges.txt)");
    p.chat_ = ChatTemplate::find(tdir);
    R1_CHECK(p.chat_, who, ": prompt_template chat: ", tdir, " has no chat template (chat_template.jinja, ",
             "chat_template.json or a \"chat_template\" in tokenizer_config.json)");
  }
  LoadOptions lo;
  lo.inference_only = src.inference_only;
  p.model_ = std::make_unique<Model>(load_any_model(src.weights.empty() ? src.model : src.weights, lo));
  if (!src.adapter.empty()) p.model_->attach_lora(Lora::load(src.adapter, p.model_->cfg));
  p.eos_ = collect_eos_ids(src.model, *p.model_, p.has_tokenizer() ? &p.tok_ : nullptr);
  return p;
}

std::string Policy::prompt_text(const std::string& question) const {
  std::string s = chat_ ? chat_->render(json::array({{{"role", "user"}, {"content", question}}}), true)
                        : question_prompt(template_, question);
  return s + think_prefix_;
}

std::vector<int> Policy::encode_question(const std::string& question) const {
  std::vector<int> ids = tok_.encode(prompt_text(question), true);
  const int bos = tok_.bos_id();
  if (model_->cfg.bos_id >= 0 && bos == model_->cfg.bos_id && (ids.empty() || ids[0] != bos))
    ids.insert(ids.begin(), bos);
  return ids;
}

std::string Policy::completion_text(const GenSample& s, int* tokens) const {
  std::vector<int> ids = s.ids;
  if (!ids.empty() && std::find(eos_.begin(), eos_.end(), ids.back()) != eos_.end()) ids.pop_back();
  if (tokens) *tokens = (int)ids.size();
  return tok_.decode(ids);
}

bool Policy::finished(const GenSample& s, int id, int max_new_tokens) const {
  return std::find(eos_.begin(), eos_.end(), id) != eos_.end() || (int)s.ids.size() >= max_new_tokens;
}

GenConfig Policy::gen_config(const SamplingRecipe& s, uint64_t seed, int max_batch) const {
  GenConfig g;
  g.sampling = s.params();
  g.max_new_tokens = s.max_new_tokens;
  g.eos_ids = eos_;
  g.seed = seed;
  g.max_batch = max_batch;
  return g;
}

}  // namespace r1
