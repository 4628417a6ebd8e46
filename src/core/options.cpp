#include "core/options.h"
#include "core/check.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <sstream>

namespace r1 {

static std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

void OptionSet::add_opt(Opt o) {
  R1_CHECK(!find(o.key), "option '", o.key, "' declared twice");
  o.default_value = o.get();
  opts_.push_back(std::move(o));
}

OptionSet::Opt* OptionSet::find(const std::string& key) {
  for (auto& o : opts_)
    if (o.key == key) return &o;
  for (const auto& [a, k] : aliases_)
    if (a == key) return find(k);
  return nullptr;
}
bool OptionSet::has(const std::string& key) const { return const_cast<OptionSet*>(this)->find(key) != nullptr; }

void OptionSet::alias(const std::string& alias, const std::string& key) {
  R1_CHECK(find(key), "option alias '", alias, "' names undeclared key '", key, "'");
  R1_CHECK(!find(alias), "option alias '", alias, "' is already a key or an alias");
  aliases_.push_back({alias, key});
}

static std::string last_part(const std::string& key) {
  size_t d = key.rfind('.');
  return d == std::string::npos ? key : key.substr(d + 1);
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string OptionSet::suggest(const std::string& unknown) const {
  std::vector<std::string> names;
  for (const auto& o : opts_) names.push_back(o.key);
  for (const auto& [a, k] : aliases_) names.push_back(a);
  for (const auto& n : names)  // the same field under another prefix (temperature -> sampling.temperature)
    if (last_part(n) == last_part(unknown)) return n;
  std::string best;
  size_t best_d = std::max<size_t>(2, unknown.size() / 3) + 1;
  for (const auto& n : names) {
    size_t d = std::min(edit_distance(unknown, n), edit_distance(last_part(unknown), last_part(n)) + (n.find('.') != std::string::npos));
    if (d < best_d) best_d = d, best = n;
  }
  return best;
}

void OptionSet::add(const std::string& key, std::string* v, const std::string& help) {
  add_opt({key, "string", help, "", [v](const std::string& s, const std::string&) { *v = s; }, [v] { return *v; }});
}
void OptionSet::add(const std::string& key, int* v, const std::string& help) {
  add_opt({key, "int", help, "",
           [v, key](const std::string& s, const std::string& origin) {
             char* end = nullptr;
             errno = 0;
             long x = std::strtol(s.c_str(), &end, 10);
             R1_CHECK(!s.empty() && *end == 0 && errno == 0 && x >= INT32_MIN && x <= INT32_MAX, origin, ": field '", key,
                      "' expects an integer, got '", s, "'");
             *v = (int)x;
           },
           [v] { return std::to_string(*v); }});
}
void OptionSet::add(const std::string& key, long* v, const std::string& help) {
  add_opt({key, "int", help, "",
           [v, key](const std::string& s, const std::string& origin) {
             char* end = nullptr;
             errno = 0;
             long x = std::strtol(s.c_str(), &end, 10);
             R1_CHECK(!s.empty() && *end == 0 && errno == 0, origin, ": field '", key, "' expects an integer, got '", s, "'");
             *v = x;
           },
           [v] { return std::to_string(*v); }});
}
template <class F>
static void parse_float(const std::string& s, F* v, const std::string& key, const std::string& origin) {
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  R1_CHECK(!s.empty() && *end == 0, origin, ": field '", key, "' expects a number, got '", s, "'");
  *v = (F)x;
}
static std::string fmt_num(double x) {
  std::ostringstream os;
  os.precision(9);
  os << x;
  return os.str();
}
void OptionSet::add(const std::string& key, float* v, const std::string& help) {
  add_opt({key, "float", help, "", [v, key](const std::string& s, const std::string& o) { parse_float(s, v, key, o); },
           [v] { return fmt_num(*v); }});
}
void OptionSet::add(const std::string& key, double* v, const std::string& help) {
  add_opt({key, "float", help, "", [v, key](const std::string& s, const std::string& o) { parse_float(s, v, key, o); },
           [v] { return fmt_num(*v); }});
}
void OptionSet::add(const std::string& key, bool* v, const std::string& help) {
  add_opt({key, "bool", help, "",
           [v, key](const std::string& s, const std::string& origin) {
             if (s == "true" || s == "1" || s == "yes" || s == "on") *v = true;
             else if (s == "false" || s == "0" || s == "no" || s == "off") *v = false;
             else fail(origin, ": field '", key, "' expects true or false, got '", s, "'");
           },
           [v] { return std::string(*v ? "true" : "false"); }});
}
void OptionSet::add(const std::string& key, std::vector<std::string>* v, const std::string& help) {
  add_opt({key, "list", help, "",
           [v](const std::string& s, const std::string&) {
             v->clear();
             std::stringstream ss(s);
             std::string item;
             while (std::getline(ss, item, ','))
               if (!trim(item).empty()) v->push_back(trim(item));
           },
           [v] {
             std::string r;
             for (size_t i = 0; i < v->size(); i++) r += (i ? "," : "") + (*v)[i];
             return r;
           }});
}

void OptionSet::add(const std::string& key, std::vector<int>* v, const std::string& help) {
  add_opt({key, "ints", help, "",
           [v, key](const std::string& s, const std::string& origin) {
             v->clear();
             std::stringstream ss(s);
             std::string item;
             while (std::getline(ss, item, ',')) {
               item = trim(item);
               if (item.empty()) continue;
               char* end = nullptr;
               errno = 0;
               long x = std::strtol(item.c_str(), &end, 10);
               R1_CHECK(*end == 0 && errno == 0 && x >= INT32_MIN && x <= INT32_MAX, origin, ": field '", key,
                        "' expects a list of integers, got '", item, "'");
               v->push_back((int)x);
             }
           },
           [v] {
             std::string r;
             for (size_t i = 0; i < v->size(); i++) r += (i ? "," : "") + std::to_string((*v)[i]);
             return r;
           }});
}

static nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it) j[it->first.as<std::string>()] = yaml_to_json(it->second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < n.size(); i++) j.push_back(yaml_to_json(n[i]));
    return j;
  }
  if (n.IsNull()) return nullptr;
  std::string s = n.as<std::string>();
  if (n.Tag() == "!") return s;  // quoted in the YAML: a string
  if (s == "true") return true;
  if (s == "false") return false;
  char* end = nullptr;
  long li = std::strtol(s.c_str(), &end, 10);
  if (!s.empty() && *end == 0) return li;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && *end == 0) return d;
  return s;
}

