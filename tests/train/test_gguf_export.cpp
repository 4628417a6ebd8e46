// GGUF export/import of models (model/gguf_model.h): round trips of the llama / qwen2 / qwen3 fixtures with
// bit-identical logits (f32; f16/bf16 against the model whose matrices were rounded the same way), the metadata
// llama.cpp reads, the tokenizer keys, the llama q/k rotary permutation checked against hand-written row orders
// and against GGML's adjacent-pair rope, and bad files giving one clear error.
#include "core/check.h"
#include "core/io.h"
#include "formats/dtype.h"
#include "formats/gguf.h"
#include "model/gguf_model.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_gguf.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <unistd.h>

using namespace r1;

namespace {

std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

std::string tmp(const std::string& name) {
  return std::string(::testing::TempDir()) + "/r1_gguf_" + std::to_string(::getpid()) + "_" + name;
}

void expect_error(const std::function<void()>& f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// export_gguf of `m` with `tok`'s tokenizer.ggml.* keys, as the export-gguf command writes it.
void export_with_tokenizer(const Model& m, const Tokenizer& tok, const std::string& path, DType dtype,
                           const GGUFExportOptions& opt = {}) {
  const GGUFMetadata kv = gguf_tokenizer_metadata(tok, m.cfg.V, m.cfg.bos_id, m.cfg.eos_id, path);
  export_gguf(m, &kv, path, dtype, opt);
}

// Logits of forward() on a fixed batch (2 sequences of 7 tokens).
std::vector<float> logits(Model& m) {
  const int B = 2, T = 7;
  std::vector<int> ids(B * T), tg(B * T);
  for (int i = 0; i < B * T; ++i) {
    ids[i] = (i * 37 + 5) % m.cfg.V;
    tg[i] = (i * 11 + 3) % m.cfg.V;
  }
  m.forward(ids.data(), tg.data(), B, T);
  return std::vector<float>(m.act().logits, m.act().logits + (size_t)B * T * m.cfg.V);
}

template <class A, class B>
void expect_same_bits(const A& a, const B& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: " << a[i] << " vs " << b[i];
  EXPECT_EQ(bad, 0u) << what;
}

// Round the 2-D tensors of m in place as `dt` would store them (norms and biases stay f32).
void round_matrices(Model& m, DType dt) {
  for (const auto& s : m.specs) {
    if (s.shape.size() != 2) continue;
    float* p = m.params() + s.offset;
    for (size_t i = 0; i < s.numel; ++i)
      p[i] = dt == DType::BF16 ? bf16_to_f32(f32_to_bf16(p[i])) : f16_to_f32(f32_to_f16(p[i]));
  }
}

// Rebuilds a GGUF with `edit` applied to its metadata list and `keep` deciding which tensors stay.
void rewrite(const std::string& src, const std::string& dst,
             const std::function<void(std::vector<std::pair<std::string, GGUFValue>>&)>& edit,
             const std::function<bool(const std::string&)>& keep = nullptr) {
  GGUFFile f(src);
  auto kvs = f.metadata();
  edit(kvs);
  GGUFWriter w;
  for (auto& kv : kvs) w.set(kv.first, kv.second);
  for (const auto& t : f.tensors())
    if (!keep || keep(t.name)) w.add_tensor(t.name, t.ne, t.type, t.data);
  w.write(dst);
}

void erase_key(std::vector<std::pair<std::string, GGUFValue>>& kvs, const std::string& key) {
  for (size_t i = 0; i < kvs.size(); ++i)
    if (kvs[i].first == key) {
      kvs.erase(kvs.begin() + i);
      return;
    }
  FAIL() << "key " << key << " not in the export";
}
void set_key(std::vector<std::pair<std::string, GGUFValue>>& kvs, const std::string& key, GGUFValue v) {
  for (auto& kv : kvs)
    if (kv.first == key) {
      kv.second = v;
      return;
    }
  kvs.emplace_back(key, v);
}

class Fixture : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(Fixture, F32RoundTripIsBitExact) {
  Model m = Model::load(fixture(GetParam()));
  std::string p = tmp(std::string(GetParam()) + "_f32.gguf");
  export_gguf(m, nullptr, p, DType::F32);
  Model g = load_gguf_model(p);
  EXPECT_EQ(g.cfg.arch, m.cfg.arch);
  EXPECT_EQ(g.cfg.V, m.cfg.V);
  EXPECT_EQ(g.cfg.C, m.cfg.C);
  EXPECT_EQ(g.cfg.L, m.cfg.L);
  EXPECT_EQ(g.cfg.NH, m.cfg.NH);
  EXPECT_EQ(g.cfg.NKV, m.cfg.NKV);
  EXPECT_EQ(g.cfg.HS, m.cfg.HS);
  EXPECT_EQ(g.cfg.FF, m.cfg.FF);
  EXPECT_EQ(g.cfg.max_pos, m.cfg.max_pos);
  EXPECT_EQ(g.cfg.eps, m.cfg.eps);
  EXPECT_EQ(g.cfg.rope_theta, m.cfg.rope_theta);
  EXPECT_EQ(g.cfg.tied, m.cfg.tied);
  EXPECT_EQ(g.cfg.qkv_bias, m.cfg.qkv_bias);
  EXPECT_EQ(g.cfg.qk_norm, m.cfg.qk_norm);
  EXPECT_EQ(g.cfg.bos_id, m.cfg.bos_id);
  EXPECT_EQ(g.cfg.eos_id, m.cfg.eos_id);
  expect_same_bits(g.params_mem, m.params_mem, "parameters");
  expect_same_bits(logits(g), logits(m), "logits");
  // load_any_model picks the GGUF reader by suffix and the folder reader otherwise.
  Model a = load_any_model(p);
  expect_same_bits(a.params_mem, m.params_mem, "load_any_model(gguf)");
  Model b = load_any_model(fixture(GetParam()));
  expect_same_bits(b.params_mem, m.params_mem, "load_any_model(folder)");
  ::unlink(p.c_str());
}

TEST_P(Fixture, HalfPrecisionRoundTripMatchesRoundedModel) {
  for (DType dt : {DType::F16, DType::BF16}) {
    Model m = Model::load(fixture(GetParam()));
    std::string p = tmp(std::string(GetParam()) + "_half.gguf");
    export_gguf(m, nullptr, p, dt);
    Model g = load_gguf_model(p);
    BlockVector<float> before = m.params_mem;
    round_matrices(m, dt);
    EXPECT_NE(before, m.params_mem) << "rounding changed nothing: the test would not see a dtype mix-up";
    expect_same_bits(g.params_mem, m.params_mem, std::string("parameters ") + dtype_name(dt));
    expect_same_bits(logits(g), logits(m), std::string("logits ") + dtype_name(dt));
    // Storage types: matrices in dt, 1-D tensors in F32; general.file_type says which.
    GGUFFile f(p);
    EXPECT_EQ(f.get_u64("general.file_type"), dt == DType::F16 ? 1u : 32u);
    for (const auto& t : f.tensors()) {
      GGMLType want = t.ne.size() == 2 ? (dt == DType::F16 ? GGMLType::F16 : GGMLType::BF16) : GGMLType::F32;
      EXPECT_EQ(t.type, want) << t.name;
    }
    ::unlink(p.c_str());
  }
}

TEST_P(Fixture, MetadataAndTensorNames) {
  Model m = Model::load(fixture(GetParam()));
  const ModelConfig& c = m.cfg;
  std::string p = tmp(std::string(GetParam()) + "_meta.gguf");
  export_gguf(m, nullptr, p, DType::F32);
  GGUFFile f(p);
  EXPECT_EQ(f.version(), 3u);
  const std::string a = f.get_string("general.architecture");
  EXPECT_EQ(a, std::string(GetParam()).substr(6));  // model_llama -> llama
  EXPECT_FALSE(f.get_string("general.name").empty());
  EXPECT_EQ(f.get_u64("general.file_type"), 0u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "no_vocab");
  // Values straight from the fixtures' config.json files, and the u32 / f32 types llama.cpp insists on.
  auto u32 = [&](const std::string& k) {
    EXPECT_EQ(f.get(a + "." + k).type(), GGUFType::U32) << k;
    return f.get_u64(a + "." + k);
  };
  EXPECT_EQ(u32("vocab_size"), 64u);
  EXPECT_EQ(u32("context_length"), 128u);
  EXPECT_EQ(u32("embedding_length"), 32u);
  EXPECT_EQ(u32("block_count"), 2u);
  EXPECT_EQ(u32("feed_forward_length"), a == "qwen3" ? 56u : 48u);
  EXPECT_EQ(u32("attention.head_count"), 4u);
  EXPECT_EQ(u32("attention.head_count_kv"), 2u);
  EXPECT_EQ(u32("rope.dimension_count"), a == "qwen3" ? 16u : 8u);
  EXPECT_EQ(f.get(a + ".attention.layer_norm_rms_epsilon").type(), GGUFType::F32);
  EXPECT_EQ((float)f.get_f64(a + ".attention.layer_norm_rms_epsilon"), a == "llama" ? 1e-5f : 1e-6f);
  EXPECT_EQ(f.get(a + ".rope.freq_base").type(), GGUFType::F32);
  EXPECT_EQ(f.get_f64(a + ".rope.freq_base"), a == "llama" ? 500000.0 : a == "qwen2" ? 10000.0 : 1000000.0);
  if (a == "qwen3") {  // head_dim 16 != hidden 32 / 4 heads
    EXPECT_EQ(u32("attention.key_length"), 16u);
    EXPECT_EQ(u32("attention.value_length"), 16u);
  } else {
    EXPECT_FALSE(f.has(a + ".attention.key_length"));
  }
  // Exactly llama.cpp's tensor names, with ne = torch shape reversed.
  std::set<std::string> want = {"token_embd.weight", "output_norm.weight"};
  if (!c.tied) want.insert("output.weight");
  for (int l = 0; l < c.L; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    for (const char* n : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                          "ffn_down"})
      want.insert(b + n + ".weight");
    if (a == "qwen2")
      for (const char* n : {"attn_q", "attn_k", "attn_v"}) want.insert(b + n + ".bias");
    if (a == "qwen3")
      for (const char* n : {"attn_q_norm", "attn_k_norm"}) want.insert(b + n + ".weight");
  }
  std::set<std::string> got;
  for (const auto& t : f.tensors()) got.insert(t.name);
  EXPECT_EQ(got, want);
  EXPECT_EQ(c.tied, a == "qwen2");  // the qwen2 fixture ties embeddings, so output.weight is omitted
  EXPECT_EQ(f.find_tensor("token_embd.weight")->ne, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->ne, (std::vector<int64_t>{32, c.NH * c.HS}));
  EXPECT_EQ(f.find_tensor("blk.1.attn_k.weight")->ne, (std::vector<int64_t>{32, c.NKV * c.HS}));
  EXPECT_EQ(f.find_tensor("blk.0.attn_output.weight")->ne, (std::vector<int64_t>{c.NH * c.HS, 32}));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->ne, (std::vector<int64_t>{c.FF, 32}));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_gate.weight")->ne, (std::vector<int64_t>{32, c.FF}));
  if (a == "qwen3") {
    EXPECT_EQ(f.find_tensor("blk.0.attn_q_norm.weight")->ne, (std::vector<int64_t>{16}));
  }
  // Unpermuted tensors are the HF tensors byte for byte.
  auto spec = [&](const std::string& n) -> const TensorSpec& {
    for (const auto& s : m.specs)
      if (s.name == n) return s;
    throw std::runtime_error("no spec " + n);
  };
  for (auto [hf, gg] : std::vector<std::pair<std::string, std::string>>{
           {"model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight"},
           {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"},
           {"model.embed_tokens.weight", "token_embd.weight"}}) {
    const TensorSpec& s = spec(hf);
    std::vector<float> want_t(m.params() + s.offset, m.params() + s.offset + s.numel);
    expect_same_bits(f.read_f32(gg), want_t, gg);
  }
  ::unlink(p.c_str());
}

INSTANTIATE_TEST_SUITE_P(GGUF, Fixture, ::testing::Values("model_llama", "model_qwen2", "model_qwen3"));

// The llama q/k permutation, hand-written: with head size 8 the GGUF rows of one head are HF rows
// 0,4,1,5,2,6,3,7 (pairs (i, i+4) of rotate-half become adjacent pairs (2i, 2i+1)). Qwen2 is not permuted.
TEST(GGUFPermutation, RawAttnQAndKFollowTheDocumentedOrder) {
  const int order8[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (const char* fx : {"model_llama", "model_qwen2"}) {
    Model m = Model::load(fixture(fx));
    const ModelConfig& c = m.cfg;
    ASSERT_EQ(c.HS, 8);
    std::string p = tmp(std::string(fx) + "_perm.gguf");
    export_gguf(m, nullptr, p, DType::F32);
    GGUFFile f(p);
    bool llama = c.arch == Arch::Llama;
    for (int l = 0; l < c.L; ++l) {
      for (int which = 0; which < 2; ++which) {  // q then k
        int heads = which == 0 ? c.NH : c.NKV;
        std::string g = "blk." + std::to_string(l) + (which == 0 ? ".attn_q.weight" : ".attn_k.weight");
        std::vector<float> got = f.read_f32(g);
        const float* hf = m.w.layers[l].wqkv + (which == 0 ? 0 : (size_t)c.QD() * c.C);
        ASSERT_EQ(got.size(), (size_t)heads * 8 * c.C);
        for (int h = 0; h < heads; ++h)
          for (int r = 0; r < 8; ++r) {
            int src = h * 8 + (llama ? order8[r] : r);
            EXPECT_EQ(0, std::memcmp(&got[(size_t)(h * 8 + r) * c.C], hf + (size_t)src * c.C, sizeof(float) * c.C))
                << fx << " " << g << " head " << h << " row " << r;
          }
      }
    }
    ::unlink(p.c_str());
  }
  // Head size 4 (rows 0,2,1,3 per head), through the public helper, both directions.
  std::vector<float> src = {0, 1, 2, 3, 10, 11, 12, 13}, dst(8), back(8);
  gguf_permute_rows(src.data(), dst.data(), 8, 1, 2, false);
  EXPECT_EQ(dst, (std::vector<float>{0, 2, 1, 3, 10, 12, 11, 13}));
  gguf_permute_rows(dst.data(), back.data(), 8, 1, 2, true);
  EXPECT_EQ(back, src);
}

// Why the permutation is right: HF's rotate-half rope on q = W x equals, row for row under the permutation,
// GGML's adjacent-pair rope (what llama.cpp runs for "llama") on q' = W' x, so attention scores are unchanged.
TEST(GGUFPermutation, AdjacentPairRopeOnPermutedWeightsEqualsRotateHalfRope) {
  Model m = Model::load(fixture("model_llama"));
  const ModelConfig& c = m.cfg;
  const int HS = c.HS, half = HS / 2, C = c.C;
  std::string p = tmp("rope.gguf");
  export_gguf(m, nullptr, p, DType::F32);
  GGUFFile f(p);
  std::vector<float> qg = f.read_f32("blk.0.attn_q.weight"), kg = f.read_f32("blk.0.attn_k.weight");
  const float* qh = m.w.layers[0].wqkv;
  const float* kh = qh + (size_t)c.QD() * C;
  std::vector<double> x(C);
  for (int i = 0; i < C; ++i) x[i] = std::sin(0.7 * i + 0.3);
  auto matvec = [&](const float* W, int rows) {
    std::vector<double> y(rows, 0.0);
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < C; ++i) y[r] += (double)W[(size_t)r * C + i] * x[i];
    return y;
  };
  const int pos_q = 5, pos_k = 2;
  auto rope_hf = [&](std::vector<double> v, int heads, int pos) {  // pairs (i, i + HS/2)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        double th = pos * std::pow(c.rope_theta, -2.0 * i / HS);
        double a = v[h * HS + i], b = v[h * HS + i + half];
        v[h * HS + i] = a * std::cos(th) - b * std::sin(th);
        v[h * HS + i + half] = a * std::sin(th) + b * std::cos(th);
      }
    return v;
  };
  auto rope_ggml = [&](std::vector<double> v, int heads, int pos) {  // pairs (2i, 2i + 1)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        double th = pos * std::pow(c.rope_theta, -2.0 * i / HS);
        double a = v[h * HS + 2 * i], b = v[h * HS + 2 * i + 1];
        v[h * HS + 2 * i] = a * std::cos(th) - b * std::sin(th);
        v[h * HS + 2 * i + 1] = a * std::sin(th) + b * std::cos(th);
      }
    return v;
  };
  auto q1 = rope_hf(matvec(qh, c.QD()), c.NH, pos_q), k1 = rope_hf(matvec(kh, c.KVD()), c.NKV, pos_k);
  auto q2 = rope_ggml(matvec(qg.data(), c.QD()), c.NH, pos_q), k2 = rope_ggml(matvec(kg.data(), c.KVD()), c.NKV, pos_k);
  const int group = c.NH / c.NKV;
  for (int h = 0; h < c.NH; ++h) {
    int kvh = h / group;
    double s1 = 0, s2 = 0;
    for (int d = 0; d < HS; ++d) {
      s1 += q1[h * HS + d] * k1[kvh * HS + d];
      s2 += q2[h * HS + d] * k2[kvh * HS + d];
    }
    EXPECT_NEAR(s1, s2, 1e-12 * (1 + std::fabs(s1))) << "head " << h;
    EXPECT_GT(std::fabs(s1), 1e-6);
  }
  // And the unrotated projections agree row for row under the documented map.
  auto a = matvec(qh, c.QD()), b = matvec(qg.data(), c.QD());
  for (int h = 0; h < c.NH; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j) EXPECT_EQ(b[h * HS + 2 * i + j], a[h * HS + j * half + i]);
  ::unlink(p.c_str());
}

