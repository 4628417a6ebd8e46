// `r1 verify [--input FILE.jsonl] [--lenient]`: checks {"gold": ..., "pred": ...} lines with the math verifier and
// writes one JSON line per input line: {"equal", "gold_extracted", "pred_extracted"} (+ "error" when any).
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

int run_verify(const std::string& input, bool lenient) {
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = input.empty() ? "<stdin>" : input;
  if (!input.empty()) {
    file.open(input);
    R1_CHECK(file.good(), "r1 verify: cannot open input file ", input);
    in = &file;
  }
  r1::VerifyOptions opt;
  opt.pred_bare_fallback = lenient;
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
    r1::VerifyResult r = r1::verify(as_text(j["gold"]), as_text(j["pred"]), opt);
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
                           "read a prediction without \\boxed/<answer>/'final answer is' from its last math or "
                           "number (default: strict, no marked answer = not equal)");
             return [input, lenient]() { return run_verify(*input, *lenient); };
           });
