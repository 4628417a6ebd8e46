// Answer extraction: where the final answer of a completion (or a gold solution) is, as math_verify.h describes:
// the last \boxed{}/\fbox{} group, <answer>...</answer>, "the final answer is", "#### n", and for lenient
// extraction math environments, the last plain number or the whole text.
#include "rewards/math/internal.h"

#include <algorithm>
#include <set>

namespace r1::math {
namespace {

struct Span {
  size_t b = 0, e = 0;  // [b, e) in the text
  std::string content;
  bool closed = true;
};

std::vector<Span> find_boxes(const std::string& t) {
  std::vector<Span> out;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t a = t.find("\\boxed", pos), f = t.find("\\fbox", pos);
    size_t at = std::min(a, f);
    if (at == std::string::npos) break;
    size_t k = at + (at == a ? 6 : 5);
    Span sp;
    sp.b = at;
    if (k < t.size() && t[k] == '{') {
      size_t close = latex::match_brace(t, k);
      if (close == std::string::npos) {
        sp.closed = false;
        sp.e = t.size();
        out.push_back(sp);
        break;
      }
      sp.content = t.substr(k + 1, close - k - 1);
      sp.e = close + 1;
    } else if (k < t.size() && t[k] == ' ') {  // "\boxed 5"
      while (k < t.size() && t[k] == ' ') ++k;
      size_t e = k;
      while (e < t.size() && t[e] != ' ' && t[e] != '$' && t[e] != '\n') ++e;
      while (e > k && (t[e - 1] == '.' || t[e - 1] == ',')) --e;
      if (e == k) {
        pos = k;
        continue;
      }
      sp.content = t.substr(k, e - k);
      sp.e = e;
    } else {
      pos = k;
      continue;
    }
    out.push_back(sp);
    pos = sp.e;
  }
  return out;
}

// True when the text between two answers only connects them ("$, $", " and ", "\quad \text{and} \quad").
bool is_connector(const std::string& gap) {
  if (gap.size() > 40) return false;
  if (gap.find("\n\n") != std::string::npos) return false;
  for (char c : gap)
    if (c == '.' || c == '!' || c == '?' || c == ':' || is_digit(c) || c == '=') return false;
  return true;
}

// Lenient (Math-Verify's rule for boxes): the gap between two boxes' braces is under 10 characters, or under 70
// with a separator ("and", "or", ',' or ';') between two different answers.
bool boxes_join(const std::string& gap, const std::string& earlier, const std::string& later) {
  if (gap.size() < 10) return true;
  if (gap.size() >= 70 || trim(earlier) == trim(later)) return false;
  if (gap.find(',') != std::string::npos || gap.find(';') != std::string::npos) return true;
  for (const char* w : {"and", "or"}) {
    for (size_t at = gap.find(w); at != std::string::npos; at = gap.find(w, at + 1)) {
      size_t e = at + std::string(w).size();
      if ((at == 0 || !is_alpha(gap[at - 1])) && (e >= gap.size() || !is_alpha(gap[e]))) return true;
    }
  }
  return false;
}

// Lenient (Math-Verify's rule for math environments): only spaces, a comma and/or one "and"/"or" between them.
bool envs_join(const std::string& gap) {
  std::string g = to_lower(trim(gap));
  if (!g.empty() && g[0] == ',') g = trim(g.substr(1));
  if (g.empty()) return trim(gap) == ",";
  return g == "and" || g == "or";
}

enum class Join { Connector, Boxes, Envs };

bool joins(Join how, const Span& a, const Span& b, const std::string& text) {
  if (!a.closed) return false;
  switch (how) {
    case Join::Boxes:  // the gap from the earlier box's closing brace to the later box's command
      return boxes_join(text.substr(a.e, b.b - a.e), a.content, b.content);
    case Join::Envs: return envs_join(text.substr(a.e, b.b - a.e));
    default: return is_connector(text.substr(a.e, b.b - a.e));
  }
}

// Groups consecutive spans that `how` joins; returns the last group joined as a list ("a, b"), with `parts` the
// number of distinct answers in it.
Span last_group(const std::vector<Span>& spans, const std::string& text, Join how = Join::Connector,
                int* parts = nullptr) {
  size_t start = spans.size() - 1;
  while (start > 0 && joins(how, spans[start - 1], spans[start], text)) --start;
  Span g;
  g.b = spans[start].b;
  g.e = spans.back().e;
  std::vector<std::string> seen;
  for (size_t i = start; i < spans.size(); ++i) {
    std::string c = trim(spans[i].content);
    if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;  // \boxed{143} ... \boxed{143}
    seen.push_back(c);
    if (!g.content.empty()) g.content += ", ";
    g.content += c;
  }
  if (parts) *parts = (int)seen.size();
  return g;
}

// Text after "the final answer is", to the end of the sentence ('.' + space/end or a newline outside $...$).
bool find_final_answer(const std::string& t, Span& out) {
  std::string low = to_lower(t);
  size_t at = low.rfind("final answer is");
  if (at == std::string::npos) return false;
  size_t k = at + 15;
  while (k < t.size() && (t[k] == ' ' || t[k] == ':' || t[k] == '"' || t[k] == '\\' || t[k] == '*')) {
    if (t[k] == '\\' && !(k + 1 < t.size() && t[k + 1] == '"')) break;
    ++k;
  }
  bool in_math = false;
  size_t e = k;
  for (; e < t.size(); ++e) {
    char c = t[e];
    if (c == '\\' && e + 1 < t.size() && t[e + 1] == '$') {
      ++e;
      continue;
    }
    if (c == '$') in_math = !in_math;
    if (c == '\n' && !in_math) break;
    if (c == '.' && !in_math && (e + 1 >= t.size() || t[e + 1] == ' ' || t[e + 1] == '\n')) break;
  }
  std::string c = trim(t.substr(k, e - k));
  // strip quotes around the answer
  while (!c.empty() && (c.back() == '"' || c.back() == '\\' || c.back() == '*')) c.pop_back();
  c = trim(c);
  if (c.empty()) return false;
  out.b = at;
  out.e = e;
  out.content = c;
  return true;
}

bool find_hashes(const std::string& t, Span& out) {
  size_t at = t.rfind("####");
  if (at == std::string::npos) return false;
  size_t e = t.find('\n', at);
  if (e == std::string::npos) e = t.size();
  std::string c = trim(t.substr(at + 4, e - at - 4));
  if (c.empty()) return false;
  out.b = at;
  out.e = e;
  out.content = c;
  return true;
}

// Math environments: $$..$$, $..$, \[..\], \(..\) (the last may not span lines; in lenient mode, as in
// Math-Verify, neither may $..$).
std::vector<Span> find_envs(const std::string& t, bool lenient) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '\\' && i + 1 < t.size()) {
      char d = t[i + 1];
      if (d == '[' || d == '(') {
        const char* close = d == '[' ? "\\]" : "\\)";
        size_t e = t.find(close, i + 2);
        if (e != std::string::npos) {
          std::string c = t.substr(i + 2, e - i - 2);
          if (d == '[' || c.find('\n') == std::string::npos) {
            out.push_back({i, e + 2, c, true});
            i = e + 2;
            continue;
          }
        }
      }
      i += 2;  // skips \$ too
      continue;
    }
    if (t[i] == '$') {
      bool dbl = i + 1 < t.size() && t[i + 1] == '$';
      size_t s = i + (dbl ? 2 : 1);
      size_t e = s;
      bool found = false;
      for (; e < t.size(); ++e) {
        if (t[e] == '\\') {
          ++e;
          continue;
        }
        if (t[e] == '$') {
          if (dbl && !(e + 1 < t.size() && t[e + 1] == '$')) continue;
          found = true;
          break;
        }
      }
      if (!found || (lenient && !dbl && t.find('\n', s) < e)) {
        ++i;  // a lone $ (currency)
        continue;
      }
      out.push_back({i, e + (dbl ? 2 : 1), t.substr(s, e - s), true});
      i = e + (dbl ? 2 : 1);
      continue;
    }
    ++i;
  }
  return out;
}

