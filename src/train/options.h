// Options declared once: every field of a command's configuration is registered with a dotted key, a default
// (the value the field holds when registered) and help text. Values come from a YAML recipe (nested maps map to
// dotted keys) and are then overridden by `key=value` arguments on the command line. Unknown keys are errors
// that list the known ones. The effective configuration is written into the run folder as YAML.
#pragma once
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
  // A whole YAML subtree (map or list) kept as JSON, e.g. `rewards: {accuracy: 1.0, format: 0.1}`; on the command
  // line the value is JSON or YAML flow text: rewards='{accuracy: 1.0, format: 0.1}'.
  void add(const std::string& key, nlohmann::json* v, const std::string& help);

  void load_yaml(const std::string& path);                   // keys not registered -> r1::Error naming file+key
  void set(const std::string& key, const std::string& value, const std::string& origin);  // parse + assign
  void apply_overrides(const std::vector<std::string>& kvs);  // "a.b=value"
  // A nested map of fields (as a YAML recipe would hold them, e.g. from a pipeline stage's `set:`); `origin`
  // prefixes errors ("FILE: stages[2] (sft) set").
  void apply_map(const nlohmann::json& m, const std::string& origin);
  nlohmann::json to_json() const;                            // effective values, nested, typed
  std::string to_yaml() const;                               // effective values, nested
  std::string help_text() const;                             // key, type, default, help per line
  bool has(const std::string& key) const;

 private:
  struct Opt {
    std::string key, type, help, default_value;
    std::function<void(const std::string&, const std::string&)> set;  // (value, origin)
    std::function<std::string()> get;
  };
  std::vector<Opt> opts_;
  Opt* find(const std::string& key);
  void add_opt(Opt o);
};

}  // namespace r1
