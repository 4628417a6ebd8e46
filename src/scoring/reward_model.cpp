#include "scoring/reward_model.h"

#include "core/check.h"
#include "core/io.h"
#include "core/stage.h"
#include "model/config.h"

namespace r1 {

void RewardModel::check(const std::string& dir, const std::string& tokenizer, const std::string& who) {
  R1_CHECK(!dir.empty(), who, ": 'path' is required (a reward model folder, e.g. the output of `r1 rm`: <out>/model)");
  if (!is_directory(dir) && is_planned_output(dir)) return;  // an earlier pipeline stage will write it
  R1_CHECK(is_directory(dir), who, ": reward model '", dir, "' does not exist (expected a folder with config.json, ",
           "model.safetensors and a tokenizer; `r1 rm` writes one to <out>/model)");
  const std::string cfg_path = path_join(dir, "config.json");
  R1_CHECK(file_exists(cfg_path), who, ": ", cfg_path, " is missing (a reward model folder needs config.json)");
  ModelConfig cfg = ModelConfig::load(cfg_path);
  R1_CHECK(cfg.head == Head::Score, who, ": ", cfg_path, " describes a causal language model; a reward model needs ",
           "architectures: [...ForSequenceClassification] with one label and a score.weight (train one with `r1 rm`)");
  const std::string tdir = tokenizer.empty() ? dir : tokenizer;
  R1_CHECK(Tokenizer::in_folder(tdir) || file_exists(tdir), who, ": ", tdir,
           " has no tokenizer (tokenizer.json or vocab.json + merges.txt); set 'tokenizer'");
}

std::unique_ptr<RewardModel> RewardModel::load(const std::string& dir, const std::string& tokenizer,
                                               const std::string& who) {
  check(dir, tokenizer, who);
  auto rm = std::make_unique<RewardModel>();
  rm->model_ = std::make_unique<Model>(Model::load(dir));
  rm->tok_ = Tokenizer::load(tokenizer.empty() ? dir : tokenizer);
  rm_eos_id(rm->tok_, rm->model_->cfg, who);
  return rm;
}

void RewardModel::score_run(const std::vector<int>& prompt, const std::vector<std::vector<int>>& responses,
                            std::vector<float>& out) {
  std::vector<int> ids(prompt);
  std::vector<PackedSeq> seqs;
  std::vector<int> rows;
  const int Tp = (int)prompt.size();
  if (Tp > 0) seqs.push_back({0, Tp, -1});
  for (const auto& r : responses) {
    const int off = (int)ids.size();
    seqs.push_back({off, (int)r.size(), Tp > 0 ? 0 : -1});
    ids.insert(ids.end(), r.begin(), r.end());
    rows.push_back(off + (int)r.size() - 1);
  }
  model_->forward_score(ids.data(), (int)ids.size(), seqs, rows);
  const auto& s = model_->act().scores;
  out.insert(out.end(), s.begin(), s.begin() + rows.size());
}

std::vector<float> RewardModel::score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses,
                                      RmView view, const std::vector<long>* groups) {
  R1_CHECK(prompts.size() == responses.size(), "reward model: ", prompts.size(), " prompts but ", responses.size(),
           " responses");
  R1_CHECK(!groups || groups->size() == prompts.size(), "reward model: ", groups ? groups->size() : 0, " group ids for ",
           prompts.size(), " pairs");
  auto same_run = [&](size_t a, size_t b) { return prompts[a] == prompts[b] && (!groups || (*groups)[a] == (*groups)[b]); };
  const int max_pos = model_->cfg.max_pos;
  std::vector<float> out;
  out.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size();) {
    // a run of equal prompts (GRPO's group), split so that one pass stays within max_rows_
    size_t j = i;
    RmIds first = rm_ids(tok_, model_->cfg, prompts[i], rm_view_text(responses[i], view));
    std::vector<std::vector<int>> resp;
    int rows = (int)first.prompt.size();
    while (j < prompts.size() && same_run(i, j)) {
      RmIds x = j == i ? first : rm_ids(tok_, model_->cfg, prompts[j], rm_view_text(responses[j], view));
      const int len = (int)(x.prompt.size() + x.response.size());
      R1_CHECK(len <= max_pos, "reward model: prompt + response of ", len, " tokens exceed its ",
               "max_position_embeddings of ", max_pos);
      if (!resp.empty() && rows + (int)x.response.size() > max_rows_) break;
      rows += (int)x.response.size();
      resp.push_back(std::move(x.response));
      j++;
    }
    score_run(first.prompt, resp, out);
    i = j;
  }
  model_->release_activations();
  return out;
}

}  // namespace r1
