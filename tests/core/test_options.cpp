// Options declared once (core/options.h): recipes, command-line arguments in both spellings, aliases, and one
// clear error with a suggestion for an unknown field.
#include "core/check.h"
#include "core/options.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

using namespace r1;

namespace {
struct Recipe {
  std::string model;
  int k = 8;
  float temperature = 1.0f;
  float top_p = 1.0f;
  bool greedy = true, save_text = true;
  std::vector<std::string> task = {"arithmetic"};
  std::vector<int> pass_k = {1};
  long group_size = 8;
  void declare(OptionSet& o) {
    o.add("model", &model, "model folder");
    o.add("k", &k, "samples");
    o.alias("samples", "k");
    o.add("sampling.temperature", &temperature, "T");
    o.add("sampling.top_p", &top_p, "top-p");
    o.add("sampling.group_size", &group_size, "G");
    o.add("greedy", &greedy, "greedy pass");
    o.add("save_text", &save_text, "keep texts");
    o.alias("text", "save_text");
    o.add("task", &task, "tasks");
    o.add("pass_k", &pass_k, "pass@k");
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Options, CommandLineFlagsAndOverridesInOrder) {
  Recipe r;
  OptionSet o;
  r.declare(o);
  o.apply_args({"--model", "m1", "model=m2", "-k", "3", "--temperature", "0.6", "--sampling.top-p=0.9",
                "--no-greedy", "--no-text", "--task", "gsm8k", "--task", "math500", "--pass-k", "1,2"});
  EXPECT_EQ(r.model, "m2");  // later arguments win
  EXPECT_EQ(r.k, 3);
  EXPECT_FLOAT_EQ(r.temperature, 0.6f);  // by its last part: no other key ends in temperature
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_FALSE(r.greedy);
  EXPECT_FALSE(r.save_text);  // through the alias "text"
  EXPECT_EQ(r.task, (std::vector<std::string>{"gsm8k", "math500"}));  // a list flag given twice collects both
  EXPECT_EQ(r.pass_k, (std::vector<int>{1, 2}));
  o.apply_args({"--greedy", "--samples", "5", "--save-text", "false"});
  EXPECT_TRUE(r.greedy);
  EXPECT_EQ(r.k, 5);
  EXPECT_FALSE(r.save_text);
  EXPECT_EQ(o.to_json()["pass_k"], (nlohmann::json{1, 2}));
  EXPECT_NE(o.help_text().find("k (also samples)"), std::string::npos) << o.help_text();
}

TEST(Options, UnknownFieldSuggestsTheNearest) {
  Recipe r;
  OptionSet o;
  r.declare(o);
  EXPECT_EQ(o.suggest("temperature"), "sampling.temperature");  // the same field under its prefix
  EXPECT_EQ(o.suggest("sampling.group_sise"), "sampling.group_size");
  EXPECT_EQ(o.suggest("modle"), "model");
  EXPECT_EQ(o.suggest("completely_unrelated"), "");
  std::string e = error_of([&] { o.set("sampling.group_sise", "4", "recipe.yaml"); });
  EXPECT_NE(e.find("recipe.yaml: unknown field 'sampling.group_sise'; did you mean sampling.group_size?"),
            std::string::npos) << e;
  e = error_of([&] { o.apply_args({"--tempreature", "0.5"}); });
  EXPECT_NE(e.find("unknown option '--tempreature'; did you mean --sampling.temperature?"), std::string::npos) << e;
  e = error_of([&] { o.apply_args({"--k"}); });
  EXPECT_NE(e.find("expects a value"), std::string::npos) << e;
  e = error_of([&] { o.apply_args({"k=x"}); });
  EXPECT_NE(e.find("field 'k' expects an integer"), std::string::npos) << e;
  e = error_of([&] { o.apply_args({"--pass-k", "1,two"}); });
  EXPECT_NE(e.find("expects a list of integers"), std::string::npos) << e;
  e = error_of([&] { o.alias("k", "model"); });
  EXPECT_NE(e.find("already a key"), std::string::npos) << e;
}

TEST(Options, AmbiguousLastPartNamesBothKeys) {
  float a = 0, b = 0;
  OptionSet o;
  o.add("x.lr", &a, "");
  o.add("y.lr", &b, "");
  std::string e = error_of([&] { o.apply_args({"--lr", "1"}); });
  EXPECT_NE(e.find("could be x.lr or y.lr"), std::string::npos) << e;
  o.apply_args({"--y.lr", "2"});
  EXPECT_EQ(b, 2.f);
}
