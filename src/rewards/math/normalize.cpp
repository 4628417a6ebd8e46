// LaTeX answer normalisation (see parse.h): normalize_latex() brings an extracted answer into one canonical
// spelling in stages (escaped backslashes, Unicode symbols, delimiters and sizing, text wrappers, thousands marks,
// spacing, degrees and relations, whitespace); loose_key() is the looser key of the cheap string comparison.
#include "rewards/math/internal.h"

#include <functional>
#include <unordered_set>

namespace r1::latex {

// Index of the '}' matching the '{' at `open` (skipping \\{ and \\}), or npos.
size_t match_brace(const std::string& s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++depth;
    else if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string::npos;
}

namespace {

using math::is_alpha;
using math::is_digit;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// Replaces command `cmd` (e.g. "\\left") only where it is not followed by a letter (so \le does not eat \left).
void replace_cmd(std::string& s, const std::string& cmd, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(cmd, pos)) != std::string::npos) {
    size_t e = pos + cmd.size();
    if (e < s.size() && is_alpha(s[e])) {
      pos = e;
      continue;
    }
    s.replace(pos, cmd.size(), to);
    pos += to.size();
  }
}

const std::unordered_set<std::string>& known_commands() {
  static const std::unordered_set<std::string> k = {
      "frac", "dfrac", "tfrac", "cfrac", "sqrt", "left", "right", "pi", "boxed", "fbox", "text", "textbf", "mathrm",
      "mbox", "cdot", "times", "div", "le", "ge", "leq", "geq", "neq", "ne", "infty", "pm", "mp", "sin", "cos", "tan",
      "cot", "sec", "csc", "ln", "log", "exp", "in", "cup", "cap", "alpha", "beta", "gamma", "delta", "theta",
      "lambda", "mu", "sigma", "omega", "phi", "begin", "end", "binom", "dbinom", "approx", "circ", "overrightarrow",
      "quad", "qquad", "mathbf", "operatorname", "lfloor", "rfloor", "lceil", "rceil", "emptyset", "varnothing"};
  return k;
}

// Replaces every `cmd{inner}` (cmd ends in '{') by rewrite(inner), left to right, stopping at an unclosed brace.
// True when something was replaced.
bool rewrite_braced(std::string& s, const std::string& cmd, const std::function<std::string(std::string)>& rewrite) {
  bool changed = false;
  size_t pos = 0;
  while ((pos = s.find(cmd, pos)) != std::string::npos) {
    size_t close = match_brace(s, pos + cmd.size() - 1);
    if (close == std::string::npos) break;
    std::string rep = rewrite(s.substr(pos + cmd.size(), close - pos - cmd.size()));
    s.replace(pos, close + 1 - pos, rep);
    pos += rep.size();
    changed = true;
  }
  return changed;
}

// Unwraps text-like wrappers to a canonical \text{...} (or plain content for single symbols).
void canon_text_wrappers(std::string& s) {
  static const char* text_cmds[] = {"\\textbf{", "\\textit{", "\\textrm{", "\\textnormal{", "\\textsf{", "\\texttt{",
                                    "\\mbox{",   "\\hbox{",   "\\text{"};
  static const char* math_cmds[] = {"\\mathrm{", "\\mathbf{", "\\mathit{", "\\mathsf{", "\\boldsymbol{", "\\bm{",
                                    "\\mathnormal{"};
  auto as_text = [](std::string inner) {
    size_t a = inner.find_first_not_of(" \t\n"), b = inner.find_last_not_of(" \t\n");
    inner = a == std::string::npos ? "" : inner.substr(a, b - a + 1);
    return inner.empty() ? std::string(" ") : " \\text{" + inner + "} ";
  };
  auto as_math = [](std::string inner) {
    bool word = inner.size() > 1;
    for (char ch : inner) word = word && is_alpha(ch);
    return word ? " \\text{" + inner + "} " : "{" + inner + "}";
  };
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (const char* c : text_cmds) changed |= rewrite_braced(s, c, as_text);
    for (const char* c : math_cmds) changed |= rewrite_braced(s, c, as_math);
    // \operatorname{lcm} -> \lcm
    size_t pos = 0;
    while ((pos = s.find("\\operatorname{", pos)) != std::string::npos) {
      size_t close = match_brace(s, pos + 13);
      if (close == std::string::npos) break;
      std::string rep = "\\" + s.substr(pos + 14, close - pos - 14) + " ";
      s.replace(pos, close + 1 - pos, rep);
      changed = true;
    }
    if (!changed) break;
  }
}

