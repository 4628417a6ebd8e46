#include "model/config.h"
#include "core/check.h"
#include "core/io.h"

namespace r1 {

using nlohmann::json;

static int get_int(const json& j, const char* key, const std::string& origin, bool required, int def = 0) {
  if (!j.contains(key) || j[key].is_null()) {
    R1_CHECK(!required, origin, ": missing field '", key, "' (expected a positive integer)");
    return def;
  }
  R1_CHECK(j[key].is_number_integer(), origin, ": field '", key, "' must be an integer, got ", j[key].dump());
  long v = j[key].get<long>();
  R1_CHECK(v >= 0 && v < (1L << 31), origin, ": field '", key, "' out of range: ", v);
  return (int)v;
}

static const std::string kSeqCls = "ForSequenceClassification";

static bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A *ForSequenceClassification config (a reward model) must have one label: num_labels if given, else the size of
// id2label, else transformers' default of 2.
static void check_one_label(const json& j, const std::string& origin, const std::string& archname) {
  const std::string why = " (" + archname + " is read as a reward model: one scalar score per sequence)";
  bool has_n = j.contains("num_labels") && !j["num_labels"].is_null();
  bool has_map = j.contains("id2label") && !j["id2label"].is_null();
  if (has_n)
    R1_CHECK(j["num_labels"].is_number_integer() && j["num_labels"].get<long>() == 1, origin,
             ": field 'num_labels' is ", j["num_labels"].dump(), "; expected 1", why);
  if (has_map)
    R1_CHECK(j["id2label"].is_object() && j["id2label"].size() == 1, origin, ": field 'id2label' is ",
             j["id2label"].dump(), "; expected one label, {\"0\": \"LABEL_0\"}", why);
  R1_CHECK(has_n || has_map, origin, ": fields 'num_labels' and 'id2label' are both missing, so transformers would ",
           "use 2 labels; expected num_labels: 1 or id2label: {\"0\": \"LABEL_0\"}", why);
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& origin) {
  R1_CHECK(j.is_object(), origin, ": expected a JSON object");
  ModelConfig c;
  c.raw = j;
  std::string mt = j.value("model_type", "");
  std::string archname;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    archname = j["architectures"][0].get<std::string>();
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"])
      if (a.is_string() && ends_with(a.get<std::string>(), kSeqCls)) {
        c.head = Head::Score;
        archname = a.get<std::string>();
      }
  auto named = [&](const char* family) {
    return archname == std::string(family) + "ForCausalLM" || archname == std::string(family) + kSeqCls;
  };
  if (mt == "llama" || named("Llama")) c.arch = Arch::Llama;
  else if (mt == "qwen2" || named("Qwen2")) c.arch = Arch::Qwen2;
  else if (mt == "qwen3" || named("Qwen3")) c.arch = Arch::Qwen3;
  else
    fail(origin, ": unknown architecture (model_type '", mt, "', architectures[0] '", archname,
         "'); expected one of llama/LlamaForCausalLM, qwen2/Qwen2ForCausalLM, qwen3/Qwen3ForCausalLM (or ",
         "*ForSequenceClassification with one label for a reward model)");
  if (c.head == Head::Score) check_one_label(j, origin, archname);
  c.V = get_int(j, "vocab_size", origin, true);
  c.C = get_int(j, "hidden_size", origin, true);
  c.L = get_int(j, "num_hidden_layers", origin, true);
  c.NH = get_int(j, "num_attention_heads", origin, true);
  c.NKV = get_int(j, "num_key_value_heads", origin, false, c.NH);
  c.FF = get_int(j, "intermediate_size", origin, true);
  c.max_pos = get_int(j, "max_position_embeddings", origin, false, 4096);
  R1_CHECK(c.V > 0 && c.C > 0 && c.L > 0 && c.NH > 0 && c.NKV > 0 && c.FF > 0, origin,
           ": vocab_size, hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads and "
           "intermediate_size must all be positive");
  R1_CHECK(c.NH % c.NKV == 0, origin, ": num_attention_heads (", c.NH, ") must be a multiple of num_key_value_heads (",
           c.NKV, ")");
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.HS = get_int(j, "head_dim", origin, true);
  } else {
    R1_CHECK(c.C % c.NH == 0, origin, ": hidden_size (", c.C, ") not divisible by num_attention_heads (", c.NH,
             ") and no head_dim given");
    c.HS = c.C / c.NH;
  }
  R1_CHECK(c.HS > 0 && c.HS % 2 == 0, origin, ": head_dim must be positive and even, got ", c.HS);
  if (j.contains("rms_norm_eps")) c.eps = j["rms_norm_eps"].get<float>();
  if (j.contains("rope_theta")) c.rope_theta = j["rope_theta"].get<double>();
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    fail(origin, ": field 'rope_scaling' (", j["rope_scaling"].dump(),
         ") is not supported yet; expected null (plain rotary embeddings)");
  }
  c.tied = j.value("tie_word_embeddings", c.arch == Arch::Qwen2 ? false : false);
  c.qkv_bias = c.arch == Arch::Qwen2 ? true : j.value("attention_bias", false);
  c.qk_norm = c.arch == Arch::Qwen3;
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_id = j["bos_token_id"].get<int>();
  if (j.contains("eos_token_id")) {
    if (j["eos_token_id"].is_number_integer()) c.eos_id = j["eos_token_id"].get<int>();
    else if (j["eos_token_id"].is_array() && !j["eos_token_id"].empty()) c.eos_id = j["eos_token_id"][0].get<int>();
  }
  std::string act = j.value("hidden_act", "silu");
  R1_CHECK(act == "silu", origin, ": field 'hidden_act' is '", act, "'; expected 'silu' (SwiGLU)");
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
  std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  try {
    return from_json(j, path);
  } catch (const json::exception& e) {
    fail(path, ": bad field type (", e.what(), ")");
  }
}

