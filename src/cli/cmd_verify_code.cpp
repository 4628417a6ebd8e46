// `r1 verify-code --task humaneval|tiny_code|code_jsonl|FILE.jsonl --input completions.jsonl`: runs each
// completion's program against its problem's tests in the sandbox (rewards/code.h) and writes one JSON line per
// input line: {"task_id" | "index", "passed", "tests_passed", "tests_total", "status", "stderr_tail"} (+ "error"
// when it failed). Input lines are {"task_id": ID, "completion": TEXT} or {"index": N, "completion": TEXT} (N
// counts the split's problems from 0). Programs run in parallel (--jobs) with a progress bar; a pass-rate summary
// with the count of each status goes to stderr. A malformed input line, an unknown task_id or an index out of
// range is one error naming the line, before anything runs.
#include "cli/registry.h"
#include "core/check.h"
#include "core/io.h"
#include "core/progress.h"
#include "data/tasks.h"
#include "rewards/code.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace {

using nlohmann::json;

struct VerifyCodeArgs {
  std::string task, task_config = "{}", split = "test", input, output;
  long data_seed = 1;
  int jobs = 0;
};

struct Item {
  json key;  // {"task_id": ...} or {"index": ...}
  const r1::Problem* problem = nullptr;
  std::string completion;
};

std::vector<Item> read_items(const std::string& name, std::istream& in, const std::vector<r1::Problem>& probs) {
  std::map<std::string, const r1::Problem*> by_id;
  for (auto& p : probs) by_id[p.id] = &p;
  std::vector<Item> items;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(lineno);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      r1::fail(where, ": not valid JSON (", e.what(), ")");
    }
    R1_CHECK(j.is_object(), where, ": expected a JSON object {\"task_id\" | \"index\", \"completion\"}");
    R1_CHECK(j.contains("completion") && j["completion"].is_string(), where,
             ": field \"completion\" is missing or not a string");
    Item it;
    it.completion = j["completion"].get<std::string>();
    if (j.contains("task_id")) {
      R1_CHECK(j["task_id"].is_string(), where, ": field \"task_id\" must be a string");
      auto f = by_id.find(j["task_id"].get<std::string>());
      R1_CHECK(f != by_id.end(), where, ": task_id '", j["task_id"].get<std::string>(), "' is not a problem of the task");
      it.problem = f->second;
      it.key = {{"task_id", j["task_id"]}};
    } else {
      R1_CHECK(j.contains("index") && j["index"].is_number_integer(), where,
               ": needs \"task_id\" (a string) or \"index\" (an integer)");
      long i = j["index"].get<long>();
      R1_CHECK(i >= 0 && i < (long)probs.size(), where, ": index ", i, " is out of range (the split has ",
               probs.size(), " problems)");
      it.problem = &probs[i];
      it.key = {{"index", i}};
    }
    items.push_back(std::move(it));
  }
  return items;
}

void print_summary(const std::vector<r1::Judgement>& js, double secs) {
  std::map<std::string, long> count;
  long passed = 0;
  for (auto& j : js) count[j.status]++, passed += j.correct >= 0.5;
  const double n = (double)std::max<size_t>(1, js.size());
  std::fprintf(stderr, "[verify-code] passed %ld of %zu (%.1f%%) in %.1f s (%.1f programs/s)\n", passed, js.size(),
               100.0 * passed / n, secs, js.size() / std::max(secs, 1e-9));
  for (r1::CodeStatus s : r1::code_statuses()) {
    auto it = count.find(r1::code_status_name(s));
    if (it != count.end()) std::fprintf(stderr, "[verify-code]   %-14s %ld\n", it->first.c_str(), it->second);
  }
}