void OptionSet::add(const std::string& key, nlohmann::json* v, const std::string& help) {
  add_opt({key, "map", help, "",
           [v, key](const std::string& s, const std::string& origin) {
             try {
               *v = yaml_to_json(YAML::Load(s));
             } catch (const YAML::Exception& e) {
               fail(origin, ": field '", key, "' expects a YAML/JSON map or list, got '", s, "' (", e.msg, ")");
             }
           },
           [v] { return v->dump(); }});
}

void OptionSet::set(const std::string& key, const std::string& value, const std::string& origin) {
  Opt* o = find(key);
  if (!o) {
    std::string near = suggest(key), known;
    for (auto& x : opts_) known += " " + x.key;
    fail(origin, ": unknown field '", key, "'", near.empty() ? "" : "; did you mean " + near + "?", " (known fields:", known, ")");
  }
  o->set(value, origin);
}

OptionSet::Opt* OptionSet::find_flag(const std::string& name, const std::string& arg) {
  std::string key = name;
  for (char& ch : key)
    if (ch == '-') ch = '_';
  if (Opt* o = find(key)) return o;
  Opt* hit = nullptr;
  for (auto& o : opts_)
    if (last_part(o.key) == key) {
      R1_CHECK(!hit, "command line: '", arg, "' could be ", hit->key, " or ", o.key, "; give the whole key (--", o.key, ")");
      hit = &o;
    }
  return hit;
}

