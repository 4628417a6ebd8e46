// Resolving a pipeline: ${STAGE.OUTPUT} references, every stage's fields in order, its outputs and its
// evaluation, all checked before the first stage runs.
#include "pipeline/plan.h"

#include "core/check.h"
#include "core/io.h"

#include <map>

namespace r1 {

using json = nlohmann::json;

namespace {

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

void apply_kvs(OptionSet& o, const std::vector<std::string>& kvs, const std::string& origin) {
  for (const auto& s : kvs) {
    auto [k, v] = split_override(s);
    o.set(k, v, origin);
  }
}

// The default evaluation (the pipeline's eval: map) into `o`.
void apply_eval_default(const PipelineSpec& spec, const Resolver& R, OptionSet& o) {
  if (spec.eval.is_object()) o.apply_map(R.tree(spec.eval, spec.file + ": eval"), spec.file + ": eval");
}

// The stage's own command, its fields filled in order: defaults, (evaluator: the pipeline's eval:), config, set,
// (evaluator: command-line eval.*), command-line NAME.*, then the pipeline's output location.
void plan_command(const PipelineSpec& spec, const Resolver& R, Planned& p) {
  const PipelineStage& st = *p.st;
  const StageKind& kind = *p.kind;
  const bool evaluator = kind.role == StageKind::kEvaluator;
  p.job = kind.make();
  p.opts = std::make_unique<OptionSet>();
  OptionSet& o = *p.opts;
  p.job->declare(o);
  const auto forced = kind.location(p.dir);
  for (const auto& [k, v] : forced) {
    R1_CHECK(!st.set.contains(k), st.where, ": field 'set.", k, "': the pipeline sets '", k, "' of a ", st.command,
             " stage itself (", v, "); remove it");
    for (const auto& ov : st.overrides)
      R1_CHECK(split_override(ov).first != k, "command line: override '", st.name, ".", ov, "': the pipeline sets '", k,
               "' of a ", st.command, " stage itself (", v, ")");
  }
  if (!spec.precision.empty()) o.set("precision", spec.precision, "pipeline precision");
  if (evaluator) apply_eval_default(spec, R, o);
  if (!st.config.empty()) {
    std::string cfg = R.str(st.config, st.where + " config");
    R1_CHECK(file_exists(cfg), st.where, ": field 'config': recipe '", cfg, "' does not exist");
    o.load_yaml(cfg);
  }
  o.apply_map(R.tree(st.set, st.where + " set"), st.where + " set");
  if (evaluator) apply_kvs(o, R.overrides(spec.eval_overrides, "command line eval"), "command line (eval.)");
  apply_kvs(o, R.overrides(st.overrides, "command line " + st.name), "command line (" + st.name + ".)");
  for (const auto& [k, v] : forced) o.set(k, v, "pipeline");
  p.reuse = R.str(st.reuse, st.where + " reuse");
  if (p.reuse.empty()) {
    json cfg = o.to_json();
    for (const auto& f : kind.required)
      R1_CHECK(cfg.contains(f) && cfg[f].is_string() && !cfg[f].get<std::string>().empty(), st.where, ": field '", f,
               "' of the ", st.command, " stage is empty; give it in set: (e.g. ", f, ": \"${STAGE.",
               f == "data" ? "data" : "model", "}\") or in its config recipe");
    try {
      p.job->check();
    } catch (const Error& e) {
      fail(st.where, ": ", e.what());
    }
  }
  p.outputs = {{kind.output, kind.output_path(p.dir, p.reuse)}, {"out", p.dir}};
  for (const auto& [name, file] : kind.extra_outputs)
    p.outputs[name] = path_join(p.reuse.empty() ? p.dir : parent_dir(p.reuse), file);
  p.config = o.to_json();
}

// The evaluation after a trainer: the pipeline's eval:, the stage's eval: map, command-line eval.*, then the
// stage's model and the evaluation's place in the stage folder.
void plan_evaluation(const PipelineSpec& spec, const Resolver& R, Planned& p) {
  const PipelineStage& st = *p.st;
  const bool want = p.kind->role == StageKind::kTrainer &&
                    (st.eval.is_object() || st.eval == true || (st.eval.is_null() && spec.eval.is_object()));
  R1_CHECK(!(st.eval == true && !spec.eval.is_object()), st.where,
           ": field 'eval' is true but the pipeline has no default 'eval:' map; give the eval fields here instead");
  if (!want) return;
  const StageKind& ev = evaluator_stage();
  p.eval = ev.make();
  p.eval_opts = std::make_unique<OptionSet>();
  p.eval->declare(*p.eval_opts);
  if (!spec.precision.empty()) p.eval_opts->set("precision", spec.precision, "pipeline precision");
  apply_eval_default(spec, R, *p.eval_opts);
  if (st.eval.is_object()) {
    R1_CHECK(!st.eval.contains("model"), st.where, ": field 'eval.model': a stage's evaluation uses the stage's own model");
    p.eval_opts->apply_map(R.tree(st.eval, st.where + " eval"), st.where + " eval");
  }
  apply_kvs(*p.eval_opts, R.overrides(spec.eval_overrides, "command line eval"), "command line (eval.)");
  p.eval_opts->set("model", p.outputs[p.kind->output].get<std::string>(), "pipeline");
  for (const auto& [k, v] : ev.location(p.dir)) p.eval_opts->set(k, v, "pipeline");
  try {
    p.eval->check();
  } catch (const Error& e) {
    fail(st.where, ": evaluation: ", e.what());
  }
  p.eval_config = p.eval_opts->to_json();
}

}  // namespace

std::vector<Planned> plan(const PipelineSpec& spec) {
  check_stage_names(spec);
  Resolver R{&spec, {}};
  clear_planned_outputs();
  std::vector<Planned> out;
  for (size_t i = 0; i < spec.stages.size(); i++) {
    const PipelineStage& st = spec.stages[i];
    Planned p;
    p.st = &st;
    p.kind = find_stage(st.command);
    p.index = i;
    p.dir = path_join(spec.out, st.name);
    plan_command(spec, R, p);
    plan_evaluation(spec, R, p);
    R.done[st.name] = {st.command, p.outputs};
    for (const auto& [k, v] : p.outputs.items())  // later stages' checks accept these before they exist
      if (k != "out" && v.is_string()) note_planned_output(v.get<std::string>());
    out.push_back(std::move(p));
  }
  return out;
}

json plan_entry(const Planned& p) {
  return {{"index", p.index + 1}, {"name", p.st->name}, {"command", p.st->command}, {"dir", p.dir},
          {"config", p.config},   {"outputs", p.outputs}, {"eval", p.eval ? p.eval_config : json(nullptr)},
          {"reuse", p.reuse.empty() ? json(nullptr) : json(p.reuse)}};
}

json plan_pipeline(const PipelineSpec& spec) {
  json r = json::array();
  for (const auto& p : plan(spec)) r.push_back(plan_entry(p));
  return r;
}

}  // namespace r1