int run_verify_code(const VerifyCodeArgs& a) {
  R1_CHECK(!a.task.empty(), "r1 verify-code: --task is required (humaneval, tiny_code, code_jsonl or FILE.jsonl)");
  R1_CHECK(a.jobs >= 0 && a.jobs <= 16, "r1 verify-code: --jobs must be in 1..16");
  if (a.jobs > 0) ::setenv("R1_SANDBOX_JOBS", std::to_string(a.jobs).c_str(), 1);
  json tc;
  try {
    tc = json::parse(a.task_config);
  } catch (const json::exception& e) {
    r1::fail("r1 verify-code: --task-config is not valid JSON (", e.what(), ")");
  }
  std::unique_ptr<r1::Task> task;
  const std::string ext = ".jsonl";
  if (a.task.size() > ext.size() && a.task.compare(a.task.size() - ext.size(), ext.size(), ext) == 0) {
    R1_CHECK(r1::file_exists(a.task), "r1 verify-code: task file ", a.task, " does not exist");
    if (!tc.is_object()) tc = json::object();
    tc["path"] = a.task;
    task = r1::make_task("code_jsonl", tc);
  } else {
    task = r1::make_task(a.task, tc);
  }
  std::vector<r1::Problem> probs = task->problems(a.split, (uint64_t)a.data_seed);
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!a.input.empty()) {
    file.open(a.input);
    R1_CHECK(file.good(), "r1 verify-code: cannot open input file ", a.input);
    in = &file;
  }
  std::vector<Item> items = read_items(a.input.empty() ? "<stdin>" : a.input, *in, probs);

  r1::Progress prog("verify-code", (long)items.size());
  std::vector<r1::Judgement> js;
  const size_t chunk = 64;
  for (size_t b = 0; b < items.size(); b += chunk) {
    std::vector<std::string> comps;
    std::vector<const r1::Problem*> ps;
    for (size_t i = b; i < std::min(items.size(), b + chunk); ++i)
      comps.push_back(items[i].completion), ps.push_back(items[i].problem);
    for (auto& j : task->judge_batch(comps, ps)) js.push_back(std::move(j));
    prog.update((long)js.size());
  }
  prog.finish();
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    json o = items[i].key;
    const r1::Judgement& j = js[i];
    o["passed"] = j.correct >= 0.5;
    o["tests_passed"] = std::max(0, j.tests_passed);
    o["tests_total"] = std::max(0, j.tests_total);
    o["status"] = j.status.empty() ? (j.correct >= 0.5 ? "passed" : "wrong_answer") : j.status;
    o["stderr_tail"] = j.stderr_tail;
    if (!j.detail.empty()) o["error"] = j.detail;
    out += o.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  if (a.output.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    const std::string dir = r1::parent_dir(a.output);
    if (!dir.empty()) r1::make_dirs(dir);
    r1::atomic_write(a.output, out);
  }
  print_summary(js, prog.elapsed());
  return 0;
}

}  // namespace

R1_COMMAND("verify-code",
           "Run completions' programs against a code task's tests in the sandbox (JSONL {task_id|index, completion} "
           "-> {passed, tests_passed, tests_total, status, stderr_tail})",
           [](CLI::App* sub) {
             auto a = std::make_shared<VerifyCodeArgs>();
             sub->add_option("--task", a->task, "humaneval, tiny_code, code_jsonl or a FILE.jsonl of code problems")
                 ->required();
             sub->add_option("--task-config", a->task_config, "task config as JSON (e.g. '{\"wall_seconds\": 10}')");
             sub->add_option("--split", a->split, "task split (default: test)");
             sub->add_option("--data-seed", a->data_seed, "the task's problem draw (generated tasks; default 1)");
             sub->add_option("--input", a->input, "JSONL of {\"task_id\" | \"index\", \"completion\"} (default: stdin)");
             sub->add_option("--output", a->output, "write the results here instead of stdout");
             sub->add_option("--jobs", a->jobs, "programs run at once (default: R1_SANDBOX_JOBS or 2)");
             return [a]() { return run_verify_code(*a); };
           });
