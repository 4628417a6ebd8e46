// Lenient mode (Math-Verify parity): relations compared by rearranging, and labelled answers.
//   - "L op R" becomes L - R op 0 with op in {=, !=, <, <=} (a > or >= relation is turned around); two relations
//     are equal when their ops agree and (L1 - R1) / (L2 - R2) is a nonzero constant, positive for inequalities:
//     x < 1 == -x > -1 (x - 1 vs -1 + x), x < 1 != x > 1 (x - 1 vs 1 - x), 2x+4y-3=0 == y=-x/2+3/4 (factor 4).
//   - lists of assignments with the same distinct labels on both sides are compared label by label, so that
//     "a = 2, b = 3" != "a = 3, b = 2" (the order-free solution-list rule would match their values).
#include "rewards/math/internal.h"

namespace r1::math {
namespace {

// An operand a relation may be rearranged over: a scalar expression (no tuples, sets, matrices, words, +-).
bool scalar_operand(const Node& x) {
  for (Node::Kind k : {Node::Tuple, Node::Set, Node::List, Node::Union, Node::Inter, Node::Matrix, Node::Text,
                       Node::PM, Node::Rel, Node::Empty})
    if (has_kind(x, k)) return false;
  return count_nodes(x) <= 400;
}

// "L op R" as (L - R, op), op in {"=", "!=", "<", "<="}.
bool one_sided(const Node& r, Node& d, std::string& op) {
  if (r.kind != Node::Rel || r.ch.size() != 2 || r.ops.size() != 1) return false;
  op = r.ops[0];
  const Node* l = &r.ch[0];
  const Node* rr = &r.ch[1];
  if (op == ">" || op == ">=") {
    std::swap(l, rr);
    op[0] = '<';
  } else if (op != "=" && op != "!=" && op != "<" && op != "<=") {
    return false;
  }
  if (!scalar_operand(*l) || !scalar_operand(*rr)) return false;
  d = make_node(Node::Add, {*l, make_node(Node::Neg, {*rr})});
  return true;
}

// "name = value" with a name that labels it (x, V_1, AB, f(x)).
const Node* assignment_value(const Node& x, std::string& label) {
  if (x.kind != Node::Rel || x.ops.size() != 1 || x.ops[0] != "=" || !simple_lhs(x.ch[0])) return nullptr;
  label = latex::to_string(x.ch[0]);
  return &x.ch[1];
}

// label -> value of a list or set whose items are all assignments with distinct labels (at least two).
bool labelled_items(const Node& x, std::map<std::string, const Node*>& out) {
  if (!is_list_like(x) || x.ch.size() < 2 || x.ch.size() > 50) return false;
  for (auto& c : x.ch) {
    std::string label;
    const Node* v = assignment_value(c, label);
    if (!v || out.count(label)) return false;
    out[label] = v;
  }
  return true;
}

}  // namespace

bool relations_rearranged_equal(const Node& g, const Node& p, Ctx& ctx) {
  Node dg, dp;
  std::string og, op;
  if (!one_sided(g, dg, og) || !one_sided(p, dp, op) || og != op) return false;
  std::set<std::string> syms;
  collect_syms(dg, syms);
  if (syms.empty() || ctx.expired()) return false;  // "2 < 3" is not a relation worth rearranging
  int sign = cas_ratio_sign(dg, dp);
  if (sign != 1 && sign != -1) return false;
  return og == "=" || og == "!=" || sign == 1;
}

int labelled_lists_equal(const Node& g, const Node& p, Ctx& ctx,
                         const std::function<bool(const Node&, const Node&)>& eq) {
  std::map<std::string, const Node*> lg, lp;
  if (!labelled_items(g, lg) || !labelled_items(p, lp) || lg.size() != lp.size()) return -1;
  for (auto& [label, v] : lg)
    if (!lp.count(label)) return -1;  // other names: leave it to the value comparison
  for (auto& [label, v] : lg)
    if (ctx.expired() || !eq(*v, *lp[label])) return 0;
  return 1;
}

}  // namespace r1::math
