// Lenient mode (Math-Verify parity): the looser reading of a normalised answer before and after parsing.
//   before: "28 percentage" -> "28%"; a ratio of names labelling a value, "V_{1}:V_{2}=11:21" -> "11:21";
//           groups of assignments, "p=5,q=2;p=7,q=2" -> "(5,2), (7,2)" (a solution set of tuples);
//   after:  words after a value dropped ("28 \text{ bananas}" -> 28); several boxes or environments read
//           together become an order-free set of answers.
#include "rewards/math/internal.h"

namespace r1::math {
namespace {

// Splits s at `sep` where no bracket of {} () [] is open (escaped \{ \} count as brackets).
std::vector<std::string> split_top(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      char d = s[i + 1];
      if (d == '{') ++depth;
      if (d == '}') --depth;
      out.back() += s.substr(i, 2);
      ++i;
      continue;
    }
    if (c == '{' || c == '(' || c == '[') ++depth;
    if (c == '}' || c == ')' || c == ']') --depth;
    if (c == sep && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

// A name: parses as a symbol or a product of symbols, with no number outside subscripts (V_{1}, S_{MBCN}, AB).
bool is_name(const std::string& s) {
  latex::ParseResult r = latex::parse_answer(trim(s));
  if (!r.ok) return false;
  const Node& x = r.root;
  if (x.kind == Node::Sym) return true;
  if (x.kind != Node::Mul) return false;
  for (auto& c : x.ch)
    if (c.kind != Node::Sym) return false;
  return true;
}

// "V_{1}:V_{2}=11:21" -> "11:21"; "A:B=1" -> "1". Unchanged unless the left side is a ratio of names.
std::string drop_ratio_label(const std::string& s) {
  std::vector<std::string> sides = split_top(s, '=');
  if (sides.size() != 2 || split_top(s, ',').size() > 1 || split_top(s, ';').size() > 1) return s;
  std::vector<std::string> names = split_top(sides[0], ':');
  if (names.size() < 2 || trim(sides[1]).empty()) return s;
  for (auto& n : names)
    if (!is_name(n)) return s;
  return trim(sides[1]);
}

// "p=5,q=2;p=7,q=2" -> "(5,2), (7,2)": groups split by ';', each the same names assigned in the same order.
std::string assignment_groups(const std::string& s) {
  std::vector<std::string> groups = split_top(s, ';');
  if (groups.size() < 2 || groups.size() > 50) return s;
  std::vector<std::string> names0;
  std::string out;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    std::vector<std::string> items = split_top(groups[gi], ',');
    if (items.size() < 2) return s;
    std::vector<std::string> names, values;
    for (auto& it : items) {
      std::vector<std::string> nv = split_top(it, '=');
      if (nv.size() != 2 || !is_name(nv[0]) || trim(nv[1]).empty()) return s;
      names.push_back(latex::loose_key(trim(nv[0])));
      values.push_back(trim(nv[1]));
    }
    if (gi == 0) names0 = names;
    if (names != names0) return s;
    out += gi ? ", (" : "(";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i];
    out += ")";
  }
  return out;
}

// "28 percentage" / "28 \text{percentage}" -> "28%" (Math-Verify's synonym; "percent" and "pct" the lexer reads).
std::string percentage_word(std::string s) {
  for (const char* w : {"\\text{percentage}", "percentage"}) {
    for (size_t at = s.find(w); at != std::string::npos; at = s.find(w, at + 1)) {
      size_t e = at + std::string(w).size();
      if ((at > 0 && is_alpha(s[at - 1])) || (e < s.size() && is_alpha(s[e]))) continue;  // "percentages"
      while (at > 0 && s[at - 1] == ' ') --at;
      s.replace(at, e - at, "%");
    }
  }
  return s;
}

// Drops words after a value: (mul 28 "bananas") -> 28, in list items and relation sides too.
void drop_trailing_words(Node& x, int depth = 0) {
  if (depth > 8) return;
  if (x.kind == Node::Mul) {
    while (x.ch.size() > 1 && x.ch.back().kind == Node::Text) x.ch.pop_back();
    if (x.ch.size() == 1) {
      Node c = std::move(x.ch[0]);
      x = std::move(c);
    }
    return;
  }
  if (x.kind == Node::List || x.kind == Node::Set || x.kind == Node::Rel)
    for (auto& c : x.ch) drop_trailing_words(c, depth + 1);
}

}  // namespace

std::string lenient_rewrite(const std::string& normalized) {
  if (normalized.size() > 2000) return normalized;
  std::string s = percentage_word(normalized);
  s = drop_ratio_label(s);
  return assignment_groups(s);
}

void lenient_tidy(Node& root, int parts) {
  drop_trailing_words(root);
  if (parts > 1 && root.kind == Node::List) root.kind = Node::Set;  // several boxed answers: one set of answers
}

}  // namespace r1::math
