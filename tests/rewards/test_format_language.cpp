// Hand-computed cases for the format, tag-count and language-consistency rewards.
#include "core/check.h"
#include "rewards/format.h"
#include "rewards/language.h"

#include <gtest/gtest.h>

using namespace r1;

TEST(Format, StrictAcceptsR1Structure) {
  EXPECT_EQ(format_reward("<think>a</think><answer>b</answer>"), 1.0);
  // R1-Zero prompt ends with "Assistant:": leading space/newlines, spaces between blocks, trailing newline.
  EXPECT_EQ(format_reward(" <think> 2+2 is 4 </think> <answer> 4 </answer>\n"), 1.0);
  EXPECT_EQ(format_reward("\n\n<think>\nmulti\nline\n</think>\n\n<answer>\n4\n</answer>\n"), 1.0);
  auto parts = parse_r1_format(" <think>x y</think>\n<answer> 42 </answer>");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->think, "x y");
  EXPECT_EQ(parts->answer, " 42 ");
}

TEST(Format, StrictRejectsAdversarial) {
  EXPECT_EQ(format_reward("The answer is 4. <answer>4</answer>"), 0.0);             // answer outside think structure
  EXPECT_EQ(format_reward("<think>x</think> 4 <answer>4</answer>"), 0.0);           // text between blocks
  EXPECT_EQ(format_reward("<think>x</think><answer>4</answer> so 4"), 0.0);         // text after </answer>
  EXPECT_EQ(format_reward("<think></think><answer>4</answer>"), 0.0);               // empty think
  EXPECT_EQ(format_reward("<think> \n </think><answer>4</answer>"), 0.0);           // whitespace-only think
  EXPECT_EQ(format_reward("<think>x</think><answer></answer>"), 0.0);               // empty answer
  EXPECT_EQ(format_reward("<think>x</think><answer>3</answer><answer>4</answer>"), 0.0);  // two answers
  EXPECT_EQ(format_reward("<think>x</think><answer>3</answer> <answer>4</answer>"), 0.0);
  EXPECT_EQ(format_reward("<think>a<think>b</think><answer>4</answer>"), 0.0);      // nested think
  EXPECT_EQ(format_reward("<answer>4</answer><think>x</think>"), 0.0);              // wrong order
  EXPECT_EQ(format_reward("<think>x</think><answer>4"), 0.0);                       // unclosed
  EXPECT_EQ(format_reward("x<think>y</think><answer>4</answer>"), 0.0);             // text before
  EXPECT_EQ(format_reward(""), 0.0);
}

TEST(Format, PrefixForPromptsEndingInThink) {
  // The prompt already ends with "<think>": the model continues inside the think block.
  EXPECT_EQ(format_reward("I reason.</think><answer>4</answer>", "<think>"), 1.0);
  EXPECT_EQ(format_reward("I reason.</think><answer>4</answer>"), 0.0);
  // Emitting <think> again after the prompt opened it makes two think tags.
  EXPECT_EQ(format_reward("<think>I reason.</think><answer>4</answer>", "<think>"), 0.0);
}

TEST(Format, TagCount) {
  EXPECT_EQ(tag_count_reward("<think>a</think><answer>b</answer>"), 1.0);
  EXPECT_EQ(tag_count_reward("<think>a</think>"), 0.5);
  EXPECT_EQ(tag_count_reward("<think>a</think><answer>b</answer><answer>c</answer>"), 0.5);  // 2x each answer tag
  EXPECT_EQ(tag_count_reward("<think>a"), 0.25);
  EXPECT_EQ(tag_count_reward("nothing"), 0.0);
  EXPECT_EQ(tag_count_reward("a</think><answer>b</answer>", "<think>"), 1.0);
  // open-r1's exact form counts the tags with their newlines.
  EXPECT_EQ(tag_count_reward("<think>\na\n</think>\n<answer>\nb\n</answer>", "", true), 1.0);
  EXPECT_EQ(tag_count_reward("<think>a</think><answer>b</answer>", "", true), 0.0);
  // "<think>\n" and "\n<answer>\n" present; "\n</think>\n" and "\n</answer>" absent -> 0.5.
  EXPECT_EQ(tag_count_reward("<think>\na</think>\n<answer>\nb</answer>", "", true), 0.5);
}

TEST(Format, ExtractBlocks) {
  EXPECT_EQ(*extract_think("<think> ab </think> rest"), " ab ");
  EXPECT_FALSE(extract_think("<think> unclosed"));
  EXPECT_EQ(*extract_think(" ab </think>", "<think>"), " ab ");
  // the chain-of-thought length: trimmed characters inside the first think block, 0 without one
  EXPECT_EQ(cot_chars("<think> 2 + 3 = 5. </think> <answer> 5 </answer>"), 10);
  EXPECT_EQ(cot_chars(" 1 + 1 = 2.\n</think> <answer> 2 </answer>", "<think>"), 10);
  EXPECT_EQ(cot_chars("<think> \n </think> <answer> 5 </answer>"), 0);
  EXPECT_EQ(cot_chars("<answer> 5 </answer>"), 0);
  EXPECT_EQ(cot_chars("<think> unclosed"), 0);
  EXPECT_EQ(*extract_answer_block("x <answer> 1+2 </answer> y"), " 1+2 ");
  EXPECT_FALSE(extract_answer_block("<answer>1</answer><answer>2</answer>"));  // two blocks: no answer
  EXPECT_FALSE(extract_answer_block("<answer>1"));
  EXPECT_FALSE(extract_answer_block("the answer is 1"));
}

