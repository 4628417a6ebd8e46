// The rewards that run a model (scoring/): the judge's parse rules on hand-written judgements; bad judge and
// reward-model params fail when the recipe is parsed; the reward_model reward equals the reward model's own
// forward pass, reads the summary or the whole reply, and does not depend on what else is in the batch;
// normalize: batch standardises as written; a judge run end to end counts what it could not parse.
#include "core/check.h"
#include "core/io.h"
#include "model/transformer.h"
#include "rewards/registry.h"
#include "scoring/judge.h"
#include "scoring/model_rewards.h"
#include "scoring/reward_model.h"
#include "tokenizer/tokenizer.h"

#include "../tiny_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

static std::string tmp(const std::string& tag) {
  std::string d = "/tmp/r1_scoring_test_" + std::to_string(::getpid()) + "_" + tag;
  std::system(("rm -rf " + d).c_str());
  return d;
}

static Tokenizer tiny_tok() { return Tokenizer::byte_level(test::r1_specials()); }

// A language model folder (for the judge) and a reward model folder made from it.
static std::string lm_folder(const std::string& tag) {
  return test::save_tiny_qwen2(tmp("lm_" + tag), test::r1_specials(), 512, 7, 0.05f);
}
static std::string rm_folder(const std::string& tag) {
  std::string d = tmp("rm_" + tag);
  Model rm = reward_model_from(Model::load(lm_folder("for_rm_" + tag)), 11, 0.5f);
  rm.save(d);
  tiny_tok().save(d);
  return d;
}

static std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JudgeParse, NamedRulesOnHandWrittenJudgements) {
  EXPECT_DOUBLE_EQ(*parse_judgement("The reply is fine. Score: 7/10", "score: N/10"), 0.7);
  EXPECT_DOUBLE_EQ(*parse_judgement("score:3 / 10 ... final score: 8.5/10", "score: N/10"), 0.85);  // the last one
  EXPECT_FALSE(parse_judgement("Score: seven out of ten", "score: N/10"));
  EXPECT_DOUBLE_EQ(*parse_judgement("Rating: [[9]]", "[[N]]"), 0.9);
  EXPECT_FALSE(parse_judgement("Rating: [9]", "[[N]]"));
  EXPECT_DOUBLE_EQ(*parse_judgement("I choose [[B]]. No wait, [[A]]", "[[A]]/[[B]]"), 1.0);
  EXPECT_DOUBLE_EQ(*parse_judgement("Verdict: [[B]]", "[[A]]/[[B]]"), 0.0);
  EXPECT_FALSE(parse_judgement("Verdict: [[C]]", "[[A]]/[[B]]"));
  EXPECT_DOUBLE_EQ(*parse_judgement("  Yes, it is right", "yes/no"), 1.0);
  EXPECT_DOUBLE_EQ(*parse_judgement("no.", "yes/no"), 0.0);
  EXPECT_FALSE(parse_judgement("yesterday", "yes/no"));
  EXPECT_DOUBLE_EQ(*parse_judgement("grade=4 then grade=2", "grade=([0-9]+)"), 2.0);
  EXPECT_FALSE(parse_judgement("grade=x", "grade=([a-z]+)"));  // the group is not a number
}

TEST(JudgeParse, BadRulesAreOneClearError) {
  EXPECT_NE(message_of([] { check_parse_rule("score: (", "judge"); }).find("neither a named rule"), std::string::npos);
  EXPECT_NE(message_of([] { check_parse_rule("score: [0-9]+", "judge"); }).find("capture group"), std::string::npos);
  check_parse_rule("score: N/10", "judge");
}

