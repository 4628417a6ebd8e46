// LoRA (model/lora.h) against the PyTorch reference (tools/torch_ref/gen_lora_fixtures.py, float64 results):
// adapter forward, the gradients of A and B, three AdamW steps with clipping on the adapters only, the base with
// adapters off, merge; PEFT's file layout (names, shapes, config keys); the rollout engine's log-probs with
// adapters against the trainer's recomputation; the reference policy as the base without a copy; bad adapters.
#include "core/check.h"
#include "core/io.h"
#include "core/rng.h"
#include "formats/safetensors.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "rollout/engine.h"
#include "train/optim.h"
#include "spawn_r1.h"

#include "allclose.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <unistd.h>

using namespace r1;
using nlohmann::json;

static std::string fixture(const std::string& name) { return std::string(R1_SOURCE_DIR) + "/tests/fixtures/" + name; }

static std::string tmpdir(const std::string& tag) {
  std::string d = "/tmp/r1_test_lora_" + tag + "_" + std::to_string(getpid());
  make_dirs(d);
  return d;
}


// The fixture's base model with its adapters (r = 4, alpha = 8, all seven projections) attached.
struct LoraFixture {
  SafeTensorsFile ref;
  Model m;
  int B = 0, T = 0;
  std::vector<int> ids, targets;
  explicit LoraFixture(const std::string& kind)
      : ref(fixture("lora/" + kind + ".safetensors")), m(Model::load(fixture("model_" + kind))) {
    LoraConfig c;
    c.r = (int)ref.read_f32("cfg_r")[0];
    c.alpha = ref.read_f32("cfg_alpha")[0];
    c.targets = {"q", "k", "v", "o", "gate", "up", "down"};
    Lora l(c, m.cfg);
    for (const auto& s : l.specs) ref.read_f32_into(s.name, l.params.data() + s.offset, s.numel);
    m.attach_lora(std::move(l));
    B = (int)ref.find("ids")->shape[0];
    T = (int)ref.find("ids")->shape[1];
    for (int64_t v : ref.read_i64("ids")) ids.push_back((int)v);
    for (int64_t v : ref.read_i64("targets")) targets.push_back((int)v);
  }
  std::vector<float> lp() {  // per position, 0 where masked (as the fixture stores it)
    std::vector<float> out((size_t)B * T);
    for (size_t i = 0; i < out.size(); i++) out[i] = targets[i] >= 0 ? m.act().lp[i] : 0.f;
    return out;
  }
};

class LoraVsTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(LoraVsTorch, ForwardAndAdapterGradients) {
  LoraFixture f(GetParam());
  f.m.zero_grad();
  float loss = f.m.cross_entropy_step(f.ids.data(), f.targets.data(), f.B, f.T, true);
  EXPECT_NEAR(loss, f.ref.read_f32("loss")[0], 2e-6 * std::max(1.f, loss));
  // the forward before backward overwrote the logits: recompute lp
  std::vector<float> g = f.m.lora().grads;
  f.m.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  expect_allclose(f.lp().data(), f.ref.read_f32("lp"), 2e-5f, 1e-5f, "lp");
  int checked = 0;
  for (const auto& s : f.m.lora().specs) {
    auto want = f.ref.read_f32("grad." + s.name);
    ASSERT_EQ(want.size(), s.numel) << s.name;
    expect_allclose(g.data() + s.offset, want, 1e-6f, 1e-4f, "grad " + s.name);
    checked++;
  }
  EXPECT_EQ(checked, 2 * 7 * f.m.cfg.L);
  EXPECT_TRUE(f.m.grads_mem.empty()) << "the frozen base must not get a gradient block";
}

