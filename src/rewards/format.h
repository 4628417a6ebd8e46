// Format rewards for the R1 output structure  <think> reasoning </think> <answer> answer </answer>.
//
// The completion continues the R1-Zero prompt, which ends in "Assistant:". When the prompt itself already
// ends with "<think>" (some chat templates open the think block for the model), pass that text as
// `prefix`: it is prepended to the completion before any matching, so both prompt styles score alike.
//
// Whitespace rules (strict format): "whitespace" is ASCII space, \t, \n, \r, \v, \f. Any amount of it may
// come before <think>, between </think> and <answer>, and after </answer>. Nothing else may appear outside
// the two blocks. Each of the four tags appears exactly once in the whole text, and the think and answer
// blocks each hold at least one non-whitespace character (this is the regex
// \s*<think>(.+?)</think>\s*<answer>(.+?)</answer>\s* matched exactly once over the whole text, made
// stricter in one way: a block of only whitespace counts as empty).
// The caller strips special tokens such as <|endoftext|> before scoring (the sampler knows them).
#pragma once
#include <optional>
#include <string>

namespace r1 {

struct R1Parts {
  std::string think;   // text between <think> and </think>, untrimmed
  std::string answer;  // text between <answer> and </answer>, untrimmed
};

// The strict structure above; nullopt when the text does not match it.
std::optional<R1Parts> parse_r1_format(const std::string& completion, const std::string& prefix = "");

// 1.0 when parse_r1_format succeeds, else 0.0.
double format_reward(const std::string& completion, const std::string& prefix = "");

// Partial credit (open-r1's tag_count_reward): 0.25 for each of <think>, </think>, <answer>, </answer>
// that appears exactly once. open-r1 counts the tags with their newlines ("<think>\n", "\n</think>\n",
// "\n<answer>\n", "\n</answer>"); `with_newlines` = true reproduces that exactly. The default counts the bare
// tags, because the R1-Zero template puts spaces, not newlines, around them.
double tag_count_reward(const std::string& completion, const std::string& prefix = "",
                        bool with_newlines = false);

// The chain of thought: the text between the first <think> and the first </think> after it (prefix
// prepended first). nullopt when either tag is missing.
std::optional<std::string> extract_think(const std::string& completion, const std::string& prefix = "");

// Length of the chain of thought in characters (bytes): extract_think's text without surrounding whitespace; 0
// when there is no think block. The "chain of thought grows" measure of the R1-Zero runs.
long cot_chars(const std::string& completion, const std::string& prefix = "");

// The content of the single <answer>...</answer> block. nullopt when there is none, when the block is not
// closed, or when there are two or more <answer> tags (a model must not hedge with several answers).
std::optional<std::string> extract_answer_block(const std::string& completion);

// Occurrences of `needle` in `hay` (non-overlapping).
size_t count_occurrences(const std::string& hay, const std::string& needle);

}  // namespace r1
