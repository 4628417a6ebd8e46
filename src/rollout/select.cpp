#include "rollout/select.h"

#include "core/check.h"
#include "rewards/format.h"
#include "rewards/language.h"
#include "rewards/shaping.h"

#include <set>

namespace r1 {

void RejectionFilter::declare(OptionSet& o, const std::string& p) {
  o.add(p + ".require_format", &require_format, "keep only strict R1-format completions");
  o.add(p + ".language", &language, "target language of the chain of thought");
  o.add(p + ".min_language", &min_language, "minimum target-script word fraction of the CoT (0: off)");
  o.add(p + ".max_tokens", &max_tokens, "drop completions longer than this (0: off)");
  o.add(p + ".allow_code", &allow_code, "allow ``` code blocks in the CoT (code tasks)");
  o.add(p + ".ngram", &ngram, "n of the repetition measure");
  o.add(p + ".max_repetition", &max_repetition, "drop when 1 - distinct/total n-grams exceeds this (>= 1: off)");
  o.add(p + ".dedupe", &dedupe, "drop repeats of a completion already kept for the prompt");
  o.add(p + ".max_per_prompt", &max_per_prompt, "kept completions per prompt (0: no limit)");
}

void RejectionFilter::check(const std::string& who) const {
  R1_CHECK(min_language >= 0 && min_language <= 1, who, ": filter.min_language must be in [0, 1]");
  R1_CHECK(ngram >= 1 && max_repetition >= 0 && max_tokens >= 0 && max_per_prompt >= 0,
           who, ": filter.ngram must be >= 1 and max_repetition, max_tokens, max_per_prompt >= 0");
  target_scripts(language);  // unknown language: error now, not after sampling
}

std::string rejection_reason(const Candidate& c, const RejectionFilter& f, const std::string& think_prefix) {
  if (c.truncated) return "truncated";
  if (f.max_tokens > 0 && c.tokens > f.max_tokens) return "overlong";
  if (!c.correct) return "incorrect";
  if (f.require_format && format_reward(c.completion, think_prefix) < 1.0) return "format";
  auto think = extract_think(c.completion, think_prefix);
  const std::string cot = think ? *think : think_prefix + c.completion;
  if (f.min_language > 0) {
    WordCount wc = count_words(cot, target_scripts(f.language));
    if (wc.total > 0 && (double)wc.in_target / wc.total < f.min_language) return "mixed_language";
  }
  if (!f.allow_code && cot.find("```") != std::string::npos) return "code_block";
  if (f.max_repetition < 1.0 && -repetition_penalty(cot, f.ngram, -1.0) > f.max_repetition) return "repetition";
  return "";
}

std::vector<std::string> select_for_prompt(const std::vector<Candidate>& cands, const RejectionFilter& f,
                                           const std::string& think_prefix) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  int kept = 0;
  for (const auto& c : cands) {
    std::string r = rejection_reason(c, f, think_prefix);
    if (r.empty() && f.dedupe && seen.count(c.completion)) r = "duplicate";
    if (r.empty() && f.max_per_prompt > 0 && kept >= f.max_per_prompt) r = "quota";
    if (r.empty()) {
      kept++;
      seen.insert(c.completion);
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace r1
