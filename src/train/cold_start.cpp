#include "train/cold_start.h"
#include "core/check.h"
#include "core/io.h"
#include "data/cold_start.h"

#include <cstdio>

namespace r1 {

void ColdStartConfig::declare(OptionSet& o) {
  o.add("out", &out, "folder; rows are written to <out>/cold_start.jsonl");
  o.add("n", &n, "rows: the first n problems of the arithmetic train split");
  o.add("seed", &seed, "seed of the worked solutions' phrasing");
  o.add("data_seed", &data_seed, "seed of the task's problem draw (as the grpo / sample recipes' data_seed, so the test split stays disjoint)");
  o.add("task_config", &task_config, "arithmetic task config: n, min_operands, max_operands, max_value, hard_only");
}

std::string cold_start_data_path(const std::string& out) { return path_join(out, "cold_start.jsonl"); }

std::string run_cold_start(const ColdStartConfig& c) {
  R1_CHECK(!c.out.empty(), "cold_start: field 'out' is required");
  auto rows = cold_start_rows(c.task_config, c.n, (uint64_t)c.seed, (uint64_t)c.data_seed);
  make_dirs(c.out);
  std::string text;
  for (const auto& r : rows) text += r.dump() + "\n";
  const std::string path = cold_start_data_path(c.out);
  atomic_write(path, text);
  {
    OptionSet o;
    ColdStartConfig copy = c;
    copy.declare(o);
    atomic_write(path_join(c.out, "config.yaml"), o.to_yaml());
  }
  std::fprintf(stderr, "[cold_start] wrote %zu rows to %s\n", rows.size(), path.c_str());
  return path;
}

}  // namespace r1
