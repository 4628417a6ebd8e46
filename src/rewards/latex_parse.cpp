// LaTeX answer normaliser, tokenizer and recursive-descent parser (see latex_parse.h).
#include "rewards/latex_parse.h"

#include <cctype>
#include <cstring>
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

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

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

// Unwraps text-like wrappers to a canonical \text{...} (or plain content for single symbols).
void canon_text_wrappers(std::string& s) {
  static const char* text_cmds[] = {"\\textbf{", "\\textit{", "\\textrm{", "\\textnormal{", "\\textsf{", "\\texttt{",
                                    "\\mbox{",   "\\hbox{",   "\\text{"};
  static const char* math_cmds[] = {"\\mathrm{", "\\mathbf{", "\\mathit{", "\\mathsf{", "\\boldsymbol{", "\\bm{",
                                    "\\mathnormal{"};
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (const char* c : text_cmds) {
      size_t pos = 0;
      std::string cmd = c;
      while ((pos = s.find(cmd, pos)) != std::string::npos) {
        size_t close = match_brace(s, pos + cmd.size() - 1);
        if (close == std::string::npos) break;
        std::string inner = s.substr(pos + cmd.size(), close - pos - cmd.size());
        // trim
        size_t a = inner.find_first_not_of(" \t\n"), b = inner.find_last_not_of(" \t\n");
        inner = a == std::string::npos ? "" : inner.substr(a, b - a + 1);
        std::string rep = inner.empty() ? " " : " \\text{" + inner + "} ";
        if (cmd == "\\text{" && rep == s.substr(pos, close + 1 - pos)) {
          pos = close + 1;
          continue;
        }
        s.replace(pos, close + 1 - pos, rep);
        pos += rep.size();
        changed = true;
      }
    }
    for (const char* c : math_cmds) {
      size_t pos = 0;
      std::string cmd = c;
      while ((pos = s.find(cmd, pos)) != std::string::npos) {
        size_t close = match_brace(s, pos + cmd.size() - 1);
        if (close == std::string::npos) break;
        std::string inner = s.substr(pos + cmd.size(), close - pos - cmd.size());
        bool word = inner.size() > 1;
        for (char ch : inner) word = word && is_alpha(ch);
        std::string rep = word ? " \\text{" + inner + "} " : "{" + inner + "}";
        s.replace(pos, close + 1 - pos, rep);
        pos += rep.size();
        changed = true;
      }
    }
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

}  // namespace