// Removes \boxed{...} / \fbox{...} wrappers (keeps their content).
void unwrap_boxed(std::string& s) {
  for (const char* c : {"\\boxed{", "\\fbox{"}) {
    std::string cmd = c;
    size_t pos;
    while ((pos = s.find(cmd)) != std::string::npos) {
      size_t close = match_brace(s, pos + cmd.size() - 1);
      if (close == std::string::npos) {
        s.erase(pos, cmd.size());
        continue;
      }
      s = s.substr(0, pos) + s.substr(pos + cmd.size(), close - pos - cmd.size()) + s.substr(close + 1);
    }
  }
}

// "\\frac" (an escaped backslash in JSON-ish text) -> "\frac" when a known command follows.
void unescape_commands(std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      size_t k = i;
      while (k < s.size() && s[k] == '\\') ++k;
      size_t j = k;
      while (j < s.size() && is_alpha(s[j])) ++j;
      // exactly two backslashes before a known command: an escaped "\\frac"
      bool drop = k - i == 2 && j > k && known_commands().count(s.substr(k, j - k));
      o.append(drop ? 1 : k - i, '\\');
      i = k - 1;
      continue;
    }
    o += s[i];
  }
  s.swap(o);
}

// Unicode symbols models like to print.
void replace_unicode(std::string& s) {
  replace_all(s, "\xe2\x88\x92", "-");             // minus sign
  replace_all(s, "\xe2\x80\x93", "-");             // en dash
  replace_all(s, "\xc2\xb0", "");                  // degree sign
  replace_all(s, "\xe2\x89\xa4", "\\leq ");        // ≤
  replace_all(s, "\xe2\x89\xa5", "\\geq ");        // ≥
  replace_all(s, "\xe2\x89\xa0", "\\neq ");        // ≠
  replace_all(s, "\xc2\xb1", "\\pm ");             // ±
  replace_all(s, "\xe2\x88\x9e", "\\infty ");      // ∞
  replace_all(s, "\xcf\x80", "\\pi ");             // π
  replace_all(s, "\xc3\x97", "\\times ");          // ×
  replace_all(s, "\xc2\xb7", "\\cdot ");           // ·
  replace_all(s, "\xe2\x88\x9a", "\\sqrt");        // √
  replace_all(s, "\xc2\xb2", "^2");                // ²
  replace_all(s, "\xc2\xb3", "^3");                // ³
  replace_all(s, "\xe2\x88\xaa", "\\cup ");        // ∪
  replace_all(s, "\xe2\x88\x88", "\\in ");         // ∈
}

// Math delimiters, sizing commands and variant spellings (\dfrac -> \frac, \dbinom -> \binom).
void strip_delimiters(std::string& s) {
  replace_all(s, "\\$", " ");
  replace_all(s, "$", " ");
  replace_all(s, "\\(", " ");
  replace_all(s, "\\)", " ");
  replace_all(s, "\\[", " ");
  replace_all(s, "\\]", " ");
  for (const char* c : {"\\displaystyle", "\\textstyle", "\\limits", "\\nolimits", "\\middle"}) replace_cmd(s, c, " ");
  replace_all(s, "\\left.", " ");
  replace_all(s, "\\right.", " ");
  for (const char* c : {"\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\biggl", "\\biggr", "\\big",
                        "\\Big", "\\bigg", "\\Bigg"})
    replace_cmd(s, c, "");
  for (const char* c : {"\\dfrac", "\\tfrac", "\\cfrac"}) replace_cmd(s, c, "\\frac");
  for (const char* c : {"\\dbinom", "\\tbinom"}) replace_cmd(s, c, "\\binom");
}

// Three digits at e and no fourth: the group after a thousands mark.
bool thousands_group_at(const std::string& s, size_t e) {
  return e + 2 < s.size() && is_digit(s[e]) && is_digit(s[e + 1]) && is_digit(s[e + 2]) &&
         (e + 3 >= s.size() || !is_digit(s[e + 3]));
}

