#include "data/tasks.h"

#include "core/check.h"
#include "core/io.h"
#include "data/arithmetic_task.h"
#include "data/code_tasks.h"
#include "data/countdown.h"
#include "data/tiny_code.h"

#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

namespace r1 {

std::vector<RewardSpec> Task::default_rewards() const {
  return {{"accuracy", 1.0, nlohmann::json::object()}, {"format", 0.1, nlohmann::json::object()}};
}

std::vector<Judgement> Task::judge_batch(const std::vector<std::string>& completions,
                                         const std::vector<const Problem*>& problems) const {
  R1_CHECK(completions.size() == problems.size(), "task '", name(), "': ", completions.size(), " completions but ",
           problems.size(), " problems");
  std::vector<Judgement> out(completions.size());
  for (size_t i = 0; i < completions.size(); ++i) out[i].correct = accuracy(completions[i], *problems[i]);
  return out;
}

SampleInfo Task::sample_info(const Problem& p, int64_t completion_tokens, const std::string& think_prefix) const {
  SampleInfo info;
  info.gold = p.gold;
  info.meta = p.meta;
  info.completion_tokens = completion_tokens;
  info.think_prefix = think_prefix;
  info.accuracy = verifier(p);
  info.question = p.prompt;
  return info;
}

double Task::accuracy(const std::string& completion, const Problem& p) const {
  SampleInfo info = sample_info(p);
  return RewardContext(completion, info).accuracy();
}

RewardBreakdown Task::score(const std::string& completion, const Problem& p, const std::vector<RewardSpec>& specs,
                            int64_t completion_tokens, const std::string& think_prefix) const {
  return score_batch({completion}, {&p}, specs, {completion_tokens}, think_prefix)[0];
}

std::vector<RewardBreakdown> Task::score_batch(const std::vector<std::string>& completions,
                                               const std::vector<const Problem*>& problems,
                                               const std::vector<RewardSpec>& specs,
                                               const std::vector<int64_t>& completion_tokens,
                                               const std::string& think_prefix, const BatchExtras* extras) const {
  R1_CHECK(completions.size() == problems.size(), "task '", name(), "': ", completions.size(), " completions but ",
           problems.size(), " problems");
  R1_CHECK(completion_tokens.empty() || completion_tokens.size() == completions.size(), "task '", name(), "': ",
           completion_tokens.size(), " token counts for ", completions.size(), " completions");
  std::vector<SampleInfo> infos;
  infos.reserve(problems.size());
  for (size_t i = 0; i < problems.size(); ++i)
    infos.push_back(sample_info(*problems[i], completion_tokens.empty() ? -1 : completion_tokens[i], think_prefix));
  if (extras) {
    R1_CHECK(extras->prompts.empty() || extras->prompts.size() == infos.size(), "score_batch: prompt texts");
    R1_CHECK(extras->groups.empty() || extras->groups.size() == infos.size(), "score_batch: group ids");
    for (size_t i = 0; i < infos.size(); ++i) {
      if (!extras->prompts.empty()) infos[i].prompt = extras->prompts[i];
      if (!extras->groups.empty()) infos[i].group = extras->groups[i];
    }
  }
  return score_rewards(specs.empty() ? default_rewards() : specs, completions, infos, extras ? extras->stats : nullptr,
                       extras ? extras->normalize : true);
}

std::string gsm8k_gold(const std::string& answer) {
  size_t p = answer.rfind("#### ");
  R1_CHECK(p != std::string::npos, "gsm8k: answer has no '#### ' line: '", answer.substr(0, 80), "'");
  std::string g;
  for (char c : answer.substr(p + 5))
    if (c != ',') g += c;
  size_t b = g.find_first_not_of(" \t\r\n"), e = g.find_last_not_of(" \t\r\n");
  R1_CHECK(b != std::string::npos, "gsm8k: empty answer after '#### '");
  return g.substr(b, e - b + 1);
}

namespace {

struct JsonlConfig {
  std::string path, prompt_field = "prompt", answer_field = "answer", id_field, answer_format = "plain",
                    split = "test";
  std::vector<std::string> meta_fields;
};

std::string answer_text(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    double d = v.get<double>();
    R1_CHECK(std::isfinite(d), where, ": answer is not finite");
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string((int64_t)d);
    return v.dump();
  }
  fail(where, ": expected a string or number, got ", v.type_name());
}

class JsonlTask : public Task {
 public:
  JsonlTask(std::string name, JsonlConfig cfg) : name_(std::move(name)), cfg_(std::move(cfg)) {
    R1_CHECK(!cfg_.path.empty(), "task '", name_, "': config needs 'path' (a JSONL file)");
    R1_CHECK(cfg_.answer_format == "plain" || cfg_.answer_format == "gsm8k", "task '", name_,
             "': answer_format must be 'plain' or 'gsm8k', got '", cfg_.answer_format, "'");
  }
  std::string name() const override { return name_; }
  std::vector<std::string> splits() const override { return {cfg_.split}; }
  std::vector<Problem> problems(const std::string& split, uint64_t) const override {
    R1_CHECK(split == cfg_.split, "task '", name_, "': unknown split '", split, "' (this file is split '", cfg_.split,
             "')");
    std::string text = read_file(cfg_.path);
    std::vector<Problem> out;
    std::istringstream in(text);
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string where = cfg_.path + ":" + std::to_string(lineno);
      nlohmann::json row;
      try {
        row = nlohmann::json::parse(line);
      } catch (const std::exception& e) {
        fail(where, ": not valid JSON (", e.what(), ")");
      }
      R1_CHECK(row.is_object(), where, ": expected a JSON object");
      R1_CHECK(row.contains(cfg_.prompt_field), where, ": missing field '", cfg_.prompt_field, "'");
      R1_CHECK(row[cfg_.prompt_field].is_string(), where, ": field '", cfg_.prompt_field, "' must be a string");
      R1_CHECK(row.contains(cfg_.answer_field), where, ": missing field '", cfg_.answer_field, "'");
      Problem p;
      p.prompt = row[cfg_.prompt_field].get<std::string>();
      std::string ans = answer_text(row[cfg_.answer_field], where + ": field '" + cfg_.answer_field + "'");
      if (cfg_.answer_format == "gsm8k") {
        try {
          ans = gsm8k_gold(ans);
        } catch (const Error& e) {
          fail(where, ": field '", cfg_.answer_field, "': ", e.what());
        }
      }
      R1_CHECK(!ans.empty(), where, ": field '", cfg_.answer_field, "' is empty");
      p.gold = ans;
      if (!cfg_.id_field.empty()) {
        R1_CHECK(row.contains(cfg_.id_field), where, ": missing field '", cfg_.id_field, "'");
        const auto& idv = row[cfg_.id_field];
        p.id = idv.is_string() ? idv.get<std::string>() : idv.dump();
      } else {
        p.id = name_ + "-" + std::to_string(lineno);
      }
      p.meta = nlohmann::json::object();
      p.meta["line"] = lineno;
      for (auto& f : cfg_.meta_fields)
        if (row.contains(f)) p.meta[f] = row[f];
      out.push_back(std::move(p));
    }
    R1_CHECK(!out.empty(), "task '", name_, "': ", cfg_.path, " has no rows");
    return out;
  }

