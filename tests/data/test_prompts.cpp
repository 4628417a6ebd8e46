// Question templates by name (data/prompts.h).
#include "core/check.h"
#include "data/prompts.h"

#include <gtest/gtest.h>

using namespace r1;

TEST(QuestionTemplates, R1ZeroPrompt) {
  EXPECT_EQ(r1_zero_prompt("What is 2+3?"),
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
            "The assistant first thinks about the reasoning process in the mind and then provides the user with "
            "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
            "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
            "</answer>. User: What is 2+3?. Assistant:");
}

TEST(QuestionTemplates, ByName) {
  EXPECT_TRUE(is_question_template("r1_zero"));
  EXPECT_TRUE(is_question_template("r1_zero_short"));
  EXPECT_TRUE(is_question_template("plain"));
  EXPECT_FALSE(is_question_template("chat"));  // the model's own template: callers render it
  EXPECT_EQ(question_prompt("plain", "What is 2 + 3?"), "What is 2 + 3?");
  EXPECT_EQ(question_prompt("r1_zero", "What is 2 + 3?"), r1_zero_prompt("What is 2 + 3?"));
  EXPECT_EQ(question_prompt("r1_zero_short", "What is 2 + 3?"),
            "A conversation between User and Assistant. The Assistant thinks inside <think> </think>, then answers "
            "inside <answer> </answer>. User: What is 2 + 3? Assistant:");
  EXPECT_THROW(question_prompt("r1-zero", "x"), Error);
}
