// Jinja2 lexer and parser. The lexer reproduces Jinja2 3.1's rules with trim_blocks=True and
// lstrip_blocks=True: newlines normalised to \n, one trailing newline dropped, "-" strips all whitespace on
// that side of a tag, a block or comment tag eats the single newline after it, and whitespace between the
// start of a line and a block or comment tag is dropped. The parser follows Jinja2's grammar and
// operator precedence (filters and tests bind tighter than arithmetic; ** is left-associative).
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/check.h"
#include "tokenizer/jinja.h"
#include "tokenizer/jinja_ast.h"

namespace r1::jinja {
namespace {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data text, name, operator, decoded string
  int64_t ival = 0;
  double fval = 0;
  int line = 1;
};

constexpr int kMaxNesting = 100;  // nested expressions / blocks accepted by the parser

[[noreturn]] void syntax_error(const std::string& origin, int line, const std::string& msg) {
  fail(origin, ":", line, ": ", msg);
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Python str.rstrip() (Unicode whitespace).
std::string rstrip_ws(const std::string& s) { return py_strip(s, nullptr, false, true); }

bool all_ws(const std::string& s, size_t from) {
  if (from >= s.size()) return false;  // \s+ needs at least one character
  size_t p = from;
  while (p < s.size())
    if (!py_isspace(decode_cp(s, p))) return false;
  return true;
}

void check_utf8(const std::string& src, const std::string& origin) {
  size_t p = 0;
  int line = 1;
  while (p < src.size()) {
    size_t start = p;
    char32_t c = decode_cp(src, p);
    bool bad = (c >= 0xDC80 && c <= 0xDCFF && p - start == 1) || c > 0x10FFFF;
    if (!bad && p - start > 1) {  // reject overlong forms and encoded surrogates, like Python's decoder
      size_t len = p - start;
      bad = (len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
            (c >= 0xD800 && c <= 0xDFFF);
    }
    if (bad) syntax_error(origin, line, str("template is not valid UTF-8 (byte offset ", start, ")"));
    if (c == '\n') line++;
  }
}

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& origin) : origin_(origin) {
    check_utf8(source, origin);
    src_.reserve(source.size());
    for (size_t k = 0; k < source.size(); k++) {  // \r\n and \r become \n
      if (source[k] == '\r') {
        src_ += '\n';
        if (k + 1 < source.size() && source[k + 1] == '\n') k++;
      } else {
        src_ += source[k];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();  // keep_trailing_newline=False
  }

  std::vector<Token> run() {
    size_t n = src_.size();
    bool line_starting = true;
    while (pos_ < n) {
      size_t i = find_opener(pos_);
      if (i == std::string::npos) {
        emit_data(src_.substr(pos_), pos_);
        pos_ = n;
        break;
      }
      char kind = src_[i + 1];
      size_t after = i + 2;
      char sign = 0;
      if (after < n && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
      size_t raw_end = kind == '%' ? match_raw_begin(after) : std::string::npos;
      std::string text = src_.substr(pos_, i - pos_);
      apply_lstrip(text, sign, kind != '{', line_starting);
      emit_data(text, pos_);
      if (raw_end != std::string::npos) {
        line_starting = src_[raw_end - 1] == '\n';
        lex_raw(i, raw_end, line_starting);
        continue;
      }
      if (kind == '#') {
        line_starting = lex_comment(i, after);
        continue;
      }
      push(kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", i);
      pos_ = after;
      line_starting = lex_tag(kind == '{');
    }
    push(Tok::Eof, "", n);
    return std::move(toks_);
  }

 private:
  int line_at(size_t pos) {
    if (pos < line_pos_) {  // rare: recount from the start
      line_pos_ = 0;
      line_ = 1;
    }
    while (line_pos_ < pos && line_pos_ < src_.size()) {
      if (src_[line_pos_] == '\n') line_++;
      line_pos_++;
    }
    return line_;
  }

  [[noreturn]] void error_at(size_t pos, const std::string& msg) { syntax_error(origin_, line_at(pos), msg); }

  void push(Tok t, std::string text, size_t pos) {
    Token tok;
    tok.type = t;
    tok.text = std::move(text);
    tok.line = line_at(pos);
    toks_.push_back(std::move(tok));
  }

  void emit_data(const std::string& text, size_t pos) {
    if (!text.empty()) push(Tok::Data, text, pos);
  }

  size_t find_opener(size_t from) const {
    for (size_t k = from; k + 1 < src_.size(); k++)
      if (src_[k] == '{' && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    return std::string::npos;
  }

  // Whitespace control before a tag: "-" strips all whitespace; lstrip_blocks strips spaces/tabs between
  // the start of the line and a block or comment tag (not a {{ }}), unless the tag says "+".
  void apply_lstrip(std::string& text, char sign, bool lstrip_kind, bool line_starting) const {
    if (sign == '-') {
      text = rstrip_ws(text);
    } else if (sign != '+' && lstrip_kind) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting) && all_ws(text, l_pos)) text.resize(l_pos);
    }
  }

  size_t skip_ws(size_t p) const {
    while (p < src_.size()) {
      size_t q = p;
      if (!py_isspace(decode_cp(src_, q))) break;
      p = q;
    }
    return p;
  }

  // "{%[-+] raw [-]%}" starting after the sign; returns the end of the match or npos.
  size_t match_raw_begin(size_t p) const {
    p = skip_ws(p);
    if (src_.compare(p, 3, "raw") != 0) return std::string::npos;
    p = skip_ws(p + 3);
    if (src_.compare(p, 3, "-%}") == 0) return skip_ws(p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string::npos;
  }

  void lex_raw(size_t start, size_t body, bool line_starting) {
    for (size_t k = body; k + 1 < src_.size(); k++) {
      if (src_[k] != '{' || src_[k + 1] != '%') continue;
      size_t p = k + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      p = skip_ws(p);
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p = skip_ws(p + 6);
      size_t end;
      if (src_.compare(p, 3, "+%}") == 0) end = p + 3;
      else if (src_.compare(p, 3, "-%}") == 0) end = skip_ws(p + 3);
      else if (src_.compare(p, 2, "%}") == 0) end = p + 2 + (p + 2 < src_.size() && src_[p + 2] == '\n');
      else continue;
      std::string text = src_.substr(body, k - body);
      apply_lstrip(text, sign, true, line_starting);
      emit_data(text, body);
      pos_ = end;
      return;
    }
    error_at(start, "Missing end of raw directive");
  }

  // Returns whether the comment's end consumed a newline (for lstrip_blocks of the next tag).
  bool lex_comment(size_t start, size_t after) {
    for (size_t q = src_.find("#}", after); q != std::string::npos; q = src_.find("#}", q + 1)) {
      size_t end;
      if (q > after && src_[q - 1] == '-') end = skip_ws(q + 2);
      else if (q > after && src_[q - 1] == '+') end = q + 2;
      else end = q + 2 + (q + 2 < src_.size() && src_[q + 2] == '\n');
      pos_ = end;
      return src_[end - 1] == '\n';
    }
    error_at(start, "Missing end of comment tag");
  }

  size_t match_digits(size_t p) const {  // (\d+_)*\d+
    if (p >= src_.size() || !is_digit(src_[p])) return std::string::npos;
    while (true) {
      while (p < src_.size() && is_digit(src_[p])) p++;
      if (p + 1 < src_.size() && src_[p] == '_' && is_digit(src_[p + 1])) {
        p++;
        continue;
      }
      return p;
    }
  }

  size_t match_float(size_t p) const {
    if (p > 0 && src_[p - 1] == '.') return std::string::npos;
    size_t q = match_digits(p);
    if (q == std::string::npos) return q;
    size_t frac = std::string::npos;
    if (q < src_.size() && src_[q] == '.') frac = match_digits(q + 1);
    size_t e = frac != std::string::npos ? frac : q;
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t s = e + 1;
      if (s < src_.size() && (src_[s] == '+' || src_[s] == '-')) s++;
      size_t x = match_digits(s);
      if (x != std::string::npos) return x;
    }
    return frac;
  }

  size_t match_int(size_t p, int& base) const {
    auto digit_ok = [](char c, int b) {
      if (b == 2) return c == '0' || c == '1';
      if (b == 8) return c >= '0' && c <= '7';
      if (b == 16) return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      return is_digit(c);
    };
    auto run = [&](size_t q, int b) {  // (_?D)+ ; at least one digit
      size_t start = q;
      while (q < src_.size()) {
        if (digit_ok(src_[q], b)) q++;
        else if (src_[q] == '_' && q + 1 < src_.size() && digit_ok(src_[q + 1], b)) q += 2;
        else break;
      }
      return q > start ? q : std::string::npos;
    };
    if (src_[p] == '0' && p + 1 < src_.size()) {
      char c = src_[p + 1] | 0x20;
      int b = c == 'b' ? 2 : c == 'o' ? 8 : c == 'x' ? 16 : 0;
      if (b) {
        size_t q = run(p + 2, b);
        if (q != std::string::npos) {
          base = b;
          return q;
        }
      }
    }
    base = 10;
    if (src_[p] >= '1' && src_[p] <= '9') {
      size_t q = run(p + 1, 10);
      return q == std::string::npos ? p + 1 : q;
    }
    if (src_[p] == '0') {
      size_t q = p + 1;
      while (q < src_.size()) {
        if (src_[q] == '0') q++;
        else if (src_[q] == '_' && q + 1 < src_.size() && src_[q + 1] == '0') q += 2;
        else break;
      }
      return q;
    }
    return std::string::npos;
  }

  std::string unescape(const std::string& raw, size_t pos) {
    std::string out;
    for (size_t k = 0; k < raw.size(); k++) {
      char c = raw[k];
      if (c != '\\' || k + 1 >= raw.size()) {
        out += c;
        continue;
      }
      char e = raw[++k];
      auto hex = [&](int ndig, const char* what) {
        uint32_t v = 0;
        for (int d = 0; d < ndig; d++) {
          if (k + 1 >= raw.size() || !isxdigit(static_cast<unsigned char>(raw[k + 1])))
            error_at(pos, str("truncated ", what, " escape in string literal"));
          char h = raw[++k];
          v = v * 16 + (is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        return v;
      };
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': append_cp(out, hex(2, "\\xXX")); break;
        case 'u': append_cp(out, hex(4, "\\uXXXX")); break;
        case 'U': {
          uint32_t v = hex(8, "\\UXXXXXXXX");
          if (v > 0x10FFFF) error_at(pos, "illegal Unicode character in string literal");
          append_cp(out, v);
          break;
        }
        case 'N': error_at(pos, "\\N{...} escapes are not supported in string literals");
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = e - '0';
            for (int d = 0; d < 2 && k + 1 < raw.size() && raw[k + 1] >= '0' && raw[k + 1] <= '7'; d++)
              v = v * 8 + (raw[++k] - '0');
            append_cp(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }

  // Tokens inside {{ }} or {% %}; returns line_starting for the next text (the end tag ate a newline).
  bool lex_tag(bool variable) {
    std::vector<char> balance;
    size_t n = src_.size();
    while (pos_ < n) {
      if (balance.empty()) {
        if (variable) {
          if (src_.compare(pos_, 3, "-}}") == 0) {
            size_t end = skip_ws(pos_ + 3);
            push(Tok::VarEnd, "", pos_);
            pos_ = end;
            return src_[end - 1] == '\n';
          }
          if (src_.compare(pos_, 2, "}}") == 0) {
            push(Tok::VarEnd, "", pos_);
            pos_ += 2;
            return false;
          }
        } else {
          if (src_.compare(pos_, 3, "+%}") == 0) {
            push(Tok::BlockEnd, "", pos_);
            pos_ += 3;
            return false;
          }
          if (src_.compare(pos_, 3, "-%}") == 0) {
            size_t end = skip_ws(pos_ + 3);
            push(Tok::BlockEnd, "", pos_);
            pos_ = end;
            return src_[end - 1] == '\n';
          }
          if (src_.compare(pos_, 2, "%}") == 0) {
            push(Tok::BlockEnd, "", pos_);
            pos_ += 2;
            if (pos_ < n && src_[pos_] == '\n') {  // trim_blocks
              pos_++;
              return true;
            }
            return false;
          }
        }
      }
      size_t q = pos_;
      if (py_isspace(decode_cp(src_, q))) {
        pos_ = skip_ws(pos_);
        continue;
      }
      char c = src_[pos_];
      if (is_digit(c)) {
        size_t f = match_float(pos_);
        if (f != std::string::npos) {
          std::string digits;
          for (size_t k = pos_; k < f; k++)
            if (src_[k] != '_') digits += src_[k];
          push(Tok::Float, "", pos_);
          toks_.back().fval = std::strtod(digits.c_str(), nullptr);
          pos_ = f;
          continue;
        }
        int base = 10;
        size_t e = match_int(pos_, base);
        std::string digits;
        for (size_t k = pos_ + (base == 10 ? 0 : 2); k < e; k++)
          if (src_[k] != '_') digits += src_[k];
        errno = 0;
        char* endp = nullptr;
        unsigned long long v = std::strtoull(digits.c_str(), &endp, base);
        if (errno == ERANGE || v > uint64_t(INT64_MAX)) error_at(pos_, "integer literal too large");
        push(Tok::Int, "", pos_);
        toks_.back().ival = int64_t(v);
        pos_ = e;
        continue;
      }
      if (is_ident_start(c)) {
        size_t e = pos_;
        while (e < n && is_ident_char(src_[e])) e++;
        push(Tok::Name, src_.substr(pos_, e - pos_), pos_);
        pos_ = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        size_t k = pos_ + 1;
        while (k < n && src_[k] != c) k += src_[k] == '\\' ? 2 : 1;
        if (k >= n) error_at(pos_, "unterminated string literal");
        std::string text = unescape(src_.substr(pos_ + 1, k - pos_ - 1), pos_);
        push(Tok::String, std::move(text), pos_);
        pos_ = k + 1;
        continue;
      }
      static const char* two[] = {"//", "**", "==", "!=", ">=", "<="};
      std::string op;
      for (const char* t : two)
        if (src_.compare(pos_, 2, t) == 0) op = t;
      if (op.empty() && std::strchr("+-/*%~[](){}><=.:|,;", c) && c != 0) op = std::string(1, c);
      if (op.empty()) {
        size_t p2 = pos_;
        decode_cp(src_, p2);
        error_at(pos_, "unexpected char '" + src_.substr(pos_, p2 - pos_) + "'");
      }
      if (op == "(" || op == "[" || op == "{") {
        balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      } else if (op == ")" || op == "]" || op == "}") {
        if (balance.empty()) error_at(pos_, "unexpected '" + op + "'");
        if (balance.back() != op[0]) error_at(pos_, str("unexpected '", op, "', expected '", balance.back(), "'"));
        balance.pop_back();
      }
      push(Tok::Op, op, pos_);
      pos_ += op.size();
    }
    return false;  // end of template inside a tag: the parser reports it
  }

  std::string src_;
  std::string origin_;
  size_t pos_ = 0;
  size_t line_pos_ = 0;
  int line_ = 1;
  std::vector<Token> toks_;
};

// ---------------------------------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string origin) : t_(std::move(toks)), origin_(std::move(origin)) {}

  Body parse_template() {
    Body body = subparse({});
    return body;
  }

 private:
  const Token& cur() const { return t_[k_]; }
  const Token& peek(size_t d = 1) const { return t_[std::min(k_ + d, t_.size() - 1)]; }
  void advance() {
    if (k_ + 1 < t_.size()) k_++;
  }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }

  [[noreturn]] void error(const std::string& msg) const { syntax_error(origin_, cur().line, msg); }

  std::string describe(const Token& t) const {
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

  void expect_op(const char* op) {
    if (!is_op(op)) error(str("expected '", op, "', got ", describe(cur())));
    advance();
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) error("expected a name, got " + describe(cur()));
    std::string s = cur().text;
    advance();
    return s;
  }
  void expect_block_end() {
    if (is_op(":")) advance();  // Jinja accepts an optional colon
    if (cur().type != Tok::BlockEnd) error("expected end of statement block, got " + describe(cur()));
    advance();
  }

  struct Depth {
    Parser& p;
    explicit Depth(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nested too deeply");
    }
    ~Depth() { p.depth_--; }
  };

  // Parses statements until a block tag whose name is in `ends` (cur() is then that name) or the end.
  Body subparse(const std::vector<std::string>& ends) {
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

  StmtPtr parse_statement(const std::vector<std::string>& ends) {
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
  Body block_body(const std::string& name, int line, const std::vector<std::string>& ends) {
    blocks_.push_back(name);
    block_lines_.push_back(line);
    Body b = subparse(ends);
    blocks_.pop_back();
    block_lines_.pop_back();
    return b;
  }

  StmtPtr parse_if() {
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

  StmtPtr parse_for() {
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

  Target parse_target(bool with_namespace, const std::vector<std::string>& extra_end) {
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

  StmtPtr parse_set() {
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

  StmtPtr parse_macro() {
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

  StmtPtr parse_filter_block() {
    int line = cur().line;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, line);
    s->expr = parse_filter_chain(nullptr, true);
    expect_block_end();
    s->body = block_body("filter", line, {"endfilter"});
    advance();
    return s;
  }

  StmtPtr parse_with() {
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

  StmtPtr parse_scope(const std::string& name, const std::string& end) {
    int line = cur().line;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Scope, line);
    expect_block_end();
    s->body = block_body(name, line, {end});
    advance();
    return s;
  }

  StmtPtr parse_print() {
    int line = cur().line;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Output, line);
    s->expr = parse_tuple(true, false, {});
    return s;
  }

  // ---- expressions

  ExprPtr make(Expr::Kind k, int line) { return std::make_unique<Expr>(k, line); }

  bool tuple_end(const std::vector<std::string>& extra_end) const {
    if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::Eof) return true;
    if (is_op(")") || is_op("]") || is_op("}")) return true;
    if (cur().type == Tok::Name)
      for (const auto& e : extra_end)
        if (cur().text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, bool explicit_parens, const std::vector<std::string>& extra_end) {
    int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (tuple_end(extra_end)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error("expected an expression, got " + describe(cur()));
    }
    auto e = make(Expr::Kind::Tuple, line);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Depth guard(*this);
    if (!with_condexpr) return parse_or();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      int line = cur().line;
      advance();
      auto e = make(Expr::Kind::CondExpr, line);
      e->b = parse_or();  // condition
      if (is_name("else")) {
        advance();
        e->c = parse_expression(true);
      }
      e->a = std::move(expr);
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto e = make(Expr::Kind::Or, cur().line);
      advance();
      e->a = std::move(left);
      e->b = parse_and();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto e = make(Expr::Kind::And, cur().line);
      advance();
      e->a = std::move(left);
      e->b = parse_not();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Depth guard(*this);
      auto e = make(Expr::Kind::Not, cur().line);
      advance();
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      std::string op;
      if (cur().type == Tok::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        op = "notin";
        advance();
        advance();
      } else {
        break;
      }
      ops.push_back(op);
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = make(Expr::Kind::Compare, line);
    e->a = std::move(first);
    e->ops = std::move(ops);
    e->args = std::move(operands);
    return e;
  }

  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, int line) {
    auto e = make(Expr::Kind::Binary, line);
    e->name = op;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      int line = cur().line;
      advance();
      left = binary(op, std::move(left), parse_concat(), line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    int line = cur().line;
    std::vector<ExprPtr> parts;
    parts.push_back(parse_math2());
    while (is_op("~")) {
      advance();
      parts.push_back(parse_math2());
    }
    if (parts.size() == 1) return std::move(parts[0]);
    auto e = make(Expr::Kind::Concat, line);
    e->args = std::move(parts);
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      int line = cur().line;
      advance();
      left = binary(op, std::move(left), parse_pow(), line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      int line = cur().line;
      advance();
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Depth guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto e = make(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos, cur().line);
      advance();
      e->a = parse_unary(false);
      node = std::move(e);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::Name) {
      const std::string& n = t.text;
      ExprPtr e;
      if (n == "true" || n == "True" || n == "false" || n == "False") {
        e = make(Expr::Kind::Const, line);
        e->value = Value::boolean(n == "true" || n == "True");
      } else if (n == "none" || n == "None") {
        e = make(Expr::Kind::Const, line);
        e->value = Value::none();
      } else {
        e = make(Expr::Kind::Name, line);
        e->name = n;
      }
      advance();
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) {  // adjacent literals concatenate
        s += cur().text;
        advance();
      }
      auto e = make(Expr::Kind::Const, line);
      e->value = Value::string(std::move(s));
      return e;
    }
    if (t.type == Tok::Int || t.type == Tok::Float) {
      auto e = make(Expr::Kind::Const, line);
      e->value = t.type == Tok::Int ? Value::integer(t.ival) : Value::real(t.fval);
      advance();
      return e;
    }
    if (is_op("(")) {
      advance();
      ExprPtr e = parse_tuple(true, true, {});
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      advance();
      auto e = make(Expr::Kind::List, line);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      advance();
      return e;
    }
    if (is_op("{")) {
      advance();
      auto e = make(Expr::Kind::Dict, line);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      advance();
      return e;
    }
    error("unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        int line = cur().line;
        advance();
        if (cur().type == Tok::Name) {
          auto e = make(Expr::Kind::Getattr, line);
          e->a = std::move(node);
          e->name = cur().text;
          advance();
          node = std::move(e);
        } else if (cur().type == Tok::Int) {
          auto e = make(Expr::Kind::Getitem, line);
          e->a = std::move(node);
          e->b = make(Expr::Kind::Const, line);
          e->b->value = Value::integer(cur().ival);
          advance();
          node = std::move(e);
        } else {
          error("expected an attribute name after '.', got " + describe(cur()));
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        break;
      }
    }
    return node;
  }

  ExprPtr parse_subscript(ExprPtr node) {
    int line = cur().line;
    advance();
    std::vector<ExprPtr> items;
    while (!is_op("]")) {
      if (!items.empty()) {
        expect_op(",");
        if (is_op("]")) break;
      }
      items.push_back(parse_subscribed());
    }
    advance();
    if (items.size() == 1 && items[0]->kind == Expr::Kind::Slice) {
      items[0]->a = std::move(node);
      return std::move(items[0]);
    }
    auto e = make(Expr::Kind::Getitem, line);  // x[] subscripts with an empty tuple, as in Jinja
    e->a = std::move(node);
    if (items.size() == 1) {
      e->b = std::move(items[0]);
    } else {
      for (auto& it : items)
        if (it->kind == Expr::Kind::Slice) error("slices inside tuple subscripts are not supported");
      e->b = make(Expr::Kind::Tuple, line);
      e->b->args = std::move(items);
    }
    return e;
  }

  ExprPtr parse_subscribed() {
    int line = cur().line;
    std::vector<ExprPtr> parts;  // start, stop, step (null = None)
    if (is_op(":")) {
      advance();
      parts.push_back(nullptr);
    } else {
      ExprPtr e = parse_expression(true);
      if (!is_op(":")) return e;
      advance();
      parts.push_back(std::move(e));
    }
    if (is_op(":")) parts.push_back(nullptr);
    else if (!is_op("]") && !is_op(",")) parts.push_back(parse_expression(true));
    else parts.push_back(nullptr);
    if (is_op(":")) {
      advance();
      if (!is_op("]") && !is_op(",")) parts.push_back(parse_expression(true));
      else parts.push_back(nullptr);
    } else {
      parts.push_back(nullptr);
    }
    auto s = make(Expr::Kind::Slice, line);
    s->args = std::move(parts);
    return s;
  }

  void parse_call_args(std::vector<ExprPtr>& args, std::vector<std::pair<std::string, ExprPtr>>& kwargs) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!kwargs.empty()) error("positional argument after keyword argument");
        args.push_back(parse_expression(true));
      }
    }
    advance();
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(Expr::Kind::Call, cur().line);
    e->a = std::move(node);
    parse_call_args(e->args, e->kwargs);
    return e;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".")) {
      advance();
      name += "." + expect_name();
    }
    return name;
  }

  ExprPtr parse_one_filter(ExprPtr node) {
    int line = cur().line;
    std::string name = dotted_name();
    FilterFn fn = find_filter(name);
    if (!fn) syntax_error(origin_, line, "no filter named '" + name + "'");
    auto e = make(Expr::Kind::Filter, line);
    e->a = std::move(node);
    e->name = name;
    e->filter = fn;
    if (is_op("(")) parse_call_args(e->args, e->kwargs);
    return e;
  }

  // "| f | g(...)" after a {% set x | f %} or {% filter f %}; the input is supplied at run time.
  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline = false) {
    if (start_inline) node = parse_one_filter(std::move(node));
    while (is_op("|")) {
      advance();
      node = parse_one_filter(std::move(node));
    }
    return node;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        advance();
        node = parse_one_filter(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        break;
      }
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    int line = cur().line;
    advance();
    bool negated = false;
    if (is_name("not")) {
      negated = true;
      advance();
    }
    std::string name = dotted_name();
    TestFn fn = find_test(name);
    if (!fn) syntax_error(origin_, line, "no test named '" + name + "'");
    auto e = make(Expr::Kind::Test, line);
    e->a = std::move(node);
    e->name = name;
    e->test = fn;
    e->negated = negated;
    if (is_op("(")) {
      parse_call_args(e->args, e->kwargs);
    } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                cur().type == Tok::Float || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("You cannot chain multiple tests with is");
      e->args.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  std::vector<Token> t_;
  std::string origin_;
  size_t k_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::string> blocks_;
  std::vector<int> block_lines_;
};

}  // namespace

std::shared_ptr<Program> parse_program(const std::string& source, const std::string& origin) {
  Lexer lexer(source, origin);
  Parser parser(lexer.run(), origin);
  auto prog = std::make_shared<Program>();
  prog->origin = origin;
  prog->body = parser.parse_template();
  return prog;
}

}  // namespace r1::jinja
