// Tokenizer for normalised LaTeX answers (see parse.h): numbers (with thousands groups), single-letter
// identifiers, commands, \text{} words (units, "and"/"or", "percent" become operators) and operator characters.
#include "rewards/math/internal.h"

#include <unordered_set>

namespace r1::latex {
namespace {

using math::is_alpha;
using math::is_digit;
using math::to_lower;

const std::unordered_set<std::string>& unit_words() {
  static const std::unordered_set<std::string> u = {
      "unit",    "units",   "meter",  "meters",  "metre",  "metres", "cm",      "mm",      "km",     "inch",
      "inches",  "foot",    "feet",   "ft",      "yard",   "yards",  "yd",      "mile",    "miles",  "degree",
      "degrees", "deg",     "radian", "radians", "second", "seconds", "sec",    "minute",  "minutes", "min",
      "hour",    "hours",   "hr",     "hrs",     "day",    "days",   "week",    "weeks",   "month",  "months",
      "year",    "years",   "cent",   "cents",   "dollar", "dollars", "gram",   "grams",   "kg",     "pound",
      "pounds",  "lb",      "lbs",    "ounce",   "ounces", "oz",     "liter",   "liters",  "litre",  "litres",
      "ml",      "square",  "sq",     "cubic",   "mph",    "kmh",    "people",  "person",  "students", "ways",
      "times",   "m",       "g",      "s",       "h",      "l",      "in",      "km/h",    "mi",     "gallons",
      "gallon",  "euros",   "euro",   "points",  "point",  "apples", "marbles", "coins",   "pages",  "items"};
  return u;
}
// Single letters that are units only inside \text{} (in plain math they are variables).
bool unit_word_plain(const std::string& w) { return w.size() > 1 && w != "in" && unit_words().count(w); }

struct Lexer {
  std::vector<Tok> toks;
  bool ok = true;

  void emit_word(const std::string& w, bool in_text) {
    std::string lw = to_lower(w);
    if (lw == "and" || lw == "or") return toks.push_back({T::Op, ","});
    if (lw == "percent" || lw == "pct") return toks.push_back({T::Op, "%"});
    if (in_text ? unit_words().count(lw) > 0 : unit_word_plain(lw)) return toks.push_back({T::Op, "unit"});
    if (in_text) return toks.push_back({T::Text, w});
    for (char c : w) toks.push_back({T::Ident, std::string(1, c)});
  }

  void run(const std::string& s) {
    int paren = 0;  // depth of ( and [: commas inside are separators, never thousands marks
    size_t i = 0, n = s.size();
    while (i < n) {
      char c = s[i];
      if (c == ' ') {
        ++i;
        continue;
      }
      if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) {
        size_t j = i;
        std::string num;
        while (j < n && is_digit(s[j])) num += s[j++];
        // thousands groups: 1,000 / 1 000 (first group <= 3 digits, groups of exactly 3)
        if (!num.empty() && num.size() <= 3) {
          char sep = 0;
          while (j < n && (s[j] == ',' || s[j] == ' ')) {
            if (s[j] == ',' && paren > 0) break;
            if (sep && s[j] != sep) break;
            bool three = j + 3 < n && is_digit(s[j + 1]) && is_digit(s[j + 2]) && is_digit(s[j + 3]) &&
                         (j + 4 >= n || !is_digit(s[j + 4]));
            if (!three) break;
            sep = s[j];
            num += s.substr(j + 1, 3);
            j += 4;
          }
        }
        if (j < n && s[j] == '.' && j + 1 < n && is_digit(s[j + 1])) {
          num += '.';
          ++j;
          while (j < n && is_digit(s[j])) num += s[j++];
        }
        toks.push_back({T::Num, num});
        i = j;
        continue;
      }
      if (is_alpha(c)) {
        size_t j = i;
        while (j < n && is_alpha(s[j])) ++j;
        emit_word(s.substr(i, j - i), false);
        i = j;
        continue;
      }
      if (c == '\\') {
        if (i + 1 < n && !is_alpha(s[i + 1])) {
          char d = s[i + 1];
          if (d == '{' || d == '}') toks.push_back({T::Op, std::string("\\") + d});
          else if (d == '\\') toks.push_back({T::Op, "\\\\"});
          else if (d == '|') toks.push_back({T::Op, "|"});
          // other escaped symbols (\, \; were already removed) are ignored
          i += 2;
          continue;
        }
        size_t j = i + 1;
        while (j < n && is_alpha(s[j])) ++j;
        std::string name = s.substr(i + 1, j - i - 1);
        i = j;
        if (name.empty()) continue;  // lone backslash at end
        if (name == "text") {
          if (i < n && s[i] == '{') {
            size_t close = match_brace(s, i);
            if (close == std::string::npos) {
              ok = false;
              return;
            }
            std::string inner = s.substr(i + 1, close - i - 1);
            i = close + 1;
            // words inside \text: split on spaces
            size_t a = 0;
            std::vector<std::string> words;
            while (a < inner.size()) {
              while (a < inner.size() && inner[a] == ' ') ++a;
              size_t b = a;
              while (b < inner.size() && inner[b] != ' ') ++b;
              if (b > a) words.push_back(inner.substr(a, b - a));
              a = b;
            }
            bool all_special = !words.empty();
            for (auto& w : words) {
              std::string lw = to_lower(w);
              all_special = all_special && (lw == "and" || lw == "or" || lw == "percent" || unit_words().count(lw));
            }
            if (all_special) {
              for (auto& w : words) emit_word(w, true);
            } else if (inner.size() == 1 && is_alpha(inner[0])) {
              toks.push_back({T::Ident, inner});
            } else if (!inner.empty()) {
              toks.push_back({T::Text, inner});
            }
          }
          continue;
        }
        toks.push_back({T::Cmd, name});
        continue;
      }
      if (c == '(' || c == '[') ++paren;
      if ((c == ')' || c == ']') && paren > 0) --paren;
      toks.push_back({T::Op, std::string(1, c)});
      ++i;
    }
    toks.push_back({T::End, ""});
  }
};

}  // namespace

bool tokenize(const std::string& s, std::vector<Tok>& out) {
  Lexer lx;
  lx.run(s);
  out = std::move(lx.toks);
  return lx.ok;
}

}  // namespace r1::latex
