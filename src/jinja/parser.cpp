// Jinja2 parser, statements: {% if %}, {% for %}, {% set %}, {% macro %} ... and the template body. It follows
// Jinja2's grammar; expressions are in parser_expr.cpp, tokens come from the lexer (lexer.cpp).
#include <set>

#include "core/check.h"
#include "jinja/parser.h"

namespace r1::jinja {

Body Parser::parse_template() {
  Body body = subparse({});
  return body;
}

std::string Parser::describe(const Token& t) const {
  switch (t.type) {
    case Tok::Data: return "template data";
    case Tok::VarBegin: return "begin of print statement";
    case Tok::VarEnd: return "end of print statement";
    case Tok::BlockBegin: return "begin of statement block";
    case Tok::BlockEnd: return "end of statement block";
    case Tok::Name: return "'" + t.text + "'";
    case Tok::String: return "string";
    case Tok::Int: return "integer";
    case Tok::Float: return "float";
    case Tok::Op: return "'" + t.text + "'";
    case Tok::Eof: return "end of template";
  }
  return "token";
}

void Parser::expect_op(const char* op) {
  if (!is_op(op)) error(str("expected '", op, "', got ", describe(cur())));
  advance();
}

std::string Parser::expect_name() {
  if (cur().type != Tok::Name) error("expected a name, got " + describe(cur()));
  std::string s = cur().text;
  advance();
  return s;
}

void Parser::expect_block_end() {
  if (is_op(":")) advance();  // Jinja accepts an optional colon
  if (cur().type != Tok::BlockEnd) error("expected end of statement block, got " + describe(cur()));
  advance();
}

// Parses statements until a block tag whose name is in `ends` (cur() is then that name) or the end.
Body Parser::subparse(const std::vector<std::string>& ends) {
  Depth guard(*this);
  Body body;
  while (true) {
    const Token& t = cur();
    if (t.type == Tok::Eof) {
      if (!ends.empty()) {
        std::string want;
        for (size_t i = 0; i < ends.size(); i++) want += (i ? " or '" : "'") + ends[i] + "'";
        error("unexpected end of template; looking for the tag " + want + " to close '" + blocks_.back() +
              "' opened on line " + std::to_string(block_lines_.back()));
      }
      return body;
    }
    if (t.type == Tok::Data) {
      auto s = std::make_unique<Stmt>(Stmt::Kind::Text, t.line);
      s->text = t.text;
      body.push_back(std::move(s));
      advance();
    } else if (t.type == Tok::VarBegin) {
      int line = t.line;
      advance();
      auto s = std::make_unique<Stmt>(Stmt::Kind::Output, line);
      s->expr = parse_tuple(true, false, {});
      if (cur().type != Tok::VarEnd) error("expected end of print statement '}}', got " + describe(cur()));
      advance();
      body.push_back(std::move(s));
    } else if (t.type == Tok::BlockBegin) {
      advance();
      if (cur().type == Tok::Name) {
        for (const auto& e : ends)
          if (cur().text == e) return body;
      }
      body.push_back(parse_statement(ends));
    } else {
      error("unexpected " + describe(t));
    }
  }
}

StmtPtr Parser::parse_statement(const std::vector<std::string>& ends) {
  if (cur().type != Tok::Name) error("tag name expected, got " + describe(cur()));
  std::string tag = cur().text;
  int line = cur().line;
  StmtPtr s;
  if (tag == "if") s = parse_if();
  else if (tag == "for") s = parse_for();
  else if (tag == "set") s = parse_set();
  else if (tag == "macro") s = parse_macro();
  else if (tag == "filter") s = parse_filter_block();
  else if (tag == "with") s = parse_with();
  else if (tag == "generation") s = parse_scope("generation", "endgeneration");
  else if (tag == "print") s = parse_print();
  else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) error("'" + tag + "' outside of a for loop");
    s = std::make_unique<Stmt>(tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, line);
    advance();
  } else {
    static const std::set<std::string> unsupported = {"extends", "include", "import", "from", "block", "call",
                                                      "autoescape", "do", "trans"};
    if (unsupported.count(tag)) error("the '" + tag + "' tag is not supported by this Jinja implementation");
    std::string msg = "Encountered unknown tag '" + tag + "'.";
    if (!ends.empty()) {
      msg += " Jinja was looking for the following tags: ";
      for (size_t i = 0; i < ends.size(); i++) msg += (i ? " or '" : "'") + ends[i] + "'";
      msg += ". The innermost block that needs to be closed is '" + blocks_.back() + "'.";
    }
    error(msg);
  }
  if (cur().type != Tok::BlockEnd) error("expected end of statement block, got " + describe(cur()));
  advance();
  return s;
}

// Opens a block: parses its body up to one of `ends`, leaving cur() at the end tag's name.
Body Parser::block_body(const std::string& name, int line, const std::vector<std::string>& ends) {
  blocks_.push_back(name);
  block_lines_.push_back(line);
  Body b = subparse(ends);
  blocks_.pop_back();
  block_lines_.pop_back();
  return b;
}

