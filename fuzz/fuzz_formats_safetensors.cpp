// libFuzzer target: arbitrary bytes as a safetensors file. Must either load (and then every tensor must read
// back without touching memory outside the image) or throw r1::Error; never crash or hang.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/check.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    r1::SafeTensorsFile f = r1::SafeTensorsFile::from_memory(data, size, "<fuzz>");
    for (const r1::TensorInfo& t : f.tensors()) {
      if (f.find(t.name) != &t) __builtin_trap();  // index must agree with the list
      if (t.numel() > (1 << 20)) continue;
      std::vector<float> v = f.read_f32(t.name);
      if (v.size() != size_t(t.numel())) __builtin_trap();
      if (t.dtype != r1::DType::F32 && t.dtype != r1::DType::F16 && t.dtype != r1::DType::BF16 &&
          t.dtype != r1::DType::F64)
        (void)f.read_i64(t.name);
    }
    for (const auto& kv : f.metadata()) (void)kv;
  } catch (const r1::Error&) {
  }
  return 0;
}
