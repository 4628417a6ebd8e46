// Hand-computed cases for the shaping rewards and the named-weight reward registry.
#include "core/check.h"
#include "rewards/registry.h"
#include "rewards/shaping.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace r1;

TEST(Shaping, DapoOverlong) {
  // L_max = 20, L_cache = 4: soft zone 16 < L <= 20.
  EXPECT_EQ(overlong_penalty(0, 20, 4), 0.0);
  EXPECT_EQ(overlong_penalty(16, 20, 4), 0.0);
  EXPECT_EQ(overlong_penalty(17, 20, 4), -0.25);
  EXPECT_EQ(overlong_penalty(18, 20, 4), -0.5);
  EXPECT_EQ(overlong_penalty(20, 20, 4), -1.0);
  EXPECT_EQ(overlong_penalty(21, 20, 4), -1.0);
  EXPECT_EQ(overlong_penalty(100000, 20, 4), -1.0);
  EXPECT_THROW(overlong_penalty(5, 20, 0), Error);
  EXPECT_THROW(overlong_penalty(5, 20, 21), Error);
}

TEST(Shaping, Repetition) {
  // "a b a b a b": 3-grams (a b a) (b a b) (a b a) (b a b) -> T=4, U=2 -> (1 - 2/4) * -1 = -0.5.
  EXPECT_DOUBLE_EQ(repetition_penalty("a b a b a b", 3, -1.0), -0.5);
  // Case-insensitive and whitespace-split: "A b  a\nB" 2-grams (a b)(b a)(a b) -> 1 - 2/3.
  EXPECT_NEAR(repetition_penalty("A b  a\nB", 2, -0.6), (1.0 - 2.0 / 3.0) * -0.6, 1e-15);
  EXPECT_EQ(repetition_penalty("all words are different here", 2, -1.0), 0.0);
  EXPECT_EQ(repetition_penalty("", 3, -1.0), 0.0);
  EXPECT_EQ(repetition_penalty("too short", 3, -1.0), 0.0);  // fewer words than n
  // "x x x x x" 1-grams: T=5, U=1 -> -0.8.
  EXPECT_DOUBLE_EQ(repetition_penalty("x x x x x", 1, -1.0), -0.8);
  EXPECT_THROW(repetition_penalty("a b", 2, 0.5), Error);
  EXPECT_THROW(repetition_penalty("a b", 0, -1.0), Error);
}

TEST(Shaping, Cosine) {
  CosineParams p;  // -1, -0.5, 0.5, 1.0, max_len 1000
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(true, 0, p), 1.0);     // short and right: best
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(true, 1000, p), 0.5);  // long and right
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(true, 500, p), 0.75);  // cos(pi/2) = 0 -> midpoint
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(false, 0, p), -1.0);   // short and wrong: worst
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(false, 1000, p), -0.5);
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(false, 500, p), -0.75);
  // 250: cos(pi/4) = 0.70710678 -> 0.5 + 0.25 * 1.70710678
  EXPECT_NEAR(cosine_scaled_reward(true, 250, p), 0.5 + 0.25 * (1 + std::sqrt(0.5)), 1e-12);
  EXPECT_DOUBLE_EQ(cosine_scaled_reward(true, 5000, p), 0.5);  // clamped past max_len
}

namespace {
SampleInfo info_with(double acc, int64_t tokens = -1) {
  SampleInfo i;
  i.accuracy = [acc](const std::string&) { return acc; };
  i.completion_tokens = tokens;
  return i;
}
}  // namespace

