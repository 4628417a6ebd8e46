#include "core/utf8.h"
#include "tokenizer/pretokenizer.h"

#include "core/check.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace r1 {

// ---- regex strings (public: Hugging Face tokenizer.json files, llama.cpp's llama-vocab.cpp) ----
const char* const kRegexGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kRegexLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kRegexQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// ---- UTF-8 helpers ----
size_t utf8_valid_prefix(const char* str, size_t n) {
  const unsigned char* s = reinterpret_cast<const unsigned char*>(str);
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += len;
  }
  return n;
}

uint32_t utf8_decode(const char* str, size_t* len) {
  const unsigned char* s = reinterpret_cast<const unsigned char*>(str);
  unsigned char c = s[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if (c < 0xE0) {
    *len = 2;
    return ((c & 0x1F) << 6) | (s[1] & 0x3F);
  }
  if (c < 0xF0) {
    *len = 3;
    return ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  }
  *len = 4;
  return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}


namespace {
struct ByteTables {
  std::string b2u[256];
  int u2b[512];
  ByteTables() {
    for (int& v : u2b) v = -1;
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? b : 256 + extra++;
      utf8_append(b2u[b], cp);
      u2b[cp] = b;
    }
  }
};
const ByteTables& byte_tables() {
  static const ByteTables t;
  return t;
}
}  // namespace

const std::string& byte_to_unicode(unsigned char b) { return byte_tables().b2u[b]; }
int unicode_to_byte(uint32_t cp) { return cp < 512 ? byte_tables().u2b[cp] : -1; }

// ---- Regex ----
namespace {
struct MatchScratch {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchScratch() {
    md = pcre2_match_data_create(32, nullptr);
    mctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    if (mctx && stack) pcre2_jit_stack_assign(mctx, nullptr, stack);
  }
  ~MatchScratch() {
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    pcre2_jit_stack_free(stack);
  }
};
MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    fail(where, ": invalid regex at offset ", off, " (", reinterpret_cast<const char*>(buf), "): ", pattern);
  }
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::find(const char* s, size_t n, size_t start, size_t* mbeg, size_t* mend) const {
  MatchScratch& sc = scratch();
  auto* code = static_cast<pcre2_code*>(code_);
  int rc = jit_ ? pcre2_jit_match(code, reinterpret_cast<PCRE2_SPTR>(s), n, start, 0, sc.md, sc.mctx)
                : pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s), n, start, PCRE2_NO_UTF_CHECK, sc.md, sc.mctx);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(rc, buf, sizeof buf);
    fail("pre-tokenizer regex failed (", reinterpret_cast<const char*>(buf), ") on a ", n, "-byte piece: ", pattern_);
  }
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(sc.md);
  *mbeg = ov[0];
  *mend = ov[1] < ov[0] ? ov[0] : ov[1];
  return true;
}

