// `r1 merge-lora --model BASE --adapter DIR --output DIR [--dtype f32|bf16]`: a full Hugging Face checkpoint of
// the base with a PEFT LoRA adapter merged in (W += alpha/r · B A for every adapted projection), with the base
// folder's tokenizer, chat template and generation_config.json; `export-gguf` and every other command read it.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "formats/dtype.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <memory>

namespace {

struct MergeOptions {
  std::string model, adapter, output, dtype = "f32";
};

int run_merge(const MergeOptions& o) {
  R1_CHECK(o.dtype == "f32" || o.dtype == "bf16", "--dtype: '", o.dtype, "' is not one of f32, bf16");
  R1_CHECK(o.output != o.model, "--output: ", o.output, " is the base model folder; write the merged model elsewhere");
  r1::Model m = r1::Model::load(o.model);
  r1::Lora lora = r1::Lora::load(o.adapter, m.cfg);
  const int sites = (int)lora.sites.size(), r = lora.cfg.r;
  const float scale = lora.cfg.scale();
  m.attach_lora(std::move(lora));
  m.merge_lora();
  m.save(o.output, o.dtype == "bf16" ? r1::DType::BF16 : r1::DType::F32);
  const std::string& d = o.model;
  if (r1::Tokenizer::in_folder(d)) r1::Tokenizer::load(d).save(o.output);  // with its chat template
  const std::string gc = r1::path_join(d, "generation_config.json");
  if (r1::file_exists(gc)) r1::atomic_write(r1::path_join(o.output, "generation_config.json"), r1::read_file(gc));
  std::fprintf(stderr, "[merge-lora] %s + %s (r=%d, scale %g, %d projections) -> %s (%s)\n", o.model.c_str(),
               o.adapter.c_str(), r, scale, sites, o.output.c_str(), o.dtype.c_str());
  return 0;
}

}  // namespace

R1_COMMAND("merge-lora", "Merge a PEFT LoRA adapter into its base model: a full Hugging Face checkpoint", [](CLI::App* sub) {
  auto o = std::make_shared<MergeOptions>();
  sub->add_option("--model", o->model, "the base model folder the adapter was trained on")->required();
  sub->add_option("--adapter", o->adapter, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")->required();
  sub->add_option("--output", o->output, "folder for the merged model (config.json, model.safetensors, tokenizer)")->required();
  sub->add_option("--dtype", o->dtype, "f32 | bf16 (the merged weights are computed in fp32 first)");
  return [o]() { return run_merge(*o); };
});