std::string ModelConfig::arch_name() const {
  switch (arch) {
    case Arch::Llama: return "llama";
    case Arch::Qwen2: return "qwen2";
    case Arch::Qwen3: return "qwen3";
  }
  return "?";
}

std::string ModelConfig::architecture() const {
  static const char* families[] = {"Llama", "Qwen2", "Qwen3"};
  return std::string(families[(int)arch]) + (head == Head::Score ? kSeqCls : std::string("ForCausalLM"));
}

json ModelConfig::to_json() const {
  json j = raw.is_object() ? raw : json::object();
  j["architectures"] = json::array({architecture()});
  j["model_type"] = arch_name();
  j["vocab_size"] = V;
  j["hidden_size"] = C;
  j["num_hidden_layers"] = L;
  j["num_attention_heads"] = NH;
  j["num_key_value_heads"] = NKV;
  j["intermediate_size"] = FF;
  j["max_position_embeddings"] = max_pos;
  j["rms_norm_eps"] = eps;
  j["rope_theta"] = rope_theta;
  j["tie_word_embeddings"] = tied;
  j["hidden_act"] = "silu";
  if (arch == Arch::Qwen3 || HS != C / NH) j["head_dim"] = HS;
  if (arch == Arch::Llama) {
    j["attention_bias"] = qkv_bias;
    j["mlp_bias"] = false;
  }
  if (arch == Arch::Qwen3) j["attention_bias"] = false;
  if (bos_id >= 0) j["bos_token_id"] = bos_id;
  if (eos_id >= 0) j["eos_token_id"] = eos_id;
  if (!j.contains("torch_dtype")) j["torch_dtype"] = "float32";
  if (!j.contains("initializer_range")) j["initializer_range"] = 0.02;
  if (!j.contains("use_cache")) j["use_cache"] = true;
  if (head == Head::Score) {  // transformers' *ForSequenceClassification with num_labels = 1
    j["id2label"] = json{{"0", "LABEL_0"}};
    j["label2id"] = json{{"LABEL_0", 0}};
    // its forward finds each row's last token with pad_token_id (batched rows need one): the raw one, else eos
    if ((!j.contains("pad_token_id") || j["pad_token_id"].is_null()) && eos_id >= 0) j["pad_token_id"] = eos_id;
  }
  return j;
}

ModelConfig ModelConfig::tiny(Arch arch, int V, int C, int L, int NH, int NKV, int FF, int max_pos) {
  ModelConfig c;
  c.arch = arch;
  c.V = V; c.C = C; c.L = L; c.NH = NH; c.NKV = NKV; c.HS = C / NH; c.FF = FF; c.max_pos = max_pos;
  c.eps = 1e-6f;
  c.rope_theta = 10000.0;
  c.tied = arch == Arch::Qwen2;
  c.qkv_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  c.raw = nlohmann::json::object();
  return c;
}

}  // namespace r1
