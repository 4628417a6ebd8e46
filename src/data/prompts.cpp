#include "data/prompts.h"

#include "core/check.h"

namespace r1 {

bool is_question_template(const std::string& name) {
  return name == "r1_zero" || name == "r1_zero_short" || name == "plain";
}

const char* prompt_template_names() { return "r1_zero, r1_zero_short, plain or chat"; }

std::string question_prompt(const std::string& name, const std::string& question) {
  if (name == "r1_zero") return r1_zero_prompt(question);
  if (name == "r1_zero_short")
    return "A conversation between User and Assistant. The Assistant thinks inside <think> </think>, then answers "
           "inside <answer> </answer>. User: " + question + " Assistant:";
  R1_CHECK(name == "plain", "prompt template '", name, "' is unknown; expected ", prompt_template_names());
  return question;
}

std::string r1_zero_prompt(const std::string& question) {
  return "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
         "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
         "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
         "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
         "User: " +
         question + ". Assistant:";
}

}  // namespace r1
