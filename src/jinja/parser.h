// Tokens and the Parser class, shared by the lexer (lexer.cpp) and the parser (parser.cpp: statements,
// parser_expr.cpp: expressions). Internal to src/jinja/: never include it from outside.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/ast.h"

namespace r1::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data text, name, operator, decoded string
  int64_t ival = 0;
  double fval = 0;
  int line = 1;
};

constexpr int kMaxNesting = 100;  // nested expressions / blocks accepted by the parser

[[noreturn]] void syntax_error(const std::string& origin, int line, const std::string& msg);

// Splits a template into tokens (lexer.cpp); throws r1::Error "ORIGIN:LINE: message".
std::vector<Token> lex(const std::string& source, const std::string& origin);

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string origin) : t_(std::move(toks)), origin_(std::move(origin)) {}

  Body parse_template();

 private:
  const Token& cur() const { return t_[k_]; }
  const Token& peek(size_t d = 1) const { return t_[std::min(k_ + d, t_.size() - 1)]; }
  void advance() {
    if (k_ + 1 < t_.size()) k_++;
  }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }

  [[noreturn]] void error(const std::string& msg) const { syntax_error(origin_, cur().line, msg); }

  std::string describe(const Token& t) const;
  void expect_op(const char* op);
  std::string expect_name();
  void expect_block_end();

  struct Depth {
    Parser& p;
    explicit Depth(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nested too deeply");
    }
    ~Depth() { p.depth_--; }
  };

  // ---- statements (parser.cpp)
  Body subparse(const std::vector<std::string>& ends);
  StmtPtr parse_statement(const std::vector<std::string>& ends);
  Body block_body(const std::string& name, int line, const std::vector<std::string>& ends);
  StmtPtr parse_if();
  StmtPtr parse_for();
  Target parse_target(bool with_namespace, const std::vector<std::string>& extra_end);
  StmtPtr parse_set();
  StmtPtr parse_macro();
  StmtPtr parse_filter_block();
  StmtPtr parse_with();
  StmtPtr parse_scope(const std::string& name, const std::string& end);
  StmtPtr parse_print();

  // ---- expressions (parser_expr.cpp)

  ExprPtr make(Expr::Kind k, int line) { return std::make_unique<Expr>(k, line); }

  bool tuple_end(const std::vector<std::string>& extra_end) const;
  ExprPtr parse_tuple(bool with_condexpr, bool explicit_parens, const std::vector<std::string>& extra_end);
  ExprPtr parse_expression(bool with_condexpr);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, int line);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(std::vector<ExprPtr>& args, std::vector<std::pair<std::string, ExprPtr>>& kwargs);
  ExprPtr parse_call(ExprPtr node);
  std::string dotted_name();
  ExprPtr parse_one_filter(ExprPtr node);
  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline = false);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_test(ExprPtr node);

  std::vector<Token> t_;
  std::string origin_;
  size_t k_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::string> blocks_;
  std::vector<int> block_lines_;
};

}  // namespace r1::jinja
