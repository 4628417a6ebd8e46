// Chat template loading and rendering on top of the Jinja interpreter (jinja/jinja.h).
#include "tokenizer/chat_template.h"

#include "core/check.h"
#include "core/io.h"

namespace r1 {

nlohmann::ordered_json to_json(const ChatMessage& m) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["role"] = m.role;
  j["content"] = m.content;
  if (!m.extra.is_null()) {
    R1_CHECK(m.extra.is_object(), "ChatMessage.extra: expected a JSON object, got ", m.extra.type_name());
    for (auto it = m.extra.begin(); it != m.extra.end(); ++it) j[it.key()] = nlohmann::ordered_json(it.value());
  }
  return j;
}

ChatTemplate ChatTemplate::from_string(const std::string& source, std::string origin) {
  ChatTemplate t;
  t.source_ = source;
  t.tmpl_ = jinja::Template::parse(source, origin);
  return t;
}

namespace {

// A special token in tokenizer_config.json: a string, an AddedToken object {"content": ...}, or null.
bool special_token_string(const nlohmann::ordered_json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    out = v["content"].get<std::string>();
    return true;
  }
  return false;
}

// The special tokens of a tokenizer_config.json, as transformers passes them to the template.
nlohmann::ordered_json special_token_defaults(const nlohmann::ordered_json& cfg) {
  nlohmann::ordered_json defaults = nlohmann::ordered_json::object();
  if (!cfg.is_object()) return defaults;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                          "mask_token"}) {
    std::string tok;
    if (cfg.contains(key) && special_token_string(cfg[key], tok)) defaults[key] = tok;
  }
  if (cfg.contains("additional_special_tokens") && cfg["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json extra = nlohmann::ordered_json::array();
    for (const auto& v : cfg["additional_special_tokens"]) {
      std::string tok;
      if (special_token_string(v, tok)) extra.push_back(tok);
    }
    defaults["additional_special_tokens"] = extra;
  }
  return defaults;
}

}  // namespace

ChatTemplate ChatTemplate::from_file(const std::string& path) {
  std::string text = read_file(path);
  bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!is_json) return from_string(text, path);

  nlohmann::ordered_json cfg;
  try {
    cfg = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  R1_CHECK(cfg.is_object(), path, ": expected a JSON object with a \"chat_template\" field");
  R1_CHECK(cfg.contains("chat_template"), path, ": no \"chat_template\" field (this model has no chat template)");
  const auto& ct = cfg["chat_template"];
  std::string source;
  if (ct.is_string()) {
    source = ct.get<std::string>();
  } else if (ct.is_array()) {
    std::string names;
    bool found = false;
    for (const auto& entry : ct) {
      R1_CHECK(entry.is_object() && entry.contains("name") && entry["name"].is_string() &&
                   entry.contains("template") && entry["template"].is_string(),
               path, ": \"chat_template\" list entries must be {\"name\": string, \"template\": string}");
      std::string name = entry["name"].get<std::string>();
      names += (names.empty() ? "" : ", ") + name;
      if (name == "default") {
        source = entry["template"].get<std::string>();
        found = true;
      }
    }
    R1_CHECK(found, path, ": \"chat_template\" list has no template named \"default\" (has: ", names, ")");
  } else {
    fail(path, ": \"chat_template\" must be a string or a list of {name, template}, got ", ct.type_name());
  }
  ChatTemplate t = from_string(source, path + " (chat_template)");
  t.defaults_ = special_token_defaults(cfg);
  return t;
}

std::unique_ptr<ChatTemplate> ChatTemplate::find(const std::string& dir) {
  const std::string jinja = path_join(dir, "chat_template.jinja"), cjson = path_join(dir, "chat_template.json"),
                    tcfg = path_join(dir, "tokenizer_config.json");
  nlohmann::ordered_json cfg;
  if (file_exists(tcfg)) {
    try {
      cfg = nlohmann::ordered_json::parse(read_file(tcfg));
    } catch (const nlohmann::json::exception& e) {
      fail(tcfg, ": not valid JSON: ", e.what());
    }
  }
  std::unique_ptr<ChatTemplate> t;
  if (file_exists(jinja)) t = std::make_unique<ChatTemplate>(from_file(jinja));
  else if (file_exists(cjson)) t = std::make_unique<ChatTemplate>(from_file(cjson));
  else if (cfg.is_object() && cfg.contains("chat_template")) return std::make_unique<ChatTemplate>(from_file(tcfg));
  else return nullptr;
  if (cfg.is_object()) t->defaults_ = special_token_defaults(cfg);  // transformers passes them whatever the file
  return t;
}

void ChatTemplate::set_defaults(nlohmann::ordered_json defaults) {
  R1_CHECK(defaults.is_object(), "ChatTemplate::set_defaults: expected a JSON object");
  defaults_ = std::move(defaults);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra_context) const {
  const std::string& where = tmpl_.origin();
  R1_CHECK(messages.is_array(), where, ": messages must be a JSON array of message objects, got ",
           messages.type_name());
  for (size_t i = 0; i < messages.size(); i++)
    R1_CHECK(messages[i].is_object(), where, ": messages[", i, "] must be an object like {\"role\": ..., \"content\": ...}, got ",
             messages[i].type_name());
  R1_CHECK(extra_context.is_object(), where, ": extra_context must be a JSON object, got ", extra_context.type_name());
  for (const char* reserved : {"messages", "add_generation_prompt"})
    R1_CHECK(!extra_context.contains(reserved), where, ": extra_context must not set '", reserved,
             "' (pass it as an argument)");
  nlohmann::ordered_json ctx = defaults_;
  ctx["messages"] = messages;
  ctx["tools"] = nullptr;      // transformers passes tools=None and documents=None when not given
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = add_generation_prompt;
  for (auto it = extra_context.begin(); it != extra_context.end(); ++it) ctx[it.key()] = it.value();
  return tmpl_.render(ctx, limits_);
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra_context) const {
  return render(nlohmann::ordered_json(messages), add_generation_prompt, nlohmann::ordered_json(extra_context));
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra_context) const {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& m : messages) arr.push_back(to_json(m));
  return render(arr, add_generation_prompt, extra_context);
}

}  // namespace r1