// A Llama with attention_bias: the q/k biases are permuted like the weight rows, and the round trip is exact.
TEST(GGUFPermutation, LlamaBiasesRoundTrip) {
  ModelConfig c = ModelConfig::tiny(Arch::Llama, 48, 32, 1, 4, 2, 40, 64);
  c.qkv_bias = true;
  Model m(c);
  m.init_random(7);
  for (const auto& s : m.specs)
    if (s.shape.size() == 1 && s.name.find("bias") != std::string::npos)
      for (size_t i = 0; i < s.numel; ++i) m.params()[s.offset + i] = 0.01f * float(i + 1);
  std::string p = tmp("llama_bias.gguf");
  export_gguf(m, nullptr, p, DType::F32);
  GGUFFile f(p);
  std::vector<float> bq = f.read_f32("blk.0.attn_q.bias");
  ASSERT_EQ(bq.size(), 32u);
  const int order8[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (int h = 0; h < 4; ++h)
    for (int r = 0; r < 8; ++r) EXPECT_EQ(bq[h * 8 + r], 0.01f * float(h * 8 + order8[r] + 1));
  Model g = load_gguf_model(p);
  EXPECT_TRUE(g.cfg.qkv_bias);
  expect_same_bits(g.params_mem, m.params_mem, "parameters");
  expect_same_bits(logits(g), logits(m), "logits");
  ::unlink(p.c_str());
}

TEST(GGUFTokenizer, ByteLevelTokenizerRoundTrip) {
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>"});
  ASSERT_EQ(tok.vocab_size(), 259);
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, 264, 32, 1, 4, 2, 40, 64);  // 5 rows beyond the tokenizer
  Model m(c);
  m.init_random(3);
  std::string p = tmp("tok.gguf");
  GGUFExportOptions opt;
  opt.name = "tiny-test";
  opt.chat_template = "{{ messages }}";
  opt.pad_id = 256;
  export_with_tokenizer(m, tok, p, DType::BF16, opt);

  GGUFFile f(p);
  EXPECT_EQ(f.get_string("general.name"), "tiny-test");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), tok.gguf_pre());
  const auto& toks = f.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(toks.size(), 264u);  // one per embedding row
  EXPECT_EQ(toks[256], "<|endoftext|>");
  EXPECT_EQ(toks[260], "[PAD260]");
  EXPECT_EQ(toks['A'], "A");
  EXPECT_EQ(toks[' '], "\xC4\xA0");  // GPT-2 byte-to-unicode form of the space byte
  EXPECT_EQ(f.get(std::string("tokenizer.ggml.token_type")).array_type(), GGUFType::I32);
  auto types = f.get_i64_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types['A'], 1);
  EXPECT_EQ(types[257], 3);  // <think>: special -> control
  EXPECT_EQ(types[263], 5);  // padding -> unused
  EXPECT_TRUE(f.has("tokenizer.ggml.merges"));  // llama.cpp requires the key even when empty
  EXPECT_EQ(f.get_strings("tokenizer.ggml.merges").size(), 0u);
  EXPECT_EQ(f.get_u64("tokenizer.ggml.eos_token_id"), 256u);
  EXPECT_EQ(f.get_u64("tokenizer.ggml.padding_token_id"), 256u);
  EXPECT_FALSE(f.has("tokenizer.ggml.bos_token_id"));
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), "{{ messages }}");

  Tokenizer g = Tokenizer::load(p);
  const std::string text = "Hello <think>w\xC3\xB6rld</think> \xF0\x9F\x99\x82\n<|endoftext|>";
  std::vector<int> want = tok.encode(text);
  EXPECT_EQ(g.encode(text), want);
  EXPECT_EQ(want[6], 257);  // <think> split out as one special token
  EXPECT_EQ(g.decode(want), text);
  EXPECT_EQ(g.eos_id(), 256);

  Model back = load_gguf_model(p);
  EXPECT_EQ(back.cfg.eos_id, 256);
  round_matrices(m, DType::BF16);
  expect_same_bits(logits(back), logits(m), "logits");
  ::unlink(p.c_str());

  // A tokenizer with more tokens than embedding rows cannot be exported.
  ModelConfig small = ModelConfig::tiny(Arch::Qwen2, 200, 32, 1, 4, 2, 40, 64);
  Model s(small);
  expect_error([&] { export_with_tokenizer(s, tok, p, DType::F32); }, {p, "259 tokens", "vocab_size is 200"});
  EXPECT_FALSE(file_exists(p));
}

