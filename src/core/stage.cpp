#include "core/stage.h"

#include "core/io.h"

namespace r1 {

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

}  // namespace r1