TEST_P(LoraVsTorch, AdapterOffIsTheBaseAndMergeEqualsAdapterForward) {
  LoraFixture f(GetParam());
  f.m.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  std::vector<float> with = f.lp();
  f.m.set_adapters_enabled(false);
  f.m.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  std::vector<float> off = f.lp();
  expect_allclose(off.data(), f.ref.read_f32("base_lp"), 2e-5f, 1e-5f, "base_lp");
  Model base = Model::load(fixture(std::string("model_") + GetParam()));
  base.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  for (size_t i = 0; i < off.size(); i++)
    if (f.targets[i] >= 0) {
      EXPECT_EQ(off[i], base.act().lp[i]) << "adapters off must be the base bit for bit, pos " << i;
    }
  f.m.set_adapters_enabled(true);
  f.m.merge_lora();
  EXPECT_FALSE(f.m.has_lora());
  f.m.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  std::vector<float> merged = f.lp();
  for (size_t i = 0; i < merged.size(); i++) EXPECT_NEAR(merged[i], with[i], 1e-5) << "merged vs adapter, pos " << i;
  expect_allclose(merged.data(), f.ref.read_f32("merged_lp"), 2e-5f, 1e-5f, "merged_lp");
}

TEST_P(LoraVsTorch, ThreeAdamWStepsOnTheAdaptersOnly) {
  LoraFixture f(GetParam());
  const BlockVector<float> base_before = f.m.params_mem;
  OptimConfig oc;
  oc.lr = 1e-2f;
  oc.beta1 = 0.9f;
  oc.beta2 = 0.95f;
  oc.eps = 1e-8f;
  oc.weight_decay = 0.1f;  // A and B are matrices: decayed as torch's single group decays them
  oc.grad_clip = 1.0f;
  Model::Trainable tr = f.m.trainable();
  ASSERT_EQ(tr.n, f.m.lora().n);
  Optimizer opt(oc, *tr.specs, tr.n);
  auto losses = f.ref.read_f32("adamw_loss"), norms = f.ref.read_f32("adamw_norm");
  for (int s = 0; s < 3; s++) {
    f.m.zero_grad();
    float loss = f.m.cross_entropy_step(f.ids.data(), f.targets.data(), f.B, f.T, true);
    EXPECT_NEAR(loss, losses[s], 5e-5f * std::max(1.f, losses[s])) << "step " << s;
    UpdateStats u = optimizer_update(opt, f.m, 1, s);
    EXPECT_NEAR(u.grad_norm, norms[s], 1e-4f * std::max(1.f, norms[s])) << "step " << s;
  }
  for (const auto& s : f.m.lora().specs)
    expect_allclose(f.m.lora().params.data() + s.offset, f.ref.read_f32("adamw." + s.name), 1e-5f, 1e-4f,
                    "after 3 steps " + s.name);
  EXPECT_EQ(f.m.params_mem, base_before) << "the base weights must not move";
}

// What PEFT reads: exactly its tensor names and shapes, and exactly the keys of the adapter_config.json that
// PEFT's LoraConfig writes (the fixture script's copy of PEFT's schema).
TEST_P(LoraVsTorch, PeftFilesHavePeftNamesShapesAndConfigKeys) {
  LoraFixture f(GetParam());
  const std::string d = tmpdir(std::string("peft_") + GetParam());
  f.m.lora().save(d, "");
  SafeTensorsFile mine(d + "/adapter_model.safetensors");
  std::set<std::string> want_names, got_names;
  for (const auto& t : f.ref.tensors())
    if (t.name.rfind("base_model.model.", 0) == 0) {
      want_names.insert(t.name);
      const TensorInfo* g = mine.find(t.name);
      ASSERT_TRUE(g) << t.name;
      EXPECT_EQ(g->shape, t.shape) << t.name;
      EXPECT_EQ(g->dtype, DType::F32);
      EXPECT_EQ(mine.read_f32(t.name), f.ref.read_f32(t.name)) << t.name;
    }
  for (const auto& t : mine.tensors()) got_names.insert(t.name);
  EXPECT_EQ(got_names, want_names);
  json want = json::parse(read_file(fixture("lora/adapter_config.json")));
  json got = json::parse(read_file(d + "/adapter_config.json"));
  std::set<std::string> wk, gk;
  for (auto it = want.begin(); it != want.end(); ++it) wk.insert(it.key());
  for (auto it = got.begin(); it != got.end(); ++it) gk.insert(it.key());
  EXPECT_EQ(gk, wk);
  for (const char* k : {"peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "bias", "task_type",
                        "fan_in_fan_out", "use_rslora", "use_dora", "init_lora_weights"})
    EXPECT_EQ(got[k], want[k]) << k;
  // and it reads back bit for bit
  Lora back = Lora::load(d, f.m.cfg);
  EXPECT_EQ(back.params, f.m.lora().params);
  EXPECT_EQ(back.cfg.r, 4);
  EXPECT_EQ(back.cfg.alpha, 8.0f);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LoraVsTorch, ::testing::Values("llama", "qwen2", "qwen3"));

