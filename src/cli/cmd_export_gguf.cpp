// `r1 export-gguf --model DIR --output FILE.gguf [--dtype f32|f16|bf16] [--name NAME]`
// Writes a Hugging Face model folder (or a .gguf, to change its dtype) as a GGUF v3 file that llama.cpp runs:
// model metadata, tensors in llama.cpp's names and layout, and the folder's tokenizer when it has one
// (tokenizer.json or vocab.json + merges.txt), with tokenizer_config.json's chat template and pad token.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "formats/gguf.h"
#include "model/gguf_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_gguf.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace {

struct ExportOptions {
  std::string model, output, dtype = "f32", name;
};

// tokenizer_config.json's chat_template (a string, or a list of {name, template} with a "default" entry) or a
// chat_template.jinja file; "" if none.
std::string read_chat_template(const std::string& dir, const nlohmann::json& tc) {
  if (tc.is_object() && tc.contains("chat_template")) {
    const auto& t = tc["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array())
      for (const auto& e : t)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          return e["template"].get<std::string>();
  }
  std::string jinja = r1::path_join(dir, "chat_template.jinja");
  if (r1::file_exists(jinja)) return r1::read_file(jinja);
  return "";
}

int run_export(const ExportOptions& o) {
  r1::DType dtype;
  if (o.dtype == "f32") dtype = r1::DType::F32;
  else if (o.dtype == "f16") dtype = r1::DType::F16;
  else if (o.dtype == "bf16") dtype = r1::DType::BF16;
  else r1::fail("--dtype: '", o.dtype, "' is not one of f32, f16, bf16");

  r1::Model m = r1::load_any_model(o.model);
  r1::GGUFExportOptions opt;
  opt.name = o.name;
  std::unique_ptr<r1::Tokenizer> tok;
  if (r1::is_directory(o.model)) {
    const std::string& d = o.model;
    if (r1::Tokenizer::in_folder(d)) tok = std::make_unique<r1::Tokenizer>(r1::Tokenizer::load(d));
    std::string tc_path = r1::path_join(d, "tokenizer_config.json");
    nlohmann::json tc;
    if (r1::file_exists(tc_path)) {
      try {
        tc = nlohmann::json::parse(r1::read_file(tc_path));
      } catch (const nlohmann::json::exception& e) {
        r1::fail(tc_path, ": not valid JSON (", e.what(), ")");
      }
    }
    opt.chat_template = read_chat_template(d, tc);
    if (tok && tc.is_object() && tc.contains("pad_token")) {
      const auto& p = tc["pad_token"];
      std::string s = p.is_string() ? p.get<std::string>()
                      : (p.is_object() && p.contains("content") && p["content"].is_string())
                          ? p["content"].get<std::string>()
                          : std::string();
      if (!s.empty()) opt.pad_id = tok->token_id(s);
    }
    if (opt.name.empty()) {
      std::string base = d;
      while (base.size() > 1 && base.back() == '/') base.pop_back();
      size_t slash = base.find_last_of('/');
      opt.name = slash == std::string::npos ? base : base.substr(slash + 1);
    }
  } else {
    // A .gguf input keeps its tokenizer and chat template.
    r1::GGUFFile src(o.model);
    if (src.has("tokenizer.ggml.model") && src.get_string("tokenizer.ggml.model") == "gpt2")
      tok = std::make_unique<r1::Tokenizer>(r1::Tokenizer::load_gguf(o.model));
    if (src.has("tokenizer.chat_template")) opt.chat_template = src.get_string("tokenizer.chat_template");
    if (src.has("tokenizer.ggml.padding_token_id")) opt.pad_id = int(src.get_u64("tokenizer.ggml.padding_token_id"));
    if (opt.name.empty() && src.has("general.name")) opt.name = src.get_string("general.name");
  }
  r1::GGUFMetadata tok_kv;
  if (tok) tok_kv = r1::gguf_tokenizer_metadata(*tok, m.cfg.V, m.cfg.bos_id, m.cfg.eos_id, o.output);
  r1::export_gguf(m, tok ? &tok_kv : nullptr, o.output, dtype, opt);
  std::fprintf(stderr, "wrote %s: %s, %d layers, %zu parameters, %s matrices, tokenizer %s\n", o.output.c_str(),
               m.cfg.arch_name().c_str(), m.cfg.L, m.n_params, o.dtype.c_str(),
               tok ? ("with " + std::to_string(tok->vocab_size()) + " tokens").c_str() : "absent (no_vocab)");
  return 0;
}

}  // namespace

R1_COMMAND("export-gguf", "Export a model folder as GGUF v3 for llama.cpp / ollama", [](CLI::App* sub) {
  auto o = std::make_shared<ExportOptions>();
  sub->add_option("--model", o->model, "Hugging Face model folder (config.json + safetensors) or a .gguf")
      ->required();
  sub->add_option("--output", o->output, "output .gguf path")->required();
  sub->add_option("--dtype", o->dtype, "matrix dtype: f32, f16 or bf16 (norms and biases stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  sub->add_option("--name", o->name, "general.name (default: the folder name)");
  return [o]() { return run_export(*o); };
});
