// Reading pipeline and distill recipes, and their command-line overrides.
#include "pipeline/plan.h"

#include "core/check.h"
#include "core/io.h"
#include "core/precision.h"

#include <cctype>
#include <set>

namespace r1 {

using json = nlohmann::json;

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string r;
  for (size_t i = 0; i < v.size(); i++) r += (i ? sep : "") + v[i];
  return r;
}

namespace {

std::string get_string(const json& j, const std::string& key, const std::string& where, bool required) {
  if (!j.contains(key) || j.at(key).is_null()) {
    R1_CHECK(!required, where, ": field '", key, "' is required");
    return "";
  }
  const json& v = j.at(key);
  R1_CHECK(v.is_string() || v.is_number(), where, ": field '", key, "' expects a string, got ", v.dump());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

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
    if (key == "precision") {
      spec.precision = value;
      continue;
    }
    size_t dot = key.find('.');
    std::vector<std::string> names;
    for (const auto& st : spec.stages) names.push_back(st.name);
    R1_CHECK(dot != std::string::npos && dot + 1 < key.size(), "command line: override '", s,
             "': expected out=DIR, precision=fp32|bf16, eval.FIELD=VALUE or STAGE.FIELD=VALUE (stages: ", join(names),
             ")");
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
    const StageKind* kind = find_stage(st.command);
    R1_CHECK(kind, st.where, ": field 'command': unknown command '", st.command, "'; expected one of ", stage_names());
    R1_CHECK(st.reuse.empty() || kind->role != StageKind::kEvaluator, st.where, ": field 'reuse': an ", st.command,
             " stage cannot reuse a result");
    R1_CHECK(st.set.is_object(), st.where, ": field 'set' must be a map of fields, got ", st.set.dump());
    R1_CHECK(st.eval.is_null() || st.eval.is_boolean() || st.eval.is_object(), st.where,
             ": field 'eval' must be true, false or a map of eval fields, got ", st.eval.dump());
    std::vector<std::string> trainers;
    for (const auto& k : all_stages())
      if (k.role == StageKind::kTrainer) trainers.push_back(k.name);
    R1_CHECK(st.eval.is_null() || st.eval == false || kind->role == StageKind::kTrainer, st.where,
             ": field 'eval': only training stages (", join(trainers), ") are evaluated after they run; '", st.command,
             "' is not one");
  }
  R1_CHECK(!spec.out.empty(), spec.file, ": field 'out' is required (the pipeline folder)");
  R1_CHECK(!spec.stages.empty(), spec.file, ": field 'stages' must list at least one stage");
  if (!spec.precision.empty()) parse_precision(spec.precision, spec.file + ": field 'precision'");
  R1_CHECK(spec.eval.is_null() || spec.eval.is_object(), spec.file, ": field 'eval' must be a map of eval fields, got ",
           spec.eval.dump());
  R1_CHECK(spec.eval.is_null() || !spec.eval.contains("model"), spec.file,
           ": field 'eval.model': the pipeline evaluates each stage's own model; remove it");
}

PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = load_yaml_file_as_json(path);
  R1_CHECK(doc.is_object(), path, ": a pipeline recipe must be a YAML map with out, stages and optionally eval");
  for (auto& [k, v] : doc.items())
    R1_CHECK(k == "out" || k == "stages" || k == "eval" || k == "precision", path, ": unknown field '", k,
             "'; expected out, eval, stages, precision");
  PipelineSpec spec;
  spec.file = path;
  spec.out = get_string(doc, "out", path, false);
  spec.precision = get_string(doc, "precision", path, false);
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
                 k == "eval_teacher" || k == "precision",
             path, ": unknown field '", k, "'; expected out, teacher, student, sample, sft, eval, eval_teacher, precision");
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
  spec.precision = get_string(doc, "precision", path, false);
  spec.eval = doc.contains("eval") && !doc["eval"].is_null() ? section("eval") : json(nullptr);
  bool eval_teacher = doc.value("eval_teacher", false);
  R1_CHECK(!eval_teacher || spec.eval.is_object(), path, ": field 'eval_teacher' needs an 'eval:' map");
  json sample = section("sample"), sft = section("sft");
  R1_CHECK(!sample.contains("model"), path, ": field 'sample.model': the teacher samples; set 'teacher' instead");
  R1_CHECK(!sft.contains("model"), path, ": field 'sft.model': the student is trained; set 'student' instead");
  R1_CHECK(!sft.contains("data"), path, ": field 'sft.data': the student trains on the teacher's traces");
  // the distillation's stages, by command: [teacher_eval], sample (the teacher), sft (the student on its traces)
  auto add = [&](const char* name, const char* command, json set) {
    PipelineStage st;
    st.name = name;
    st.command = command;
    st.set = std::move(set);
    st.where = path + ": " + name;
    spec.stages.push_back(std::move(st));
  };
  if (eval_teacher) add("teacher_eval", "eval", {{"model", teacher}});
  sample["model"] = teacher;
  add("sample", "sample", sample);
  sft["model"] = student;
  sft["data"] = "${sample.data}";
  add("sft", "sft", sft);
  apply_pipeline_overrides(spec, rest);
  check_stage_names(spec);
  return spec;
}

}  // namespace r1
