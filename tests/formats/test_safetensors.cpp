// safetensors reader/writer: round trips, hand-computed half-precision bytes, every bad-input case
// (each must give one r1::Error naming the file and the field), sharded checkpoints, and the real
// DeepSeek-R1-Distill-Qwen-32B index from shared/refs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/io.h"
#include "formats/safetensors.h"
#include "test_formats_util.h"

using namespace r1;
using r1test::expect_error;
using r1test::write_bytes;

namespace {

// A file image with a hand-written header (padded as given) and raw data bytes.
std::string image(const std::string& header, const std::string& data, int64_t len_override = -1) {
  std::string s(8, '\0');
  uint64_t n = len_override >= 0 ? uint64_t(len_override) : header.size();
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xff);
  return s + header + data;
}

class SafeTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir = r1test::scratch_dir("st"); }
  void TearDown() override { r1test::remove_dir(dir); }
  std::string file(const std::string& name) { return path_join(dir, name); }
  // Writes `bytes` to a file and expects loading it to fail naming the file and each of `parts`.
  void expect_bad(const std::string& name, const std::string& bytes, std::vector<std::string> parts) {
    const std::string p = file(name);
    write_bytes(p, bytes);
    parts.push_back(p);
    expect_error([&] { SafeTensorsFile f(p); }, parts);
  }
  std::string dir;
};

}  // namespace

