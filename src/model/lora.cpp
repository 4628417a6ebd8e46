#include "model/lora.h"
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "formats/safetensors.h"
#include "kernels/kernels.h"
#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace r1 {

using nlohmann::json;

const char* lora_target_name(LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return "q_proj";
    case LoraTarget::K: return "k_proj";
    case LoraTarget::V: return "v_proj";
    case LoraTarget::O: return "o_proj";
    case LoraTarget::Gate: return "gate_proj";
    case LoraTarget::Up: return "up_proj";
    case LoraTarget::Down: return "down_proj";
  }
  return "?";
}

static bool attention_target(LoraTarget t) { return (int)t <= (int)LoraTarget::O; }

void LoraConfig::declare(OptionSet& o, const std::string& p) {
  o.add(p + ".r", &r, "LoRA rank (0: no adapters, full fine-tuning); base weights frozen, adapters in PEFT's format");
  o.add(p + ".alpha", &alpha, "LoRA alpha: the adapter products are scaled by alpha / r");
  o.add(p + ".dropout", &dropout, "LoRA dropout (only 0: a dropped-out forward is not the policy that sampled)");
  o.add(p + ".targets", &targets, "projections to adapt: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj (or q k v o gate up down), or all-linear");
  o.add(p + ".init", &init, "default (PEFT: A kaiming-uniform, B = 0) | gaussian (PEFT: A ~ N(0, 1/r), B = 0)");
}

std::vector<LoraTarget> LoraConfig::target_list() const {
  std::set<int> on;
  for (const std::string& t0 : targets) {
    std::string t = t0;
    if (t == "all-linear" || t == "all_linear" || t == "all") {
      for (int i = 0; i < kLoraTargets; i++) on.insert(i);
      continue;
    }
    if (t.find('_') == std::string::npos) t += "_proj";
    int found = -1;
    for (int i = 0; i < kLoraTargets; i++)
      if (t == lora_target_name((LoraTarget)i)) found = i;
    R1_CHECK(found >= 0, "lora.targets: '", t0, "' is not a projection; expected q_proj, k_proj, v_proj, o_proj, ",
             "gate_proj, up_proj, down_proj (or q, k, v, o, gate, up, down), or all-linear");
    on.insert(found);
  }
  std::vector<LoraTarget> out;
  for (int i : on) out.push_back((LoraTarget)i);
  return out;
}

void LoraConfig::check(const std::string& who) const {
  R1_CHECK(r >= 0, who, ": lora.r = ", r, " must be >= 0 (0: no adapters)");
  if (!enabled()) return;
  R1_CHECK(alpha > 0 && std::isfinite(alpha), who, ": lora.alpha = ", alpha, " must be a positive number");
  R1_CHECK(dropout == 0.0f, who, ": lora.dropout = ", dropout, " is not supported (only 0): with dropout the ",
           "training forward is not the policy that sampled the rollouts, and the log-prob gap would not be zero");
  R1_CHECK(init == "default" || init == "gaussian", who, ": lora.init '", init,
           "' is unknown; expected default (PEFT's kaiming-uniform A, B = 0) or gaussian (A ~ N(0, 1/r), B = 0)");
  R1_CHECK(!targets.empty(), who, ": lora.targets is empty; name the projections to adapt or all-linear");
  (void)target_list();
}

Lora::Lora(const LoraConfig& c, const ModelConfig& mc) : cfg(c) {
  c.check("lora");
  R1_CHECK(c.enabled(), "lora: r must be > 0 to build adapters");
  const std::vector<LoraTarget> ts = c.target_list();
  per_layer_ = (int)ts.size();
  const int r = c.r;
  for (int l = 0; l < mc.L; l++) {
    for (LoraTarget t : ts) {
      LoraSite s;
      s.layer = l;
      s.target = t;
      switch (t) {
        case LoraTarget::Q: s.in = mc.C; s.out = mc.QD(); s.col0 = 0; break;
        case LoraTarget::K: s.in = mc.C; s.out = mc.KVD(); s.col0 = mc.QD(); break;
        case LoraTarget::V: s.in = mc.C; s.out = mc.KVD(); s.col0 = mc.QD() + mc.KVD(); break;
        case LoraTarget::O: s.in = mc.QD(); s.out = mc.C; s.col0 = 0; break;
        case LoraTarget::Gate: s.in = mc.C; s.out = mc.FF; s.col0 = 0; break;
        case LoraTarget::Up: s.in = mc.C; s.out = mc.FF; s.col0 = mc.FF; break;
        case LoraTarget::Down: s.in = mc.FF; s.out = mc.C; s.col0 = 0; break;
      }
      const std::string base = "base_model.model.model.layers." + std::to_string(l) +
                               (attention_target(t) ? ".self_attn." : ".mlp.") + lora_target_name(t);
      TensorSpec a, b;
      a.name = base + ".lora_A.weight";
      a.shape = {r, s.in};
      a.numel = (size_t)r * s.in;
      a.offset = n;
      a.matrix = true;
      n += a.numel;
      b.name = base + ".lora_B.weight";
      b.shape = {s.out, r};
      b.numel = (size_t)s.out * r;
      b.offset = n;
      b.matrix = true;
      n += b.numel;
      s.a_off = a.offset;
      s.b_off = b.offset;
      specs.push_back(a);
      specs.push_back(b);
      sites.push_back(s);
    }
  }
  params.assign(n, 0.f);
}