// ---- the rollout engine with adapters ----------------------------------------------------------------------
static std::vector<GenRequest> some_requests(int V, int n_prompts, int G) {
  std::vector<GenRequest> rq;
  for (int p = 0; p < n_prompts; p++) {
    GenRequest q;
    for (int t = 0; t < 2 + 3 * p; t++) q.prompt.push_back((p * 29 + t * 11 + 3) % V);
    q.n = G;
    q.prompt_index = p;
    rq.push_back(q);
  }
  return rq;
}

// A random model with random nonzero adapters on the given targets: the adapters move the logits a lot.
static Model random_lora_model(Arch arch, std::vector<std::string> targets, int r = 8) {
  Model m(ModelConfig::tiny(arch, 300, 96, 2, 4, 2, 200, 128));
  m.init_random(5, 0.08f);
  LoraConfig c;
  c.r = r;
  c.alpha = 2.0f * r;
  c.targets = targets;
  Lora l(c, m.cfg);
  l.init(9);
  Rng rng(11);
  for (const LoraSite& s : l.sites)
    for (size_t i = 0; i < (size_t)s.out * r; i++) l.params[s.b_off + i] = (float)(rng.normal() * 0.05);
  m.attach_lora(std::move(l));
  return m;
}

TEST(LoraEngine, SampledLogprobsEqualTrainerRecomputationWithAdapters) {
  for (Arch arch : {Arch::Llama, Arch::Qwen2, Arch::Qwen3}) {
    for (auto targets : {std::vector<std::string>{"all-linear"}, std::vector<std::string>{"q", "v", "down"}}) {
      Model m = random_lora_model(arch, targets);
      Engine e(m);
      for (bool inv : {false, true}) {
        GenConfig c;
        c.sampling.temperature = 0.8f;
        c.sampling.top_p = 0.9f;
        c.max_new_tokens = 12;
        c.seed = 1234;
        c.max_batch = 5;
        c.batch_invariant = inv;
        auto rq = some_requests(m.cfg.V, 3, 4);
        auto out = e.generate(rq, c);
        ASSERT_EQ(out.size(), 12u);
        int checked = 0;
        double worst = 0;
        for (auto& s : out) {
          std::vector<int> seq = rq[s.request].prompt;
          const int P = (int)seq.size();
          seq.insert(seq.end(), s.ids.begin(), s.ids.end());
          std::vector<int> tg(seq.size(), -1);
          for (size_t t = P - 1; t + 1 < seq.size(); t++) tg[t] = seq[t + 1];
          m.forward(seq.data(), tg.data(), 1, (int)seq.size(), c.sampling.temperature);
          for (size_t t = 0; t < s.ids.size(); t++, checked++)
            worst = std::max(worst, (double)std::fabs(s.logprobs[t] - m.act().lp[P - 1 + t]));
        }
        EXPECT_GT(checked, 50);
        EXPECT_LE(worst, 1e-5) << "arch " << (int)arch << " targets " << targets[0] << " batch_invariant " << inv;
      }
    }
  }
}

