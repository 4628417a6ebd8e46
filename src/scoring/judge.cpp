#include "scoring/judge.h"

#include "core/check.h"
#include "core/io.h"
#include "core/stage.h"
#include "jinja/jinja.h"
#include "rollout/policy.h"
#include "scoring/rm_input.h"

#include <cctype>
#include <regex>

namespace r1 {

namespace {

const char* kScoreN10 = "score: N/10";
const char* kBracketN = "[[N]]";
const char* kVerdictAB = "[[A]]/[[B]]";
const char* kYesNo = "yes/no";

nlohmann::ordered_json template_vars(const std::string& question, const std::string& prompt,
                                     const std::string& response) {
  nlohmann::ordered_json v;
  v["question"] = question;
  v["prompt"] = prompt;
  v["response"] = response;
  v["summary"] = rm_view_text(response, RmView::Summary);
  return v;
}

// The last match of `re` in `text`, or nothing.
std::optional<std::smatch> last_match(const std::string& text, const std::regex& re) {
  std::optional<std::smatch> last;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) last = *it;
  return last;
}

std::optional<double> to_number(const std::string& s) {
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == 0) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void check_parse_rule(const std::string& rule, const std::string& who) {
  if (rule == kScoreN10 || rule == kBracketN || rule == kVerdictAB || rule == kYesNo) return;
  std::regex re;
  try {
    re = std::regex(rule, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(who, ": parse '", rule, "' is neither a named rule (\"", kScoreN10, "\", \"", kBracketN, "\", \"", kVerdictAB,
         "\", \"", kYesNo, "\") nor a valid regular expression (", e.what(), ")");
  }
  R1_CHECK(re.mark_count() >= 1, who, ": parse regex '", rule, "' needs a capture group around the number");
}

std::optional<double> parse_judgement(const std::string& text, const std::string& rule) {
  if (rule == kScoreN10) {
    static const std::regex re(R"([Ss][Cc][Oo][Rr][Ee]\s*:\s*(-?[0-9]+(?:\.[0-9]+)?)\s*/\s*10)");
    auto m = last_match(text, re);
    if (!m) return std::nullopt;
    auto v = to_number((*m)[1].str());
    return v ? std::optional<double>(*v / 10.0) : std::nullopt;
  }
  if (rule == kBracketN) {
    static const std::regex re(R"(\[\[(-?[0-9]+(?:\.[0-9]+)?)\]\])");
    auto m = last_match(text, re);
    if (!m) return std::nullopt;
    auto v = to_number((*m)[1].str());
    return v ? std::optional<double>(*v / 10.0) : std::nullopt;
  }
  if (rule == kVerdictAB) {
    static const std::regex re(R"(\[\[([AB])\]\])");
    auto m = last_match(text, re);
    if (!m) return std::nullopt;
    return (*m)[1].str() == "A" ? 1.0 : 0.0;
  }
  if (rule == kYesNo) {
    size_t b = text.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return std::nullopt;
    std::string w;
    for (size_t i = b; i < text.size() && std::isalpha((unsigned char)text[i]); i++) w += (char)std::tolower(text[i]);
    if (w == "yes") return 1.0;
    if (w == "no") return 0.0;
    return std::nullopt;
  }
  const std::regex re(rule, std::regex::ECMAScript);
  auto m = last_match(text, re);
  if (!m || m->size() < 2) return std::nullopt;
  return to_number((*m)[1].str());
}

const std::vector<std::string>& JudgeConfig::param_names() {
  static const std::vector<std::string> names = {"model", "tokenizer", "template", "max_new_tokens",
                                                 "parse", "default",   "chat"};
  return names;
}

JudgeConfig JudgeConfig::from_params(const nlohmann::json& p, const std::string& who) {
  JudgeConfig c;
  auto str = [&](const char* k, const std::string& def) {
    if (!p.contains(k)) return def;
    R1_CHECK(p[k].is_string(), who, ": '", k, "' must be a string, got ", p[k].dump());
    return p[k].get<std::string>();
  };
  c.model = str("model", "");
  R1_CHECK(!c.model.empty(), who, ": 'model' is required (the judge's Hugging Face folder)");
  c.tokenizer = str("tokenizer", "");
  const std::string tdir = c.tokenizer.empty() ? c.model : c.tokenizer;
  if (is_directory(c.model) || !is_planned_output(c.model)) {  // else an earlier pipeline stage will write it
    R1_CHECK(is_directory(c.model) && file_exists(path_join(c.model, "config.json")), who, ": judge model '", c.model,
             "' does not exist (expected a folder with config.json, model.safetensors and a tokenizer)");
    R1_CHECK(Tokenizer::in_folder(tdir) || (!is_directory(tdir) && file_exists(tdir)), who, ": ", tdir,
             " has no tokenizer (tokenizer.json or vocab.json + merges.txt); set 'tokenizer'");
  }
  std::string t = str("template", "");
  R1_CHECK(!t.empty(), who, ": 'template' is required (Jinja text with {{ question }} and {{ response }}, or a file)");
  if (t.find("{{") == std::string::npos && t.find("{%") == std::string::npos && file_exists(t)) {
    c.template_text = read_file(t);
    c.template_origin = t;
  } else {
    c.template_text = t;
    c.template_origin = who + " template";
  }
  // compiled and rendered once now, so a bad template fails before any work
  jinja::Template tp = jinja::Template::parse(c.template_text, c.template_origin);
  std::string probe = tp.render(template_vars("What is 1 + 1?", "Q: What is 1 + 1?", "<think> 1 + 1 = 2 </think> <answer> 2 </answer>"));
  R1_CHECK(!probe.empty(), who, ": ", c.template_origin, " renders to an empty prompt");
  if (p.contains("max_new_tokens")) {
    R1_CHECK(p["max_new_tokens"].is_number_integer() && p["max_new_tokens"].get<int>() >= 1, who,
             ": 'max_new_tokens' must be a positive integer, got ", p["max_new_tokens"].dump());
    c.max_new_tokens = p["max_new_tokens"].get<int>();
  }
  c.parse = str("parse", c.parse);
  check_parse_rule(c.parse, who);
  if (p.contains("default")) {
    R1_CHECK(p["default"].is_number(), who, ": 'default' must be a number, got ", p["default"].dump());
    c.default_score = p["default"].get<double>();
  }
  if (p.contains("chat")) {
    R1_CHECK(p["chat"].is_boolean(), who, ": 'chat' must be true or false, got ", p["chat"].dump());
    c.chat = p["chat"].get<bool>();
  }
  return c;
}

Judge::~Judge() = default;

std::unique_ptr<Judge> Judge::load(const JudgeConfig& cfg, const std::string& who) {
  auto j = std::make_unique<Judge>();
  j->cfg_ = cfg;
  j->policy_ = std::make_unique<Policy>(
      Policy::load(PolicySource{cfg.model, cfg.tokenizer, "", ""}, cfg.chat ? "chat" : "plain", "", who));
  R1_CHECK(j->policy_->model().cfg.head == Head::LM, who, ": judge model '", cfg.model,
           "' is a reward model (a score head); a judge must be a language model that writes its judgement");
  j->tmpl_ = std::make_unique<jinja::Template>(jinja::Template::parse(cfg.template_text, cfg.template_origin));
  return j;
}

std::string Judge::render(const std::string& question, const std::string& prompt, const std::string& response) const {
  return tmpl_->render(template_vars(question, prompt, response));
}

std::vector<std::optional<double>> Judge::judge(const std::vector<std::string>& questions,
                                                const std::vector<std::string>& prompts,
                                                const std::vector<std::string>& responses,
                                                std::vector<std::string>* texts) {
  R1_CHECK(questions.size() == responses.size() && prompts.size() == responses.size(), "judge: ", questions.size(),
           " questions, ", prompts.size(), " prompts, ", responses.size(), " responses");
  std::vector<GenRequest> reqs;
  const int max_pos = policy_->model().cfg.max_pos;
  for (size_t i = 0; i < responses.size(); i++) {
    GenRequest q;
    q.prompt = policy_->encode_question(render(questions[i], prompts[i], responses[i]));
    // a prompt the judge cannot read whole keeps its end (the response); the judgement is then about what it saw
    const int keep = std::max(1, max_pos - cfg_.max_new_tokens);
    if ((int)q.prompt.size() > keep) q.prompt.erase(q.prompt.begin(), q.prompt.end() - keep);
    q.n = 1;
    q.prompt_index = (int)i;
    reqs.push_back(std::move(q));
  }
  SamplingRecipe sr;
  sr.temperature = 0;
  sr.max_new_tokens = cfg_.max_new_tokens;
  GenConfig g = policy_->gen_config(sr, 0, 64);
  g.sampling.greedy = true;
  g.sampling.temperature = 0;
  g.batch_invariant = true;  // a judgement never depends on the rest of the batch (the same bits on any rank count)
  Engine eng(policy_->model());
  auto out = eng.generate(reqs, g);
  std::vector<std::optional<double>> v(responses.size());
  if (texts) texts->assign(responses.size(), "");
  for (auto& s : out) {
    std::string t = policy_->completion_text(s);
    v[s.request] = parse_judgement(t, cfg_.parse);
    if (texts) (*texts)[s.request] = t;
  }
  return v;
}

}  // namespace r1