const LoraSite* Lora::site(int layer, LoraTarget t) const {
  for (int i = 0; i < per_layer_; i++) {
    const LoraSite& s = sites[(size_t)layer * per_layer_ + i];
    if (s.target == t) return &s;
  }
  return nullptr;
}

void Lora::init(uint64_t seed) {
  Rng rng(seed);
  std::fill(params.begin(), params.end(), 0.f);
  for (const LoraSite& s : sites) {
    float* A = params.data() + s.a_off;
    const size_t na = (size_t)cfg.r * s.in;
    if (cfg.init == "gaussian") {
      const double sd = 1.0 / cfg.r;
      for (size_t i = 0; i < na; i++) A[i] = (float)(rng.normal() * sd);
    } else {  // kaiming_uniform_(a=√5) on [r, in]: bound = sqrt(6 / ((1 + 5) · in)) = 1/√in
      const double bound = 1.0 / std::sqrt((double)s.in);
      for (size_t i = 0; i < na; i++) A[i] = (float)((2.0 * rng.uniform() - 1.0) * bound);
    }
  }
}

json Lora::peft_config(const std::string& base_model) const {
  std::vector<std::string> tm;
  for (LoraTarget t : cfg.target_list()) tm.push_back(lora_target_name(t));
  std::sort(tm.begin(), tm.end());
  // Every key PEFT's LoraConfig writes with save_pretrained (PEFT 0.20.0's schema), PEFT's defaults for what r1.cpp
  // does not use. tests/fixtures/lora/adapter_config.json (tools/torch_ref/gen_lora_fixtures.py) holds the key set.
  json j = {{"alora_invocation_tokens", nullptr},
            {"alpha_pattern", json::object()},
            {"arrow_config", nullptr},
            {"auto_mapping", nullptr},
            {"base_model_name_or_path", base_model.empty() ? json(nullptr) : json(base_model)},
            {"bias", "none"},
            {"corda_config", nullptr},
            {"ensure_weight_tying", false},
            {"eva_config", nullptr},
            {"exclude_modules", nullptr},
            {"fan_in_fan_out", false},
            {"inference_mode", true},
            {"init_lora_weights", cfg.init == "gaussian" ? json("gaussian") : json(true)},
            {"layer_replication", nullptr},
            {"layers_pattern", nullptr},
            {"layers_to_transform", nullptr},
            {"loftq_config", json::object()},
            {"lora_alpha", cfg.alpha == std::floor(cfg.alpha) ? json((int)cfg.alpha) : json(cfg.alpha)},
            {"lora_bias", false},
            {"lora_dropout", 0.0},
            {"lora_ga_config", nullptr},
            {"megatron_config", nullptr},
            {"megatron_core", "megatron.core"},
            {"modules_to_save", nullptr},
            {"monteclora_config", nullptr},
            {"peft_type", "LORA"},
            {"peft_version", "0.20.0"},
            {"qalora_group_size", 16},
            {"r", cfg.r},
            {"rank_pattern", json::object()},
            {"revision", nullptr},
            {"target_modules", tm},
            {"target_parameters", nullptr},
            {"task_type", "CAUSAL_LM"},
            {"trainable_token_indices", nullptr},
            {"use_bdlora", nullptr},
            {"use_dora", false},
            {"use_qalora", false},
            {"use_rslora", false},
            {"velora_config", nullptr}};
  return j;
}

void Lora::save(const std::string& dir, const std::string& base_model) const {
  make_dirs(dir);
  std::vector<TensorToWrite> ts;
  for (const auto& s : specs) ts.push_back({s.name, s.shape, DType::F32, params.data() + s.offset});
  write_safetensors(path_join(dir, "adapter_model.safetensors"), ts, DType::F32, {{"format", "pt"}});
  atomic_write(path_join(dir, "adapter_config.json"), peft_config(base_model).dump(2) + "\n");
}

