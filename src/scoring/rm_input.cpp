#include "scoring/rm_input.h"

#include "core/check.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

RmView parse_rm_view(const std::string& s, const std::string& who) {
  if (s == "full") return RmView::Full;
  if (s == "summary") return RmView::Summary;
  fail(who, ": 'on' must be 'summary' (the text after </think>) or 'full' (the whole response), got '", s, "'");
}

std::string rm_view_text(const std::string& response, RmView view) {
  if (view == RmView::Full) return response;
  static const std::string kEnd = "</think>";
  size_t at = response.rfind(kEnd);
  return at == std::string::npos ? response : response.substr(at + kEnd.size());
}

int rm_eos_id(const Tokenizer& tok, const ModelConfig& cfg, const std::string& who) {
  int eos = cfg.eos_id >= 0 ? cfg.eos_id : tok.eos_id();
  R1_CHECK(eos >= 0 && eos < cfg.V, who, ": the reward model has no end-of-sequence id (config.json eos_token_id or ",
           "the tokenizer's eos) inside its vocabulary of ", cfg.V, "; the score is read at the EOS row");
  return eos;
}

RmIds rm_ids(const Tokenizer& tok, const ModelConfig& cfg, const std::string& prompt, const std::string& response) {
  RmIds r;
  r.prompt = tok.encode(prompt, true);
  const int bos = tok.bos_id();
  if (cfg.bos_id >= 0 && bos == cfg.bos_id && (r.prompt.empty() || r.prompt[0] != bos)) r.prompt.insert(r.prompt.begin(), bos);
  r.response = tok.encode(response, true);
  r.response.push_back(rm_eos_id(tok, cfg, "reward model"));
  return r;
}

}  // namespace r1
