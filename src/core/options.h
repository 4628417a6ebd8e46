// Options declared once: every field of a command's configuration is registered with a dotted key, a default
// (the value the field holds when registered) and help text. Values come from a YAML recipe (nested maps map to
// dotted keys) and are then overridden by command-line arguments (`key=value` or `--key value`, apply_args).
// An unknown key is one error that suggests the nearest known one ("did you mean sampling.group_size?"). The
// effective configuration is written into the run folder as YAML.
#pragma once
#include "core/precision.h"
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace r1 {

// A whole YAML file as JSON (maps, lists, typed scalars; quoted scalars stay strings); errors name the file.
nlohmann::json load_yaml_file_as_json(const std::string& path);

class OptionSet {
 public:
  void add(const std::string& key, std::string* v, const std::string& help);
  void add(const std::string& key, int* v, const std::string& help);
  void add(const std::string& key, long* v, const std::string& help);
  void add(const std::string& key, float* v, const std::string& help);
  void add(const std::string& key, double* v, const std::string& help);
  void add(const std::string& key, bool* v, const std::string& help);
  void add(const std::string& key, std::vector<std::string>* v, const std::string& help);  // YAML list / comma list
  void add(const std::string& key, std::vector<int>* v, const std::string& help);          // the same, of integers
  // A whole YAML subtree (map or list) kept as JSON, e.g. `rewards: {accuracy: 1.0, format: 0.1}`; on the command
  // line the value is JSON or YAML flow text: rewards='{accuracy: 1.0, format: 0.1}'.
  void add(const std::string& key, nlohmann::json* v, const std::string& help);

  // Another name for a declared key (e.g. "template" for "prompt_template"), accepted wherever the key is.
  void alias(const std::string& alias, const std::string& key);

  void load_yaml(const std::string& path);                   // keys not registered -> r1::Error naming file+key
  void set(const std::string& key, const std::string& value, const std::string& origin);  // parse + assign
  void apply_overrides(const std::vector<std::string>& kvs);  // "a.b=value"
  // A recipe command's arguments, in order: `key=value`, `--key value` or `--key=value` ('-' and '_' alike in flag
  // names). A flag may name a key by its last part when no other key ends the same way (--temperature for
  // sampling.temperature); a one-letter key or alias also as -k VALUE. A bool field takes `--key` (true), `--no-key`
  // (false) or a value; a list field named twice by flags collects both values. Errors name the argument.
  void apply_args(const std::vector<std::string>& args);
  // A nested map of fields (as a YAML recipe would hold them, e.g. from a pipeline stage's `set:`); `origin`
  // prefixes errors ("FILE: stages[2] (sft) set").
  void apply_map(const nlohmann::json& m, const std::string& origin);
  nlohmann::json to_json() const;                            // effective values, nested, typed
  std::string to_yaml() const;                               // effective values, nested
  std::string help_text() const;                             // key, type, default, help per line
  bool has(const std::string& key) const;
  // The nearest declared key or alias to an unknown one ("" when nothing is close): same last part first, then
  // the smallest edit distance within a third of the length.
  std::string suggest(const std::string& unknown) const;

 private:
  struct Opt {
    std::string key, type, help, default_value;
    std::function<void(const std::string&, const std::string&)> set;  // (value, origin)
    std::function<std::string()> get;
  };
  std::vector<Opt> opts_;
  std::vector<std::pair<std::string, std::string>> aliases_;  // (alias, key)
  Opt* find(const std::string& key);
  Opt* find_flag(const std::string& name, const std::string& arg);  // a flag's name (without dashes) -> option
  void add_opt(Opt o);
};

// The effective recipe of `r` (a struct with `void declare(OptionSet&)`) as YAML: what a run folder's config.yaml
// holds, with the precision fields every command has (core/stage.h; their values are the process defaults the
// command set before it ran).
template <class R>
std::string effective_config_yaml(const R& r) {
  OptionSet o;
  R copy = r;
  copy.declare(o);
  std::string precision = precision_name(default_precision()), kv = kv_dtype_name(default_kv_dtype());
  o.add("precision", &precision, kPrecisionHelp);
  o.add("kv_dtype", &kv, kKvDtypeHelp);
  return o.to_yaml();
}

}  // namespace r1
