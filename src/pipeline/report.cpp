// The pipeline's summary table and its report.md.
#include "pipeline/plan.h"

#include "core/io.h"

#include <cstdio>

namespace r1 {

using json = nlohmann::json;

namespace {

std::string fmt_pct(const json& s, const std::string& key) {
  if (!s.is_object() || !s.contains(key)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", 100.0 * s[key].get<double>());
  return b;
}

}  // namespace

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

}  // namespace r1
