// The math verifier's public entry points (rewards/math_verify.h): verify(), math_accuracy_reward() and
// canonical_answer(), built from extraction (extract.cpp), normalisation and parsing (normalize.cpp, parse.cpp)
// and comparison (compare.cpp).
#include "rewards/math/internal.h"

#include <algorithm>

namespace r1 {
namespace {

using math::Node;

bool balanced_braces(const std::string& s) {
  int d = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++d;
    if (s[i] == '}' && --d < 0) return false;
  }
  return d == 0;
}

// Canonical key of a parsed node.
std::string canon_key(const Node& x0) {
  bool unordered = false;
  Node x = math::prepare(x0, unordered);
  if (math::is_list_like(x) || x.kind == Node::Union) {
    std::vector<std::string> keys;
    for (auto& c : x.ch) keys.push_back(canon_key(c));
    if (unordered || x.kind != Node::List) std::sort(keys.begin(), keys.end());
    std::string o = x.kind == Node::List && !unordered ? "list(" : "set(";
    for (size_t i = 0; i < keys.size(); ++i) o += (i ? "," : "") + keys[i];
    return o + ")";
  }
  if (x.kind == Node::Tuple || x.kind == Node::Matrix) {
    std::string o = x.kind == Node::Tuple ? x.s.substr(0, 1) : "mat[";
    for (size_t i = 0; i < x.ch.size(); ++i) o += (i ? "," : "") + canon_key(x.ch[i]);
    return o + (x.kind == Node::Tuple ? x.s.substr(1) : "]");
  }
  const Node* s = &x;
  if (s->kind == Node::Percent) s = &s->ch[0];
  Rational r;
  bool decimal = false;
  if (math::exact_value(*s, r, decimal)) return rational_to_string(r);
  if (s->kind == Node::Text) return "text:" + math::to_lower(s->s);
  std::string key;
  if (math::cas_key(*s, key)) return key;
  return "node:" + latex::to_string(*s);
}

}  // namespace

VerifyOptions lenient_options() {
  VerifyOptions o;
  o.pred_bare_fallback = true;
  o.lenient = true;
  return o;
}

VerifyResult verify(const std::string& gold, const std::string& pred) { return verify(gold, pred, VerifyOptions{}); }

VerifyResult verify(const std::string& gold, const std::string& pred, const VerifyOptions& opt) {
  VerifyResult r;
  math::ExtractCfg gc;
  gc.fallback = true;
  gc.gold = true;
  gc.lenient = opt.lenient;
  r.gold = math::extract_with(gold, gc);
  math::ExtractCfg pc;
  pc.fallback = opt.pred_bare_fallback;
  pc.latex = opt.fallback_latex;
  pc.numbers = opt.fallback_numbers;
  pc.lenient = opt.lenient;
  r.pred = math::extract_with(pred, pc);
  if (!r.gold.found) {
    r.error = "gold answer not found (" + r.gold.how + ")";
    return r;
  }
  if (!balanced_braces(r.gold.normalized)) {
    r.error = "gold answer has unbalanced braces: " + r.gold.normalized;
    return r;
  }
  if (!r.pred.found) return r;
  bool timed_out = false;
  r.equal = math::answers_equal(r.gold, r.pred, opt, timed_out);
  if (timed_out && !r.equal) r.error = "timeout";
  return r;
}

double math_accuracy_reward(const std::string& completion, const std::string& gold) {
  return verify(gold, completion).equal ? 1.0 : 0.0;
}

std::string canonical_answer(const std::string& answer) {
  math::ExtractCfg cfg;
  cfg.fallback = true;
  cfg.gold = true;
  Extracted x = math::extract_with(answer, cfg);
  if (!x.found) return "";
  std::string loose = latex::loose_key(x.normalized);
  if (char c = math::choice_letter(loose)) return std::string("choice:") + c;
  latex::ParseResult p = latex::parse_answer(x.normalized);
  if (!p.ok) return "str:" + loose;
  return canon_key(p.root);
}

}  // namespace r1
