#include "core/stage.h"
#include "core/precision.h"

#include "core/io.h"

#include <mutex>
#include <set>

namespace r1 {

namespace {
Precision g_default_precision = Precision::FP32;
KVDtype g_default_kv_dtype = KVDtype::Auto;
}
Precision default_precision() { return g_default_precision; }
void set_default_precision(Precision p) { g_default_precision = p; }
KVDtype default_kv_dtype() { return g_default_kv_dtype; }
void set_default_kv_dtype(KVDtype d) { g_default_kv_dtype = d; }

void declare_precision(OptionSet& o, std::string* precision, std::string* kv_dtype) {
  o.add("precision", precision, kPrecisionHelp);
  o.add("kv_dtype", kv_dtype, kKvDtypeHelp);
}
void check_precision(const std::string& precision, const std::string& kv_dtype) {
  parse_precision(precision, "field 'precision'");
  parse_kv_dtype(kv_dtype, "field 'kv_dtype'");
}
void apply_precision(const std::string& precision, const std::string& kv_dtype) {
  set_default_precision(parse_precision(precision, "field 'precision'"));
  set_default_kv_dtype(parse_kv_dtype(kv_dtype, "field 'kv_dtype'"));
}


std::string StageKind::output_path(const std::string& dir, const std::string& reuse) const {
  return reuse.empty() ? path_join(dir, output_file) : reuse;
}

std::string StageKind::done_marker(const std::string& dir, const std::string& reuse) const {
  const std::string p = output_path(dir, reuse);
  return output == "model" ? path_join(p, "model.safetensors") : p;
}

std::vector<std::pair<std::string, std::string>> StageKind::location(const std::string& dir) const {
  if (location_field.empty()) return {};
  if (location_field == "out") return {{"out", dir}};
  return {{location_field, path_join(dir, output_file)}};
}

namespace {
std::mutex g_planned_mu;
std::set<std::string>& planned() {
  static std::set<std::string> s;
  return s;
}
}  // namespace

void note_planned_output(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_planned_mu);
  planned().insert(path);
}

bool is_planned_output(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_planned_mu);
  return planned().count(path) > 0;
}

void clear_planned_outputs() {
  std::lock_guard<std::mutex> lock(g_planned_mu);
  planned().clear();
}

}  // namespace r1