TEST(Registry, RecipeFormsAndTotals) {
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"accuracy": 1.0, "format": 0.1})"));
  ASSERT_EQ(specs.size(), 2u);
  auto b = score_reward(specs, "<think>x</think><answer>4</answer>", info_with(1.0));
  EXPECT_EQ(b.get("accuracy"), 1.0);
  EXPECT_EQ(b.get("format"), 1.0);
  EXPECT_DOUBLE_EQ(b.total, 1.1);
  b = score_reward(specs, "4", info_with(1.0));
  EXPECT_DOUBLE_EQ(b.total, 1.0);

  specs = parse_reward_specs(nlohmann::json::parse(
      R"([{"name": "language", "weight": 0.5, "params": {"target": "zh"}}, {"name": "overlong", "weight": 1,
          "params": {"max_length": 20, "cache": 4}}])"));
  b = score_reward(specs, "<think>中文 ok</think>", info_with(0.0, 18));
  EXPECT_DOUBLE_EQ(b.get("language"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(b.get("overlong"), -0.5);
  EXPECT_DOUBLE_EQ(b.total, 0.5 * 2.0 / 3.0 - 0.5);

  specs = parse_reward_specs(nlohmann::json::parse(R"({"tag_count": {"weight": 2, "with_newlines": true}})"));
  EXPECT_DOUBLE_EQ(score_reward(specs, "<think>\nx\n</think>\n<answer>\n1\n</answer>", info_with(0)).total, 2.0);
}

TEST(Registry, TinyZeroCountdownScheme) {
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"tinyzero": 1.0})"));
  EXPECT_EQ(score_reward(specs, "<think>t</think><answer>1+2</answer>", info_with(1.0)).total, 1.0);
  EXPECT_DOUBLE_EQ(score_reward(specs, "<think>t</think><answer>1+3</answer>", info_with(0.0)).total, 0.1);
  EXPECT_EQ(score_reward(specs, "1+2", info_with(0.0)).total, 0.0);
  auto strict = parse_reward_specs(nlohmann::json::parse(R"({"tinyzero": {"weight": 1, "format": "strict"}})"));
  EXPECT_EQ(score_reward(strict, "junk <answer>1+3</answer>", info_with(0.0)).total, 0.0);
}

TEST(Registry, CosineUsesAccuracyAndLength) {
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"cosine": {"weight": 1, "max_len": 100}})"));
  EXPECT_DOUBLE_EQ(score_reward(specs, "x", info_with(1.0, 0)).total, 1.0);
  EXPECT_DOUBLE_EQ(score_reward(specs, "x", info_with(0.0, 100)).total, -0.5);
  auto chars = parse_reward_specs(nlohmann::json::parse(R"({"cosine": {"weight": 1, "max_len": 2, "unit": "chars"}})"));
  EXPECT_DOUBLE_EQ(score_reward(chars, "xx", info_with(1.0)).total, 0.5);
  EXPECT_THROW(score_reward(specs, "x", info_with(1.0)), Error);  // tokens unknown
}

TEST(Registry, AccuracyComputedOncePerSample) {
  int calls = 0;
  SampleInfo i;
  i.accuracy = [&calls](const std::string&) { ++calls; return 1.0; };
  i.completion_tokens = 3;
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"accuracy": 1, "cosine": 0.5, "tinyzero": 0.1})"));
  score_reward(specs, "x", i);
  EXPECT_EQ(calls, 1);
}

TEST(Registry, BadRecipesGiveOneClearError) {
  auto expect_msg = [](const char* json, const char* needle) {
    try {
      parse_reward_specs(nlohmann::json::parse(json));
      ADD_FAILURE() << "no error for " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg(R"({"acuracy": 1})", "unknown reward 'acuracy'");
  expect_msg(R"({"format": "high"})", "weight must be a number");
  expect_msg(R"({"language": {"weight": 1, "taget": "zh"}})", "unknown param 'taget'");
  expect_msg(R"({"language": {"target": "zh"}})", "missing 'weight'");
  expect_msg(R"([{"weight": 1}])", "needs a string 'name'");
  expect_msg(R"(3)", "expected an object");
  expect_msg(R"({})", "no reward given");
}

TEST(Registry, CustomRewardRegistration) {
  register_reward("length_chars", [](const RewardContext& c, const nlohmann::json&) { return (double)c.completion.size(); });
  auto specs = parse_reward_specs(nlohmann::json::parse(R"({"length_chars": 0.5})"));
  EXPECT_DOUBLE_EQ(score_reward(specs, "abcd", info_with(0)).total, 2.0);
  EXPECT_TRUE(has_reward("length_chars"));
}