// Thousands marks: "14{,}916", "11,\\! 111".
void remove_thousands_marks(std::string& s) {
  // "{,}" / "{, }" with any spaces around -> ","
  size_t pos = 0;
  while ((pos = s.find('{', pos)) != std::string::npos) {
    size_t k = pos + 1;
    while (k < s.size() && s[k] == ' ') ++k;
    if (k < s.size() && s[k] == ',') {
      size_t m = k + 1;
      while (m < s.size() && s[m] == ' ') ++m;
      if (m < s.size() && s[m] == '}') {
        size_t b = pos, e = m + 1;
        while (b > 0 && s[b - 1] == ' ') --b;
        while (e < s.size() && s[e] == ' ') ++e;
        // an explicit thousands mark between digits disappears ("14{,}916" -> "14916")
        bool digits = b > 0 && is_digit(s[b - 1]) && thousands_group_at(s, e);
        s.replace(b, e - b, digits ? "" : ",");
        pos = b + (digits ? 0 : 1);
        continue;
      }
    }
    ++pos;
  }
  pos = 0;
  while ((pos = s.find(",\\!", pos)) != std::string::npos) {
    size_t e = pos + 3;
    while (e < s.size() && s[e] == ' ') ++e;
    bool digits = pos > 0 && is_digit(s[pos - 1]) && thousands_group_at(s, e);
    s.replace(pos, e - pos, digits ? "" : ",");
    pos += digits ? 0 : 1;
  }
}

// Spacing commands and escapes \! \, \; \: \> "\ " and ~, leaving the row separator "\\\\" alone.
void remove_spacing(std::string& s) {
  for (const char* c : {"\\qquad", "\\quad", "\\enspace", "\\thinspace", "\\negthinspace"}) replace_all(s, c, " ");
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char d = s[i + 1];
      if (d == '\\') {
        o += "\\\\";
        ++i;
        continue;
      }
      if (d == '!') {
        ++i;
        continue;
      }
      if (d == ',' || d == ';' || d == ':' || d == '>' || d == ' ') {
        o += ' ';
        ++i;
        continue;
      }
    }
    o += s[i] == '~' ? ' ' : s[i];
  }
  s.swap(o);
}

// Degrees, \% and \#; ASCII relations -> commands.
void canon_symbols(std::string& s) {
  for (const char* c : {"^{\\circ}", "^{\\circ }", "^{ \\circ }", "^\\circ", "^{\\degree}", "^\\degree"})
    replace_all(s, c, " ");
  replace_cmd(s, "\\circ", " ");
  replace_cmd(s, "\\degree", " ");
  replace_all(s, "\\%", "%");
  replace_all(s, "\\#", " ");
  // ASCII relations -> commands.
  replace_all(s, ">=", "\\geq ");
  replace_all(s, "<=", "\\leq ");
  replace_all(s, "!=", "\\neq ");
  replace_cmd(s, "\\geqslant", "\\geq ");
  replace_cmd(s, "\\leqslant", "\\leq ");
  replace_cmd(s, "\\ge", "\\geq ");
  replace_cmd(s, "\\le", "\\leq ");
  replace_cmd(s, "\\ne", "\\neq ");
  replace_cmd(s, "\\gt", ">");
  replace_cmd(s, "\\lt", "<");
}

// Whitespace: collapse, trim, drop trailing punctuation.
std::string collapse_whitespace(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    if (c == ' ' && (o.empty() || o.back() == ' ')) continue;
    o += c;
  }
  while (!o.empty()) {
    char b = o.back();
    if (b == ' ' || b == ',' || b == ';') {
      o.pop_back();
      continue;
    }
    // trailing '.', but not a decimal point "5." is still 5; "\ldots" stays.
    if (b == '.' && !(o.size() >= 3 && o.compare(o.size() - 3, 3, "...") == 0)) {
      o.pop_back();
      continue;
    }
    if (o.size() >= 7 && o.compare(o.size() - 7, 7, "\\text{}") == 0) {
      o.resize(o.size() - 7);
      continue;
    }
    break;
  }
  size_t a = o.find_first_not_of(' ');
  return a == std::string::npos ? std::string() : o.substr(a);
}

}  // namespace

std::string normalize_latex(const std::string& raw) {
  std::string s = raw;
  unescape_commands(s);
  replace_unicode(s);
  unwrap_boxed(s);
  strip_delimiters(s);
  canon_text_wrappers(s);
  remove_thousands_marks(s);
  remove_spacing(s);
  canon_symbols(s);
  return collapse_whitespace(s);
}

std::string loose_key(const std::string& n) {
  std::string s = n;
  replace_all(s, "\\text{", "{");
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ') continue;
    // x^{2} -> x^2, 52_{8} -> 52_8
    if ((c == '^' || c == '_') && i + 3 < s.size() + 1 && i + 2 < s.size() && s[i + 1] == '{' && i + 3 < s.size() &&
        s[i + 3] == '}') {
      o += c;
      o += s[i + 2];
      i += 3;
      continue;
    }
    o += c;
  }
  // drop braces that wrap the whole key ("{Evelyn}" -> "Evelyn")
  while (o.size() >= 2 && o.front() == '{' && match_brace(o, 0) == o.size() - 1) o = o.substr(1, o.size() - 2);
  return o;
}

}  // namespace r1::latex
