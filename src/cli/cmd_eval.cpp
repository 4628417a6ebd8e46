// `r1 eval --model DIR --task NAME|FILE.jsonl`: DeepSeek-R1's evaluation protocol (src/eval/eval.h): k samples per
// problem at T = 0.6, top-p 0.95 plus one greedy pass; prints a markdown table per task and writes per-problem
// results (every sample's extracted answer, correctness, vote) to --output.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "eval/eval.h"

#include <cstdio>
#include <sstream>

namespace {

std::vector<int> parse_int_list(const std::string& s, const std::string& what) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string tok;
  while (std::getline(in, tok, ',')) {
    char* end = nullptr;
    long x = std::strtol(tok.c_str(), &end, 10);
    R1_CHECK(!tok.empty() && *end == 0 && x >= 1, what, ": '", tok, "' is not a positive integer");
    v.push_back((int)x);
  }
  R1_CHECK(!v.empty(), what, ": empty list");
  return v;
}

}  // namespace

R1_COMMAND("eval", "R1-style evaluation: pass@1 over k samples, pass@k, cons@k, greedy accuracy", [](CLI::App* sub) {
  auto c = std::make_shared<r1::EvalConfig>();
  auto tasks = std::make_shared<std::vector<std::string>>();
  auto pass_k = std::make_shared<std::string>("1");
  auto output = std::make_shared<std::string>();
  auto task_config = std::make_shared<std::string>();
  auto no_greedy = std::make_shared<bool>(false), no_text = std::make_shared<bool>(false);
  sub->add_option("--model", c->model, "model folder (Hugging Face layout)")->required();
  sub->add_option("--tokenizer", c->tokenizer, "tokenizer folder (default: the model folder)");
  sub->add_option("--task", *tasks, "built-in task name or FILE.jsonl (repeatable)")->required();
  sub->add_option("--task-config", *task_config, "task config as JSON, e.g. '{\"n\": 100}'");
  sub->add_option("--split", c->split, "task split")->capture_default_str();
  sub->add_option("-k,--samples", c->k, "samples per problem (0: greedy only)")->capture_default_str();
  sub->add_option("--temperature", c->temperature, "sampling temperature")->capture_default_str();
  sub->add_option("--top-p", c->top_p, "nucleus sampling")->capture_default_str();
  sub->add_option("--top-k", c->top_k, "top-k (0: off)")->capture_default_str();
  sub->add_option("--max-new-tokens", c->max_new_tokens, "completion budget")->capture_default_str();
  sub->add_option("--pass-k", *pass_k, "pass@k values, comma-separated (each <= k)")->capture_default_str();
  sub->add_option("--limit", c->limit, "first N problems (0: all)")->capture_default_str();
  sub->add_option("--template", c->prompt_template, "r1_zero | r1_zero_short | plain | chat")->capture_default_str();
  sub->add_option("--think-prefix", c->think_prefix, "text appended after the template, e.g. '<think>'");
  sub->add_option("--seed", c->seed, "sampling seed")->capture_default_str();
  sub->add_option("--data-seed", c->data_seed, "seed of the task's problem draw and train/test split (as the grpo / sample recipes' data_seed)")->capture_default_str();
  sub->add_option("--max-batch", c->max_batch, "live sequences at once")->capture_default_str();
  sub->add_flag("--no-greedy", *no_greedy, "skip the greedy pass");
  sub->add_flag("--no-text", *no_text, "leave completion texts out of the JSON");
  sub->add_option("--output", *output, "JSON results file");
  return [=]() {
    r1::EvalConfig cfg = *c;
    cfg.greedy = !*no_greedy;
    cfg.save_text = !*no_text;
    cfg.pass_k = parse_int_list(*pass_k, "--pass-k");
    if (!task_config->empty()) {
      try {
        cfg.task_config = nlohmann::json::parse(*task_config);
      } catch (const nlohmann::json::exception& e) {
        r1::fail("--task-config: not valid JSON (", e.what(), ")");
      }
      R1_CHECK(cfg.task_config.is_object(), "--task-config: expected a JSON object");
    }
    nlohmann::json all = nlohmann::json::array();
    for (const auto& t : *tasks) {
      cfg.task = t;
      nlohmann::json res = r1::run_eval(cfg);
      std::printf("%s\n", r1::eval_markdown(res).c_str());
      std::fflush(stdout);
      all.push_back(std::move(res));
    }
    if (!output->empty()) r1::atomic_write(*output, (all.size() == 1 ? all[0] : nlohmann::json{{"tasks", all}}).dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  };
});