 private:
  std::string name_;
  JsonlConfig cfg_;
};

JsonlConfig jsonl_config(const std::string& task, JsonlConfig c, const std::string& default_file,
                         const nlohmann::json& j) {
  std::string data_dir = "../shared/data/benchmarks";
  if (j.is_null()) {
    if (!default_file.empty()) c.path = path_join(data_dir, default_file);
    return c;
  }
  R1_CHECK(j.is_object(), "task '", task, "': config must be an object, got ", j.dump());
  auto str = [&](const char* k) {
    R1_CHECK(j[k].is_string(), "task '", task, "': config '", k, "' must be a string");
    return j[k].get<std::string>();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "data_dir") data_dir = str("data_dir");
    else if (k == "path") c.path = str("path");
    else if (k == "prompt_field") c.prompt_field = str("prompt_field");
    else if (k == "answer_field") c.answer_field = str("answer_field");
    else if (k == "id_field") c.id_field = str("id_field");
    else if (k == "answer_format") c.answer_format = str("answer_format");
    else if (k == "split") c.split = str("split");
    else if (k == "meta_fields") {
      R1_CHECK(it.value().is_array(), "task '", task, "': config 'meta_fields' must be a list of strings");
      c.meta_fields.clear();
      for (auto& f : it.value()) {
        R1_CHECK(f.is_string(), "task '", task, "': config 'meta_fields' must be a list of strings");
        c.meta_fields.push_back(f.get<std::string>());
      }
    } else {
      fail("task '", task, "': unknown config key '", k, "' (expected data_dir, path, prompt_field, answer_field, ",
           "id_field, answer_format, split, meta_fields)");
    }
  }
  if (!j.contains("path") && !default_file.empty()) c.path = path_join(data_dir, default_file);
  return c;
}