static bool is_bool_word(const std::string& s) {
  for (const char* w : {"true", "false", "yes", "no", "on", "off", "1", "0"})
    if (s == w) return true;
  return false;
}

void OptionSet::apply_args(const std::vector<std::string>& args) {
  std::map<std::string, int> list_flags;  // list keys already given by a flag in these args
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') {  // key=value
      apply_overrides({a});
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    const bool has_value = name.find('=') != std::string::npos;
    if (has_value) {
      value = name.substr(name.find('=') + 1);
      name = name.substr(0, name.find('='));
    }
    Opt* o = find_flag(name, a);
    if (!o && name.rfind("no-", 0) == 0 && !has_value) {  // --no-KEY for a bool
      Opt* b = find_flag(name.substr(3), a);
      if (b && b->type == "bool") {
        b->set("false", "command line (" + a + ")");
        continue;
      }
    }
    if (!o) {
      std::string near = suggest(name);
      for (char& ch : near)
        if (ch == '_') ch = '-';
      fail("command line: unknown option '", a, "'", near.empty() ? "" : "; did you mean --" + near + "?",
           " (--show-config lists every field)");
    }
    if (!has_value) {
      if (o->type == "bool" && (i + 1 >= args.size() || !is_bool_word(args[i + 1]))) {
        o->set("true", "command line (" + a + ")");
        continue;
      }
      R1_CHECK(i + 1 < args.size(), "command line: option '", a, "' expects a value (", o->key, ", ", o->type, ")");
      value = args[++i];
    }
    if ((o->type == "list" || o->type == "ints") && list_flags[o->key]++ > 0) value = o->get() + "," + value;
    o->set(value, "command line (" + a + ")");
  }
}

static void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out,
                    const std::string& path, const std::function<bool(const std::string&)>& is_map_opt) {
  if (!prefix.empty() && is_map_opt(prefix)) {
    out.push_back({prefix, yaml_to_json(n).dump()});
    return;
  }
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.as<std::string>();
      flatten(it->second, prefix.empty() ? k : prefix + "." + k, out, path, is_map_opt);
    }
  } else if (n.IsSequence()) {
    std::string r;
    for (size_t i = 0; i < n.size(); i++) {
      R1_CHECK(n[i].IsScalar(), path, ": field '", prefix, "' must be a list of scalars");
      r += (i ? "," : "") + n[i].as<std::string>();
    }
    out.push_back({prefix, r});
  } else if (n.IsScalar()) {
    out.push_back({prefix, n.as<std::string>()});
  } else if (n.IsNull() && !prefix.empty()) {
    out.push_back({prefix, ""});
  }
}

static YAML::Node load_yaml_node(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail(path, ": cannot open recipe");
  } catch (const YAML::Exception& e) {
    fail(path, ": invalid YAML at line ", e.mark.line + 1, ": ", e.msg);
  }
  return root;
}

nlohmann::json load_yaml_file_as_json(const std::string& path) { return yaml_to_json(load_yaml_node(path)); }

void OptionSet::load_yaml(const std::string& path) {
  YAML::Node root = load_yaml_node(path);
  R1_CHECK(root.IsMap() || root.IsNull(), path, ": a recipe must be a YAML mapping of fields");
  std::vector<std::pair<std::string, std::string>> kv;
  flatten(root, "", kv, path, [this](const std::string& k) {
    for (const auto& o : opts_)
      if (o.key == k) return o.type == "map";
    return false;
  });
  for (auto& [k, v] : kv) set(k, v, path);
}

void OptionSet::apply_overrides(const std::vector<std::string>& kvs) {
  for (const auto& s : kvs) {
    size_t eq = s.find('=');
    R1_CHECK(eq != std::string::npos && eq > 0, "command line: override '", s, "' must look like field=value");
    set(trim(s.substr(0, eq)), trim(s.substr(eq + 1)), "command line");
  }
}