std::string normalize_latex(const std::string& raw) {
  std::string s = raw;
  // "\\frac" (an escaped backslash in JSON-ish text) -> "\frac" when a known command follows.
  {
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
  unwrap_boxed(s);
  // Math delimiters and sizing commands.
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
  canon_text_wrappers(s);
  // Thousands marks: "14{,}916", "11,\! 111".
  {
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
          bool digits = b > 0 && is_digit(s[b - 1]) && e + 2 < s.size() && is_digit(s[e]) && is_digit(s[e + 1]) &&
                        is_digit(s[e + 2]) && (e + 3 >= s.size() || !is_digit(s[e + 3]));
          s.replace(b, e - b, digits ? "" : ",");
          pos = b + (digits ? 0 : 1);
          continue;
        }
      }
      ++pos;
    }
  }
  {
    size_t pos = 0;
    while ((pos = s.find(",\\!", pos)) != std::string::npos) {
      size_t e = pos + 3;
      while (e < s.size() && s[e] == ' ') ++e;
      bool digits = pos > 0 && is_digit(s[pos - 1]) && e + 2 < s.size() && is_digit(s[e]) && is_digit(s[e + 1]) &&
                    is_digit(s[e + 2]) && (e + 3 >= s.size() || !is_digit(s[e + 3]));
      s.replace(pos, e - pos, digits ? "" : ",");
      pos += digits ? 0 : 1;
    }
  }
  for (const char* c : {"\\qquad", "\\quad", "\\enspace", "\\thinspace", "\\negthinspace"}) replace_all(s, c, " ");
  {
    // spacing escapes \! \, \; \: \> "\ " and ~, leaving the row separator "\\\\" alone
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
  // Degrees.
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
  // Whitespace: collapse, trim, drop trailing punctuation.
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

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer
namespace {

enum class T { Num, Ident, Cmd, Text, Op, End };
struct Tok {
  T t;
  std::string v;
};

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

std::string lower(std::string w) {
  for (char& c : w) c = (char)std::tolower((unsigned char)c);
  return w;
}

struct Lexer {
  std::vector<Tok> toks;
  bool ok = true;

  void emit_word(const std::string& w, bool in_text) {
    std::string lw = lower(w);
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
              std::string lw = lower(w);
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

bool is_func_name(const std::string& n) {
  static const std::unordered_set<std::string> f = {
      "sin",  "cos",  "tan",    "cot",    "sec",    "csc",  "arcsin", "arccos", "arctan", "sinh", "cosh",
      "tanh", "ln",   "log",    "exp",    "lg",     "gcd",  "lcm",    "max",    "min",    "det",  "arg"};
  return f.count(n) > 0;
}

Node mk(Node::Kind k, std::vector<Node> ch = {}, std::string s = {}) {
  Node n;
  n.kind = k;
  n.ch = std::move(ch);
  n.s = std::move(s);
  return n;
}

struct ParseFail {
  std::string why;
};

struct Parser {
  std::vector<Tok> t;
  size_t p = 0;
  int depth = 0;
  int abs_depth = 0;

  const Tok& peek(size_t k = 0) const { return t[std::min(p + k, t.size() - 1)]; }
  bool is_op(const char* v, size_t k = 0) const { return peek(k).t == T::Op && peek(k).v == v; }
  bool is_cmd(const char* v, size_t k = 0) const { return peek(k).t == T::Cmd && peek(k).v == v; }
  [[noreturn]] void fail(const std::string& why) { throw ParseFail{why}; }
  void expect_op(const char* v) {
    if (!is_op(v)) fail(std::string("expected '") + v + "'");
    ++p;
  }
  struct DepthGuard {
    Parser& ps;
    explicit DepthGuard(Parser& q) : ps(q) {
      if (++ps.depth > 64) ps.fail("nesting too deep");
    }
    ~DepthGuard() { --ps.depth; }
  };

  bool at_stop(const std::vector<std::string>& stops) const {
    const Tok& k = peek();
    if (k.t == T::End) return true;
    if (k.t == T::Op)
      for (auto& s : stops)
        if (k.v == s) return true;
    if (k.t == T::Cmd && k.v == "end") return true;
    return false;
  }

  // items separated by , ; (empty items skipped)
  std::vector<Node> parse_list(const std::vector<std::string>& stops) {
    std::vector<Node> items;
    while (true) {
      while (is_op(",") || is_op(";")) ++p;
      if (at_stop(stops)) break;
      items.push_back(parse_item(stops));
      if (!(is_op(",") || is_op(";"))) break;
    }
    return items;
  }

  static const char* rel_of(const Tok& k) {
    if (k.t == T::Op) {
      if (k.v == "=") return "=";
      if (k.v == "<") return "<";
      if (k.v == ">") return ">";
    } else if (k.t == T::Cmd) {
      if (k.v == "leq") return "<=";
      if (k.v == "geq") return ">=";
      if (k.v == "neq") return "!=";
      if (k.v == "approx" || k.v == "sim" || k.v == "simeq") return "~";
      if (k.v == "in") return "in";
      if (k.v == "equiv") return "=";
    }
    return nullptr;
  }

  Node parse_item(const std::vector<std::string>& stops) {
    DepthGuard g(*this);
    Node first = parse_setexpr();
    if (!rel_of(peek())) return first;
    Node r = mk(Node::Rel, {first});
    while (const char* op = rel_of(peek())) {
      ++p;
      r.ops.push_back(op);
      r.ch.push_back(parse_setexpr());
    }
    return r;
  }

  Node parse_setexpr() {
    Node a = parse_arith();
    while (is_cmd("cup") || is_cmd("cap") || is_cmd("setminus")) {
      std::string op = peek().v;
      ++p;
      Node b = parse_arith();
      Node::Kind k = op == "cap" ? Node::Inter : Node::Union;
      if (op == "setminus") {
        a = mk(Node::Func, {a, b}, "setminus");
        continue;
      }
      if (a.kind == k) a.ch.push_back(b);
      else a = mk(k, {a, b});
    }
    return a;
  }

  static void add_term(Node& acc, Node t) {
    if (acc.kind == Node::Add) acc.ch.push_back(std::move(t));
    else acc = mk(Node::Add, {acc, std::move(t)});
  }

  Node parse_arith() {
    DepthGuard g(*this);
    Node acc;
    if (is_cmd("pm") || is_cmd("mp")) {
      bool mp = is_cmd("mp");
      ++p;
      Node t = parse_mul();
      acc = mk(Node::PM, {mk(Node::Empty), mp ? mk(Node::Neg, {t}) : t});
    } else {
      acc = parse_mul();
    }
    while (true) {
      if (is_op("+")) {
        ++p;
        add_term(acc, parse_mul());
      } else if (is_op("-")) {
        ++p;
        add_term(acc, mk(Node::Neg, {parse_mul()}));
      } else if (is_cmd("pm") || is_cmd("mp")) {
        bool mp = is_cmd("mp");
        ++p;
        Node t = parse_mul();
        acc = mk(Node::PM, {acc, mp ? mk(Node::Neg, {t}) : t});
      } else {
        break;
      }
    }
    return acc;
  }

  bool starts_primary() const {
    const Tok& k = peek();
    switch (k.t) {
      case T::Num:
      case T::Ident:
      case T::Text: return true;
      case T::Cmd:
        return !(rel_of(k) || k.v == "cup" || k.v == "cap" || k.v == "setminus" || k.v == "pm" || k.v == "mp" ||
                 k.v == "cdot" || k.v == "times" || k.v == "div" || k.v == "end" || k.v == "rfloor" ||
                 k.v == "rceil" || k.v == "to" || k.v == "ldots" || k.v == "dots" || k.v == "cdots");
      case T::Op: return k.v == "(" || k.v == "\\{" || (k.v == "|" && abs_depth == 0) || k.v == "{";
      default: return false;
    }
  }

  static bool is_int_num(const Node& n) { return n.kind == Node::Num && n.s.find('.') == std::string::npos; }

  Node parse_mul() {
    DepthGuard g(*this);
    Node f = parse_unary();
    while (true) {
      if (is_op("*") || is_cmd("cdot") || is_cmd("times")) {
        ++p;
        Node b = parse_unary();
        if (f.kind == Node::Mul) f.ch.push_back(b);
        else f = mk(Node::Mul, {f, b});
      } else if (is_op("/") || is_cmd("div")) {
        ++p;
        f = mk(Node::Div, {f, parse_unary()});
      } else if (starts_primary()) {
        bool frac_next = is_cmd("frac");
        Node b = parse_power();
        // mixed number: 1\frac{4}{5} = 9/5
        if (frac_next && is_int_num(f) && b.kind == Node::Div && is_int_num(b.ch[0]) && is_int_num(b.ch[1])) {
          f = mk(Node::Add, {f, b});
          continue;
        }
        if (f.kind == Node::Mul) f.ch.push_back(b);
        else f = mk(Node::Mul, {f, b});
      } else {
        break;
      }
    }
    return f;
  }

  Node parse_unary() {
    DepthGuard g(*this);
    if (is_op("-")) {
      ++p;
      return mk(Node::Neg, {parse_unary()});
    }
    if (is_op("+")) {
      ++p;
      return parse_unary();
    }
    return parse_power();
  }

  // exponent: {group} | single token (digits split: x^23 in TeX is x^2 3, but people mean x^{23}: keep the number)
  Node parse_exponent() {
    DepthGuard g(*this);
    if (is_op("{")) return parse_group();
    if (is_op("-")) {
      ++p;
      return mk(Node::Neg, {parse_exponent()});
    }
    return parse_postfix();
  }

  Node parse_power() {
    DepthGuard g(*this);
    Node b = parse_postfix();
    if (is_op("^")) {
      ++p;
      Node e = parse_exponent();
      // right associative: a^b^c = a^(b^c)
      if (is_op("^")) {
        ++p;
        Node e2 = parse_exponent();
        e = mk(Node::Pow, {e, e2});
      }
      b = mk(Node::Pow, {b, e});
      b = parse_postfix_ops(b);
    }
    return b;
  }

  Node parse_postfix() {
    Node x = parse_primary();
    return parse_postfix_ops(x);
  }

  Node parse_postfix_ops(Node x) {
    while (true) {
      if (is_op("!")) {
        ++p;
        x = mk(Node::Func, {x}, "factorial");
      } else if (is_op("%")) {
        ++p;
        x = mk(Node::Percent, {x});
      } else if (is_op("'")) {
        ++p;
        if (x.kind == Node::Sym) x.s += "'";
      } else if (is_op("unit")) {
        ++p;
        // a unit may carry a power: cm^2
        if (is_op("^")) {
          ++p;
          parse_exponent();
        }
      } else if (is_op("_")) {
        ++p;
        std::string sub = subscript_text();
        if (x.kind == Node::Sym || x.kind == Node::Num) x = mk(Node::Sym, {}, x.s + "_" + sub);
        else if (x.kind == Node::Func && x.s == "log_base_pending") x.s = "log_" + sub;
        else fail("subscript on a non-symbol");
      } else {
        break;
      }
    }
    return x;
  }

  // Text of a subscript: _1, _{10}, _{n+1}
  std::string subscript_text() {
    std::string out;
    if (is_op("{")) {
      ++p;
      int d = 1;
      while (peek().t != T::End) {
        if (is_op("{")) ++d;
        if (is_op("}") && --d == 0) break;
        out += peek().t == T::Cmd ? "\\" + peek().v : peek().v;
        ++p;
      }
      expect_op("}");
      return out;
    }
    const Tok& k = peek();
    if (k.t == T::End) fail("empty subscript");
    out = k.t == T::Cmd ? "\\" + k.v : k.v;
    if (k.t == T::Num && out.size() > 1) {  // TeX: x_12 is x_1 2; keep the whole number as people mean x_{12}
    }
    ++p;
    return out;
  }

  Node parse_group() {  // '{' list '}'
    DepthGuard g(*this);
    expect_op("{");
    std::vector<Node> items = parse_list({"}"});
    expect_op("}");
    if (items.empty()) return mk(Node::Empty);
    if (items.size() == 1) return items[0];
    return mk(Node::List, items);
  }

  // A macro argument: {group} or a single token (a multi-digit number gives its first digit: \frac12).
  Node parse_arg() {
    DepthGuard g(*this);
    if (is_op("{")) return parse_group();
    Tok& k = t[std::min(p, t.size() - 1)];
    if (k.t == T::Num && k.v.size() > 1 && is_digit(k.v[0])) {
      std::string first(1, k.v[0]);
      k.v = k.v.substr(1);
      if (!k.v.empty() && k.v[0] == '.') k.v = "0" + k.v;
      return mk(Node::Num, {}, first);
    }
    if (k.t == T::End) fail("missing argument");
    return parse_primary();
  }

  Node parse_bracketed(const std::string& open) {
    DepthGuard g(*this);
    std::vector<std::string> stops = {")", "]"};
    std::vector<Node> items = parse_list(stops);
    if (!(is_op(")") || is_op("]"))) fail("unclosed " + open);
    std::string close = peek().v;
    ++p;
    if (items.size() == 1 && open == "(" && close == ")") return items[0];
    if (items.size() == 1 && open == "[" && close == "]") return items[0];
    if (items.size() < 2) fail("bad bracket group");
    Node tpl = mk(Node::Tuple, items, open + close);
    return tpl;
  }

  Node parse_matrix() {
    DepthGuard g(*this);
    // \begin{name} already consumed up to name
    std::vector<std::vector<Node>> rows(1);
    while (true) {
      if (peek().t == T::End) fail("unclosed matrix");
      if (is_cmd("end")) {
        ++p;
        if (is_op("{")) {
          while (!is_op("}") && peek().t != T::End) ++p;
          expect_op("}");
        }
        break;
      }
      if (is_op("&")) {
        ++p;
        if (rows.back().empty()) rows.back().push_back(mk(Node::Empty));
        continue;
      }
      if (is_op("\\\\")) {
        ++p;
        rows.emplace_back();
        continue;
      }
      rows.back().push_back(parse_item({"&", "\\\\"}));
    }
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    if (rows.empty()) fail("empty matrix");
    size_t cols = rows[0].size();
    Node m = mk(Node::Matrix);
    for (auto& r : rows) {
      if (r.size() != cols) fail("ragged matrix");
      for (auto& c : r) {
        if (c.kind == Node::Empty) fail("empty matrix cell");
        m.ch.push_back(c);
      }
    }
    m.rows = (int)rows.size();
    m.cols = (int)cols;
    return m;
  }

  Node parse_primary() {
    DepthGuard g(*this);
    const Tok k = peek();
    switch (k.t) {
      case T::Num: ++p; return mk(Node::Num, {}, k.v);
      case T::Ident: ++p; return mk(Node::Sym, {}, k.v);
      case T::Text: ++p; return mk(Node::Text, {}, k.v);
      case T::End: fail("unexpected end");
      case T::Op: {
        if (k.v == "(" || k.v == "[") {
          ++p;
          return parse_bracketed(k.v);
        }
        if (k.v == "\\{") {
          ++p;
          std::vector<Node> items = parse_list({"\\}"});
          expect_op("\\}");
          return mk(Node::Set, items);
        }
        if (k.v == "{") return parse_group();
        if (k.v == "|" && abs_depth == 0) {
          ++p;
          ++abs_depth;
          Node x = parse_arith();
          --abs_depth;
          expect_op("|");
          return mk(Node::Func, {x}, "abs");
        }
        fail("unexpected '" + k.v + "'");
      }
      case T::Cmd: break;
    }
    ++p;
    const std::string& c = k.v;
    if (c == "frac") {
      Node a = parse_arg();
      Node b = parse_arg();
      return mk(Node::Div, {a, b});
    }
    if (c == "sqrt") {
      if (is_op("[")) {
        ++p;
        Node idx = parse_arith();
        expect_op("]");
        Node x = parse_arg();
        return mk(Node::Func, {x, idx}, "root");
      }
      return mk(Node::Func, {parse_arg()}, "sqrt");
    }
    if (c == "binom") {
      Node a = parse_arg();
      Node b = parse_arg();
      return mk(Node::Func, {a, b}, "binomial");
    }
    if (c == "pi") return mk(Node::Const, {}, "pi");
    if (c == "infty" || c == "infinity") return mk(Node::Const, {}, "inf");
    if (c == "emptyset" || c == "varnothing") return mk(Node::Set);
    if (c == "lfloor" || c == "lceil") {
      Node x = parse_arith();
      if (!(is_cmd("rfloor") || is_cmd("rceil"))) fail("unclosed floor/ceil");
      ++p;
      return mk(Node::Func, {x}, c == "lfloor" ? "floor" : "ceil");
    }
    if (c == "begin") {
      std::string env;
      if (is_op("{")) {
        ++p;
        while (!is_op("}") && peek().t != T::End) env += peek().v, ++p;
        expect_op("}");
      }
      if (env.find("matrix") == std::string::npos && env != "array") fail("unsupported environment " + env);
      if (env == "array" && is_op("{")) {  // column spec
        while (!is_op("}") && peek().t != T::End) ++p;
        expect_op("}");
      }
      return parse_matrix();
    }
    if (c == "overline" || c == "vec" || c == "hat" || c == "bar" || c == "overrightarrow" || c == "widehat" ||
        c == "tilde" || c == "mathbb" || c == "mathcal") {
      Node x = parse_arg();
      return mk(Node::Sym, {}, "\\" + c + "{" + to_string(x) + "}");
    }
    if (is_func_name(c)) {
      Node f = mk(Node::Func, {}, c);
      Node power;
      bool has_pow = false;
      if (c == "log" && is_op("_")) {
        ++p;
        f.s = "log_" + subscript_text();
      }
      if (is_op("^")) {
        ++p;
        power = parse_exponent();
        has_pow = true;
      }
      if (is_op("(")) {
        ++p;
        std::vector<Node> args = parse_list({")"});
        expect_op(")");
        f.ch = args;
      } else {
        f.ch = {parse_power()};
      }
      if (f.ch.empty()) fail("function without argument");
      if (has_pow) {
        // \sin^{-1} x is arcsin
        if (power.kind == Node::Neg && power.ch[0].kind == Node::Num && power.ch[0].s == "1") {
          f.s = "arc" + f.s;
          return f;
        }
        return mk(Node::Pow, {f, power});
      }
      return f;
    }
    // any other command: a symbol (\alpha, \theta, \triangle...)
    return mk(Node::Sym, {}, "\\" + c);
  }
};

}  // namespace

ParseResult parse_answer(const std::string& normalized) {
  ParseResult r;
  if (normalized.size() > 4000) {
    r.error = "answer too long to parse";
    return r;
  }
  Lexer lx;
  lx.run(normalized);
  if (!lx.ok) {
    r.error = "unbalanced \\text{";
    return r;
  }
  Parser ps;
  ps.t = std::move(lx.toks);
  try {
    std::vector<Node> items = ps.parse_list({});
    if (ps.peek().t != T::End) ps.fail("unexpected '" + ps.peek().v + "'");
    if (items.empty()) {
      r.error = "empty answer";
      return r;
    }
    r.root = items.size() == 1 ? items[0] : mk(Node::List, items);
    r.ok = true;
  } catch (const ParseFail& f) {
    r.error = f.why;
  }
  return r;
}

std::string to_string(const Node& n) {
  static const char* names[] = {"num", "sym", "const", "add", "mul", "div", "pow", "neg", "func", "pct",
                                "pm",  "tuple", "set", "list", "union", "inter", "rel", "matrix", "text", "empty"};
  switch (n.kind) {
    case Node::Num:
    case Node::Sym:
    case Node::Const: return n.s;
    case Node::Text: return "\"" + n.s + "\"";
    case Node::Empty: return "()";
    default: break;
  }
  std::string o = "(";
  o += names[n.kind];
  if (n.kind == Node::Func || n.kind == Node::Tuple) o += ":" + n.s;
  for (size_t i = 0; i < n.ch.size(); ++i) {
    o += " ";
    if (n.kind == Node::Rel && i > 0) o += n.ops[i - 1] + " ";
    o += to_string(n.ch[i]);
  }
  return o + ")";
}

}  // namespace r1::latex
