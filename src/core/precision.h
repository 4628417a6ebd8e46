// The arithmetic of the matrix products (kernels.h): fp32, or bf16 mixed precision (bf16 operands, fp32 sums, fp32
// master weights, optimizer state, norms, softmax, log-probs and losses). Every command takes it as `precision`.
#pragma once
#include "core/check.h"

#include <string>

namespace r1 {

enum class Precision { FP32, BF16 };

inline const char* precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "fp32"; }
// "fp32" | "bf16"; anything else throws naming `where` (a file or option) and the accepted values.
inline Precision parse_precision(const std::string& s, const std::string& where = "precision") {
  if (s == "fp32" || s == "f32") return Precision::FP32;
  if (s == "bf16") return Precision::BF16;
  throw Error(str(where, ": unknown precision '", s, "' (expected fp32 or bf16)"));
}

// The KV cache's element type (model/kv_cache.h): f32, or bf16 (half the memory). In fp32 precision a bf16 cache
// rounds the keys and values, so log-probs move; in bf16 precision they are bf16 values already (the trainer's as
// the engine's), so it changes nothing. Auto (the default): bf16 for a model in bf16 precision, else f32; the
// generation engine resolves it (rollout/engine.h GenConfig::kv_dtype).
enum class KVDtype { F32, BF16, Auto };
inline const char* kv_dtype_name(KVDtype d) {
  return d == KVDtype::BF16 ? "bf16" : d == KVDtype::Auto ? "auto" : "f32";
}
inline KVDtype parse_kv_dtype(const std::string& s, const std::string& where = "kv_dtype") {
  if (s == "f32" || s == "fp32") return KVDtype::F32;
  if (s == "bf16") return KVDtype::BF16;
  if (s == "auto") return KVDtype::Auto;
  throw Error(str(where, ": unknown KV-cache dtype '", s, "' (expected auto, f32 or bf16)"));
}

// The help texts of the two fields every command has (`precision`, `kv_dtype`: core/stage.cpp declare_precision,
// the config.yaml a run writes, and the --precision / --kv-dtype flags of generate, logprobs and rm-score).
inline constexpr const char* kPrecisionHelp =
    "fp32 (the default) | bf16: the matrix products' arithmetic. bf16 = bf16 operands with fp32 sums (AMX / AVX-512 "
    "BF16), fp32 master weights, AdamW state, norms, softmax, log-probs and losses; rollouts decode from the "
    "trainer's own bf16 copies, so their log-probs equal the trainer's";
inline constexpr const char* kKvDtypeHelp =
    "auto (the default) | f32 | bf16: the KV cache of generation (rollouts, sampling, evaluation). bf16 halves its "
    "memory; in precision fp32 keys and values are rounded, so log-probs move by about bf16's precision and no "
    "longer equal the trainer's exactly; in precision bf16 they are bf16 values already and nothing changes. auto: "
    "bf16 in precision bf16, f32 in fp32";

// The precision a Model takes when it is created (model/transformer.h): every command sets it from its `precision`
// field before it loads anything (core/stage.h StageRun::create, the generate/logprobs options). fp32 by default.
Precision default_precision();
void set_default_precision(Precision p);
// The KV-cache dtype generation takes (rollout/engine.h GenConfig::kv_dtype), set the same way from `kv_dtype`.
KVDtype default_kv_dtype();
void set_default_kv_dtype(KVDtype d);

}  // namespace r1