StmtPtr Parser::parse_if() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::If, line);
  while (true) {
    ExprPtr cond = parse_tuple(false, false, {});
    expect_block_end();
    Body body = block_body("if", line, {"elif", "else", "endif"});
    s->branches.emplace_back(std::move(cond), std::move(body));
    std::string t = cur().text;
    advance();
    if (t == "elif") continue;
    if (t == "else") {
      expect_block_end();
      Body eb = block_body("if", line, {"endif"});
      s->branches.emplace_back(nullptr, std::move(eb));
      advance();
    }
    break;
  }
  return s;
}

StmtPtr Parser::parse_for() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::For, line);
  s->target = parse_target(false, {"in"});
  if (!is_name("in")) error("expected 'in', got " + describe(cur()));
  advance();
  s->expr = parse_tuple(false, false, {"recursive", "if"});
  if (is_name("if")) {
    advance();
    s->loop_filter = parse_expression(true);
  }
  if (is_name("recursive")) error("recursive for loops are not supported by this Jinja implementation");
  expect_block_end();
  loop_depth_++;
  s->body = block_body("for", line, {"endfor", "else"});
  loop_depth_--;
  if (cur().text == "else") {
    advance();
    expect_block_end();
    s->else_body = block_body("for", line, {"endfor"});
  }
  advance();
  return s;
}

Target Parser::parse_target(bool with_namespace, const std::vector<std::string>& extra_end) {
  Target t;
  if (with_namespace && cur().type == Tok::Name && peek().type == Tok::Op && peek().text == ".") {
    t.names.push_back(cur().text);
    advance();
    advance();
    t.attr = expect_name();
    return t;
  }
  bool paren = is_op("(");
  if (paren) advance();
  while (true) {
    if (cur().type != Tok::Name) error("expected a variable name to assign to, got " + describe(cur()));
    const std::string& nm = cur().text;
    if (nm == "true" || nm == "false" || nm == "none" || nm == "True" || nm == "False" || nm == "None")
      error("cannot assign to '" + nm + "'");
    t.names.push_back(nm);
    advance();
    if (!is_op(",")) break;
    t.tuple = true;
    advance();
    if (paren && is_op(")")) break;
    if (cur().type == Tok::Name)
      for (const auto& e : extra_end)
        if (cur().text == e) goto done;
    if (cur().type == Tok::BlockEnd || is_op("=")) break;
  }
done:
  if (paren) expect_op(")");
  return t;
}

StmtPtr Parser::parse_set() {
  int line = cur().line;
  advance();
  Target target = parse_target(true, {});
  if (is_op("=")) {
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Set, line);
    s->target = std::move(target);
    s->expr = parse_tuple(true, false, {});
    return s;
  }
  if (target.tuple || !target.attr.empty()) error("a block set needs a single variable name");
  auto s = std::make_unique<Stmt>(Stmt::Kind::SetBlock, line);
  s->target = std::move(target);
  if (is_op("|")) s->expr = parse_filter_chain(nullptr);
  expect_block_end();
  s->body = block_body("set", line, {"endset"});
  advance();
  return s;
}

StmtPtr Parser::parse_macro() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, line);
  s->text = expect_name();
  expect_op("(");
  while (!is_op(")")) {
    if (!s->params.empty()) expect_op(",");
    if (is_op(")")) break;
    std::string p = expect_name();
    ExprPtr def;
    if (is_op("=")) {
      advance();
      def = parse_expression(true);
    }
    s->params.emplace_back(std::move(p), std::move(def));
  }
  advance();
  expect_block_end();
  int saved = loop_depth_;
  loop_depth_ = 0;
  s->body = block_body("macro", line, {"endmacro"});
  loop_depth_ = saved;
  advance();
  if (cur().type == Tok::Name && cur().text == s->text) advance();  // {% endmacro name %}
  return s;
}

StmtPtr Parser::parse_filter_block() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, line);
  s->expr = parse_filter_chain(nullptr, true);
  expect_block_end();
  s->body = block_body("filter", line, {"endfilter"});
  advance();
  return s;
}

StmtPtr Parser::parse_with() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::With, line);
  while (cur().type != Tok::BlockEnd) {
    if (!s->params.empty()) expect_op(",");
    std::string name = expect_name();
    expect_op("=");
    s->params.emplace_back(std::move(name), parse_expression(true));
  }
  expect_block_end();
  s->body = block_body("with", line, {"endwith"});
  advance();
  return s;
}

StmtPtr Parser::parse_scope(const std::string& name, const std::string& end) {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::Scope, line);
  expect_block_end();
  s->body = block_body(name, line, {end});
  advance();
  return s;
}

StmtPtr Parser::parse_print() {
  int line = cur().line;
  advance();
  auto s = std::make_unique<Stmt>(Stmt::Kind::Output, line);
  s->expr = parse_tuple(true, false, {});
  return s;
}

std::shared_ptr<Program> parse_program(const std::string& source, const std::string& origin) {
  Parser parser(lex(source, origin), origin);
  auto prog = std::make_shared<Program>();
  prog->origin = origin;
  prog->body = parser.parse_template();
  return prog;
}

}  // namespace r1::jinja
