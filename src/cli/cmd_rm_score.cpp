// `r1 rm-score --model RM --input FILE.jsonl`: a reward model's score of each {"prompt", "completion"} row (or
// "response"), as GRPO's reward_model reward computes it (scoring/reward_model.h), with the word 3-gram
// repetition of each completion; a summary on stderr.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "rewards/shaping.h"
#include "scoring/reward_model.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

R1_COMMAND("rm-score", "Score {\"prompt\", \"completion\"} JSONL rows with a reward model (r1 rm's output)",
           [](CLI::App* sub) {
  auto model = std::make_shared<std::string>(), tokenizer = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>(), output = std::make_shared<std::string>();
  auto on = std::make_shared<std::string>("full");
  sub->add_option("--model", *model, "reward model folder (*ForSequenceClassification, e.g. <r1 rm out>/model)")->required();
  sub->add_option("--tokenizer", *tokenizer, "tokenizer folder (default: the model folder)");
  sub->add_option("--input", *input, "JSONL rows {\"prompt\": str, \"completion\" | \"response\": str}")->required();
  sub->add_option("--on", *on, "summary: only the text after </think>; full: the whole completion (default full)");
  r1::cli::add_precision_option(sub);
  sub->add_option("--output", *output, "JSONL out: {\"score\", \"repetition\"} per row (default: stdout)");
  return [=]() {
    using nlohmann::json;
    const r1::RmView view = r1::parse_rm_view(*on, "rm-score: --on");
    auto rm = r1::RewardModel::load(*model, *tokenizer, "rm-score");
    std::ifstream in(*input);
    R1_CHECK(in, "rm-score: cannot open ", *input);
    std::vector<std::string> prompts, completions;
    std::string line;
    for (long n = 1; std::getline(in, line); n++) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json j;
      try {
        j = json::parse(line);
      } catch (const json::exception& e) {
        r1::fail(*input, ":", n, ": not valid JSON (", e.what(), ")");
      }
      R1_CHECK(j.is_object() && j.contains("prompt") && j["prompt"].is_string(), *input, ":", n,
               ": expected a string \"prompt\"");
      const char* key = j.contains("completion") ? "completion" : "response";
      R1_CHECK(j.contains(key) && j[key].is_string(), *input, ":", n, ": expected a string \"completion\" (or \"response\")");
      prompts.push_back(j["prompt"].get<std::string>());
      completions.push_back(j[key].get<std::string>());
    }
    R1_CHECK(!prompts.empty(), "rm-score: ", *input, " has no rows");
    std::vector<float> s = rm->score(prompts, completions, view);
    std::string out;
    double sum = 0, rep = 0;
    for (size_t i = 0; i < s.size(); i++) {
      const double r = -r1::repetition_penalty(completions[i], 3, -1.0);
      sum += s[i];
      rep += r;
      out += json{{"score", s[i]}, {"repetition", r}}.dump() + "\n";
    }
    if (output->empty()) std::fputs(out.c_str(), stdout);
    else r1::atomic_write(*output, out);
    std::fprintf(stderr, "[rm-score] %zu rows: mean score %.4f, mean word 3-gram repetition %.4f\n", s.size(),
                 sum / s.size(), rep / s.size());
    return 0;
  };
});