static YAML::Node json_to_yaml(const nlohmann::json& j) {
  YAML::Node n;
  if (j.is_object()) {
    n = YAML::Node(YAML::NodeType::Map);
    for (auto& [k, v] : j.items()) n[k] = json_to_yaml(v);
  } else if (j.is_array()) {
    n = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& v : j) n.push_back(json_to_yaml(v));
  } else if (j.is_null()) {
    n = YAML::Node(YAML::NodeType::Null);
  } else if (j.is_string()) {
    n = YAML::Node(j.get<std::string>());
    n.SetTag("!");  // a string stays a string (as a quoted YAML scalar would)
  } else {
    n = YAML::Node(j.dump());
  }
  return n;
}

void OptionSet::apply_map(const nlohmann::json& m, const std::string& origin) {
  R1_CHECK(m.is_object(), origin, ": expected a map of fields, got ", m.dump());
  std::vector<std::pair<std::string, std::string>> kv;
  flatten(json_to_yaml(m), "", kv, origin, [this](const std::string& k) {
    for (const auto& o : opts_)
      if (o.key == k) return o.type == "map";
    return false;
  });
  for (auto& [k, v] : kv) set(k, v, origin);
}

nlohmann::json OptionSet::to_json() const {
  nlohmann::json root = nlohmann::json::object();
  for (const auto& o : opts_) {
    std::string v = o.get();
    nlohmann::json x;
    if (o.type == "int") x = std::stol(v);
    else if (o.type == "float") x = std::stod(v);
    else if (o.type == "bool") x = v == "true";
    else if (o.type == "map") x = nlohmann::json::parse(v);
    else if (o.type == "list" || o.type == "ints") {
      x = nlohmann::json::array();
      std::stringstream ls(v);
      std::string item;
      while (std::getline(ls, item, ','))
        if (o.type == "ints") x.push_back(std::stol(item));
        else x.push_back(item);
    } else x = v;
    nlohmann::json* at = &root;
    std::stringstream ss(o.key);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); i++) at = &(*at)[parts[i]];
    (*at)[parts.back()] = x;
  }
  return root;
}

std::string OptionSet::to_yaml() const {
  // Keys in declaration order, nested by their dotted prefixes; scalars emitted through yaml-cpp for quoting.
  std::ostringstream os;
  std::vector<std::string> open;  // currently open map path
  for (const auto& o : opts_) {
    std::vector<std::string> parts;
    std::stringstream ss(o.key);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) common++;
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); i++) {
      os << std::string(2 * i, ' ') << parts[i] << ":\n";
      open.push_back(parts[i]);
    }
    YAML::Emitter e;
    std::string v = o.get();
    if (o.type == "list" || o.type == "ints") {
      e << YAML::Flow << YAML::BeginSeq;
      std::stringstream ls(v);
      std::string item;
      while (std::getline(ls, item, ',')) e << item;
      e << YAML::EndSeq;
    } else if (o.type == "map") {
      e << YAML::Flow << YAML::Load(v);
    } else if (o.type == "string") {
      e << YAML::DoubleQuoted << v;
    } else {
      e << v;
    }
    os << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": " << e.c_str() << "\n";
  }
  return os.str();
}

std::string OptionSet::help_text() const {
  std::ostringstream os;
  for (const auto& o : opts_) {
    std::string also;
    for (const auto& [a, k] : aliases_)
      if (k == o.key) also += (also.empty() ? " (also " : ", ") + a;
    if (!also.empty()) also += ")";
    os << "  " << o.key << also << " (" << o.type << ", default: " << (o.default_value.empty() ? "\"\"" : o.default_value)
       << ")\n      " << o.help << "\n";
  }
  return os.str();
}

}  // namespace r1