TEST(LoraEngine, AdaptersChangeTheSamplesAndOffSamplesTheBase) {
  Model m = random_lora_model(Arch::Qwen2, {"all-linear"});
  Model base(m.cfg);
  std::copy(m.params_mem.begin(), m.params_mem.end(), base.params_mem.begin());
  GenConfig c;
  c.sampling.temperature = 1.0f;
  c.max_new_tokens = 16;
  c.seed = 7;
  c.batch_invariant = true;
  auto rq = some_requests(m.cfg.V, 2, 4);
  auto with = Engine(m).generate(rq, c);
  m.set_adapters_enabled(false);
  auto off = Engine(m).generate(rq, c);
  auto plain = Engine(base).generate(rq, c);
  int differ = 0;
  for (size_t i = 0; i < with.size(); i++) {
    EXPECT_EQ(off[i].ids, plain[i].ids);
    EXPECT_EQ(off[i].logprobs, plain[i].logprobs);  // bitwise: adapters off is the base
    differ += with[i].ids != plain[i].ids;
  }
  EXPECT_GT(differ, 0) << "the adapters must change what is sampled";
}

// GRPO's reference with LoRA: the policy's own forward with the adapters off, equal to a separate copy of the base
// bit for bit (so no copy is kept).
TEST(LoraReference, AdaptersOffEqualsASeparateBaseModel) {
  Model m = random_lora_model(Arch::Qwen3, {"all-linear"});
  Model base(m.cfg);
  std::copy(m.params_mem.begin(), m.params_mem.end(), base.params_mem.begin());
  std::vector<int> ids, tg;
  for (int i = 0; i < 40; i++) {
    ids.push_back((i * 37 + 5) % m.cfg.V);
    tg.push_back(i % 7 == 0 ? -1 : (i * 13 + 1) % m.cfg.V);
  }
  std::vector<PackedSeq> seqs = {{0, 10, -1}, {10, 15, 0}, {25, 15, 0}};  // a shared prompt, two continuations
  m.set_adapters_enabled(false);
  m.forward(ids.data(), tg.data(), 40, seqs, 0.7f);
  base.forward(ids.data(), tg.data(), 40, seqs, 0.7f);
  for (int i = 0; i < 40; i++) EXPECT_EQ(m.act().lp[i], base.act().lp[i]) << i;
  m.set_adapters_enabled(true);
  m.forward(ids.data(), tg.data(), 40, seqs, 0.7f);
  int differ = 0;
  for (int i = 0; i < 40; i++) differ += tg[i] >= 0 && m.act().lp[i] != base.act().lp[i];
  EXPECT_GT(differ, 30);
}

// Finite differences of the loss in the adapters (float, central differences, checked in relative terms) on a
// packed batch with a shared prefix, at a temperature, with an entropy term: the paths GRPO uses.
TEST(LoraGradients, MatchFiniteDifferencesOnPackedBatches) {
  Model m = random_lora_model(Arch::Qwen2, {"q", "k", "o", "up", "down"}, 4);
  std::vector<int> ids, tg;
  for (int i = 0; i < 30; i++) {
    ids.push_back((i * 31 + 2) % m.cfg.V);
    tg.push_back(i < 8 ? -1 : (i * 17 + 3) % m.cfg.V);
  }
  std::vector<PackedSeq> seqs = {{0, 10, -1}, {10, 10, 0}, {20, 10, 0}};
  std::vector<float> dlp(30), dent(30);
  for (int i = 0; i < 30; i++) {
    dlp[i] = tg[i] >= 0 ? 0.1f * (1 + i % 3) : 0.f;
    dent[i] = tg[i] >= 0 ? 0.05f : 0.f;
  }
  auto loss = [&]() {
    m.forward(ids.data(), tg.data(), 30, seqs, 0.8f, true);
    double s = 0;
    for (int i = 0; i < 30; i++)
      if (tg[i] >= 0) s += (double)dlp[i] * m.act().lp[i] + (double)dent[i] * m.act().ent[i];
    return s;
  };
  m.zero_grad();
  loss();
  m.backward(dlp.data(), dent.data());
  std::vector<float> g = m.lora().grads;
  Rng rng(3);
  int checked = 0;
  for (const auto& s : m.lora().specs) {
    for (int k = 0; k < 2; k++) {
      size_t i = s.offset + rng.below(s.numel);
      float& p = m.lora().params[i];
      const float old = p, h = 1e-2f * std::max(0.05f, std::fabs(old));
      p = old + h;
      double fp = loss();
      p = old - h;
      double fm = loss();
      p = old;
      double fd = (fp - fm) / (2.0 * (double)h);
      EXPECT_NEAR(g[i], fd, 2e-3 + 2e-2 * std::fabs(fd)) << s.name << " entry " << i - s.offset;
      checked++;
    }
  }
  EXPECT_EQ(checked, 2 * (int)m.lora().specs.size());
}

