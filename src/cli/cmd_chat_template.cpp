// `r1 chat-template --template PATH --messages FILE.json [--add-generation-prompt] [--context FILE.json]`:
// print a chat rendered by a model's Jinja chat template, exactly as transformers' apply_chat_template would.
#include <cstdio>
#include <memory>

#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "tokenizer/chat_template.h"

namespace {

nlohmann::ordered_json read_json(const std::string& path, const char* what) {
  try {
    return nlohmann::ordered_json::parse(r1::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    r1::fail(path, ": ", what, " is not valid JSON: ", e.what());
  }
}

}  // namespace

R1_COMMAND("chat-template", "Render messages with a model's chat template (.jinja or tokenizer_config.json)",
           [](CLI::App* sub) {
             auto tmpl = std::make_shared<std::string>();
             auto messages = std::make_shared<std::string>();
             auto context = std::make_shared<std::string>();
             auto gen = std::make_shared<bool>(false);
             sub->add_option("--template", *tmpl, "a .jinja file, or a tokenizer_config.json / chat_template.json")
                 ->required();
             sub->add_option("--messages", *messages,
                             "JSON file: [{\"role\": ..., \"content\": ...}, ...] or {\"messages\": [...], <variables>}")
                 ->required();
             sub->add_option("--context", *context,
                             "JSON file with extra template variables, e.g. {\"enable_thinking\": false, \"tools\": [...]}");
             sub->add_flag("--add-generation-prompt", *gen, "end with the assistant's generation prompt");
             return [=]() {
               r1::ChatTemplate t = r1::ChatTemplate::from_file(*tmpl);
               nlohmann::ordered_json doc = read_json(*messages, "--messages");
               nlohmann::ordered_json msgs, extra = nlohmann::ordered_json::object();
               if (doc.is_object()) {
                 R1_CHECK(doc.contains("messages"), *messages, ": expected a JSON array of messages or an object with a \"messages\" field");
                 for (auto it = doc.begin(); it != doc.end(); ++it)
                   if (it.key() == "messages") msgs = it.value();
                   else extra[it.key()] = it.value();
               } else {
                 msgs = doc;
               }
               R1_CHECK(msgs.is_array(), *messages, ": \"messages\" must be a JSON array, got ", msgs.type_name());
               if (!context->empty()) {
                 nlohmann::ordered_json c = read_json(*context, "--context");
                 R1_CHECK(c.is_object(), *context, ": expected a JSON object of template variables");
                 for (auto it = c.begin(); it != c.end(); ++it) extra[it.key()] = it.value();
               }
               std::string out = t.render(msgs, *gen, extra);
               std::fwrite(out.data(), 1, out.size(), stdout);
               std::fflush(stdout);
               return 0;
             };
           });
