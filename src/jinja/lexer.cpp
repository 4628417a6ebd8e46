// Jinja2 lexer. It reproduces Jinja2 3.1's rules with trim_blocks=True and
// lstrip_blocks=True: newlines normalised to \n, one trailing newline dropped, "-" strips all whitespace on
// that side of a tag, a block or comment tag eats the single newline after it, and whitespace between the
// start of a line and a block or comment tag is dropped.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/check.h"
#include "jinja/parser.h"

namespace r1::jinja {

[[noreturn]] void syntax_error(const std::string& origin, int line, const std::string& msg) {
  fail(origin, ":", line, ": ", msg);
}

namespace {

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

}  // namespace

std::vector<Token> lex(const std::string& source, const std::string& origin) {
  Lexer lexer(source, origin);
  return lexer.run();
}

}  // namespace r1::jinja
