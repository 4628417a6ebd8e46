// libFuzzer target: arbitrary bytes as a GGUF file. Must either load or throw r1::Error. A file that loads
// must round-trip: writing its metadata and tensors with GGUFWriter and parsing that again gives equal values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/check.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    r1::GGUFFile f = r1::GGUFFile::from_memory(data, size, "<fuzz>");
    r1::GGUFWriter w;
    for (const auto& kv : f.metadata()) {
      (void)kv.second.describe();
      w.set(kv.first, kv.second);
    }
    for (const r1::GGUFTensorInfo& t : f.tensors()) {
      if (t.numel() <= (1 << 20) && (t.type == r1::GGMLType::F32 || t.type == r1::GGMLType::F16 ||
                                     t.type == r1::GGMLType::BF16 || t.type == r1::GGMLType::Q8_0))
        (void)f.read_f32(t.name);
      w.add_tensor(t.name, t.ne, t.type, t.data);
    }
    const std::string img = w.serialize();
    r1::GGUFFile g = r1::GGUFFile::from_memory(img.data(), img.size(), "<fuzz-rt>");
    if (g.metadata().size() != f.metadata().size() || g.tensors().size() != f.tensors().size()) __builtin_trap();
    for (size_t i = 0; i < f.metadata().size(); ++i)
      if (!(g.metadata()[i].second == f.metadata()[i].second)) __builtin_trap();
    for (size_t i = 0; i < f.tensors().size(); ++i)
      if (g.tensors()[i].nbytes != f.tensors()[i].nbytes ||
          std::string(reinterpret_cast<const char*>(g.tensors()[i].data), g.tensors()[i].nbytes) !=
              std::string(reinterpret_cast<const char*>(f.tensors()[i].data), f.tensors()[i].nbytes))
        __builtin_trap();
  } catch (const r1::Error&) {
  }
  return 0;
}