TEST(GGUFBadInput, ArchitectureKeysAndTensors) {
  Model m = Model::load(fixture("model_llama"));
  std::string good = tmp("good.gguf"), bad = tmp("bad.gguf");
  export_gguf(m, nullptr, good, DType::F32);
  using KV = std::vector<std::pair<std::string, GGUFValue>>;

  rewrite(good, bad, [](KV& kv) { set_key(kv, "general.architecture", GGUFValue::string("gptneox")); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "general.architecture", "gptneox", "llama"});

  rewrite(good, bad, [](KV& kv) { erase_key(kv, "general.architecture"); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "general.architecture"});

  rewrite(good, bad, [](KV& kv) { erase_key(kv, "llama.block_count"); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.block_count"});

  rewrite(good, bad, [](KV& kv) { erase_key(kv, "llama.attention.layer_norm_rms_epsilon"); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.attention.layer_norm_rms_epsilon"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.embedding_length", GGUFValue::string("32")); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.embedding_length"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.context_length", GGUFValue::u32(0)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.context_length", "out of range"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.attention.head_count_kv", GGUFValue::u32(3)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "num_key_value_heads"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.rope.scaling.type", GGUFValue::string("linear")); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.rope.scaling.type", "linear"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.rope.dimension_count", GGUFValue::u32(4)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "llama.rope.dimension_count"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.feed_forward_length", GGUFValue::u32(50)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "blk.0.ffn_gate.weight", "{32, 48}", "{32, 50}"});

  rewrite(good, bad, [](KV&) {}, [](const std::string& n) { return n != "blk.1.ffn_down.weight"; });
  expect_error([&] { load_gguf_model(bad); }, {bad, "blk.1.ffn_down.weight", "missing"});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "llama.block_count", GGUFValue::u32(1)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "unexpected tensor", "blk.1."});

  rewrite(good, bad, [](KV& kv) { set_key(kv, "tokenizer.ggml.eos_token_id", GGUFValue::u32(64)); });
  expect_error([&] { load_gguf_model(bad); }, {bad, "tokenizer.ggml.eos_token_id", "64"});

  expect_error([&] { load_gguf_model(tmp("absent.gguf")); }, {"absent.gguf"});
  atomic_write(bad, "GGUF\x03\x00\x00\x00garbage");
  expect_error([&] { load_gguf_model(bad); }, {bad});
  expect_error([&] { export_gguf(m, nullptr, bad, DType::F64); }, {bad, "F64"});
  ::unlink(good.c_str());
  ::unlink(bad.c_str());
}