// Lenient: what follows a prose number at j. A decimal comma ("2,74", "1000,99": digits after a comma that are
// not a thousands group, not in a list such as "1,2,3") or the denominator of a fraction ("2/3"); returns the end.
size_t lenient_number_tail(const std::string& t, size_t b, size_t j) {
  auto digits_from = [&](size_t k) {
    while (k < t.size() && is_digit(t[k])) ++k;
    return k;
  };
  bool in_list = b > 0 && (t[b - 1] == ',' || t[b - 1] == '(' || t[b - 1] == '[');
  if (j + 1 < t.size() && t[j] == ',' && is_digit(t[j + 1]) && !in_list) {
    size_t k = digits_from(j + 1);
    bool list_follows = k < t.size() && (t[k] == ',' || t[k] == ')' || t[k] == ']');
    bool has_point = t.find('.', b) < j;
    if (!list_follows && !has_point && k - (j + 1) != 3) return k;
  }
  if (j + 1 < t.size() && t[j] == '/' && is_digit(t[j + 1])) {
    size_t k = digits_from(j + 1);
    if (k >= t.size() || !(is_alpha(t[k]) || t[k] == '/' || t[k] == '^' || t[k] == '(')) return k;
  }
  return j;
}

// Last plain number in prose outside math environments: "1,000.99", "1 000", "28 %", not "AZYUK2A".
bool find_last_number(const std::string& t, const std::vector<Span>& envs, Span& out, bool lenient) {
  bool any = false;
  size_t env_i = 0;
  size_t i = 0;
  while (i < t.size()) {
    while (env_i < envs.size() && envs[env_i].e <= i) ++env_i;
    if (env_i < envs.size() && i >= envs[env_i].b) {
      i = envs[env_i].e;
      continue;
    }
    char c = t[i];
    bool start = is_digit(c) || (c == '.' && i + 1 < t.size() && is_digit(t[i + 1]));
    if (!start || (i > 0 && (is_alpha(t[i - 1]) || is_digit(t[i - 1]) || t[i - 1] == '_' || t[i - 1] == '^' ||
                             t[i - 1] == '\\'))) {
      ++i;
      continue;
    }
    size_t b = i;
    if (b > 0 && t[b - 1] == '-') --b;
    size_t j = i;
    size_t first = 0;
    while (j < t.size() && is_digit(t[j])) ++j, ++first;
    if (first > 0 && first <= 3) {
      char sep = 0;
      while (j + 3 < t.size() && (t[j] == ',' || t[j] == ' ') && (!sep || t[j] == sep) && is_digit(t[j + 1]) &&
             is_digit(t[j + 2]) && is_digit(t[j + 3]) && (j + 4 >= t.size() || !is_digit(t[j + 4]))) {
        sep = t[j];
        j += 4;
      }
    }
    if (j + 1 < t.size() && t[j] == '.' && is_digit(t[j + 1])) {
      ++j;
      while (j < t.size() && is_digit(t[j])) ++j;
    }
    size_t int_end = j;
    if (lenient) j = lenient_number_tail(t, b, j);
    size_t e = j;
    size_t k = j;
    while (k < t.size() && t[k] == ' ') ++k;
    if (k < t.size() && t[k] == '%') e = k + 1;
    else if (t.compare(k, 7, "percent") == 0) e = k + 7;
    else if (lenient && (t.compare(k, 7, "Percent") == 0 || t.compare(k, 3, "pct") == 0))
      e = k + (t[k] == 'P' ? 7 : 3);
    out = {b, e, t.substr(b, e - b), true};
    if (lenient && j > int_end && t[int_end] == ',') out.content[int_end - b] = '.';  // decimal comma
    if (lenient && e > j) out.content = out.content.substr(0, j - b) + "%";
    any = true;
    i = j;
  }
  return any;
}