TEST(ModelRewards, BadParamsFailWhenTheRecipeIsParsed) {
  register_model_rewards();
  const std::string lm = lm_folder("bad"), rm = rm_folder("bad");
  auto judge = [&](json p) { return message_of([&] { parse_reward_specs({{"judge", p}}); }); };
  json good = {{"weight", 1.0}, {"model", lm}, {"template", "Q: {{ question }}\nA: {{ response }}\nScore:"}};
  EXPECT_EQ(judge(good), "");
  json p = good;
  p["model"] = "/nonexistent/judge";
  EXPECT_NE(judge(p).find("judge model '/nonexistent/judge' does not exist"), std::string::npos) << judge(p);
  p = good;
  p["template"] = "Q: {{ question ";
  EXPECT_NE(judge(p).find("reward 'judge' template:1: expected end of print statement"), std::string::npos) << judge(p);
  p = good;
  p["template"] = "{{ question | no_such_filter }}";
  EXPECT_NE(judge(p), "");
  p = good;
  p["parse"] = "([";
  EXPECT_NE(judge(p).find("neither a named rule"), std::string::npos);
  p = good;
  p["temperature"] = 1;
  EXPECT_NE(judge(p).find("unknown param 'temperature'"), std::string::npos);
  auto rmr = [&](json p) { return message_of([&] { parse_reward_specs({{"reward_model", p}}); }); };
  EXPECT_EQ(rmr({{"weight", 1.0}, {"path", rm}}), "");
  EXPECT_NE(rmr({{"weight", 1.0}, {"path", "/nonexistent/rm"}}).find("does not exist"), std::string::npos);
  EXPECT_NE(rmr({{"weight", 1.0}, {"path", lm}}).find("causal language model"), std::string::npos);
  EXPECT_NE(rmr({{"weight", 1.0}, {"path", rm}, {"on", "think"}}).find("'on' must be"), std::string::npos);
  EXPECT_NE(rmr({{"weight", 1.0}, {"path", rm}, {"normalize", "group"}}).find("'normalize' must be"), std::string::npos);
  EXPECT_NE(rmr({{"weight", 1.0}}).find("'path' is required"), std::string::npos);
}

TEST(ModelRewards, NormalizeOverBatchAsWritten) {
  std::vector<RewardSpec> specs(2);
  specs[0].name = "accuracy";
  specs[0].weight = 1.0;
  specs[1].name = "reward_model";
  specs[1].weight = 0.5;
  specs[1].params = {{"normalize", "batch"}};
  std::vector<RewardBreakdown> b(3);
  const double acc[3] = {1, 0, 1}, rm[3] = {1, 2, 3};
  for (int i = 0; i < 3; i++) {
    b[i].parts = {{"accuracy", acc[i]}, {"reward_model", rm[i]}};
    b[i].used = {acc[i], rm[i]};
  }
  normalize_over_batch(specs, {&b[0], &b[1], &b[2]});
  const double sd = std::sqrt(2.0 / 3.0);  // population std of 1, 2, 3
  for (int i = 0; i < 3; i++) {
    EXPECT_DOUBLE_EQ(b[i].parts[1].second, rm[i]);  // the raw score is kept for the metrics
    EXPECT_NEAR(b[i].used[1], (rm[i] - 2.0) / (sd + 1e-6), 1e-12);
    EXPECT_NEAR(b[i].total, acc[i] + 0.5 * (rm[i] - 2.0) / (sd + 1e-6), 1e-12);
  }
}

