#include "rewards/language.h"

#include "core/check.h"
#include "rewards/format.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>

namespace r1 {

namespace {
struct Range {
  int32_t lo, hi;
  Script s;
};
// Sorted, non-overlapping code point ranges (see the table in language.h).
const Range kRanges[] = {
    {0x0041, 0x005A, Script::Latin},      {0x0061, 0x007A, Script::Latin},      {0x00AA, 0x00AA, Script::Latin},
    {0x00BA, 0x00BA, Script::Latin},      {0x00C0, 0x024F, Script::Latin},      {0x0250, 0x02AF, Script::Latin},
    {0x0370, 0x03FF, Script::Greek},      {0x0400, 0x052F, Script::Cyrillic},   {0x0530, 0x058F, Script::Armenian},
    {0x0590, 0x05FF, Script::Hebrew},     {0x0600, 0x06FF, Script::Arabic},     {0x0750, 0x077F, Script::Arabic},
    {0x0870, 0x08FF, Script::Arabic},     {0x0900, 0x097F, Script::Devanagari}, {0x0980, 0x09FF, Script::Bengali},
    {0x0E00, 0x0E7F, Script::Thai},       {0x10A0, 0x10FF, Script::Georgian},   {0x1100, 0x11FF, Script::Hangul},
    {0x1C80, 0x1C8F, Script::Cyrillic},   {0x1D00, 0x1DBF, Script::Latin},      {0x1E00, 0x1EFF, Script::Latin},
    {0x1F00, 0x1FFF, Script::Greek},      {0x2C60, 0x2C7F, Script::Latin},      {0x2D00, 0x2D2F, Script::Georgian},
    {0x2DE0, 0x2DFF, Script::Cyrillic},   {0x2E80, 0x2FDF, Script::Han},        {0x3005, 0x3007, Script::Han},
    {0x3021, 0x3029, Script::Han},        {0x3038, 0x303B, Script::Han},        {0x3040, 0x309F, Script::Hiragana},
    {0x30A0, 0x30FF, Script::Katakana},   {0x3130, 0x318F, Script::Hangul},     {0x31F0, 0x31FF, Script::Katakana},
    {0x3400, 0x4DBF, Script::Han},        {0x4E00, 0x9FFF, Script::Han},        {0xA640, 0xA69F, Script::Cyrillic},
    {0xA720, 0xA7FF, Script::Latin},      {0xA8E0, 0xA8FF, Script::Devanagari}, {0xA960, 0xA97F, Script::Hangul},
    {0xAB30, 0xAB6F, Script::Latin},      {0xAC00, 0xD7FF, Script::Hangul},     {0xF900, 0xFAFF, Script::Han},
    {0xFB1D, 0xFB4F, Script::Hebrew},     {0xFB50, 0xFDFF, Script::Arabic},     {0xFE70, 0xFEFF, Script::Arabic},
    {0xFF21, 0xFF3A, Script::Latin},      {0xFF41, 0xFF5A, Script::Latin},      {0xFF66, 0xFF9F, Script::Katakana},
    {0xFFA0, 0xFFDC, Script::Hangul},     {0x20000, 0x3134F, Script::Han},
};

bool is_letter(utf8proc_category_t c) {
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}
bool is_mark(utf8proc_category_t c) {
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}
}  // namespace

Script script_of(int32_t cp) {
  const Range* end = kRanges + sizeof(kRanges) / sizeof(kRanges[0]);
  const Range* r = std::upper_bound(kRanges, end, cp, [](int32_t v, const Range& x) { return v < x.lo; });
  if (r == kRanges) return Script::Other;
  --r;
  return cp <= r->hi ? r->s : Script::Other;
}

std::vector<Script> target_scripts(const std::string& target) {
  std::string t;
  for (char c : target) t += (char)std::tolower((unsigned char)c);
  if (t == "en" || t == "latin") return {Script::Latin};
  if (t == "zh" || t == "han") return {Script::Han};
  if (t == "ja") return {Script::Han, Script::Hiragana, Script::Katakana};
  if (t == "ko" || t == "hangul") return {Script::Hangul, Script::Han};
  if (t == "ru" || t == "cyrillic") return {Script::Cyrillic};
  if (t == "el" || t == "greek") return {Script::Greek};
  if (t == "ar" || t == "arabic") return {Script::Arabic};
  if (t == "he" || t == "hebrew") return {Script::Hebrew};
  if (t == "hi" || t == "devanagari") return {Script::Devanagari};
  if (t == "th" || t == "thai") return {Script::Thai};
  if (t == "hy" || t == "armenian") return {Script::Armenian};
  if (t == "ka" || t == "georgian") return {Script::Georgian};
  if (t == "bn" || t == "bengali") return {Script::Bengali};
  if (t == "hiragana") return {Script::Hiragana};
  if (t == "katakana") return {Script::Katakana};
  fail("language reward: unknown target '", target,
       "' (expected en/latin, zh/han, ja, ko/hangul, ru/cyrillic, el/greek, ar/arabic, he/hebrew, hi/devanagari, "
       "th/thai, hy, ka, bn, hiragana, katakana)");
}

WordCount count_words(const std::string& text, const std::vector<Script>& target) {
  WordCount wc;
  auto in_target = [&](Script s) { return std::find(target.begin(), target.end(), s) != target.end(); };
  bool in_word = false;
  Script word_script = Script::Other;
  auto start_word = [&](Script s) {
    in_word = true;
    word_script = s;
    ++wc.total;
    if (in_target(s)) ++wc.in_target;
  };
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = (utf8proc_ssize_t)text.size();
  while (left > 0) {
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: skip it, it ends any word
      in_word = false;
      ++p;
      --left;
      continue;
    }
    p += n;
    left -= n;
    utf8proc_category_t cat = utf8proc_category(cp);
    if (is_letter(cat)) {
      Script s = script_of(cp);
      if (s == Script::Han) {
        start_word(s);  // each ideograph is one word
        in_word = false;
      } else if (!in_word || s != word_script) {
        start_word(s);
      }
    } else if (is_mark(cat)) {
      // a combining mark continues the current word; a stray mark is not a word
    } else {
      in_word = false;
    }
  }
  return wc;
}

double language_fraction(const std::string& text, const std::string& target) {
  WordCount wc = count_words(text, target_scripts(target));
  return wc.total == 0 ? 0.0 : (double)wc.in_target / (double)wc.total;
}

double language_consistency_reward(const std::string& completion, const std::string& target,
                                   const std::string& prefix) {
  std::vector<Script> scripts = target_scripts(target);  // validate the target even when there is no think
  auto think = extract_think(completion, prefix);
  if (!think) return 0.0;
  WordCount wc = count_words(*think, scripts);
  return wc.total == 0 ? 0.0 : (double)wc.in_target / (double)wc.total;
}

}  // namespace r1