// `r1 export-gguf` end to end (needs the r1 binary; ctest passes its path in R1_BIN).
TEST(GGUFCli, ExportGgufCommand) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin || !file_exists(bin)) GTEST_SKIP() << "R1_BIN not set (run through ctest to test the CLI)";
  std::string p = tmp("cli.gguf"), log = tmp("cli.log");
  std::string cmd = std::string(bin) + " export-gguf --model " + fixture("model_llama") + " --output " + p +
                    " --dtype bf16 2>" + log;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(log);
  Model m = Model::load(fixture("model_llama"));
  round_matrices(m, DType::BF16);
  Model g = load_gguf_model(p);
  expect_same_bits(logits(g), logits(m), "logits");
  EXPECT_EQ(GGUFFile(p).get_string("general.name"), "model_llama");
  // A folder with a tokenizer, a chat template and a pad token in tokenizer_config.json.
  std::string dir = tmp("cli_model");
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, 264, 32, 1, 4, 2, 40, 64);
  Model tiny(c);
  tiny.init_random(5);
  tiny.save(dir);
  Tokenizer tok = Tokenizer::byte_level({"<|endoftext|>", "<think>", "</think>"});
  tok.save(dir);
  nlohmann::json tc = nlohmann::json::parse(read_file(dir + "/tokenizer_config.json"));
  tc["chat_template"] = "{% for m in messages %}{{ m.content }}{% endfor %}";
  tc["pad_token"] = "</think>";
  atomic_write(dir + "/tokenizer_config.json", tc.dump());
  cmd = std::string(bin) + " export-gguf --model " + dir + " --output " + p + " --name tiny 2>" + log;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(log);
  {
    GGUFFile f(p);
    EXPECT_EQ(f.get_string("general.name"), "tiny");
    EXPECT_EQ(f.get_strings("tokenizer.ggml.tokens").size(), 264u);
    EXPECT_EQ(f.get_string("tokenizer.chat_template"), tc["chat_template"].get<std::string>());
    EXPECT_EQ(f.get_u64("tokenizer.ggml.padding_token_id"), 258u);
  }
  const std::string text = "a <think>b\xC3\xA9</think>";
  EXPECT_EQ(Tokenizer::load(p).encode(text), tok.encode(text));
  Model back = load_gguf_model(p);
  expect_same_bits(logits(back), logits(tiny), "logits (tokenizer folder)");
  cmd = "rm -rf " + dir;
  EXPECT_EQ(std::system(cmd.c_str()), 0);

  cmd = std::string(bin) + " export-gguf --model " + fixture("model_llama") + " --output " + p + " --dtype q4 2>" + log;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  cmd = std::string(bin) + " export-gguf --model " + tmp("nowhere") + " --output " + p + " 2>" + log;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(read_file(log).find("nowhere"), std::string::npos) << read_file(log);
  ::unlink(p.c_str());
  ::unlink(log.c_str());
}