// ---- PreTokenizer ----
namespace {
std::string escape_literal(const std::string& s) {
  std::string r;
  for (unsigned char c : s) {
    if (c < 0x80 && !std::isalnum(c)) r += '\\';
    r += char(c);
  }
  return r;
}

SplitBehavior parse_behavior(const std::string& b, const std::string& where) {
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail(where, ": pre_tokenizer Split.behavior '", b,
       "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

const char* behavior_name(SplitBehavior b) {
  switch (b) {
    case SplitBehavior::Removed: return "Removed";
    case SplitBehavior::Isolated: return "Isolated";
    case SplitBehavior::MergedWithPrevious: return "MergedWithPrevious";
    case SplitBehavior::MergedWithNext: return "MergedWithNext";
    case SplitBehavior::Contiguous: return "Contiguous";
  }
  return "Isolated";
}

// Shared compiled regexes (compiling the big ones with JIT costs a little; presets are reused).
std::shared_ptr<Regex> compile(const std::string& pattern, const std::string& where) {
  return std::make_shared<Regex>(pattern, where);
}

// Preset regex lists. deepseek-* lists are those of the models' tokenizer.json Split steps (as listed by llama.cpp).
struct PresetDef {
  const char* name;
  std::vector<std::string> regexes;
  bool bl_regex;  // ByteLevel use_regex
};

const std::vector<PresetDef>& preset_defs() {
  static const std::vector<PresetDef> defs = {
      {"gpt2", {}, true},
      {"llama-bpe", {kRegexLlama3}, false},
      {"qwen2", {kRegexQwen2}, false},
      {"deepseek-llm",
       {"[\\r\\n]",
        u8"\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ\\x{10400}-\\x{1044f}𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        u8"\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", u8"[一-龥ࠀ-一가-퟿]+", "\\p{N}+"},
       false},
      {"deepseek-coder", {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", u8"[一-龥ࠀ-一가-퟿]+", "\\p{N}"}, false},
      {"deepseek-v3",
       {"\\p{N}{1,3}", u8"[一-龥぀-ゟ゠-ヿ]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       false},
      {"default",
       {R"([\p{P}\$\+<=>\^~\|]+)", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))", "\\p{N}+",
        "[0-9][0-9][0-9]"},
       false},
  };
  return defs;
}

std::string canonical_preset(const std::string& name) {
  if (name == "gpt-2" || name == "gpt2") return "gpt2";
  if (name == "llama3" || name == "llama-v3" || name == "llama-bpe" || name == "llama-3") return "llama-bpe";
  if (name == "qwen2" || name == "deepseek-r1-qwen") return "qwen2";
  return name;
}

const PresetDef* find_preset(const std::string& name) {
  std::string c = canonical_preset(name);
  for (auto& d : preset_defs())
    if (c == d.name) return &d;
  return nullptr;
}
}  // namespace

bool PreTokenizer::is_preset(const std::string& name) { return find_preset(name) != nullptr; }

PreTokenizer PreTokenizer::preset(const std::string& name) {
  const PresetDef* d = find_preset(name);
  if (!d) {
    std::string names;
    for (auto& p : preset_defs()) names += std::string(names.empty() ? "" : ", ") + p.name;
    fail("unknown pre-tokenizer '", name, "' (known: ", names, ", deepseek-r1-qwen, llama3)");
  }
  // Compiled once per process per preset; PreTokenizer copies share the compiled code.
  static std::vector<std::pair<std::string, std::vector<std::shared_ptr<Regex>>>> cache;
  static std::mutex* mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  std::vector<std::shared_ptr<Regex>>* compiled = nullptr;
  for (auto& c : cache)
    if (c.first == d->name) compiled = &c.second;
  if (!compiled) {
    std::vector<std::shared_ptr<Regex>> v;
    for (auto& r : d->regexes) v.push_back(compile(r, std::string("pre-tokenizer preset ") + d->name));
    cache.emplace_back(d->name, std::move(v));
    compiled = &cache.back().second;
  }
  PreTokenizer p;
  p.name = d->name;
  for (auto& r : *compiled) p.splits.push_back({r, "", SplitBehavior::Isolated, false});
  p.set_byte_level(true, false, d->bl_regex);
  return p;
}

void PreTokenizer::set_byte_level(bool enabled, bool prefix_space, bool regex) {
  byte_level = enabled;
  add_prefix_space = prefix_space;
  use_regex = regex;
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j, const std::string& where) {
  PreTokenizer p;
  p.byte_level = false;
  std::vector<const nlohmann::json*> steps;
  if (j.is_null()) return p;
  R1_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(), where,
           ": pre_tokenizer must be null or an object with a string \"type\"");
  if (j["type"] == "Sequence") {
    R1_CHECK(j.contains("pretokenizers") && j["pretokenizers"].is_array(), where,
             ": pre_tokenizer Sequence needs an array \"pretokenizers\"");
    for (auto& s : j["pretokenizers"]) steps.push_back(&s);
  } else {
    steps.push_back(&j);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const nlohmann::json& s = *steps[i];
    std::string w = where + ": pre_tokenizer[" + std::to_string(i) + "]";
    R1_CHECK(s.is_object() && s.contains("type") && s["type"].is_string(), w, " must be an object with a \"type\"");
    std::string type = s["type"];
    R1_CHECK(!p.byte_level, w, ": ", type, " after ByteLevel is not supported (ByteLevel must be the last step)");
    if (type == "ByteLevel") {
      p.byte_level = true;
      p.add_prefix_space = s.value("add_prefix_space", true);
      p.use_regex = s.value("use_regex", true);
      p.trim_offsets = s.value("trim_offsets", true);
    } else if (type == "Split") {
      R1_CHECK(s.contains("pattern") && s["pattern"].is_object(), w, ": Split needs an object \"pattern\"");
      const auto& pat = s["pattern"];
      Split sp;
      if (pat.contains("Regex") && pat["Regex"].is_string()) {
        sp.regex = compile(pat["Regex"].get<std::string>(), w + ".pattern.Regex");
      } else if (pat.contains("String") && pat["String"].is_string()) {
        sp.literal = pat["String"].get<std::string>();
        sp.regex = compile(escape_literal(sp.literal), w + ".pattern.String");
      } else {
        fail(w, ": Split.pattern must have a string \"Regex\" or \"String\"");
      }
      R1_CHECK(s.contains("behavior") && s["behavior"].is_string(), w, ": Split needs a string \"behavior\"");
      sp.behavior = parse_behavior(s["behavior"], w);
      sp.invert = s.value("invert", false);
      p.splits.push_back(std::move(sp));
    } else if (type == "Digits") {
      bool individual = s.value("individual_digits", false);
      p.splits.push_back({compile(individual ? "\\p{N}" : "\\p{N}+", w), "", SplitBehavior::Isolated, false});
    } else {
      fail(w, ": pre-tokenizer type '", type, "' is not supported (byte-level BPE needs Split, Digits, ByteLevel)");
    }
  }
  // Name the preset this matches, if any (for reporting and GGUF export).
  for (auto& d : preset_defs()) {
    if (d.regexes.size() != p.splits.size() || d.bl_regex != p.use_regex || !p.byte_level || p.add_prefix_space)
      continue;
    bool same = true;
    for (size_t i = 0; i < p.splits.size() && same; ++i) {
      const std::string& got = p.splits[i].regex->pattern();
      std::string want = d.regexes[i];
      same = p.splits[i].behavior == SplitBehavior::Isolated && !p.splits[i].invert && got == want;
    }
    if (same) p.name = d.name;
  }
  return p;
}

nlohmann::json PreTokenizer::to_json() const {
  nlohmann::json seq = nlohmann::json::array();
  for (auto& s : splits) {
    nlohmann::json pat;
    if (!s.literal.empty() || !s.regex)
      pat["String"] = s.literal;
    else
      pat["Regex"] = s.regex->pattern();
    seq.push_back({{"type", "Split"}, {"pattern", pat}, {"behavior", behavior_name(s.behavior)}, {"invert", s.invert}});
  }
  if (byte_level)
    seq.push_back({{"type", "ByteLevel"},
                   {"add_prefix_space", add_prefix_space},
                   {"trim_offsets", trim_offsets},
                   {"use_regex", use_regex}});
  if (seq.empty()) return nullptr;
  if (seq.size() == 1) return seq[0];
  return {{"type", "Sequence"}, {"pretokenizers", seq}};
}

namespace {
const Regex& gpt2_regex() {
  static const Regex r(kRegexGpt2, "ByteLevel regex");
  return r;
}

// Applies the HF Split fold (behavior over the match / non-match segments), emitting finished pieces.
struct Emitter {
  const char* s;
  PreTokenizer::PieceFn cb;
  void* ctx;
  const PreTokenizer* self;
  size_t next_step;
  bool has = false;
  size_t ls = 0, le = 0;
  void (*forward)(const PreTokenizer*, size_t, const char*, size_t, PreTokenizer::PieceFn, void*) = nullptr;
  void emit(size_t b, size_t e) {
    if (e > b) forward(self, next_step, s + b, e - b, cb, ctx);
  }
  void push(size_t b, size_t e) {
    if (has) emit(ls, le);
    ls = b;
    le = e;
    has = true;
  }
  void finish() {
    if (has) emit(ls, le);
    has = false;
  }
};
}  // namespace

void PreTokenizer::run_step(size_t step, const char* s, size_t n, PieceFn cb, void* ctx) const {
  if (step < splits.size()) {
    const Split& sp = splits[step];
    Emitter em{s, cb, ctx, this, step + 1};
    em.forward = [](const PreTokenizer* self, size_t st, const char* p, size_t len, PieceFn f, void* c) {
      self->run_step(st, p, len, f, c);
    };
    bool prev_match = false, pending = false;
    size_t pb = 0, pe = 0;
    auto segment = [&](size_t b, size_t e, bool is_match) {
      if (sp.invert) is_match = !is_match;
      switch (sp.behavior) {
        case SplitBehavior::Isolated: em.push(b, e); break;
        case SplitBehavior::Removed:
          if (!is_match) em.push(b, e);
          break;
        case SplitBehavior::MergedWithPrevious:
          if (is_match && !prev_match && em.has)
            em.le = e;
          else
            em.push(b, e);
          break;
        case SplitBehavior::MergedWithNext:  // a match joins the following non-match (HF folds in reverse)
          if (is_match) {
            if (pending) em.push(pb, pe);
            pending = true;
            pb = b;
            pe = e;
          } else if (pending) {
            em.push(pb, e);
            pending = false;
          } else {
            em.push(b, e);
          }
          break;
        case SplitBehavior::Contiguous:
          if (em.has && is_match == prev_match)
            em.le = e;
          else
            em.push(b, e);
          break;
      }
      prev_match = is_match;
    };
    size_t prev = 0, pos = 0, mb, me;
    while (pos <= n && sp.regex->find(s, n, pos, &mb, &me)) {
      if (mb != prev) segment(prev, mb, false);
      segment(mb, me, true);
      prev = me;
      if (me > mb) {
        pos = me;
      } else {  // empty match: step over one character
        if (me >= n) break;
        size_t len;
        utf8_decode(s + me, &len);
        pos = me + len;
      }
    }
    if (prev != n) segment(prev, n, false);
    if (pending) em.push(pb, pe);
    em.finish();
    return;
  }
  // ByteLevel stage (or the end when there is none).
  if (byte_level && add_prefix_space && (n == 0 || s[0] != ' ')) {
    std::string tmp;
    tmp.reserve(n + 1);
    tmp += ' ';
    tmp.append(s, n);
    if (use_regex) {
      size_t pos = 0, mb, me;
      while (pos < tmp.size() && gpt2_regex().find(tmp.data(), tmp.size(), pos, &mb, &me) && me > mb) {
        cb(ctx, tmp.data() + mb, me - mb);  // the GPT-2 regex covers every character, so there are no gaps
        pos = me;
      }
    } else {
      cb(ctx, tmp.data(), tmp.size());
    }
    return;
  }
  if (byte_level && use_regex) {
    size_t pos = 0, prev = 0, mb, me;
    while (pos < n && gpt2_regex().find(s, n, pos, &mb, &me)) {
      if (mb > prev) cb(ctx, s + prev, mb - prev);
      if (me > mb) cb(ctx, s + mb, me - mb);
      prev = me;
      if (me > mb) {
        pos = me;
      } else {
        size_t len;
        utf8_decode(s + me, &len);
        pos = me + len;
      }
    }
    if (prev < n) cb(ctx, s + prev, n - prev);
    return;
  }
  if (n) cb(ctx, s, n);
}

void PreTokenizer::run(const char* s, size_t n, PieceFn cb, void* ctx) const { run_step(0, s, n, cb, ctx); }

std::vector<std::string> PreTokenizer::split(const std::string& text) const {
  std::vector<std::string> out;
  R1_CHECK(utf8_valid_prefix(text.data(), text.size()) == text.size(), "pre-tokenizer: text is not valid UTF-8");
  run(text.data(), text.size(),
      [](void* c, const char* p, size_t len) { static_cast<std::vector<std::string>*>(c)->emplace_back(p, len); },
      &out);
  return out;
}

// ---- Normalizer ----
Normalizer Normalizer::from_json(const nlohmann::json& j, const std::string& where) {
  Normalizer n;
  if (j.is_null()) return n;
  R1_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(), where,
           ": normalizer must be null or an object with a string \"type\"");
  std::vector<const nlohmann::json*> steps;
  if (j["type"] == "Sequence") {
    R1_CHECK(j.contains("normalizers") && j["normalizers"].is_array(), where,
             ": normalizer Sequence needs an array \"normalizers\"");
    for (auto& s : j["normalizers"]) steps.push_back(&s);
  } else {
    steps.push_back(&j);
  }
  for (auto* s : steps) {
    R1_CHECK(s->is_object() && s->contains("type") && (*s)["type"].is_string(), where,
             ": each normalizer must be an object with a string \"type\"");
    std::string t = (*s)["type"];
    if (t == "NFC")
      n.forms.push_back(NFC);
    else if (t == "NFD")
      n.forms.push_back(NFD);
    else if (t == "NFKC")
      n.forms.push_back(NFKC);
    else if (t == "NFKD")
      n.forms.push_back(NFKD);
    else
      fail(where, ": normalizer type '", t, "' is not supported (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  }
  return n;
}

nlohmann::json Normalizer::to_json() const {
  static const char* names[] = {"NFC", "NFD", "NFKC", "NFKD"};
  if (forms.empty()) return nullptr;
  if (forms.size() == 1) return {{"type", names[forms[0]]}};
  nlohmann::json seq = nlohmann::json::array();
  for (Form f : forms) seq.push_back({{"type", names[f]}});
  return {{"type", "Sequence"}, {"normalizers", seq}};
}

namespace {
// Code points that NFC leaves alone whatever surrounds them: combining class 0, NFC of the character alone is
// itself, and never the second element of a canonical composition. Text made only of these is already NFC.
struct NfcInert {
  std::vector<uint64_t> bits;  // 0x110000 bits
  bool test(uint32_t cp) const { return (bits[cp >> 6] >> (cp & 63)) & 1; }
  NfcInert() : bits(0x110000 / 64, 0) {
    std::vector<uint8_t> second(0x110000, 0);
    utf8proc_int32_t buf[8];
    for (uint32_t cp = 0; cp < 0x110000; ++cp) {
      const utf8proc_property_t* p = utf8proc_get_property(cp);
      if (p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0) continue;  // no canonical decomposition
      int last = 0;
      utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 8, UTF8PROC_DECOMPOSE, &last);
      for (utf8proc_ssize_t k = 1; k < n && k < 8; ++k) second[buf[k]] = 1;
    }
    for (uint32_t cp = 0; cp < 0x110000; ++cp) {
      if (second[cp] || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xD800 && cp <= 0xDFFF)) continue;  // jamo
      const utf8proc_property_t* p = utf8proc_get_property(cp);
      if (p->combining_class != 0) continue;
      if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {  // canonical decomposition: NFC must recompose
        std::string u;
        utf8_append(u, cp);
        utf8proc_uint8_t* out = nullptr;
        utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(u.data()), u.size(), &out,
                                            static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
        bool same = len == utf8proc_ssize_t(u.size()) && std::memcmp(out, u.data(), u.size()) == 0;
        std::free(out);
        if (!same) continue;
      }
      bits[cp >> 6] |= 1ull << (cp & 63);
    }
  }
};
const NfcInert& nfc_inert() {
  static const NfcInert t;
  return t;
}

bool is_nfc_quick(const std::string& s) {
  const NfcInert& t = nfc_inert();
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t v = utf8_valid_prefix(s.data() + i, std::min<size_t>(4, n - i));
    if (v == 0) return false;
    size_t len;
    uint32_t cp = utf8_decode(s.data() + i, &len);
    if (len > v || !t.test(cp)) return false;
    i += len;
  }
  return true;
}
}  // namespace

std::string Normalizer::apply(const std::string& s) const {
  bool ascii = true;
  for (unsigned char c : s)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii || forms.empty()) return s;  // every normal form of ASCII is itself
  if (forms.size() == 1 && forms[0] == NFC && is_nfc_quick(s)) return s;
  std::string cur = s;
  for (Form f : forms) {
    int opt = UTF8PROC_STABLE;
    switch (f) {
      case NFC: opt |= UTF8PROC_COMPOSE; break;
      case NFD: opt |= UTF8PROC_DECOMPOSE; break;
      case NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
      case NFKD: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t* out = nullptr;
    utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(cur.data()), cur.size(), &out,
                                        static_cast<utf8proc_option_t>(opt));
    if (len < 0) {  // not valid UTF-8: leave unchanged
      std::free(out);
      return cur;
    }
    cur.assign(reinterpret_cast<char*>(out), len);
    std::free(out);
  }
  return cur;
}

}  // namespace r1
