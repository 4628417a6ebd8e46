// GGUF reader/writer: round trip of every value type and tensor type, byte-level layout checked against
// the spec by hand, each bad input giving one r1::Error naming the file and the problem, and the real
// vocabulary-only GGUF of llama.cpp's gpt-2 tokenizer test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/io.h"
#include "formats/dtype.h"
#include "formats/gguf.h"
#include "test_formats_util.h"

using namespace r1;
using r1test::expect_error;

namespace {

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
  return s;
}
std::string gstr(const std::string& s) { return le(s.size(), 8) + s; }

class GGUFTest : public ::testing::Test {
 protected:
  void SetUp() override { dir = r1test::scratch_dir("gguf"); }
  void TearDown() override { r1test::remove_dir(dir); }
  std::string file(const std::string& n) { return path_join(dir, n); }
  void expect_bad(const std::string& name, const std::string& bytes, std::vector<std::string> parts) {
    const std::string p = file(name);
    r1test::write_bytes(p, bytes);
    parts.push_back(p);
    expect_error([&] { GGUFFile f(p); }, parts);
  }
  std::string dir;
};

}  // namespace

TEST_F(GGUFTest, RoundTripEveryValueAndTensorType) {
  std::vector<float> w32 = {1.0f, -2.5f, 3.0e-8f, 65504.0f, -0.0f, 7.0f};
  std::vector<float> h = {1.0f, 0.333251953125f, -2.0f, 65504.0f};  // exact in f16
  std::vector<float> b = {1.0f, 3.140625f, -2.0f, 1e30f};            // 1e30 rounds in bf16
  std::vector<int8_t> q(34 * 2);  // two Q8_0 blocks: d = 0.5 then d = -2
  q[0] = 0x00; q[1] = 0x38;       // 0.5 in f16
  for (int i = 0; i < 32; ++i) q[2 + i] = int8_t(i - 16);
  q[34] = 0x00; q[35] = char(0xC0);  // -2.0 in f16
  for (int i = 0; i < 32; ++i) q[36 + i] = int8_t(127 - i);

  GGUFWriter w;
  w.set("general.architecture", GGUFValue::string("test"));
  w.set("v.u8", GGUFValue::u8(250));
  w.set("v.i8", GGUFValue::i8(-100));
  w.set("v.u16", GGUFValue::u16(65000));
  w.set("v.i16", GGUFValue::i16(-30000));
  w.set("v.u32", GGUFValue::u32(4000000000u));
  w.set("v.i32", GGUFValue::i32(-2000000000));
  w.set("v.u64", GGUFValue::u64(18000000000000000000ull));
  w.set("v.i64", GGUFValue::i64(-9000000000000000000ll));
  w.set("v.f32", GGUFValue::f32(0.1f));
  w.set("v.f64", GGUFValue::f64(0.1));
  w.set("v.bool", GGUFValue::boolean(true));
  w.set("v.str", GGUFValue::string(std::string("h\xc3\xa9llo\0x", 8)));
  w.set("v.strs", GGUFValue::strings({"a", "", "\xc4\xa0t"}));
  w.set("v.i32s", GGUFValue::array_i64(GGUFType::I32, {1, -2, 3}));
  w.set("v.u8s", GGUFValue::array_i64(GGUFType::U8, {0, 255}));
  w.set("v.bools", GGUFValue::array_i64(GGUFType::BOOL, {1, 0}));
  w.set("v.u64s", GGUFValue::array_u64(GGUFType::U64, {UINT64_MAX, 0}));
  w.set("v.f32s", GGUFValue::array_f64(GGUFType::F32, {0.5, -1.25}));
  w.set("v.f64s", GGUFValue::array_f64(GGUFType::F64, {1e300}));
  w.set("v.empty", GGUFValue::strings({}));
  w.set("v.nested", GGUFValue::arrays(GGUFType::ARRAY, {GGUFValue::array_i64(GGUFType::I16, {7}),
                                                         GGUFValue::strings({"x", "y"})}));
  w.add_tensor_f32("w32", {3, 2}, w32.data());
  w.add_tensor_f32("h16", {4}, h.data(), GGMLType::F16);
  w.add_tensor_f32("b16", {2, 2}, b.data(), GGMLType::BF16);
  w.add_tensor("q8", {64}, GGMLType::Q8_0, q.data());
  w.add_tensor("empty", {0, 3}, GGMLType::F32, nullptr);
  const std::string p = file("rt.gguf");
  w.write(p);

  GGUFFile f(p);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  ASSERT_EQ(f.metadata().size(), 22u);
  EXPECT_EQ(f.metadata()[0].first, "general.architecture");  // file order kept
  EXPECT_EQ(f.get_string("general.architecture"), "test");
  EXPECT_EQ(f.get("v.u8").type(), GGUFType::U8);
  EXPECT_EQ(f.get_u64("v.u8"), 250u);
  EXPECT_EQ(f.get_i64("v.i8"), -100);
  EXPECT_EQ(f.get_u64("v.u16"), 65000u);
  EXPECT_EQ(f.get_i64("v.i16"), -30000);
  EXPECT_EQ(f.get("v.u32").type(), GGUFType::U32);
  EXPECT_EQ(f.get_u64("v.u32"), 4000000000u);
  EXPECT_EQ(f.get_i64("v.u32"), 4000000000ll);  // integer getters accept any integer type that fits
  EXPECT_EQ(f.get_i64("v.i32"), -2000000000);
  EXPECT_EQ(f.get_u64("v.u64"), 18000000000000000000ull);
  EXPECT_EQ(f.get_i64("v.i64"), -9000000000000000000ll);
  EXPECT_EQ(f.get("v.f32").type(), GGUFType::F32);
  EXPECT_EQ(f.get_f64("v.f32"), double(0.1f));
  EXPECT_EQ(f.get_f64("v.f64"), 0.1);
  EXPECT_TRUE(f.get_bool("v.bool"));
  EXPECT_EQ(f.get_string("v.str"), std::string("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(f.get_strings("v.strs"), (std::vector<std::string>{"a", "", "\xc4\xa0t"}));
  EXPECT_EQ(f.get("v.i32s").array_type(), GGUFType::I32);
  EXPECT_EQ(f.get_i64_array("v.i32s"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.get_i64_array("v.u8s"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(f.get("v.bools").array_type(), GGUFType::BOOL);
  EXPECT_EQ(f.get("v.u64s").as_u64_array(), (std::vector<uint64_t>{UINT64_MAX, 0}));
  EXPECT_EQ(f.get_f32_array("v.f32s"), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(f.get("v.f64s").as_f64_array(), std::vector<double>{1e300});
  EXPECT_EQ(f.get("v.empty").size(), 0u);
  const auto& nested = f.get("v.nested").as_arrays();
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested[0].as_i64_array(), std::vector<int64_t>{7});
  EXPECT_EQ(nested[1].as_strings(), (std::vector<std::string>{"x", "y"}));
  // The in-memory image equals the file, and every value read back compares equal to what was set.
  const std::string img = w.serialize();
  EXPECT_EQ(img, read_file(p));
  GGUFFile again = GGUFFile::from_memory(img.data(), img.size(), "<mem>");
  EXPECT_TRUE(*again.find("v.nested") == GGUFValue::arrays(GGUFType::ARRAY, {GGUFValue::array_i64(GGUFType::I16, {7}),
                                                                             GGUFValue::strings({"x", "y"})}));
  EXPECT_TRUE(*again.find("v.f32") == GGUFValue::f32(0.1f));
  EXPECT_FALSE(*again.find("v.f32") == GGUFValue::f64(0.1));

  ASSERT_EQ(f.tensors().size(), 5u);
  const GGUFTensorInfo* t = f.find_tensor("w32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ne, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->type, GGMLType::F32);
  EXPECT_EQ(f.read_f32("w32"), w32);
  EXPECT_EQ(f.find_tensor("h16")->type, GGMLType::F16);
  EXPECT_EQ(f.find_tensor("h16")->nbytes, 8u);
  EXPECT_EQ(f.read_f32("h16"), h);
  EXPECT_EQ(f.find_tensor("b16")->type, GGMLType::BF16);
  std::vector<float> bb = f.read_f32("b16");
  EXPECT_EQ(bb[1], 3.140625f);
  EXPECT_EQ(bb[3], bf16_to_f32(f32_to_bf16(1e30f)));
  EXPECT_EQ(f.find_tensor("q8")->nbytes, 68u);
  std::vector<float> qq = f.read_f32("q8");
  EXPECT_EQ(qq[0], -8.0f);     // 0.5 * -16
  EXPECT_EQ(qq[31], 7.5f);     // 0.5 * 15
  EXPECT_EQ(qq[32], -254.0f);  // -2 * 127
  EXPECT_EQ(qq[63], -192.0f);  // -2 * 96
  EXPECT_EQ(f.find_tensor("empty")->numel(), 0);
  for (const auto& ti : f.tensors()) EXPECT_EQ(ti.offset % 32, 0u) << ti.name;
  EXPECT_EQ(f.data_offset() % 32, 0u);

  // Wrong-type access names the file and key.
  expect_error([&] { f.get_string("v.u8"); }, {p, "'v.u8'", "expected string", "u8"});
  expect_error([&] { f.get_u64("v.i8"); }, {p, "'v.i8'", "negative"});
  expect_error([&] { f.get_strings("v.i32s"); }, {p, "'v.i32s'", "array[i32; 3]"});
  expect_error([&] { f.get_u64("nope"); }, {p, "missing", "'nope'"});
  std::vector<float> dst(5);
  expect_error([&] { f.read_f32_into("w32", dst.data(), 5); }, {p, "'w32'", "6 elements"});
  expect_error([&] { f.read_f32("nope"); }, {p, "'nope'"});
}

// Hand-assembled bytes following the spec's structs, read without the writer's help.
TEST_F(GGUFTest, ReadsHandAssembledFileWithCustomAlignment) {
  std::string s = "GGUF" + le(2, 4) + le(1, 8) + le(2, 8);  // version 2
  s += gstr("general.alignment") + le(4, 4) + le(64, 4);
  s += gstr("x.flag") + le(7, 4) + le(0, 1);
  s += gstr("t") + le(2, 4) + le(2, 8) + le(1, 8) + le(1, 4) + le(0, 8);  // F16 tensor ne=[2,1] at offset 0
  s.append((64 - s.size() % 64) % 64, '\0');
  const size_t data_at = s.size();
  s += le(0x3C00, 2) + le(0xC000, 2);
  const std::string p = file("hand.gguf");
  r1test::write_bytes(p, s);
  GGUFFile f(p);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset(), data_at);
  EXPECT_FALSE(f.get_bool("x.flag"));
  EXPECT_EQ(f.read_f32("t"), (std::vector<float>{1.0f, -2.0f}));

  // The writer produces the same layout: header fields, padding, data.
  GGUFWriter w;
  w.set("general.alignment", GGUFValue::u32(64));
  w.set("x.flag", GGUFValue::boolean(false));
  const uint16_t hv[2] = {0x3C00, 0xC000};
  w.add_tensor("t", {2, 1}, GGMLType::F16, hv);
  std::string img = w.serialize();
  std::string want = s;
  want.replace(4, 4, le(3, 4));            // the writer writes version 3
  want.append(64 - 4, '\0');               // and pads the last tensor to the alignment
  EXPECT_EQ(img, want);
}

TEST_F(GGUFTest, BadInputs) {
  const std::string head = "GGUF" + le(3, 4);
  const std::string kv1 = gstr("a.b") + le(4, 4) + le(5, 4);
  // Sanity: a minimal valid file.
  r1test::write_bytes(file("ok.gguf"), head + le(0, 8) + le(1, 8) + kv1);
  EXPECT_EQ(GGUFFile(file("ok.gguf")).get_u64("a.b"), 5u);

  expect_bad("magic.gguf", "GGUX" + le(3, 4) + le(0, 8) + le(0, 8), {"bad magic"});
  expect_bad("empty.gguf", "", {"bad magic"});
  expect_bad("version.gguf", "GGUF" + le(1, 4) + le(0, 8) + le(0, 8), {"version", "1", "expected 2 or 3"});
  expect_bad("bigendian.gguf", "GGUF" + le(0x03000000, 4) + le(0, 8) + le(0, 8), {"big-endian"});
  expect_bad("trunc_header.gguf", head + le(0, 4), {"tensor_count", "truncated"});
  expect_bad("trunc_kv.gguf", head + le(0, 8) + le(1, 8) + kv1.substr(0, kv1.size() - 2), {"'a.b'", "truncated"});
  expect_bad("kvcount.gguf", head + le(0, 8) + le(1000000, 8) + kv1, {"metadata_kv_count", "1000000"});
  expect_bad("tcount.gguf", head + le(1ull << 40, 8) + le(0, 8), {"tensor_count"});
  expect_bad("strlen.gguf", head + le(0, 8) + le(1, 8) + le(1000, 8) + "abc", {"metadata key #0", "string length 1000",
                                                                               "past end"});
  expect_bad("valstrlen.gguf", head + le(0, 8) + le(1, 8) + gstr("k") + le(8, 4) + le(~0ull, 8) + "x",
             {"'k'", "string length", "past end"});
  expect_bad("valtype.gguf", head + le(0, 8) + le(1, 8) + gstr("k") + le(13, 4) + le(0, 8), {"'k'", "unknown value type 13"});
  expect_bad("arrtype.gguf", head + le(0, 8) + le(1, 8) + gstr("k") + le(9, 4) + le(99, 4) + le(0, 8),
             {"'k'", "array element", "unknown value type 99"});
  expect_bad("arrlen.gguf", head + le(0, 8) + le(1, 8) + gstr("k") + le(9, 4) + le(5, 4) + le(1ull << 60, 8),
             {"'k'", "array of", "past end"});
  expect_bad("bool.gguf", head + le(0, 8) + le(1, 8) + gstr("k") + le(7, 4) + le(2, 1), {"'k'", "bool value 2"});
  expect_bad("dupkey.gguf", head + le(0, 8) + le(2, 8) + kv1 + kv1, {"duplicate metadata key 'a.b'"});
  expect_bad("align.gguf", head + le(0, 8) + le(1, 8) + gstr("general.alignment") + le(4, 4) + le(12, 4),
             {"general.alignment", "12"});
  expect_bad("aligntype.gguf", head + le(0, 8) + le(1, 8) + gstr("general.alignment") + le(8, 4) + gstr("32"),
             {"general.alignment", "u32"});

  auto tensor = [](const std::string& name, uint32_t type, uint64_t ne0, uint64_t off) {
    return gstr(name) + le(1, 4) + le(ne0, 8) + le(type, 4) + le(off, 8);
  };
  auto one_tensor_file = [&](const std::string& info, size_t data_bytes) {
    std::string s = head + le(1, 8) + le(0, 8) + info;
    s.append((32 - s.size() % 32) % 32, '\0');
    return s + std::string(data_bytes, '\x01');
  };
  r1test::write_bytes(file("t_ok.gguf"), one_tensor_file(tensor("w", 0, 8, 0), 32));
  EXPECT_EQ(GGUFFile(file("t_ok.gguf")).find_tensor("w")->nbytes, 32u);

  expect_bad("t_past.gguf", one_tensor_file(tensor("w", 0, 8, 32), 32), {"'w'", "past end of the data section"});
  expect_bad("t_short.gguf", one_tensor_file(tensor("w", 0, 8, 0), 31), {"'w'", "past end of the data section"});
  expect_bad("t_unaligned.gguf", one_tensor_file(tensor("w", 0, 8, 16), 64), {"'w'", "offset 16", "alignment 32"});
  expect_bad("t_type.gguf", one_tensor_file(tensor("w", 4, 8, 0), 32), {"'w'", "unknown ggml type 4"});
  expect_bad("t_type99.gguf", one_tensor_file(tensor("w", 99, 8, 0), 32), {"'w'", "unknown ggml type 99"});
  expect_bad("t_block.gguf", one_tensor_file(tensor("w", 8, 31, 0), 64), {"'w'", "block size 32"});
  expect_bad("t_name.gguf", one_tensor_file(tensor(std::string(65, 'n'), 0, 8, 0), 32), {"tensor #0 name", "limit"});
  expect_bad("t_dims.gguf", head + le(1, 8) + le(0, 8) + gstr("w") + le(9, 4), {"'w'", "n_dimensions is 9"});
  expect_bad("t_overflow.gguf",
             head + le(1, 8) + le(0, 8) + gstr("w") + le(2, 4) + le(1ull << 40, 8) + le(1ull << 40, 8) + le(0, 4) +
                 le(0, 8),
             {"'w'", "overflow"});
  {
    std::string s = head + le(2, 8) + le(0, 8) + tensor("a", 0, 16, 0) + tensor("b", 0, 8, 32);
    s.append((32 - s.size() % 32) % 32, '\0');
    s += std::string(64, '\0');
    expect_bad("t_overlap.gguf", s, {"'b'", "overlaps tensor 'a'"});
  }
  {
    std::string s = head + le(2, 8) + le(0, 8) + tensor("a", 0, 8, 0) + tensor("a", 0, 8, 32);
    s.append((32 - s.size() % 32) % 32, '\0');
    expect_bad("t_dup.gguf", s + std::string(64, '\0'), {"duplicate tensor name 'a'"});
  }
  // Reading a type read_f32 cannot convert.
  r1test::write_bytes(file("q4.gguf"), one_tensor_file(tensor("w", 2, 32, 0), 32));
  GGUFFile q4(file("q4.gguf"));
  expect_error([&] { q4.read_f32("w"); }, {file("q4.gguf"), "'w'", "Q4_0"});
}

TEST_F(GGUFTest, WriterRejectsBadRequests) {
  float x[4] = {};
  const std::string p = file("w.gguf");
  {
    GGUFWriter w;
    w.add_tensor_f32("a", {4}, x);
    w.add_tensor_f32("a", {4}, x);
    expect_error([&] { w.write(p); }, {p, "duplicate tensor name 'a'"});
  }
  {
    GGUFWriter w;
    w.add_tensor("q", {4}, GGMLType::Q8_0, x);
    expect_error([&] { w.write(p); }, {p, "'q'", "block size"});
  }
  {
    GGUFWriter w;
    w.set("general.alignment", GGUFValue::u32(20));
    expect_error([&] { w.write(p); }, {p, "general.alignment"});
  }
  expect_error([&] { GGUFWriter().add_tensor_f32("a", {4}, x, GGMLType::Q8_0); }, {"'a'", "store_as"});
  expect_error([] { GGUFValue::array_i64(GGUFType::U8, {256}); }, {"256", "u8"});
  EXPECT_FALSE(file_exists(p));
}

TEST(GGUFReal, Gpt2VocabOnly) {
  const std::string p = std::string(R1_SOURCE_DIR) + "/../shared/data/tokenizer/llama_cpp_tests/ggml-vocab-gpt-2.gguf";
  if (!file_exists(p)) GTEST_SKIP() << "shared data absent: " << p;
  GGUFFile f(p);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.tensors().size(), 0u);
  EXPECT_EQ(f.metadata().size(), 16u);
  EXPECT_EQ(f.get_string("general.architecture"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "gpt-2");
  const auto& toks = f.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(toks.size(), 50257u);
  EXPECT_EQ(toks[0], "!");
  EXPECT_EQ(toks[50256], "<|endoftext|>");
  EXPECT_EQ(toks[220], "\xc4\xa0");  // "Ġ", GPT-2's byte-level space
  const auto& merges = f.get_strings("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), 50000u);
  EXPECT_EQ(merges[0], "\xc4\xa0 t");
  EXPECT_EQ(f.get("tokenizer.ggml.token_type").array_type(), GGUFType::I32);
  EXPECT_EQ(f.get_i64_array("tokenizer.ggml.token_type").size(), 50257u);
  EXPECT_EQ(f.get_u64("tokenizer.ggml.bos_token_id"), 50256u);
  EXPECT_EQ(f.get_u64("gpt2.context_length"), 1024u);
  EXPECT_FLOAT_EQ(float(f.get_f64("gpt2.attention.layer_norm_epsilon")), 1e-5f);
}