// ---- bad adapters: one clear error naming the file and the field ----------------------------------------------
TEST(LoraFiles, BadAdaptersAreClearErrors) {
  LoraFixture f("llama");
  const std::string d = tmpdir("bad");
  f.m.lora().save(d, "base");
  const std::string cfgp = d + "/adapter_config.json";
  const json good = json::parse(read_file(cfgp));
  auto expect_error = [&](const json& cfg, const std::string& needle) {
    atomic_write(cfgp, cfg.dump(2));
    try {
      Lora::load(d, f.m.cfg);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(d), std::string::npos) << e.what();
    }
  };
  json j = good;
  j["r"] = 8;  // tensors are rank 4
  expect_error(j, "has shape [4, 32]");
  j = good;
  j["use_dora"] = true;
  expect_error(j, "use_dora");
  j = good;
  j["peft_type"] = "IA3";
  expect_error(j, "peft_type");
  j = good;
  j.erase("target_modules");
  expect_error(j, "target_modules");
  j = good;
  j["target_modules"] = {"q_proj", "lm_head"};
  expect_error(j, "lm_head");
  j = good;
  j["target_modules"] = {"q_proj"};  // the file holds more tensors than the config names
  expect_error(j, "unexpected tensor");
  atomic_write(cfgp, "{not json");
  EXPECT_THROW(Lora::load(d, f.m.cfg), Error);
  // a model of another shape
  atomic_write(cfgp, good.dump(2));
  Model other(ModelConfig::tiny(Arch::Llama, 64, 48, 2, 4, 2, 64, 64));
  EXPECT_THROW(Lora::load(d, other.cfg), Error);
  EXPECT_THROW(Lora::load(d + "/missing", f.m.cfg), Error);
}

TEST(LoraConfigCheck, RejectsWhatItCannotDo) {
  LoraConfig c;
  c.r = 8;
  c.dropout = 0.1f;
  EXPECT_THROW(c.check("sft"), Error);
  c.dropout = 0;
  c.init = "pissa";
  EXPECT_THROW(c.check("sft"), Error);
  c.init = "gaussian";
  c.targets = {"qkv"};
  EXPECT_THROW(c.check("sft"), Error);
  c.targets = {"q_proj", "v", "all-linear"};
  EXPECT_EQ(c.target_list().size(), 7u);
  c.targets = {"v", "q"};
  ASSERT_EQ(c.target_list().size(), 2u);
  EXPECT_EQ(c.target_list()[0], LoraTarget::Q);
  // a fresh adapter is the base model exactly (B = 0), for either init
  Model m(ModelConfig::tiny(Arch::Llama, 64, 48, 2, 4, 2, 64, 64));
  m.init_random(1);
  Model base(m.cfg);
  std::copy(m.params_mem.begin(), m.params_mem.end(), base.params_mem.begin());
  for (const char* init : {"default", "gaussian"}) {
    c.init = init;
    Lora l(c, m.cfg);
    l.init(3);
    double asum = 0;
    for (const LoraSite& s : l.sites)
      for (size_t i = 0; i < (size_t)c.r * s.in; i++) asum += std::fabs(l.params[s.a_off + i]);
    EXPECT_GT(asum, 0);
    Model mm(m.cfg);
    std::copy(m.params_mem.begin(), m.params_mem.end(), mm.params_mem.begin());
    mm.attach_lora(std::move(l));
    std::vector<int> ids = {1, 2, 3, 4, 5}, tg = {2, 3, 4, 5, 6};
    mm.forward(ids.data(), tg.data(), 1, 5);
    base.forward(ids.data(), tg.data(), 1, 5);
    for (int i = 0; i < 5; i++) EXPECT_EQ(mm.act().lp[i], base.act().lp[i]);
  }
}

