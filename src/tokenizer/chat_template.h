// Chat templates: render a model's Jinja2 `chat_template` for a list of messages exactly as Hugging Face
// transformers does (apply_chat_template with tokenize=False). The built-in question templates (R1-Zero's
// plain-text prompt and others) are in data/prompts.h.
//
// The context passed to the template is what transformers passes: messages, add_generation_prompt,
// tools (None unless given), documents (None), the tokenizer's special tokens (bos_token, eos_token ...
// read from tokenizer_config.json by from_file) and any extra variables (enable_thinking, tools ...).
// Message and extra-context objects keep their key order (pass nlohmann::ordered_json to control it;
// nlohmann::json sorts keys, which changes `tojson` output of tool schemas).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jinja/jinja.h"

namespace r1 {

struct ChatMessage {
  std::string role, content;
  nlohmann::json extra;  // e.g. reasoning_content, tool_calls; merged into the message object
};

// {"role":..., "content":..., <extra keys>} in that order.
nlohmann::ordered_json to_json(const ChatMessage& m);

class ChatTemplate {
 public:
  // Parse errors: r1::Error "ORIGIN:LINE: message".
  static ChatTemplate from_string(const std::string& source, std::string origin = "<string>");
  // A .jinja/.txt template file, or a JSON file with a "chat_template" field (tokenizer_config.json,
  // chat_template.json): a string, or a list of {name, template} from which "default" is used.
  // From tokenizer_config.json the special tokens (bos_token, eos_token, pad_token ...) become defaults of
  // the render context, as transformers passes them.
  static ChatTemplate from_file(const std::string& path);
  // The chat template of a Hugging Face folder, wherever transformers keeps it: chat_template.jinja, else
  // chat_template.json, else tokenizer_config.json's "chat_template"; the special tokens of tokenizer_config.json
  // are the render defaults in every case. nullptr when the folder has none.
  static std::unique_ptr<ChatTemplate> find(const std::string& dir);

  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra_context = nlohmann::ordered_json::object()) const;
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra_context = nlohmann::json::object()) const;
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra_context = nlohmann::ordered_json::object()) const;

  const std::string& source() const { return source_; }
  const std::string& origin() const { return tmpl_.origin(); }
  // Context variables added to every render (special tokens from tokenizer_config.json); extra_context wins.
  const nlohmann::ordered_json& defaults() const { return defaults_; }
  void set_defaults(nlohmann::ordered_json defaults);
  // Bounds on work and output per render (the fuzz target lowers them).
  void set_limits(const jinja::Limits& limits) { limits_ = limits; }

 private:
  std::string source_;
  jinja::Template tmpl_;
  nlohmann::ordered_json defaults_ = nlohmann::ordered_json::object();
  jinja::Limits limits_;
};

}  // namespace r1