// Whole text as the answer: short and free of prose (no letter run of 3+ that is not a command or known word).
bool reads_as_answer(const std::string& t) {
  if (t.size() > 120) return false;
  static const std::set<std::string> ok = {"and", "or", "percent", "pct", "units", "unit", "text", "frac",
                                           "sqrt", "pi", "infty", "cdot", "times", "left", "right", "dfrac"};
  for (size_t i = 0; i < t.size();) {
    if (!is_alpha(t[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && is_alpha(t[j])) ++j;
    bool cmd = i > 0 && t[i - 1] == '\\';
    if (!cmd && j - i >= 3 && !ok.count(to_lower(t.substr(i, j - i)))) return false;
    i = j;
  }
  return !trim(t).empty();
}

Extracted finish(const std::string& raw, const std::string& how) {
  Extracted x;
  x.raw = raw;
  x.how = how;
  if (raw.size() > 20000) {  // no real answer is this long; keeps normalisation cheap on hostile input
    x.how = how + "_too_long";
    return x;
  }
  x.normalized = latex::normalize_latex(raw);
  x.found = !x.normalized.empty();
  if (!x.found) x.how = how + "_empty";
  return x;
}

Extracted extract_markers(const std::string& t, bool& unclosed, bool lenient) {
  unclosed = false;
  std::vector<Span> boxes = find_boxes(t);
  Span best;
  std::string how;
  bool have = false;
  int parts = 1;
  if (!boxes.empty()) {
    if (!boxes.back().closed) {
      best = boxes.back();
      how = "unclosed_boxed";
    } else {
      best = last_group(boxes, t, lenient ? Join::Boxes : Join::Connector, &parts);
      how = "boxed";
    }
    have = true;
  }
  Span fa;
  if (find_final_answer(t, fa) && (!have || fa.b > best.b)) best = fa, how = "final_answer", have = true;
  Span hh;
  if (find_hashes(t, hh) && (!have || hh.b > best.b)) best = hh, how = "####", have = true;
  if (!have) return {};
  if (how == "unclosed_boxed") {
    unclosed = true;
    Extracted x;
    x.how = how;
    return x;
  }
  Extracted x = finish(best.content, how);
  if (how == "boxed") x.parts = parts;
  return x;
}

}  // namespace

Extracted extract_with(const std::string& text, const ExtractCfg& cfg) {
  std::string t = text;
  Extracted none;
  none.how = "none";
  size_t think_end = t.rfind("</think>");
  if (think_end != std::string::npos) {
    t = t.substr(think_end + 8);
  } else if (!cfg.fallback && t.find("<think>") != std::string::npos) {
    none.how = "unclosed_think";
    return none;
  }
  size_t at = t.rfind("<answer>");
  if (at != std::string::npos) {
    size_t close = t.find("</answer>", at);
    if (close == std::string::npos) {
      if (!cfg.fallback) {
        none.how = "unclosed_answer_tag";
        return none;
      }
    } else {
      std::string inner = t.substr(at + 8, close - at - 8);
      bool unclosed = false;
      Extracted x = extract_markers(inner, unclosed, cfg.lenient);
      if (unclosed) return x;
      if (x.found) return x;
      return finish(inner, "answer_tag");
    }
  }
  bool unclosed = false;
  Extracted x = extract_markers(t, unclosed, cfg.lenient);
  if (unclosed || x.found) return x;
  if (!cfg.fallback) return none;
  std::vector<Span> envs = cfg.latex ? find_envs(t, cfg.lenient) : std::vector<Span>{};
  Span num;
  bool have_num = !cfg.gold && cfg.numbers && find_last_number(t, envs, num, cfg.lenient);
  if (envs.empty() && !cfg.gold && reads_as_answer(t)) return finish(t, "whole");
  if (!envs.empty() && (!have_num || envs.back().e > num.e)) {
    // consecutive environments joined by connectors are one list answer ("$1$ and $2$")
    int parts = 1;
    Extracted e = finish(last_group(envs, t, cfg.lenient ? Join::Envs : Join::Connector, &parts).content, "latex_env");
    e.parts = parts;
    return e;
  }
  if (have_num) return finish(num.content, "number");
  if (cfg.gold || reads_as_answer(t)) return finish(t, "whole");
  return none;
}

}  // namespace r1::math

namespace r1 {

Extracted extract_answer(const std::string& text, bool allow_bare_fallback) {
  math::ExtractCfg cfg;
  cfg.fallback = allow_bare_fallback;
  return math::extract_with(text, cfg);
}

}  // namespace r1