Lora Lora::load(const std::string& dir, const ModelConfig& mc) {
  const std::string cpath = path_join(dir, "adapter_config.json"), wpath = path_join(dir, "adapter_model.safetensors");
  R1_CHECK(is_directory(dir), dir, ": not an adapter folder (expected adapter_config.json and adapter_model.safetensors)");
  R1_CHECK(file_exists(cpath), cpath, ": missing (a PEFT adapter folder needs adapter_config.json)");
  R1_CHECK(file_exists(wpath), wpath, ": missing (r1.cpp reads PEFT adapters saved as safetensors)");
  json j;
  try {
    j = json::parse(read_file(cpath));
  } catch (const json::exception& e) {
    R1_CHECK(false, cpath, ": not valid JSON (", e.what(), ")");
  }
  R1_CHECK(j.is_object(), cpath, ": expected a JSON object");
  auto field = [&](const char* k) -> const json& {
    R1_CHECK(j.contains(k), cpath, ": field '", k, "' is missing");
    return j.at(k);
  };
  R1_CHECK(field("peft_type").is_string() && j["peft_type"] == "LORA", cpath, ": field 'peft_type' is ",
           j["peft_type"].dump(), "; expected \"LORA\"");
  LoraConfig c;
  R1_CHECK(field("r").is_number_integer() && j["r"].get<int>() > 0, cpath, ": field 'r' is ", j["r"].dump(),
           "; expected a positive integer");
  c.r = j["r"].get<int>();
  R1_CHECK(field("lora_alpha").is_number(), cpath, ": field 'lora_alpha' is ", j["lora_alpha"].dump(), "; expected a number");
  c.alpha = j["lora_alpha"].get<float>();
  // lora_dropout is not read: it applies in training only, and r1.cpp trains without it
  const json& tm = field("target_modules");
  R1_CHECK(tm.is_array() || tm.is_string(), cpath, ": field 'target_modules' is ", tm.dump(),
           "; expected a list of projection names");
  c.targets.clear();
  if (tm.is_string()) c.targets.push_back(tm.get<std::string>());
  else
    for (const auto& t : tm) {
      R1_CHECK(t.is_string(), cpath, ": field 'target_modules' holds ", t.dump(), "; expected strings");
      c.targets.push_back(t.get<std::string>());
    }
  for (const char* k : {"use_dora", "use_rslora", "fan_in_fan_out", "lora_bias", "use_qalora"})
    R1_CHECK(!j.contains(k) || j[k].is_null() || j[k] == false, cpath, ": field '", k, "' is ", j[k].dump(),
             "; r1.cpp reads plain LoRA adapters (expected false)");
  for (const char* k : {"rank_pattern", "alpha_pattern"})
    R1_CHECK(!j.contains(k) || j[k].is_null() || j[k].empty(), cpath, ": field '", k, "' is ", j[k].dump(),
             "; r1.cpp reads one rank and alpha for every module (expected {})");
  R1_CHECK(!j.contains("bias") || j["bias"] == "none", cpath, ": field 'bias' is ", j["bias"].dump(), "; expected \"none\"");
  try {
    c.check("adapter");
  } catch (const Error& e) {
    R1_CHECK(false, cpath, ": ", e.what());
  }
  Lora lo(c, mc);
  SafeTensorsFile f(wpath);
  std::set<std::string> known;
  for (const auto& s : lo.specs) {
    known.insert(s.name);
    const TensorInfo* t = f.find(s.name);
    R1_CHECK(t, wpath, ": tensor '", s.name, "' is missing; adapter_config.json targets ", tm.dump(), " in ", mc.L,
             " layers");
    R1_CHECK(t->shape == s.shape, wpath, ": tensor '", s.name, "' has shape ", shape_str(t->shape), "; r = ", c.r,
             " and the base model's config imply ", shape_str(s.shape));
    f.read_f32_into(s.name, lo.params.data() + s.offset, s.numel);
  }
  for (const auto& t : f.tensors())
    R1_CHECK(known.count(t.name), wpath, ": unexpected tensor '", t.name, "' (expected only lora_A / lora_B weights ",
             "of the targeted projections in ", mc.L, " layers)");
  return lo;
}

void lora_forward(float* y, int ldy, float* v, const float* x, const float* P, const LoraSite& st, int N, int r,
                  float s) {
  const float* A = P + st.a_off;
  const float* B = P + st.b_off;
  gemm(false, true, N, r, st.in, s, x, st.in, A, st.in, 0.f, v, r);
  gemm(false, true, N, st.out, r, 1.f, v, r, B, r, 1.f, y + st.col0, ldy);
}

void lora_merge_into(float* W, const float* P, const LoraSite& st, int r, float s) {
  W += (size_t)st.col0 * st.in;  // the fused matrices stack their parts' rows
  const float* A = P + st.a_off;
  const float* B = P + st.b_off;
#pragma omp parallel for schedule(static)
  for (int o = 0; o < st.out; o++)
    for (int i = 0; i < st.in; i++) {
      double acc = 0;
      for (int j = 0; j < r; j++) acc += (double)B[(size_t)o * r + j] * A[(size_t)j * st.in + i];
      W[(size_t)o * st.in + i] += (float)(s * acc);
    }
}

void lora_backward(float* dx, float* G, float* scratch, const float* dy, int ldy, const float* v, const float* x,
                   const float* P, const LoraSite& st, int N, int r, float s) {
  const float* A = P + st.a_off;
  const float* B = P + st.b_off;
  const float* dys = dy + st.col0;
  gemm(true, false, st.out, r, N, 1.f, dys, ldy, v, r, 1.f, G + st.b_off, r);      // dB += dy^T v
  gemm(false, false, N, r, st.out, s, dys, ldy, B, r, 0.f, scratch, r);            // du = s · dy B
  gemm(true, false, r, st.in, N, 1.f, scratch, r, x, st.in, 1.f, G + st.a_off, st.in);  // dA += du^T x
  gemm(false, false, N, st.in, r, 1.f, scratch, r, A, st.in, 1.f, dx, st.in);       // dx += du A
}

}  // namespace r1