TEST(ModelRewards, RewardModelScoreIsTheModelsForwardPass) {
  register_model_rewards();
  const std::string dir = rm_folder("score");
  auto rm = RewardModel::load(dir, "", "test");
  Tokenizer tok = tiny_tok();
  const std::string prompt = "What is 2 + 3? ";
  const std::vector<std::string> replies = {"<think> 2 + 3 = 5 </think> <answer> 5 </answer>",
                                            "<think> hmm </think> <answer> 6 </answer>", "no tags at all"};
  // by hand: one sequence prompt ids + reply ids + eos, scored at its last row
  Model m = Model::load(dir);
  std::vector<float> by_hand;
  for (const auto& r : replies) {
    std::vector<int> ids = tok.encode(prompt);
    for (int id : tok.encode(r)) ids.push_back(id);
    ids.push_back(tok.eos_id());
    m.forward_score(ids.data(), (int)ids.size(), {PackedSeq{0, (int)ids.size(), -1}}, {(int)ids.size() - 1});
    by_hand.push_back(m.act().scores[0]);
  }
  std::vector<float> s = rm->score({prompt, prompt, prompt}, replies, RmView::Full);
  ASSERT_EQ(s.size(), 3u);
  for (int i = 0; i < 3; i++) EXPECT_NEAR(s[i], by_hand[i], 1e-5) << i;
  EXPECT_NE(s[0], s[1]);
  // through the registry, raw (normalize: none), with the prompt the policy saw
  std::vector<SampleInfo> infos(3);
  for (auto& in : infos) in.prompt = prompt;
  auto specs = parse_reward_specs({{"reward_model", {{"weight", 2.0}, {"path", dir}, {"on", "full"}, {"normalize", "none"}}}});
  RewardStats st;
  auto out = score_rewards(specs, replies, infos, &st);
  for (int i = 0; i < 3; i++) {
    EXPECT_FLOAT_EQ((float)out[i].parts[0].second, s[i]);
    EXPECT_DOUBLE_EQ(out[i].total, 2.0 * out[i].parts[0].second);
  }
  ASSERT_EQ(st.seconds.size(), 1u);
  EXPECT_GE(st.seconds[0], 0.0);
  // on: summary reads only the text after </think> (a reply without it whole)
  std::vector<float> sum = rm->score({prompt, prompt, prompt}, replies, RmView::Summary);
  std::vector<float> direct = rm->score({prompt, prompt}, {" <answer> 5 </answer>", " <answer> 6 </answer>"}, RmView::Full);
  EXPECT_EQ(sum[0], direct[0]);
  EXPECT_EQ(sum[1], direct[1]);
  EXPECT_EQ(sum[2], s[2]);
}

TEST(ModelRewards, AScoreDoesNotDependOnTheRestOfTheBatch) {
  auto rm = RewardModel::load(rm_folder("inv"), "", "test");
  std::vector<std::string> prompts, replies;
  std::vector<long> groups;
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < 4; i++) {
      prompts.push_back("What is " + std::to_string(g) + " + 1? ");
      replies.push_back("<think> " + std::string(i + 1, 'x') + " </think> <answer> " + std::to_string(i) + " </answer>");
      groups.push_back(g);
    }
  std::vector<float> all = rm->score(prompts, replies, RmView::Full, &groups);
  for (int g = 0; g < 3; g++) {
    std::vector<std::string> p(prompts.begin() + 4 * g, prompts.begin() + 4 * g + 4);
    std::vector<std::string> r(replies.begin() + 4 * g, replies.begin() + 4 * g + 4);
    std::vector<long> gr(4, g);
    std::vector<float> one = rm->score(p, r, RmView::Full, &gr);
    for (int i = 0; i < 4; i++) EXPECT_EQ(all[4 * g + i], one[i]) << g << " " << i;  // the same bits
  }
}

TEST(ModelRewards, JudgeRunsEndToEndAndCountsWhatItCannotParse) {
  register_model_rewards();
  const std::string lm = lm_folder("judge");
  auto specs = parse_reward_specs(
      {{"judge", {{"weight", 1.0}, {"model", lm}, {"template", "Q: {{ question }} A: {{ summary }} Score:"},
                  {"max_new_tokens", 8}, {"default", 0.25}}}});
  std::vector<std::string> replies = {"<think> a </think> 4", "<think> b </think> 5", "6"};
  std::vector<SampleInfo> infos(3);
  for (auto& in : infos) in.question = "What is 2 + 2?";
  RewardStats st;
  auto out = score_rewards(specs, replies, infos, &st);
  EXPECT_EQ(st.counts["judge_judged"], 3.0);
  // a random tiny model writes bytes, not "score: N/10": every judgement scores the default, counted, no error
  EXPECT_EQ(st.counts["judge_unparsed"], 3.0);
  for (auto& b : out) EXPECT_DOUBLE_EQ(b.parts[0].second, 0.25);
  // the prompt the judge reads
  JudgeConfig cfg = JudgeConfig::from_params(specs[0].params, "judge");
  auto j = Judge::load(cfg, "judge");
  EXPECT_EQ(j->render("What is 2 + 2?", "", "<think> a </think> 4"), "Q: What is 2 + 2? A:  4 Score:");
  std::vector<std::string> texts;
  auto v = j->judge({"q"}, {""}, {"r"}, &texts);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(v[0].has_value(), parse_judgement(texts[0], "score: N/10").has_value());
}