TEST(Language, ScriptTable) {
  EXPECT_EQ(script_of('a'), Script::Latin);
  EXPECT_EQ(script_of(0x00E9), Script::Latin);   // é
  EXPECT_EQ(script_of(0x4E2D), Script::Han);     // 中
  EXPECT_EQ(script_of(0x3042), Script::Hiragana);  // あ
  EXPECT_EQ(script_of(0x30AB), Script::Katakana);  // カ
  EXPECT_EQ(script_of(0xD55C), Script::Hangul);    // 한
  EXPECT_EQ(script_of(0x0416), Script::Cyrillic);  // Ж
  EXPECT_EQ(script_of(0x03B1), Script::Greek);     // α
  EXPECT_EQ(script_of(0x05D0), Script::Hebrew);    // א
  EXPECT_EQ(script_of(0x0628), Script::Arabic);    // ب
  EXPECT_EQ(script_of(0x0915), Script::Devanagari);  // क
  EXPECT_EQ(script_of(0x0E01), Script::Thai);      // ก
  EXPECT_EQ(script_of(0x20000), Script::Han);      // CJK extension B
  EXPECT_EQ(script_of('1'), Script::Other);
  EXPECT_EQ(script_of(0x1F600), Script::Other);    // emoji
}

TEST(Language, WordCounting) {
  // "the sum is 4" -> 3 words (the digit is not a word).
  auto wc = count_words("The sum is 4.", {Script::Latin});
  EXPECT_EQ(wc.total, 3u);
  EXPECT_EQ(wc.in_target, 3u);
  // Each Han ideograph is one word: 我们计算 = 4 words; "x" 1 Latin word.
  wc = count_words("我们计算 x", {Script::Han});
  EXPECT_EQ(wc.total, 5u);
  EXPECT_EQ(wc.in_target, 4u);
  // Script change inside a run splits words: "abcпривет" = 2 words.
  wc = count_words("abcпривет", {Script::Cyrillic});
  EXPECT_EQ(wc.total, 2u);
  EXPECT_EQ(wc.in_target, 1u);
  // Combining marks continue a word: Devanagari "नमस्ते" (with virama and vowel sign) is one word; "café" with a
  // combining acute (e + U+0301) is one word.
  wc = count_words("नमस्ते cafe\xCC\x81", {Script::Devanagari});
  EXPECT_EQ(wc.total, 2u);
  EXPECT_EQ(wc.in_target, 1u);
  // Invalid UTF-8 bytes break words and are skipped.
  wc = count_words("ab\xFF" "cd", {Script::Latin});
  EXPECT_EQ(wc.total, 2u);
}

TEST(Language, RewardOnThinkBlock) {
  // English CoT with two Chinese ideographs: words = 5 Latin (Let me compute the answer) + 2 Han = 7.
  const std::string mixed = "<think>Let me compute 所以 the answer</think><answer>5</answer>";
  EXPECT_NEAR(language_consistency_reward(mixed, "en"), 5.0 / 7.0, 1e-12);
  EXPECT_NEAR(language_consistency_reward(mixed, "zh"), 2.0 / 7.0, 1e-12);
  // Only the think block counts: the Russian answer text is ignored.
  EXPECT_EQ(language_consistency_reward("<think>all english here</think><answer>ответ</answer>", "en"), 1.0);
  // Japanese: kana and kanji all count for "ja": 計算します = 計, 算 (Han, 1 each) + します (one Hiragana run) = 3.
  EXPECT_EQ(language_consistency_reward("<think>計算します</think>", "ja"), 1.0);
  EXPECT_NEAR(language_consistency_reward("<think>計算します</think>", "zh"), 2.0 / 3.0, 1e-12);
  // Empty think, numbers only, no think block, unclosed think -> 0.
  EXPECT_EQ(language_consistency_reward("<think></think><answer>4</answer>", "en"), 0.0);
  EXPECT_EQ(language_consistency_reward("<think>1 + 2 = 3</think><answer>3</answer>", "en"), 0.0);
  EXPECT_EQ(language_consistency_reward("no tags at all", "en"), 0.0);
  EXPECT_EQ(language_consistency_reward("<think>never closed", "en"), 0.0);
  // Prefix for prompts ending in <think>.
  EXPECT_EQ(language_consistency_reward("reasoning here</think><answer>1</answer>", "en", "<think>"), 1.0);
  EXPECT_THROW(language_consistency_reward("<think>x</think>", "klingon"), Error);
}
