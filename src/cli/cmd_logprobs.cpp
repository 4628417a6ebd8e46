// `r1 logprobs --model DIR --ids "1 2 3"`: the log-probability of every token after the first, given its prefix.
#include "cli/registry.h"
#include "core/check.h"
#include "model/gguf_model.h"
#include "model/transformer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <sstream>

R1_COMMAND("logprobs", "Print {\"logprobs\": [...]}: log p(token_i | tokens_<i) for i >= 1", [](CLI::App* sub) {
  auto model = std::make_shared<std::string>();
  auto ids = std::make_shared<std::string>();
  auto adapter = std::make_shared<std::string>();
  sub->add_option("--model", *model, "Hugging Face model folder (config.json + model.safetensors) or a .gguf file")->required();
  sub->add_option("--adapter", *adapter, "a PEFT LoRA adapter folder applied to the model");
  r1::cli::add_precision_option(sub);
  sub->add_option("--ids", *ids, "token ids separated by spaces or commas")->required();
  return [=]() {
    std::vector<int> v;
    std::string s = *ids;
    for (auto& ch : s)
      if (ch == ',') ch = ' ';
    std::istringstream in(s);
    std::string tokstr;
    while (in >> tokstr) {
      char* end = nullptr;
      long x = std::strtol(tokstr.c_str(), &end, 10);
      R1_CHECK(*end == 0, "--ids: '", tokstr, "' is not an integer token id");
      v.push_back((int)x);
    }
    R1_CHECK(v.size() >= 2, "--ids: need at least two token ids");
    r1::LoadOptions lo;
    lo.inference_only = true;  // bf16: no fp32 copy of the weights
    r1::Model m = r1::load_any_model(*model, lo);
    if (!adapter->empty()) m.attach_lora(r1::Lora::load(*adapter, m.cfg));
    for (size_t i = 0; i < v.size(); i++)
      R1_CHECK(v[i] >= 0 && v[i] < m.cfg.V, "--ids: token ", v[i], " (position ", i, ") is outside the vocabulary [0, ", m.cfg.V, ")");
    int T = (int)v.size() - 1;
    R1_CHECK(T <= m.cfg.max_pos, "--ids: ", v.size(), " tokens exceed max_position_embeddings ", m.cfg.max_pos);
    std::vector<int> in_ids(v.begin(), v.end() - 1), tg(v.begin() + 1, v.end());
    m.forward(in_ids.data(), tg.data(), 1, T);
    nlohmann::json out = {{"logprobs", std::vector<float>(m.act().lp, m.act().lp + T)}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  };
});