TaskFactory benchmark(const std::string& name, const std::string& file, JsonlConfig defaults) {
  return [name, file, defaults](const nlohmann::json& j) -> std::unique_ptr<Task> {
    return std::make_unique<JsonlTask>(name, jsonl_config(name, defaults, file, j));
  };
}

std::mutex g_mu;
std::map<std::string, TaskFactory>& tasks() {
  static auto* m = [] {
    auto* r = new std::map<std::string, TaskFactory>();
    (*r)["arithmetic"] = [](const nlohmann::json& j) -> std::unique_ptr<Task> {
      return std::make_unique<ArithmeticTask>(arithmetic_config_from_json(j));
    };
    (*r)["countdown"] = [](const nlohmann::json& j) -> std::unique_ptr<Task> {
      return std::make_unique<CountdownTask>(countdown_config_from_json(j));
    };
    JsonlConfig gsm;
    gsm.prompt_field = "question";
    gsm.answer_format = "gsm8k";
    (*r)["gsm8k"] = benchmark("gsm8k", "gsm8k_test.jsonl", gsm);
    JsonlConfig m500;
    m500.prompt_field = "problem";
    m500.id_field = "unique_id";
    m500.meta_fields = {"subject", "level"};
    (*r)["math500"] = benchmark("math500", "math500_test.jsonl", m500);
    JsonlConfig aime;
    aime.prompt_field = "problem";
    aime.id_field = "id";
    (*r)["aime24"] = benchmark("aime24", "aime24_test.jsonl", aime);
    (*r)["amc23"] = benchmark("amc23", "amc23_test.jsonl", aime);
    (*r)["jsonl"] = benchmark("jsonl", "", JsonlConfig{});
    (*r)["humaneval"] = [](const nlohmann::json& j) -> std::unique_ptr<Task> {
      return std::make_unique<CodeJsonlTask>(code_jsonl_config("humaneval", j));
    };
    (*r)["code_jsonl"] = [](const nlohmann::json& j) -> std::unique_ptr<Task> {
      return std::make_unique<CodeJsonlTask>(code_jsonl_config("code_jsonl", j));
    };
    (*r)["tiny_code"] = [](const nlohmann::json& j) -> std::unique_ptr<Task> {
      return std::make_unique<TinyCodeTask>(tiny_code_config_from_json(j));
    };
    return r;
  }();
  return *m;
}

}  // namespace

void register_task(const std::string& name, TaskFactory factory) {
  R1_CHECK(!name.empty() && factory, "register_task: empty name or factory");
  std::lock_guard<std::mutex> lock(g_mu);
  tasks()[name] = std::move(factory);
}

std::unique_ptr<Task> make_task(const std::string& name, const nlohmann::json& config) {
  TaskFactory f;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = tasks().find(name);
    if (it == tasks().end()) {
      std::string known;
      for (auto& kv : tasks()) known += (known.empty() ? "" : ", ") + kv.first;
      fail("unknown task '", name, "' (known: ", known, ")");
    }
    f = it->second;
  }
  return f(config);
}

std::vector<std::string> task_names() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::vector<std::string> names;
  for (auto& kv : tasks()) names.push_back(kv.first);
  return names;
}

std::unique_ptr<Task> make_task_or_file(const std::string& name_or_path, const nlohmann::json& config,
                                        const std::string& who) {
  const std::string ext = ".jsonl";
  if (name_or_path.size() > ext.size() &&
      name_or_path.compare(name_or_path.size() - ext.size(), ext.size(), ext) == 0) {
    R1_CHECK(file_exists(name_or_path), who, ": task file ", name_or_path, " does not exist");
    nlohmann::json tc = config.is_object() ? config : nlohmann::json::object();
    tc["path"] = name_or_path;
    return make_task("jsonl", tc);
  }
  return make_task(name_or_path, config);
}

}  // namespace r1