// The command line: r1 merge-lora writes a full checkpoint equal to base + adapter; export-gguf takes it;
// r1 logprobs --adapter gives the adapter's log-probs.
TEST(LoraCli, MergeLoraExportGgufAndLogprobsWithAdapter) {
  ASSERT_TRUE(file_exists(r1_binary())) << "the r1 binary is needed: " << r1_binary();
  LoraFixture f("qwen2");
  const std::string d = tmpdir("cli"), base = fixture("model_qwen2");
  f.m.lora().save(d + "/adapter", base);
  auto run = [&](const std::vector<std::string>& args) {
    pid_t pid = spawn_r1(args, d + "/log.txt");
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run({"merge-lora", "--model", base, "--adapter", d + "/adapter", "--output", d + "/merged"}), 0)
      << read_file(d + "/log.txt");
  Model merged = Model::load(d + "/merged");
  f.m.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  std::vector<float> want = f.lp();
  merged.forward(f.ids.data(), f.targets.data(), f.B, f.T);
  for (size_t i = 0; i < want.size(); i++) {
    if (f.targets[i] >= 0) {
      EXPECT_NEAR(merged.act().lp[i], want[i], 1e-5) << i;
    }
  }
  ASSERT_EQ(run({"export-gguf", "--model", d + "/merged", "--output", d + "/merged.gguf"}), 0) << read_file(d + "/log.txt");
  EXPECT_TRUE(file_exists(d + "/merged.gguf"));
  // logprobs of ids[0..T) in row 0 with the adapter, against the merged model
  std::string ids;
  for (int t = 0; t < f.T; t++) ids += std::to_string(f.ids[t]) + " ";
  const std::string out = d + "/lp.json";
  for (const std::string which : {"adapter", "merged"}) {
    std::vector<std::string> args = {"logprobs", "--model", which == "adapter" ? base : d + "/merged", "--ids", ids};
    if (which == "adapter") args.insert(args.end(), {"--adapter", d + "/adapter"});
    pid_t pid = fork();
    if (pid == 0) {
      int fd = ::open((out + "." + which).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      std::vector<char*> av;
      std::string bin = r1_binary();
      av.push_back(const_cast<char*>(bin.c_str()));
      for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
      av.push_back(nullptr);
      execv(bin.c_str(), av.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << which;
  }
  auto a = json::parse(read_file(out + ".adapter"))["logprobs"], m = json::parse(read_file(out + ".merged"))["logprobs"];
  ASSERT_EQ(a.size(), (size_t)f.T - 1);
  for (size_t i = 0; i < a.size(); i++) EXPECT_NEAR(a[i].get<double>(), m[i].get<double>(), 1e-5) << i;
  // a bad adapter is one clear error, exit code 1, naming the file
  atomic_write(d + "/adapter/adapter_config.json", "{\"peft_type\": \"LORA\"}");
  EXPECT_NE(run({"merge-lora", "--model", base, "--adapter", d + "/adapter", "--output", d + "/m2"}), 0);
  EXPECT_NE(read_file(d + "/log.txt").find("adapter_config.json"), std::string::npos);
}