// The real Qwen2 vocabulary (../shared) in a tiny Qwen2.5-shaped model (vocab_size 151936 > 151643 tokens): the
// export pads the token list to the embedding rows, and the GGUF tokenizer still gives llama.cpp's Qwen2 test ids.
TEST(GGUFTokenizer, Qwen2VocabularyMatchesLlamaCppVectors) {
  const std::string sh = std::string(R1_SOURCE_DIR) + "/../shared/data/tokenizer";
  if (!file_exists(sh + "/vocab.json")) GTEST_SKIP() << "../shared/data/tokenizer absent";
  Tokenizer tok = Tokenizer::load_vocab_merges(sh + "/vocab.json", sh + "/merges_noheader.txt", "qwen2");
  ModelConfig c = ModelConfig::tiny(Arch::Qwen2, 151936, 8, 1, 2, 1, 8, 32);
  Model m(c);
  m.init_random(11);
  std::string p = tmp("qwen2_vocab.gguf");
  export_with_tokenizer(m, tok, p, DType::BF16);
  {
    GGUFFile f(p);
    EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
    const auto& toks = f.get_strings("tokenizer.ggml.tokens");
    ASSERT_EQ(toks.size(), 151936u);
    EXPECT_EQ(toks[151935], "[PAD151935]");
    EXPECT_EQ(f.get_strings("tokenizer.ggml.merges").size(), (size_t)tok.num_merges());
  }
  Tokenizer g = Tokenizer::load(p);
  const std::string stem = sh + "/llama_cpp_tests/ggml-vocab-qwen2.gguf";
  std::string inp = read_file(stem + ".inp"), out = read_file(stem + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0, opos = 0, n = 0;
  while (pos < inp.size()) {
    size_t e = inp.find(sep, pos);
    if (e == std::string::npos) e = inp.size();
    std::string text = inp.substr(pos, e - pos);
    pos = e + sep.size();
    size_t oe = out.find('\n', opos);
    ASSERT_NE(oe, std::string::npos);
    std::vector<int> want;
    std::string line = out.substr(opos, oe - opos);  // parse this line only (strtol would skip the newline)
    const char* s = line.c_str();
    char* end = nullptr;
    for (long v = std::strtol(s, &end, 10); end != s; v = std::strtol(s, &end, 10)) {
      want.push_back(int(v));
      s = end;
    }
    opos = oe + 1;
    EXPECT_EQ(g.encode(text), want) << "vector " << n << " '" << text << "'";
    ++n;
  }
  EXPECT_GT(n, 30u);
  ::unlink(p.c_str());
}
