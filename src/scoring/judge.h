// A generative judge: a language model that reads a question and a response and writes a judgement, run with
// the rollout engine (greedy), and a rule that turns the judgement into a number (DeepSeek-R1 used DeepSeek-V3
// as a judge for part of its data). Used by GRPO's `judge` reward (scoring/model_rewards.h).
//
//   judge: {weight: 0.5, model: DIR, template: "...", max_new_tokens: 64, parse: "score: N/10", default: 0,
//           chat: false, tokenizer: DIR}
//
// template: a Jinja template (inline text, or the path of a file) rendered with `question` (the task's question),
//   `prompt` (the policy's whole prompt), `response` (the completion) and `summary` (the text after its last
//   </think>); with chat: true the result is one user message under the judge model's chat template.
// parse, a named rule or a regular expression (ECMAScript) with one capture group holding a number:
//   "score: N/10"   the last "score: N/10" (any case, spaces allowed), N/10
//   "[[N]]"         the last [[N]] (MT-Bench's rating), N/10
//   "[[A]]/[[B]]"   the last [[A]] or [[B]] verdict: A (the response is acceptable) 1, B 0
//   "yes/no"        the first word: yes 1, no 0
//   REGEX           the first capture group of the last match, as a number
// A judgement no rule can read scores `default` and is counted (metrics: judge_unparsed); it is never an error.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace r1 {

class Policy;
namespace jinja { class Template; }

struct JudgeConfig {
  std::string model;                   // the judge's Hugging Face folder
  std::string tokenizer;               // "" = the model folder
  std::string template_text;           // the template's source (read from the file when `template` names one)
  std::string template_origin;         // "judge template" or the file's path, for errors
  int max_new_tokens = 64;
  std::string parse = "score: N/10";
  double default_score = 0.0;
  bool chat = false;
  // Reads and checks the params (the model folder, the template compiled and rendered once with sample values,
  // the parse rule). `who` prefixes the errors. No weights are read.
  static JudgeConfig from_params(const nlohmann::json& params, const std::string& who);
  static const std::vector<std::string>& param_names();
};

// The number a judgement gives under `rule`, or nothing when the rule cannot read it.
std::optional<double> parse_judgement(const std::string& text, const std::string& rule);
// Throws r1::Error when `rule` is neither a named rule nor a regex with a capture group.
void check_parse_rule(const std::string& rule, const std::string& who);

class Judge {
 public:
  static std::unique_ptr<Judge> load(const JudgeConfig& cfg, const std::string& who);
  ~Judge();
  // The judge's prompt text for one (question, prompt, response).
  std::string render(const std::string& question, const std::string& prompt, const std::string& response) const;
  // Greedy judgements of a batch (one engine call); texts[i] gets judgement i's text when texts != nullptr.
  std::vector<std::optional<double>> judge(const std::vector<std::string>& questions,
                                           const std::vector<std::string>& prompts,
                                           const std::vector<std::string>& responses,
                                           std::vector<std::string>* texts = nullptr);
  const JudgeConfig& config() const { return cfg_; }

 private:
  JudgeConfig cfg_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<jinja::Template> tmpl_;
};

}  // namespace r1
