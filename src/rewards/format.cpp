#include "rewards/format.h"

namespace r1 {

namespace {
bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
size_t skip_ws(const std::string& s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}
bool has_non_ws(const std::string& s) {
  for (char c : s)
    if (!is_ws(c)) return true;
  return false;
}
bool starts_at(const std::string& s, size_t i, const char* lit) { return s.compare(i, std::char_traits<char>::length(lit), lit) == 0; }
}  // namespace

size_t count_occurrences(const std::string& hay, const std::string& needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

std::optional<R1Parts> parse_r1_format(const std::string& completion, const std::string& prefix) {
  const std::string s = prefix + completion;
  static const char* tags[] = {"<think>", "</think>", "<answer>", "</answer>"};
  for (const char* t : tags)
    if (count_occurrences(s, t) != 1) return std::nullopt;
  size_t i = skip_ws(s, 0);
  if (!starts_at(s, i, "<think>")) return std::nullopt;
  size_t think_begin = i + 7;
  size_t think_end = s.find("</think>", think_begin);
  if (think_end == std::string::npos) return std::nullopt;
  i = skip_ws(s, think_end + 8);
  if (!starts_at(s, i, "<answer>")) return std::nullopt;
  size_t ans_begin = i + 8;
  size_t ans_end = s.find("</answer>", ans_begin);
  if (ans_end == std::string::npos) return std::nullopt;
  if (skip_ws(s, ans_end + 9) != s.size()) return std::nullopt;
  R1Parts parts{s.substr(think_begin, think_end - think_begin), s.substr(ans_begin, ans_end - ans_begin)};
  if (!has_non_ws(parts.think) || !has_non_ws(parts.answer)) return std::nullopt;
  return parts;
}

double format_reward(const std::string& completion, const std::string& prefix) {
  return parse_r1_format(completion, prefix) ? 1.0 : 0.0;
}

double tag_count_reward(const std::string& completion, const std::string& prefix, bool with_newlines) {
  const std::string s = prefix + completion;
  static const char* bare[] = {"<think>", "</think>", "<answer>", "</answer>"};
  static const char* nl[] = {"<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"};
  double r = 0.0;
  for (int k = 0; k < 4; ++k)
    if (count_occurrences(s, with_newlines ? nl[k] : bare[k]) == 1) r += 0.25;
  return r;
}

std::optional<std::string> extract_think(const std::string& completion, const std::string& prefix) {
  const std::string s = prefix + completion;
  size_t b = s.find("<think>");
  if (b == std::string::npos) return std::nullopt;
  b += 7;
  size_t e = s.find("</think>", b);
  if (e == std::string::npos) return std::nullopt;
  return s.substr(b, e - b);
}

std::optional<std::string> extract_answer_block(const std::string& completion) {
  if (count_occurrences(completion, "<answer>") != 1) return std::nullopt;
  size_t b = completion.find("<answer>") + 8;
  size_t e = completion.find("</answer>", b);
  if (e == std::string::npos) return std::nullopt;
  return completion.substr(b, e - b);
}

long cot_chars(const std::string& completion, const std::string& prefix) {
  auto t = extract_think(completion, prefix);
  if (!t) return 0;
  const char* ws = " \t\n\r\v\f";
  size_t b = t->find_first_not_of(ws);
  if (b == std::string::npos) return 0;
  size_t e = t->find_last_not_of(ws);
  return (long)(e - b + 1);
}

}  // namespace r1
