// Syntax tree of a parsed Jinja2 template (internal to src/jinja/).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace r1::jinja {

class Renderer;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
using FilterFn = Value (*)(Renderer&, const Value& input, Args& args);
using TestFn = bool (*)(Renderer&, const Value& input, Args& args);

struct Expr {
  enum class Kind {
    Const, Name, List, Tuple, Dict, Getattr, Getitem, Slice, Call, Filter, Test,
    Neg, Pos, Not, And, Or, Binary, Concat, Compare, CondExpr
  };
  Kind kind;
  int line = 0;
  Value value;                                         // Const
  std::string name;                                    // Name, Getattr attribute, filter/test name, operator
  ExprPtr a, b, c;                                     // operands; Slice: a=object, b/c/step in args
  std::vector<ExprPtr> args;                           // List/Tuple items, Dict keys+values interleaved, call args,
                                                       // Concat parts, Compare operands, Slice start/stop/step
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // call / filter / test keyword arguments
  std::vector<std::string> ops;                         // Compare operators
  FilterFn filter = nullptr;
  TestFn test = nullptr;
  bool negated = false;  // Test: "is not"
  Expr(Kind k, int l) : kind(k), line(l) {}
};

// Assignment target: one name, a tuple of names, or namespace.attr.
struct Target {
  std::vector<std::string> names;
  bool tuple = false;
  std::string attr;  // non-empty: names[0].attr
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, FilterBlock, With, Break, Continue, Scope };
  Kind kind;
  int line = 0;
  std::string text;                              // Text; Macro name
  ExprPtr expr;                                  // Output; For iterable; Set value; FilterBlock/SetBlock filter chain
  std::vector<std::pair<ExprPtr, Body>> branches;  // If: (condition, body); a null condition is the else branch
  Target target;                                 // For, Set, SetBlock
  ExprPtr loop_filter;                           // For: "if" clause
  Body body, else_body;                          // For/Macro/SetBlock/FilterBlock/With/Scope bodies
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro parameters (default may be null); With bindings
  Stmt(Kind k, int l) : kind(k), line(l) {}
};

struct Program {
  Body body;
  std::string origin;
};

// Filter and test tables (filters.cpp, tests.cpp). nullptr when the name is unknown.
FilterFn find_filter(const std::string& name);
TestFn find_test(const std::string& name);
// Parses a template (parser.cpp); throws r1::Error "ORIGIN:LINE: message".
std::shared_ptr<Program> parse_program(const std::string& source, const std::string& origin);

}  // namespace r1::jinja