TEST_F(SafeTensorsTest, RoundTripF32BitExact) {
  std::vector<float> a = {1.0f, -0.0f, 3.14159274f, std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::infinity(), std::nanf("0x123"), 1e-30f};
  std::vector<int64_t> ids = {-1, 0, 1LL << 50};
  std::vector<uint8_t> mask = {1, 0, 1, 1};
  std::vector<float> empty;
  const std::string p = file("rt.safetensors");
  write_safetensors(p,
                    {{"w.a", {7}, DType::F32, a.data()},
                     {"ids", {3, 1}, DType::I64, ids.data()},
                     {"mask", {2, 2}, DType::BOOL, mask.data()},
                     {"empty", {0, 5}, DType::F32, empty.data()},
                     {"scalar", {}, DType::F32, a.data() + 2}},
                    DType::F32, {{"format", "pt"}, {"step", "12"}});
  SafeTensorsFile f(p);
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("step"), "12");
  // Written in the given order, so file (offset) order is the same except that the empty tensor shares an offset.
  EXPECT_EQ(f.tensors()[0].name, "w.a");
  const TensorInfo* t = f.find("w.a");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::F32);
  EXPECT_EQ(t->shape, std::vector<int64_t>{7});
  EXPECT_EQ(t->offset, 0u);
  EXPECT_EQ(t->nbytes, 28u);
  std::vector<float> back = f.read_f32("w.a");
  ASSERT_EQ(back.size(), a.size());
  EXPECT_EQ(std::memcmp(back.data(), a.data(), a.size() * 4), 0);  // bit exact, NaN payload included
  EXPECT_EQ(f.read_i64("ids"), ids);
  EXPECT_EQ(f.read_i64("mask"), (std::vector<int64_t>{1, 0, 1, 1}));
  EXPECT_EQ(f.find("empty")->numel(), 0);
  EXPECT_EQ(f.find("empty")->shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(f.find("scalar")->shape.size(), 0u);
  EXPECT_EQ(f.read_f32("scalar"), std::vector<float>{3.14159274f});
  EXPECT_EQ(f.find("nope"), nullptr);
  expect_error([&] { f.read_f32("nope"); }, {p, "nope"});
  std::vector<float> dst(6);
  expect_error([&] { f.read_f32_into("w.a", dst.data(), 6); }, {p, "w.a", "7 elements", "expected 6"});
  expect_error([&] { f.read_i64("w.a"); }, {p, "w.a", "F32"});

  // Header length is a multiple of 8 and padded with spaces, so data starts 8-byte aligned.
  std::string raw = read_file(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(raw[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw[8], '{');
  EXPECT_EQ(raw.size(), 8 + n + 28 + 24 + 4 + 0 + 4);
}

// Hand-computed bytes: 1.0 -> 3F80 (bf16) / 3C00 (f16); ties go to even; NaN stays NaN; Inf; f16 subnormal.
TEST_F(SafeTensorsTest, HalfPrecisionBytes) {
  auto u2f = [](uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; };
  std::vector<float> v = {1.0f, u2f(0x3F808000), u2f(0x3F818000), std::nanf(""),
                          -std::numeric_limits<float>::infinity(), std::ldexp(1.0f, -24), std::ldexp(3.0f, -25),
                          65520.0f};
  const std::vector<uint16_t> want_bf16 = {0x3F80, 0x3F80, 0x3F82, 0x7FC0, 0xFF80, 0x3380, 0x33C0, 0x4780};
  const std::vector<uint16_t> want_f16 = {0x3C00, 0x3C04, 0x3C0C, 0x7E00, 0xFC00, 0x0001, 0x0002, 0x7C00};
  // (bf16 ties: 0x3F808000 -> even 3F80, 0x3F818000 -> up to even 3F82; both are exact in f16. 3*2^-25 is an
  // f16 subnormal tie -> even 0x0002; 65520 is the f16 overflow tie -> Inf, and rounds up to 65536 in bf16.)
  std::vector<int32_t> ints = {7, -9};
  for (DType dt : {DType::BF16, DType::F16}) {
    const std::string p = file(std::string("h_") + dtype_name(dt) + ".safetensors");
    write_safetensors(p, {{"x", {2, 4}, DType::F32, v.data()}, {"i", {2}, DType::I32, ints.data()}}, dt);
    SafeTensorsFile f(p);
    const TensorInfo* t = f.find("x");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, dt);
    EXPECT_EQ(t->nbytes, 16u);
    EXPECT_EQ(f.find("i")->dtype, DType::I32);  // non-float tensors are stored as they are
    EXPECT_EQ(f.read_i64("i"), (std::vector<int64_t>{7, -9}));
    std::vector<uint16_t> got(8);
    std::memcpy(got.data(), f.data(*t), 16);
    EXPECT_EQ(got, dt == DType::BF16 ? want_bf16 : want_f16);
    std::vector<float> back(8);
    f.read_f32_into("x", back.data(), 8);
    EXPECT_EQ(back[0], 1.0f);
    EXPECT_TRUE(std::isnan(back[3]));
    EXPECT_EQ(back[4], -std::numeric_limits<float>::infinity());
    if (dt == DType::F16) {
      EXPECT_EQ(back[5], std::ldexp(1.0f, -24));
      EXPECT_TRUE(std::isinf(back[7]));
    } else {
      EXPECT_EQ(back[7], 65536.0f);
    }
  }
}

TEST_F(SafeTensorsTest, ReadsHandWrittenFileWithPaddingAndAnyOrder) {
  // Header keys in a different order from the data; trailing space padding; metadata.
  std::string h = R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
                  R"("__metadata__":{"format":"pt"},"a":{"dtype":"I16","shape":[2,2],"data_offsets":[0,8]}}   )";
  std::string data = std::string("\x01\x00\xff\xff\x02\x00\x00\x80", 8) + std::string("\x80\x3f\x00\xc0", 4);
  const std::string p = file("hand.safetensors");
  write_bytes(p, image(h, data));
  SafeTensorsFile f(p);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // file order = data order
  EXPECT_EQ(f.read_i64("a"), (std::vector<int64_t>{1, -1, 2, -32768}));
  EXPECT_EQ(f.read_f32("b"), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(f.read_f32("a"), (std::vector<float>{1.0f, -1.0f, 2.0f, -32768.0f}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST_F(SafeTensorsTest, BadInputs) {
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string d8(8, '\0');
  // Sanity: the base case loads.
  write_bytes(file("good.safetensors"), image(ok, d8));
  EXPECT_NO_THROW(SafeTensorsFile(file("good.safetensors")));

  expect_bad("empty.safetensors", "", {"truncated", "header length"});
  expect_bad("trunc.safetensors", std::string("\x10\x00\x00", 3), {"truncated"});
  expect_bad("hlen.safetensors", image(ok, d8, 1000), {"header length 1000", "past end of file"});
  expect_bad("hlen_huge.safetensors", image(ok, d8, int64_t(1) << 62), {"header length", "past end"});
  expect_bad("truncdata.safetensors", image(ok, d8.substr(0, 5)), {"'t'", "data_offsets", "past end"});
  expect_bad("notjson.safetensors", image("{not json", d8), {"header", "not valid JSON"});
  expect_bad("notbrace.safetensors", image(" [1,2]  ", d8), {"header", "'{'"});
  expect_bad("array.safetensors", image("{}]", ""), {"header", "not valid JSON"});
  expect_bad("dtype.safetensors", image(R"({"t":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", d8),
             {"'t'", "dtype", "F8_E4M3"});
  expect_bad("dtypetype.safetensors", image(R"({"t":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", d8),
             {"'t'", "dtype", "string"});
  expect_bad("nodtype.safetensors", image(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", d8), {"'t'", "dtype"});
  expect_bad("noshape.safetensors", image(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", d8), {"'t'", "shape"});
  expect_bad("negshape.safetensors", image(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8),
             {"'t'", "shape", "negative"});
  expect_bad("fshape.safetensors", image(R"({"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d8),
             {"'t'", "shape", "integers"});
  expect_bad("overflow.safetensors",
             image(R"({"t":{"dtype":"F32","shape":[281474976710656,281474976710656],"data_offsets":[0,8]}})", d8),
             {"'t'", "shape", "overflow"});
  expect_bad("nbytes.safetensors", image(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8),
             {"'t'", "data_offsets", "spans 8 bytes", "[3]", "needs 12"});
  expect_bad("offs.safetensors", image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8),
             {"'t'", "data_offsets"});
  expect_bad("offsneg.safetensors", image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", d8),
             {"'t'", "data_offsets"});
  expect_bad("backwards.safetensors", image(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", d8),
             {"'t'", "data_offsets", "begin is after end"});
  expect_bad("past.safetensors", image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", d8),
             {"'t'", "data_offsets", "past end of data section"});
  expect_bad("overlap.safetensors",
             image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
             {"'b'", "data_offsets", "overlaps tensor 'a'"});
  expect_bad("hole.safetensors", image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
             {"'t'", "data_offsets", "hole"});
  expect_bad("trailing.safetensors", image(ok, d8 + "xxxx"), {"data section", "trailing"});
  expect_bad("dup.safetensors",
             image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8),
             {"duplicate key 't'"});
  expect_bad("dupfield.safetensors",
             image(R"({"t":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", d8),
             {"duplicate key 'dtype'"});
  expect_bad("extra.safetensors",
             image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", d8), {"'t'", "unknown field 'x'"});
  expect_bad("meta.safetensors", image(R"({"__metadata__":{"a":1}})", ""), {"__metadata__", "'a'", "string"});
  expect_bad("entry.safetensors", image(R"({"t":[1,2]})", ""), {"'t'", "object"});
}

TEST_F(SafeTensorsTest, FromMemoryMatchesFile) {
  const std::string h = R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  float one = 1.0f;
  std::string bytes = image(h, std::string(reinterpret_cast<const char*>(&one), 4));
  SafeTensorsFile f = SafeTensorsFile::from_memory(bytes.data(), bytes.size(), "<mem>");
  bytes.assign(bytes.size(), 'x');  // the object keeps its own copy
  EXPECT_EQ(f.read_f32("t"), std::vector<float>{1.0f});
  expect_error([] { SafeTensorsFile::from_memory("abc", 3, "<mem>"); }, {"<mem>", "truncated"});
}

TEST_F(SafeTensorsTest, WriterRejectsBadRequests) {
  float x = 1;
  const std::string p = file("w.safetensors");
  expect_error([&] { write_safetensors(p, {{"a", {1}, DType::F32, &x}, {"a", {1}, DType::F32, &x}}); },
               {p, "duplicate", "'a'"});
  expect_error([&] { write_safetensors(p, {{"a", {-1}, DType::F32, &x}}); }, {p, "'a'", "negative"});
  expect_error([&] { write_safetensors(p, {{"a", {1}, DType::F32, &x}}, DType::I8); }, {p, "float_dtype"});
  EXPECT_FALSE(file_exists(p));
}

// ---------------- checkpoint folders ----------------

TEST_F(SafeTensorsTest, ShardedCheckpoint) {
  std::vector<float> a = {1, 2, 3, 4}, b = {5, 6};
  make_dirs(file("ck"));
  write_safetensors(file("ck/model-00001-of-00002.safetensors"), {{"a", {2, 2}, DType::F32, a.data()}}, DType::BF16);
  write_safetensors(file("ck/model-00002-of-00002.safetensors"),
                    {{"b", {2}, DType::F32, b.data()}, {"extra", {1}, DType::F32, b.data()}});
  write_bytes(file("ck/model.safetensors.index.json"),
              R"({"metadata":{"total_size":16},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
              R"("b":"model-00002-of-00002.safetensors"}})");
  SafeTensorsCheckpoint ck(file("ck"));
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "extra"}));
  ASSERT_NE(ck.find("a"), nullptr);
  EXPECT_EQ(ck.find("a")->dtype, DType::BF16);
  EXPECT_EQ(ck.find("zzz"), nullptr);
  std::vector<float> got(4);
  ck.read_f32_into("a", got.data(), 4);
  EXPECT_EQ(got, a);
  EXPECT_EQ(ck.read_f32("b"), b);
  EXPECT_EQ(ck.file_of("b"), file("ck/model-00002-of-00002.safetensors"));
  expect_error([&] { ck.read_f32_into("a", got.data(), 3); }, {"model-00001-of-00002.safetensors", "'a'"});

  // Single-file folder, and a direct file path.
  make_dirs(file("single"));
  write_safetensors(file("single/model.safetensors"), {{"b", {2}, DType::F32, b.data()}});
  EXPECT_EQ(SafeTensorsCheckpoint(file("single")).names(), std::vector<std::string>{"b"});
  EXPECT_EQ(SafeTensorsCheckpoint(file("single/model.safetensors")).read_f32("b"), b);
}

TEST_F(SafeTensorsTest, ShardedCheckpointErrors) {
  std::vector<float> a = {1, 2};
  make_dirs(file("ck"));
  write_safetensors(file("ck/s1.safetensors"), {{"a", {2}, DType::F32, a.data()}});
  write_safetensors(file("ck/s2.safetensors"), {{"a", {2}, DType::F32, a.data()}});
  const std::string idx = file("ck/model.safetensors.index.json");

  write_bytes(idx, R"({"weight_map":{"a":"s1.safetensors","b":"missing.safetensors"}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "weight_map", "'b'", "missing.safetensors"});

  write_bytes(idx, R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "weight_map", "'b'", "s1.safetensors", "no such"});

  write_bytes(idx, R"({"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {"'a'", "two shards", "s1.safetensors", "s2.safetensors"});

  write_bytes(idx, R"({"metadata":{}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "weight_map"});
  write_bytes(idx, R"({"weight_map":{"a":3}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "weight_map", "'a'"});
  write_bytes(idx, R"({"weight_map":{"a":"../s1.safetensors"}})");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "weight_map", "'a'", "inside"});
  write_bytes(idx, R"({"weight_map":)");
  expect_error([&] { SafeTensorsCheckpoint c(file("ck")); }, {idx, "not valid JSON"});

  make_dirs(file("emptydir"));
  expect_error([&] { SafeTensorsCheckpoint c(file("emptydir")); }, {file("emptydir"), "model.safetensors"});
  expect_error([&] { SafeTensorsCheckpoint c(file("nonexistent")); }, {file("nonexistent"), "does not exist"});
}

TEST(SafeTensorsIndex, RealDeepSeekDistillIndex) {
  const std::string p = std::string(R1_SOURCE_DIR) +
                        "/../shared/refs/formats/DeepSeek-R1-Distill-Qwen-32B.model.safetensors.index.json";
  if (!file_exists(p)) GTEST_SKIP() << "shared data absent: " << p;
  auto wm = SafeTensorsCheckpoint::read_index(p);
  // Qwen2-32B: 64 layers x (q,k,v weight+bias, o, 3 MLP, 2 norms = 12) + embed + norm + lm_head = 771.
  EXPECT_EQ(wm.size(), 771u);
  EXPECT_EQ(wm.at("model.embed_tokens.weight"), "model-00001-of-000008.safetensors");
  EXPECT_TRUE(wm.count("lm_head.weight"));
  EXPECT_TRUE(wm.count("model.layers.63.mlp.down_proj.weight"));
  std::set<std::string> shards;
  for (const auto& kv : wm) shards.insert(kv.second);
  EXPECT_EQ(shards.size(), 8u);
}
