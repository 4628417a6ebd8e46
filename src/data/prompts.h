// Question templates: how a task's question becomes the text a model continues, by name (the `prompt_template`
// field of every command; "chat", the model's own chat template, is rendered by the rollout front end,
// rollout/policy.h):
//   r1_zero        the R1-Zero plain-text template (DeepSeek-R1 paper, table 1; ~400 byte tokens of instructions)
//   r1_zero_short  the same instruction in one sentence, for tiny models with short contexts:
//                  "A conversation between User and Assistant. The Assistant thinks inside <think> </think>, then
//                   answers inside <answer> </answer>. User: QUESTION Assistant:"
//   plain          the question as is
#pragma once
#include <string>

namespace r1 {

// The R1-Zero template with {prompt} replaced by `question`.
std::string r1_zero_prompt(const std::string& question);

bool is_question_template(const std::string& name);
// Throws r1::Error naming the template when it is not a question template.
std::string question_prompt(const std::string& name, const std::string& question);
// "r1_zero, r1_zero_short, plain or chat": for error messages.
const char* prompt_template_names();

}  // namespace r1
