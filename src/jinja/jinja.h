// A Jinja2 interpreter for chat templates: the subset R1-era templates use, rendered with the settings
// Hugging Face transformers uses (ImmutableSandboxedEnvironment, trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False, loopcontrols, the {% generation %} tag, tojson = json.dumps(ensure_ascii=False),
// raise_exception and strftime_now globals). Output matches Jinja2 3.1 character for character.
//
// Supported: {{ }}, {% if/elif/else %}, {% for %} (else, "if" filter, loop.*, break/continue),
// {% set %} (tuple targets, namespace attributes, block set), {% macro %}, {% with %}, {% filter %},
// {% raw %}, {% generation %}, comments, whitespace control (- and +), literals (str, int, float, list, tuple,
// dict), all Jinja operators, attribute/item access and slicing, str/dict/list methods, the common filters
// and tests. Unsupported tags (extends, include, import, block, call, autoescape) and filters (groupby ...)
// are parse errors naming the line.
//
// Every error is an r1::Error "ORIGIN:LINE: message". Rendering is bounded by Limits (steps, output size,
// nesting, recursion), so arbitrary templates cannot hang or exhaust memory.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace r1::jinja {

struct Program;

struct Limits {
  uint64_t max_steps = 20'000'000;      // evaluated expressions + executed statements per render
  size_t max_output_bytes = 64u << 20;  // output and any single string value
  int max_call_depth = 64;              // macro recursion
  int max_value_depth = 64;             // nesting of lists/dicts built by the template
};

class Template {
 public:
  // Throws r1::Error "ORIGIN:LINE: message" on syntax errors, unknown filters/tests/tags, invalid UTF-8.
  static Template parse(const std::string& source, const std::string& origin = "<string>");
  // context: a JSON object of template variables (Python dict order is kept, hence ordered_json).
  std::string render(const nlohmann::ordered_json& context, const Limits& limits = Limits()) const;
  const std::string& origin() const;

 private:
  std::shared_ptr<const Program> program_;
};

}  // namespace r1::jinja
