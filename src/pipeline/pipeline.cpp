#include "pipeline/pipeline.h"

#include "core/check.h"
#include "core/io.h"
#include "train/cold_start.h"
#include "train/grpo.h"
#include "train/pretrain.h"
#include "train/sample.h"
#include "train/sft.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <set>

namespace r1 {

using json = nlohmann::json;

// ---- EvalRecipe -------------------------------------------------------------------------------------------------

void EvalRecipe::declare(OptionSet& o) {
  o.add("model", &c.model, "model folder (Hugging Face layout)");
  o.add("tokenizer", &c.tokenizer, "tokenizer folder (default: the model folder)");
  o.add("task", &c.task, "built-in task name or FILE.jsonl");
  o.add("task_config", &c.task_config, "task config map");
  o.add("split", &c.split, "task split");
  o.add("k", &c.k, "samples per problem (0: greedy only)");
  o.add("temperature", &c.temperature, "sampling temperature");
  o.add("top_p", &c.top_p, "nucleus sampling");
  o.add("top_k", &c.top_k, "top-k (0: off)");
  o.add("max_new_tokens", &c.max_new_tokens, "completion budget");
  o.add("pass_k", &pass_k, "pass@k values reported (each <= k)");
  o.add("limit", &c.limit, "first N problems (0: all)");
  o.add("prompt_template", &c.prompt_template, "r1_zero | r1_zero_short | plain | chat");
  o.add("think_prefix", &c.think_prefix, "text appended after the template, e.g. '<think>'");
  o.add("greedy", &c.greedy, "also run one greedy pass");
  o.add("save_text", &c.save_text, "keep completion texts in eval.json");
  o.add("seed", &seed, "sampling seed");
  o.add("data_seed", &data_seed, "seed of the task's problem draw and train/test split");
  o.add("max_batch", &c.max_batch, "live sequences at once");
}

EvalConfig EvalRecipe::config() const {
  EvalConfig e = c;
  e.seed = (uint64_t)seed;
  e.data_seed = (uint64_t)data_seed;
  e.pass_k.clear();
  for (const auto& s : pass_k) {
    char* end = nullptr;
    long x = std::strtol(s.c_str(), &end, 10);
    R1_CHECK(!s.empty() && *end == 0 && x >= 1, "eval: field 'pass_k' expects positive integers, got '", s, "'");
    e.pass_k.push_back((int)x);
  }
  R1_CHECK(!e.pass_k.empty(), "eval: field 'pass_k' is empty");
  return e;
}

const std::vector<std::string>& pipeline_commands() {
  static const std::vector<std::string> v = {"pretrain", "cold_start", "sft", "sample", "grpo", "eval"};
  return v;
}

namespace {

bool is_training(const std::string& cmd) { return cmd == "pretrain" || cmd == "sft" || cmd == "grpo"; }

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string r;
  for (size_t i = 0; i < v.size(); i++) r += (i ? sep : "") + v[i];
  return r;
}

std::string get_string(const json& j, const std::string& key, const std::string& where, bool required) {
  if (!j.contains(key) || j.at(key).is_null()) {
    R1_CHECK(!required, where, ": field '", key, "' is required");
    return "";
  }
  const json& v = j.at(key);
  R1_CHECK(v.is_string() || v.is_number(), where, ": field '", key, "' expects a string, got ", v.dump());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// "KEY=VALUE" -> (KEY, VALUE), trimmed.
std::pair<std::string, std::string> split_override(const std::string& s) {
  auto trim = [](const std::string& x) {
    size_t a = x.find_first_not_of(" \t"), b = x.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : x.substr(a, b - a + 1);
  };
  size_t eq = s.find('=');
  R1_CHECK(eq != std::string::npos && eq > 0, "command line: override '", s, "' must look like field=value");
  return {trim(s.substr(0, eq)), trim(s.substr(eq + 1))};
}

void apply_pipeline_overrides(PipelineSpec& spec, const std::vector<std::string>& overrides) {
  for (const auto& s : overrides) {
    auto [key, value] = split_override(s);
    if (key == "out") {
      spec.out = value;
      continue;
    }
    size_t dot = key.find('.');
    std::vector<std::string> names;
    for (const auto& st : spec.stages) names.push_back(st.name);
    R1_CHECK(dot != std::string::npos && dot + 1 < key.size(), "command line: override '", s,
             "': expected out=DIR, eval.FIELD=VALUE or STAGE.FIELD=VALUE (stages: ", join(names), ")");
    std::string head = key.substr(0, dot), rest = key.substr(dot + 1);
    if (head == "eval") {
      spec.eval_overrides.push_back(rest + "=" + value);
      continue;
    }
    PipelineStage* st = nullptr;
    for (auto& x : spec.stages)
      if (x.name == head) st = &x;
    R1_CHECK(st, "command line: override '", s, "': no stage named '", head, "' in ", spec.file, " (stages: ", join(names), ")");
    if (rest == "reuse") st->reuse = value;
    else if (rest == "config") st->config = value;
    else st->overrides.push_back(rest + "=" + value);
  }
}

void check_stage_names(const PipelineSpec& spec) {
  std::set<std::string> seen;
  for (size_t i = 0; i < spec.stages.size(); i++) {
    const auto& st = spec.stages[i];
    R1_CHECK(!st.name.empty(), st.where, ": field 'name' is required");
    bool ok = true;
    for (char ch : st.name) ok = ok && (std::isalnum((unsigned char)ch) || ch == '_' || ch == '-');
    R1_CHECK(ok, st.where, ": field 'name' must use only letters, digits, '_' and '-' (it names the stage's folder), got '",
             st.name, "'");
    R1_CHECK(st.name != "out" && st.name != "eval", st.where, ": field 'name': '", st.name,
             "' is reserved (it would clash with ${out} / eval.FIELD overrides)");
    R1_CHECK(seen.insert(st.name).second, st.where, ": field 'name': duplicate stage name '", st.name,
             "' (each stage needs its own folder)");
    bool known = false;
    for (const auto& c : pipeline_commands()) known = known || c == st.command;
    R1_CHECK(known, st.where, ": field 'command': unknown command '", st.command, "'; expected one of ",
             join(pipeline_commands(), " | "));
    R1_CHECK(st.reuse.empty() || st.command != "eval", st.where, ": field 'reuse': an eval stage cannot reuse a result");
    R1_CHECK(st.set.is_object(), st.where, ": field 'set' must be a map of fields, got ", st.set.dump());
    R1_CHECK(st.eval.is_null() || st.eval.is_boolean() || st.eval.is_object(), st.where,
             ": field 'eval' must be true, false or a map of eval fields, got ", st.eval.dump());
    R1_CHECK(st.eval.is_null() || st.eval == false || is_training(st.command), st.where, ": field 'eval': only training stages ",
             "(pretrain, sft, grpo) are evaluated after they run; '", st.command, "' is not one");
  }
  R1_CHECK(!spec.out.empty(), spec.file, ": field 'out' is required (the pipeline folder)");
  R1_CHECK(!spec.stages.empty(), spec.file, ": field 'stages' must list at least one stage");
  R1_CHECK(spec.eval.is_null() || spec.eval.is_object(), spec.file, ": field 'eval' must be a map of eval fields, got ",
           spec.eval.dump());
  R1_CHECK(spec.eval.is_null() || !spec.eval.contains("model"), spec.file,
           ": field 'eval.model': the pipeline evaluates each stage's own model; remove it");
}

// ---- one stage's command ---------------------------------------------------------------------------------------

struct Job {
  virtual ~Job() = default;
  OptionSet opts;
  std::string dir;
  virtual void run() = 0;
  // Fields the pipeline sets (and their values); set last.
  virtual std::vector<std::pair<std::string, std::string>> forced() const = 0;
  // Named outputs (model / data / eval / out) and the file whose presence shows the stage completed.
  virtual json outputs(const std::string& reuse) const = 0;
  virtual std::string done_marker(const std::string& reuse) const = 0;
  virtual std::vector<std::string> required() const = 0;
};

template <class Cfg>
struct JobOf : Job {
  Cfg cfg;
  JobOf() { cfg.declare(opts); }
};

struct PretrainJob : JobOf<PretrainConfig> {
  void run() override { run_pretrain(cfg); }
  std::vector<std::pair<std::string, std::string>> forced() const override { return {{"out", dir}}; }
  json outputs(const std::string& reuse) const override {
    return {{"model", reuse.empty() ? path_join(dir, "model") : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override {
    return path_join(reuse.empty() ? path_join(dir, "model") : reuse, "model.safetensors");
  }
  std::vector<std::string> required() const override { return {}; }
};
struct SftJob : JobOf<SftConfig> {
  void run() override { run_sft(cfg); }
  std::vector<std::pair<std::string, std::string>> forced() const override { return {{"out", dir}}; }
  json outputs(const std::string& reuse) const override {
    return {{"model", reuse.empty() ? path_join(dir, "model") : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override {
    return path_join(reuse.empty() ? path_join(dir, "model") : reuse, "model.safetensors");
  }
  std::vector<std::string> required() const override { return {"model", "data"}; }
};
struct GrpoJob : JobOf<GrpoRecipe> {
  void run() override { run_grpo(cfg); }
  std::vector<std::pair<std::string, std::string>> forced() const override { return {{"out", dir}}; }
  json outputs(const std::string& reuse) const override {
    return {{"model", reuse.empty() ? path_join(dir, "model") : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override {
    return path_join(reuse.empty() ? path_join(dir, "model") : reuse, "model.safetensors");
  }
  std::vector<std::string> required() const override { return {"model"}; }
};
struct SampleJob : JobOf<SampleConfig> {
  void run() override { run_sample(cfg); }
  std::vector<std::pair<std::string, std::string>> forced() const override {
    return {{"output", path_join(dir, "traces.jsonl")}};
  }
  json outputs(const std::string& reuse) const override {
    return {{"data", reuse.empty() ? path_join(dir, "traces.jsonl") : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override { return outputs(reuse)["data"]; }
  std::vector<std::string> required() const override { return {"model"}; }
};
struct ColdStartJob : JobOf<ColdStartConfig> {
  void run() override { run_cold_start(cfg); }
  std::vector<std::pair<std::string, std::string>> forced() const override { return {{"out", dir}}; }
  json outputs(const std::string& reuse) const override {
    return {{"data", reuse.empty() ? cold_start_data_path(dir) : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override { return outputs(reuse)["data"]; }
  std::vector<std::string> required() const override { return {}; }
};
struct EvalJob : JobOf<EvalRecipe> {
  json result;
  void run() override {
    result = run_eval(cfg.config());
    std::printf("%s\n", eval_markdown(result).c_str());
    std::fflush(stdout);
    atomic_write(path_join(dir, "eval.json"), result.dump(1, ' ', false, json::error_handler_t::replace));
  }
  std::vector<std::pair<std::string, std::string>> forced() const override { return {}; }
  json outputs(const std::string& reuse) const override {
    return {{"eval", reuse.empty() ? path_join(dir, "eval.json") : reuse}, {"out", dir}};
  }
  std::string done_marker(const std::string& reuse) const override { return outputs(reuse)["eval"]; }
  std::vector<std::string> required() const override { return {"model"}; }
};

std::unique_ptr<Job> make_job(const std::string& command) {
  if (command == "pretrain") return std::make_unique<PretrainJob>();
  if (command == "sft") return std::make_unique<SftJob>();
  if (command == "grpo") return std::make_unique<GrpoJob>();
  if (command == "sample") return std::make_unique<SampleJob>();
  if (command == "cold_start") return std::make_unique<ColdStartJob>();
  if (command == "eval") return std::make_unique<EvalJob>();
  fail("unknown pipeline command '", command, "'");
}

// ---- references -------------------------------------------------------------------------------------------------

struct Resolver {
  const PipelineSpec* spec;
  std::map<std::string, std::pair<std::string, json>> done;  // earlier stages: name -> (command, outputs)

  std::string str(const std::string& s, const std::string& where) const {
    std::string r;
    size_t i = 0;
    while (true) {
      size_t a = s.find("${", i);
      if (a == std::string::npos) break;
      size_t b = s.find('}', a);
      R1_CHECK(b != std::string::npos, where, ": '", s, "' has '${' without a closing '}'");
      r += s.substr(i, a - i);
      std::string ref = s.substr(a + 2, b - a - 2);
      r += lookup(ref, s, where);
      i = b + 1;
    }
    return r + s.substr(i);
  }

  std::string lookup(const std::string& ref, const std::string& s, const std::string& where) const {
    if (ref == "out") return spec->out;
    size_t dot = ref.find('.');
    std::vector<std::string> earlier;
    for (const auto& st : spec->stages) {
      if (!done.count(st.name)) break;
      earlier.push_back(st.name);
    }
    R1_CHECK(dot != std::string::npos, where, ": reference '${", ref, "}' in '", s,
             "' must be ${out} or ${STAGE.OUTPUT} (OUTPUT: model, data, eval, out)");
    std::string name = ref.substr(0, dot), key = ref.substr(dot + 1);
    auto it = done.find(name);
    if (it == done.end()) {
      bool later = false;
      for (const auto& st : spec->stages) later = later || st.name == name;
      if (later) fail(where, ": reference '${", ref, "}' uses stage '", name, "', which does not run before this one");
      fail(where, ": reference '${", ref, "}' names unknown stage '", name, "'; earlier stages: ",
           earlier.empty() ? "(none)" : join(earlier));
    }
    const json& outs = it->second.second;
    if (!outs.contains(key)) {
      std::vector<std::string> have;
      for (auto& [k, v] : outs.items()) have.push_back(k);
      fail(where, ": reference '${", ref, "}': stage '", name, "' (", it->second.first, ") has no output '", key,
           "'; its outputs: ", join(have));
    }
    return outs.at(key).get<std::string>();
  }

  json tree(const json& j, const std::string& where) const {
    if (j.is_string()) return str(j.get<std::string>(), where);
    if (j.is_object()) {
      json r = json::object();
      for (auto& [k, v] : j.items()) r[k] = tree(v, where + "." + k);
      return r;
    }
    if (j.is_array()) {
      json r = json::array();
      for (size_t i = 0; i < j.size(); i++) r.push_back(tree(j[i], where + "[" + std::to_string(i) + "]"));
      return r;
    }
    return j;
  }

  std::vector<std::string> overrides(const std::vector<std::string>& v, const std::string& where) const {
    std::vector<std::string> r;
    for (const auto& s : v) {
      auto [k, val] = split_override(s);
      r.push_back(k + "=" + str(val, where + " " + k));
    }
    return r;
  }
};

// ---- plan -------------------------------------------------------------------------------------------------------

struct Planned {
  const PipelineStage* st = nullptr;
  size_t index = 0;
  std::string dir;
  std::unique_ptr<Job> job;
  std::unique_ptr<EvalRecipe> eval;  // evaluation after a training stage
  std::unique_ptr<OptionSet> eval_opts;
  std::string reuse;
  json outputs, config, eval_config;
};

void apply_kvs(OptionSet& o, const std::vector<std::string>& kvs, const std::string& origin) {
  for (const auto& s : kvs) {
    auto [k, v] = split_override(s);
    o.set(k, v, origin);
  }
}

// The default evaluation (pipeline map + command-line eval.*) into `o`.
void apply_eval_default(const PipelineSpec& spec, const Resolver& R, OptionSet& o) {
  if (spec.eval.is_object()) o.apply_map(R.tree(spec.eval, spec.file + ": eval"), spec.file + ": eval");
}

std::vector<Planned> plan(const PipelineSpec& spec) {
  check_stage_names(spec);
  Resolver R{&spec, {}};
  std::vector<Planned> out;
  for (size_t i = 0; i < spec.stages.size(); i++) {
    const PipelineStage& st = spec.stages[i];
    Planned p;
    p.st = &st;
    p.index = i;
    p.dir = path_join(spec.out, st.name);
    p.job = make_job(st.command);
    p.job->dir = p.dir;
    OptionSet& o = p.job->opts;
    for (const auto& [k, v] : p.job->forced()) {
      R1_CHECK(!st.set.contains(k), st.where, ": field 'set.", k, "': the pipeline sets '", k, "' of a ", st.command,
               " stage itself (", v, "); remove it");
      for (const auto& ov : st.overrides)
        R1_CHECK(split_override(ov).first != k, "command line: override '", st.name, ".", ov, "': the pipeline sets '", k,
                 "' of a ", st.command, " stage itself (", v, ")");
    }
    if (st.command == "eval") apply_eval_default(spec, R, o);
    if (!st.config.empty()) {
      std::string cfg = R.str(st.config, st.where + " config");
      R1_CHECK(file_exists(cfg), st.where, ": field 'config': recipe '", cfg, "' does not exist");
      o.load_yaml(cfg);
    }
    o.apply_map(R.tree(st.set, st.where + " set"), st.where + " set");
    if (st.command == "eval") apply_kvs(o, R.overrides(spec.eval_overrides, "command line eval"), "command line (eval.)");
    apply_kvs(o, R.overrides(st.overrides, "command line " + st.name), "command line (" + st.name + ".)");
    for (const auto& [k, v] : p.job->forced()) o.set(k, v, "pipeline");
    p.reuse = R.str(st.reuse, st.where + " reuse");
    if (p.reuse.empty()) {
      json cfg = o.to_json();
      for (const auto& f : p.job->required())
        R1_CHECK(cfg.contains(f) && cfg[f].is_string() && !cfg[f].get<std::string>().empty(), st.where, ": field '", f,
                 "' of the ", st.command, " stage is empty; give it in set: (e.g. ", f, ": \"${STAGE.",
                 f == "data" ? "data" : "model", "}\") or in its config recipe");
    }
    if (st.command == "eval") static_cast<EvalJob*>(p.job.get())->cfg.config();  // pass_k checked now
    p.outputs = p.job->outputs(p.reuse);
    p.config = o.to_json();

    // evaluation after a training stage
    bool want = is_training(st.command) && (st.eval.is_object() || st.eval == true || (st.eval.is_null() && spec.eval.is_object()));
    R1_CHECK(!(st.eval == true && !spec.eval.is_object()), st.where,
             ": field 'eval' is true but the pipeline has no default 'eval:' map; give the eval fields here instead");
    if (want) {
      p.eval = std::make_unique<EvalRecipe>();
      p.eval_opts = std::make_unique<OptionSet>();
      p.eval->declare(*p.eval_opts);
      apply_eval_default(spec, R, *p.eval_opts);
      if (st.eval.is_object()) {
        R1_CHECK(!st.eval.contains("model"), st.where, ": field 'eval.model': a stage's evaluation uses the stage's own model");
        p.eval_opts->apply_map(R.tree(st.eval, st.where + " eval"), st.where + " eval");
      }
      apply_kvs(*p.eval_opts, R.overrides(spec.eval_overrides, "command line eval"), "command line (eval.)");
      p.eval_opts->set("model", p.outputs["model"].get<std::string>(), "pipeline");
      p.eval->config();
      p.eval_config = p.eval_opts->to_json();
    }
    R.done[st.name] = {st.command, p.outputs};
    out.push_back(std::move(p));
  }
  return out;
}

json plan_entry(const Planned& p) {
  return {{"index", p.index + 1}, {"name", p.st->name}, {"command", p.st->command}, {"dir", p.dir},
          {"config", p.config},   {"outputs", p.outputs}, {"eval", p.eval ? p.eval_config : json(nullptr)},
          {"reuse", p.reuse.empty() ? json(nullptr) : json(p.reuse)}};
}

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// dotted keys whose values differ (for the warning on a finished stage whose recipe changed)
void diff_keys(const json& a, const json& b, const std::string& prefix, std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto& [k, v] : a.items()) keys.insert(k);
    for (auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys)
      diff_keys(a.contains(k) ? a[k] : json(nullptr), b.contains(k) ? b[k] : json(nullptr), prefix.empty() ? k : prefix + "." + k, out);
  } else if (a != b) {
    out.push_back(prefix);
  }
}

std::string fmt_pct(const json& s, const std::string& key) {
  if (!s.is_object() || !s.contains(key)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", 100.0 * s[key].get<double>());
  return b;
}

}  // namespace

// ---- loading ----------------------------------------------------------------------------------------------------

PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = load_yaml_file_as_json(path);
  R1_CHECK(doc.is_object(), path, ": a pipeline recipe must be a YAML map with out, stages and optionally eval");
  for (auto& [k, v] : doc.items())
    R1_CHECK(k == "out" || k == "stages" || k == "eval", path, ": unknown field '", k, "'; expected out, eval, stages");
  PipelineSpec spec;
  spec.file = path;
  spec.out = get_string(doc, "out", path, false);
  spec.eval = doc.value("eval", json(nullptr));
  R1_CHECK(doc.contains("stages") && doc["stages"].is_array(), path, ": field 'stages' is required: a list of stages");
  const json& stages = doc["stages"];
  for (size_t i = 0; i < stages.size(); i++) {
    const json& s = stages[i];
    std::string where = path + ": stages[" + std::to_string(i) + "]";
    R1_CHECK(s.is_object(), where, ": a stage must be a map with name, command and optionally config, set, eval, reuse");
    PipelineStage st;
    st.name = get_string(s, "name", where, true);
    where += " (" + st.name + ")";
    st.where = where;
    for (auto& [k, v] : s.items())
      R1_CHECK(k == "name" || k == "command" || k == "config" || k == "set" || k == "eval" || k == "reuse", where,
               ": unknown field '", k, "'; expected name, command, config, set, eval, reuse");
    st.command = get_string(s, "command", where, true);
    st.config = get_string(s, "config", where, false);
    st.reuse = get_string(s, "reuse", where, false);
    if (s.contains("set") && !s["set"].is_null()) st.set = s["set"];
    st.eval = s.value("eval", json(nullptr));
    spec.stages.push_back(std::move(st));
  }
  apply_pipeline_overrides(spec, overrides);
  check_stage_names(spec);
  return spec;
}

PipelineSpec load_distill(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = load_yaml_file_as_json(path);
  R1_CHECK(doc.is_object(), path, ": a distill recipe must be a YAML map with out, teacher, student, sample, sft, eval");
  for (auto& [k, v] : doc.items())
    R1_CHECK(k == "out" || k == "teacher" || k == "student" || k == "sample" || k == "sft" || k == "eval" ||
                 k == "eval_teacher",
             path, ": unknown field '", k, "'; expected out, teacher, student, sample, sft, eval, eval_teacher");
  std::vector<std::string> rest;
  std::string teacher = get_string(doc, "teacher", path, false), student = get_string(doc, "student", path, false);
  for (const auto& s : overrides) {
    auto [k, v] = split_override(s);
    if (k == "teacher") teacher = v;
    else if (k == "student") student = v;
    else rest.push_back(s);
  }
  R1_CHECK(!teacher.empty(), path, ": field 'teacher' is required (the model folder that writes the traces)");
  R1_CHECK(!student.empty(), path, ": field 'student' is required (the model folder the student starts from)");
  auto section = [&](const char* key) {
    json m = doc.value(key, json::object());
    if (m.is_null()) m = json::object();
    R1_CHECK(m.is_object(), path, ": field '", key, "' must be a map of ", key, " fields, got ", m.dump());
    return m;
  };
  PipelineSpec spec;
  spec.file = path;
  spec.out = get_string(doc, "out", path, false);
  spec.eval = doc.contains("eval") && !doc["eval"].is_null() ? section("eval") : json(nullptr);
  bool eval_teacher = doc.value("eval_teacher", false);
  R1_CHECK(!eval_teacher || spec.eval.is_object(), path, ": field 'eval_teacher' needs an 'eval:' map");
  json sample = section("sample"), sft = section("sft");
  R1_CHECK(!sample.contains("model"), path, ": field 'sample.model': the teacher samples; set 'teacher' instead");
  R1_CHECK(!sft.contains("model"), path, ": field 'sft.model': the student is trained; set 'student' instead");
  R1_CHECK(!sft.contains("data"), path, ": field 'sft.data': the student trains on the teacher's traces");
  if (eval_teacher) {
    PipelineStage t;
    t.name = "teacher_eval";
    t.command = "eval";
    t.set = {{"model", teacher}};
    t.where = path + ": teacher_eval";
    spec.stages.push_back(t);
  }
  PipelineStage s;
  s.name = "sample";
  s.command = "sample";
  s.set = sample;
  s.set["model"] = teacher;
  s.where = path + ": sample";
  spec.stages.push_back(s);
  PipelineStage f;
  f.name = "sft";
  f.command = "sft";
  f.set = sft;
  f.set["model"] = student;
  f.set["data"] = "${sample.data}";
  f.where = path + ": sft";
  spec.stages.push_back(f);
  apply_pipeline_overrides(spec, rest);
  check_stage_names(spec);
  return spec;
}

json plan_pipeline(const PipelineSpec& spec) {
  json r = json::array();
  for (const auto& p : plan(spec)) r.push_back(plan_entry(p));
  return r;
}

// ---- running ----------------------------------------------------------------------------------------------------

std::string pipeline_markdown(const json& summary) {
  std::string t = "| # | stage | command | status | wall | pass@1 | cons@k | greedy | format | length | output |\n"
                  "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : summary.at("stages")) {
    const json ev = s.value("eval", json(nullptr));
    std::string cons = "-";
    if (ev.is_object())
      for (auto& [key, v] : ev.items())
        if (key.rfind("cons@", 0) == 0) cons = fmt_pct(ev, key) + " (k=" + key.substr(5) + ")";
    char wall[32] = "-", len[32] = "-";
    if (s.contains("wall_s") && s["wall_s"].is_number()) std::snprintf(wall, sizeof wall, "%.1f s", s["wall_s"].get<double>());
    if (ev.is_object() && ev.contains("mean_length")) std::snprintf(len, sizeof len, "%.1f", ev["mean_length"].get<double>());
    std::string output = "-";
    const json outs = s.value("outputs", json::object());
    for (const char* key : {"model", "data", "eval"})
      if (outs.contains(key)) {
        output = outs[key].get<std::string>();
        break;
      }
    t += "| " + std::to_string(s.value("index", 0)) + " | " + s.value("name", std::string()) + " | " +
         s.value("command", std::string()) + " | " + s.value("status", std::string()) + " | " + wall + " | " +
         fmt_pct(ev, "pass@1") + " | " + cons + " | " + fmt_pct(ev, "greedy_accuracy") + " | " + fmt_pct(ev, "format_rate") +
         " | " + len + " | " + output + " |\n";
  }
  return t;
}

static std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '`') ch = ' ';
  return s;
}

std::string pipeline_report(const json& summary, int examples) {
  std::string r = "# Pipeline report: " + summary.value("out", std::string()) + "\n\nRecipe: `" +
                  summary.value("file", std::string()) + "`\n\n" + pipeline_markdown(summary) + "\n";
  for (const auto& s : summary.at("stages")) {
    const std::string name = s.value("name", std::string());
    const json outs = s.value("outputs", json::object());
    std::string ef;
    if (outs.contains("eval")) ef = outs["eval"].get<std::string>();
    else if (s.contains("eval") && s["eval"].is_object() && outs.contains("model"))
      ef = path_join(path_join(summary.value("out", std::string()), name), "eval.json");
    if (ef.empty() || !file_exists(ef)) continue;
    json res;
    try {
      res = json::parse(read_file(ef));
    } catch (const std::exception&) {
      continue;
    }
    if (!res.contains("problems") || !res["problems"].is_array()) continue;
    r += "## " + name + ": completions (first sample of the first " + std::to_string(examples) + " problems)\n\n";
    int n = 0;
    for (const auto& p : res["problems"]) {
      if (n++ >= examples) break;
      if (!p.contains("samples") || p["samples"].empty() || !p["samples"][0].contains("text")) continue;
      const json& s0 = p["samples"][0];
      r += "- **" + p.value("question", p.value("id", std::string())) + "** (gold " + p.value("gold", std::string()) +
           ", " + (s0.value("correct", false) ? "correct" : "wrong") + "): `" + one_line(s0["text"].get<std::string>()) + "`\n";
    }
    r += "\n";
  }
  return r;
}

json run_pipeline(const PipelineSpec& spec) {
  std::vector<Planned> stages = plan(spec);  // every stage checked before the first runs
  make_dirs(spec.out);
  const size_t N = stages.size();
  json summary = {{"file", spec.file}, {"out", spec.out}, {"complete", false}, {"stages", json::array()}};
  for (const auto& p : stages)
    summary["stages"].push_back({{"index", p.index + 1}, {"name", p.st->name}, {"command", p.st->command},
                                 {"status", "pending"}, {"wall_s", nullptr}, {"outputs", p.outputs}, {"eval", nullptr}});
  auto write_summary = [&] {
    summary["table"] = pipeline_markdown(summary);
    atomic_write(path_join(spec.out, "pipeline.json"), summary.dump(2));
    atomic_write(path_join(spec.out, "report.md"), pipeline_report(summary, 3));
  };
  for (size_t i = 0; i < N; i++) {
    Planned& p = stages[i];
    json& row = summary["stages"][i];
    const std::string stage_json = path_join(p.dir, "stage.json");
    if (file_exists(stage_json)) {
      json done = json::parse(read_file(stage_json));
      std::fprintf(stderr, "[stage %zu/%zu] %s %s: finished earlier (%s), skipped\n", i + 1, N, p.st->command.c_str(),
                   p.st->name.c_str(), stage_json.c_str());
      std::vector<std::string> diff;
      diff_keys(done.value("config", json(nullptr)), p.config, "", diff);
      diff_keys(done.value("eval_config", json(nullptr)), p.eval ? p.eval_config : json(nullptr), "eval", diff);
      if (!diff.empty())
        std::fprintf(stderr, "[pipeline] warning: stage %s finished with a different config (%s); delete %s to run it again\n",
                     p.st->name.c_str(), join(diff).c_str(), stage_json.c_str());
      row["status"] = "skipped";
      row["wall_s"] = done.value("wall_s", json(nullptr));
      row["run_s"] = done.value("run_s", json(nullptr));
      row["eval"] = done.contains("eval") && done["eval"].is_object() ? done["eval"].value("summary", json(nullptr)) : json(nullptr);
      continue;
    }
    std::fprintf(stderr, "[stage %zu/%zu] %s %s -> %s%s\n", i + 1, N, p.st->command.c_str(), p.st->name.c_str(),
                 p.dir.c_str(), p.reuse.empty() ? "" : (" (reusing " + p.reuse + ")").c_str());
    std::fflush(stderr);
    make_dirs(p.dir);
    auto t0 = std::chrono::steady_clock::now();
    if (p.reuse.empty()) {
      try {
        p.job->run();
      } catch (const Error& e) {
        fail("stage ", p.st->name, " (", p.st->command, ", stage ", i + 1, "/", N, ") failed: ", e.what(),
             "\n(finished stages are kept; fix the cause and run the pipeline again to continue from this stage)");
      }
    } else {
      R1_CHECK(file_exists(p.job->done_marker(p.reuse)), p.st->where, ": field 'reuse': ", p.reuse, " is not a finished ",
               p.st->command, " output (", p.job->done_marker(p.reuse), " does not exist)");
    }
    if (!file_exists(p.job->done_marker(p.reuse))) {
      row["status"] = "stopped";
      write_summary();
      std::fprintf(stderr, "[pipeline] stage %s stopped before finishing (%s is missing; e.g. stop_after); run the "
                   "pipeline again to resume it\n", p.st->name.c_str(), p.job->done_marker(p.reuse).c_str());
      return summary;
    }
    const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json rec = {{"name", p.st->name},    {"command", p.st->command}, {"index", i + 1},
                {"config", p.config},    {"outputs", p.outputs},      {"reused", p.reuse.empty() ? json(nullptr) : json(p.reuse)},
                {"eval", nullptr},       {"eval_config", nullptr}};
    if (p.st->command == "eval") {
      const json& res = static_cast<EvalJob*>(p.job.get())->result;
      rec["eval"] = {{"file", path_join(p.dir, "eval.json")}, {"task", res.value("task", std::string())},
                     {"summary", res.at("summary")}};
    } else if (p.eval) {
      EvalConfig ec = p.eval->config();
      std::fprintf(stderr, "[stage %zu/%zu] evaluating %s on %s (k = %d)\n", i + 1, N, p.outputs["model"].get<std::string>().c_str(),
                   ec.task.c_str(), ec.k);
      json res = run_eval(ec);
      std::printf("%s\n", eval_markdown(res).c_str());
      std::fflush(stdout);
      std::string ef = path_join(p.dir, "eval.json");
      atomic_write(ef, res.dump(1, ' ', false, json::error_handler_t::replace));
      rec["eval"] = {{"file", ef}, {"task", res.value("task", std::string())}, {"summary", res.at("summary")}};
      rec["eval_config"] = p.eval_config;
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec["wall_s"] = wall;
    rec["run_s"] = run_s;  // the command itself, without the stage's evaluation
    rec["finished_at"] = now_iso();
    atomic_write(stage_json, rec.dump(2));  // the stage is finished from here on
    row["status"] = "ran";
    row["wall_s"] = wall;
    row["run_s"] = run_s;
    row["eval"] = rec["eval"].is_object() ? rec["eval"]["summary"] : json(nullptr);
    write_summary();
    std::fprintf(stderr, "[stage %zu/%zu] %s %s finished in %.1f s\n", i + 1, N, p.st->command.c_str(), p.st->name.c_str(), wall);
  }
  summary["complete"] = true;
  write_summary();
  return summary;
}

}  // namespace r1
