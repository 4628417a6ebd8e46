// Language-consistency reward (DeepSeek-R1, eq. 7): the proportion of chain-of-thought words written in the
// target language's script.
//
// Words: decode the think block as UTF-8 (utf8proc); a word is a maximal run of letters (Unicode general
// category L*), with combining marks (M*) continuing a word (Devanagari vowel signs, accents). A word ends
// at any other character (digits, punctuation, spaces, symbols) and where the script changes. Each Han
// ideograph is a word of its own (Chinese has no spaces). Digits and punctuation are not words.
//
// Scripts: utf8proc has no script property, so the script of a letter comes from its code point's block:
//   Latin     0041-007A letters, 00AA, 00BA, 00C0-024F, 0250-02AF (IPA), 1D00-1DBF, 1E00-1EFF, 2C60-2C7F,
//             A720-A7FF, AB30-AB6F, FF21-FF3A, FF41-FF5A (fullwidth)
//   Greek     0370-03FF, 1F00-1FFF        Cyrillic  0400-052F, 1C80-1C8F, 2DE0-2DFF, A640-A69F
//   Armenian  0530-058F                   Hebrew    0590-05FF, FB1D-FB4F
//   Arabic    0600-06FF, 0750-077F, 0870-08FF, FB50-FDFF, FE70-FEFF
//   Devanagari 0900-097F, A8E0-A8FF        Bengali   0980-09FF       Thai 0E00-0E7F
//   Georgian  10A0-10FF, 2D00-2D2F        Hangul    1100-11FF, 3130-318F, A960-A97F, AC00-D7FF, FFA0-FFDC
//   Hiragana  3040-309F                   Katakana  30A0-30FF, 31F0-31FF, FF66-FF9F
//   Han       2E80-2FDF, 3005-3007, 3021-3029, 3038-303B, 3400-4DBF, 4E00-9FFF, F900-FAFF, 20000-3134F
//   anything else is Other. (A Latin-block letter is Latin whatever language uses it: "en" cannot be told
//   from "fr"; the reward measures script, as R1's mixing problem is between scripts.)
// Targets: "en"/"latin", "zh"/"han", "ja" (Han+Hiragana+Katakana), "ko"/"hangul" (Hangul+Han), "ru"/"cyrillic",
// "el"/"greek", "ar"/"arabic", "he"/"hebrew", "hi"/"devanagari", "th"/"thai", "hy", "ka", "bn",
// "hiragana", "katakana". Unknown targets throw r1::Error.
// Reward = target words / all words; no words (empty or missing think block, only digits) -> 0.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

enum class Script { Other, Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Bengali, Thai, Georgian,
                    Hangul, Hiragana, Katakana, Han };

Script script_of(int32_t codepoint);

// Scripts accepted for a target name (see above). Throws r1::Error for an unknown target.
std::vector<Script> target_scripts(const std::string& target);

struct WordCount {
  size_t total = 0;
  size_t in_target = 0;
};
// Counts the words of `text` (any UTF-8; invalid bytes break words and are skipped).
WordCount count_words(const std::string& text, const std::vector<Script>& target);

// Proportion of target-script words in `text` (0 when it has no words).
double language_fraction(const std::string& text, const std::string& target);

// The reward: language_fraction of the think block of `completion` (prefix prepended, see format.h);
// 0 when there is no closed think block.
double language_consistency_reward(const std::string& completion, const std::string& target,
                                   const std::string& prefix = "");

}  // namespace r1
