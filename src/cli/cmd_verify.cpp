// `r1 verify [--input FILE.jsonl] [--lenient]`: checks {"gold": ..., "pred": ...} lines with the math verifier and
// writes one JSON line per input line: {"equal", "gold_extracted", "pred_extracted"} (+ "error" when any).
// A line may carry Math-Verify's options, at its top level or in an "extra" object (the layout of Math-Verify's
// test table): "precision" (float_rounding: numbers equal after rounding to this many places), "strict" (false:
// variable names may differ), "allow_set_relation_comp", "match_types" (["latex"], ["expr"] or both: where a bare
// prediction may be read from). Other fields ("expected", "test", ...) are ignored.
#include "cli/registry.h"
#include "core/check.h"
#include "rewards/math_verify.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace {

nlohmann::json extracted_json(const r1::Extracted& x) {
  if (!x.found) return nullptr;
  return x.normalized;
}

// Math-Verify's per-comparison options, from a line or its "extra" object.
void apply_line_options(const nlohmann::json& j, r1::VerifyOptions& o, const std::string& where) {
  if (j.contains("precision")) {
    const auto& v = j["precision"];
    R1_CHECK(v.is_number_integer() && v.get<long long>() >= 0 && v.get<long long>() <= 30, where,
             ": \"precision\" must be an integer from 0 to 30 (got ", v.dump(), ")");
    o.precision = v.get<int>();
  }
  for (const char* key : {"strict", "allow_set_relation_comp"}) {
    if (!j.contains(key)) continue;
    R1_CHECK(j[key].is_boolean(), where, ": \"", key, "\" must be true or false (got ", j[key].dump(), ")");
    (std::string(key) == "strict" ? o.strict : o.allow_set_relation_comp) = j[key].get<bool>();
  }
  if (j.contains("match_types")) {
    const auto& v = j["match_types"];
    bool ok = v.is_array() && !v.empty();
    bool latex = false, expr = false;
    for (const auto& t : v) {
      ok = ok && t.is_string() && (t == "latex" || t == "expr");
      if (ok) (t == "latex" ? latex : expr) = true;
    }
    R1_CHECK(ok, where, ": \"match_types\" must be a non-empty list of \"latex\" and \"expr\" (got ", v.dump(),
             ")");
    o.fallback_latex = latex;
    o.fallback_numbers = expr;
  }
}

int run_verify(const std::string& input, bool lenient) {
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = input.empty() ? "<stdin>" : input;
  if (!input.empty()) {
    file.open(input);
    R1_CHECK(file.good(), "r1 verify: cannot open input file ", input);
    in = &file;
  }
  r1::VerifyOptions opt = lenient ? r1::lenient_options() : r1::VerifyOptions{};
  std::string line;
  size_t lineno = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      r1::fail(name, ":", lineno, ": not a JSON object (", e.what(), ")");
    }
    R1_CHECK(j.is_object(), name, ":", lineno, ": expected a JSON object {\"gold\": ..., \"pred\": ...}");
    for (const char* f : {"gold", "pred"}) {
      R1_CHECK(j.contains(f), name, ":", lineno, ": missing field \"", f, "\"");
      R1_CHECK(j[f].is_string() || j[f].is_number(), name, ":", lineno, ": field \"", f,
               "\" must be a string or a number");
    }
    auto as_text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    r1::VerifyOptions line_opt = opt;
    std::string where = name + ":" + std::to_string(lineno);
    if (j.contains("extra") && !j["extra"].is_null()) {
      R1_CHECK(j["extra"].is_object(), where, ": field \"extra\" must be an object of options");
      apply_line_options(j["extra"], line_opt, where);
    }
    apply_line_options(j, line_opt, where);
    r1::VerifyResult r = r1::verify(as_text(j["gold"]), as_text(j["pred"]), line_opt);
    nlohmann::json o;
    o["equal"] = r.equal;
    o["gold_extracted"] = extracted_json(r.gold);
    o["pred_extracted"] = extracted_json(r.pred);
    if (!r.error.empty()) o["error"] = r.error;
    std::string s = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

R1_COMMAND("verify", "Check predicted math answers against gold answers (JSONL {gold, pred} -> {equal, ...})",
           [](CLI::App* sub) {
             auto input = std::make_shared<std::string>();
             auto lenient = std::make_shared<bool>(false);
             sub->add_option("--input", *input, "JSONL file with {\"gold\", \"pred\"} per line (default: stdin)");
             sub->add_flag("--lenient", *lenient,
                           "Math-Verify's rules: read a prediction without \\boxed/<answer>/'final answer is' from its "
                           "last math or number, and compare relations by rearranging, drop labels, read several "
                           "boxes as one answer (default: strict, no marked answer = not equal)");
             return [input, lenient]() { return run_verify(*input, *lenient); };
           });
