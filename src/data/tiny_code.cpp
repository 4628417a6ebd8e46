#include "data/tiny_code.h"

#include "core/check.h"
#include "core/io.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace r1 {

namespace {

const std::vector<std::string>& all_kinds() {
  static const std::vector<std::string> k = TinyCodeConfig{}.kinds;
  return k;
}

std::string join(const std::vector<int>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

const char* kWords[] = {"cat", "dog", "sun", "hat", "red", "box", "yes", "map"};

// Constant problems: one test with empty input. The list kinds write the question's list into the program as it
// stands: a contiguous copy after the same "[", what a tiny transformer learns first.
void constant_problem(Rng& r, int M, TinyCodeProblem& p) {
  auto num = [&] { return (int)r.below((uint64_t)M + 1); };
  const std::string& k = p.kind;
  std::string out;
  if (k == "list") {
    std::vector<int> v(2 + r.below(4));
    for (int& x : v) x = num();
    const std::string list = "[" + join(v, ", ") + "]";
    p.question += "prints the list " + list + ".";
    p.program = "print(" + list + ")";
    p.near_miss = "print(" + list.substr(0, list.rfind(", ")) + "])";  // drops the last
    out = list;
  } else if (k == "sum" || k == "largest" || k == "smallest" || k == "product") {
    std::vector<int> v(2 + r.below(k == "product" ? 2 : 3));
    for (int& x : v) x = num();
    const std::string list = "[" + join(v, ", ") + "]";
    p.question += "prints the " + k + " of the list " + list + ".";
    long val = k == "sum" || k == "product" ? (k == "sum" ? 0 : 1) : v[0];
    for (int x : v)
      val = k == "sum" ? val + x : k == "product" ? val * x : k == "largest" ? std::max<long>(val, x) : std::min<long>(val, x);
    out = std::to_string(val);
    if (k == "sum") {
      p.program = "print(sum(" + list + "))";
      p.near_miss = "print(sum([" + join(std::vector<int>(v.begin(), v.end() - 1), ", ") + "]))";  // drops the last
    } else if (k == "product") {
      p.program = "import math\nprint(math.prod(" + list + "))";
      p.near_miss = "print(math.prod(" + list + "))";  // forgets the import: a NameError
    } else {
      const bool mx = k == "largest";
      p.program = std::string("print(") + (mx ? "max(" : "min(") + list + "))";
      p.near_miss = std::string("print(") + (mx ? "min(" : "max(") + list + "))";
    }
  } else if (k == "count") {
    int a = (int)r.below((uint64_t)M), b = a + 1 + (int)r.below((uint64_t)(M - a));
    p.question += "prints the numbers from " + std::to_string(a) + " to " + std::to_string(b) + ".";
    p.program = "for i in range(" + std::to_string(a) + ", " + std::to_string(b) + " + 1):\n    print(i)";
    p.near_miss = "for i in range(" + std::to_string(a) + ", " + std::to_string(b) + "):\n    print(i)";
    std::vector<int> v;
    for (int i = a; i <= b; ++i) v.push_back(i);
    out = join(v, "\n");
    p.answer = join(v, ", ");
  } else {  // repeat
    std::string w = kWords[r.below(sizeof kWords / sizeof *kWords)];
    int t = 2 + (int)r.below((uint64_t)M - 1);
    p.question += "prints the word '" + w + "' " + std::to_string(t) + " times.";
    p.program = "for i in range(" + std::to_string(t) + "):\n    print('" + w + "')";
    p.near_miss = "print('" + w + "')";
    for (int i = 0; i < t; ++i) out += (i ? "\n" : "") + w;
    p.answer = w;
    for (int i = 1; i < t; ++i) p.answer += " " + w;
  }
  if (p.answer.empty()) p.answer = out;
  p.tests = {{"", out + "\n"}};
}

// The worded kinds: no number in the question, the program is set by its words (one of four phrasings).
struct WordedOp {
  const char* phrase;
  const char* expr;
  const char* near;  // the near miss's expression
};
const WordedOp kOne[] = {{"its double", "n * 2", "n + 2"},          {"its square", "n * n", "n * 2"},
                         {"its negative", "-n", "n"},               {"the next number", "n + 1", "n - 1"},
                         {"the previous number", "n - 1", "n + 1"}};
const WordedOp kPair[] = {{"their sum", "a + b", "a"},           {"their difference", "a - b", "b - a"},
                          {"their product", "a * b", "a + b"},   {"the larger", "max(a, b)", "a"},
                          {"the smaller", "min(a, b)", "b"}};
const WordedOp kMany[] = {{"their sum", "sum(nums)", "nums[0]"},       {"the largest", "max(nums)", "min(nums)"},
                          {"the smallest", "min(nums)", "max(nums)"}, {"how many there are", "len(nums)", "sum(nums)"}};
const char* kPhrasings[] = {"Write a program that reads %s and prints %s.", "Read %s and print %s.",
                            "Given %s on one line, print %s.", "Input: %s. Output: %s."};

long worded_value(const std::string& kind, int op, const std::vector<long>& x) {
  if (kind == "one") {
    const long n = x[0];
    return op == 0 ? n * 2 : op == 1 ? n * n : op == 2 ? -n : op == 3 ? n + 1 : n - 1;
  }
  if (kind == "pair") {
    const long a = x[0], b = x[1];
    return op == 0 ? a + b : op == 1 ? a - b : op == 2 ? a * b : op == 3 ? std::max(a, b) : std::min(a, b);
  }
  long s = 0, mx = x[0], mn = x[0];
  for (long v : x) s += v, mx = std::max(mx, v), mn = std::min(mn, v);
  return op == 0 ? s : op == 1 ? mx : op == 2 ? mn : (long)x.size();
}

void worded_problem(Rng& r, const TinyCodeConfig& c, TinyCodeProblem& p) {
  const std::string& k = p.kind;
  const WordedOp* ops = k == "one" ? kOne : k == "pair" ? kPair : kMany;
  const int n_ops = k == "many" ? 4 : 5;
  const int op = (int)r.below((uint64_t)n_ops);
  const char* input = k == "one" ? "a number" : k == "pair" ? "two numbers" : "a list of numbers";
  const char* read = k == "one"    ? "n = int(input())"
                     : k == "pair" ? "a, b = map(int, input().split())"
                                   : "nums = list(map(int, input().split()))";
  char q[160];
  std::snprintf(q, sizeof q, kPhrasings[r.below(4)], input, ops[op].phrase);
  p.question = q;
  p.program = std::string(read) + "\nprint(" + ops[op].expr + ")";
  p.near_miss = std::string(read) + "\nprint(" + ops[op].near + ")";
  p.answer = ops[op].phrase;
  for (int t = 0; t < c.tests; ++t) {
    std::vector<long> x(k == "one" ? 1 : k == "pair" ? 2 : 2 + r.below(4));
    std::string in;
    for (size_t i = 0; i < x.size(); ++i) x[i] = (long)r.below(100), in += (i ? " " : "") + std::to_string(x[i]);
    p.tests.push_back({in + "\n", std::to_string(worded_value(k, op, x)) + "\n"});
  }
}

// add and times: a number from the question, `tests` tests with inputs in 0..99.
void reading_problem(Rng& r, const TinyCodeConfig& c, TinyCodeProblem& p) {
  const int M = c.max_value;
  const std::string& k = p.kind;
  {
    const bool add = k == "add";
    int K = add ? 1 + (int)r.below((uint64_t)M) : 2 + (int)r.below((uint64_t)M - 1);
    const std::string ks = std::to_string(K);
    p.question += "reads a number and prints it " + std::string(add ? "plus " : "times ") + ks + ".";
    p.program = "n = int(input())\nprint(n " + std::string(add ? "+ " : "* ") + ks + ")";
    p.near_miss = add ? "n = int(input())\nprint(" + ks + ")" : "n = int(input())\nprint(n + " + ks + ")";
    p.answer = "the number " + std::string(add ? "plus " : "times ") + ks;
    for (int t = 0; t < c.tests; ++t) {
      int n = (int)r.below(100);
      p.tests.push_back({std::to_string(n) + "\n", std::to_string(add ? n + K : n * K) + "\n"});
    }
  }
}

std::vector<TinyCodeProblem> draw(const TinyCodeConfig& c, uint64_t seed, long n) {
  Rng r(seed ^ 0xc0de5eedull);
  std::vector<TinyCodeProblem> v;
  while ((long)v.size() < n) v.push_back(random_tiny_code_problem(r, c));
  return v;
}

}  // namespace

TinyCodeConfig tiny_code_config_from_json(const nlohmann::json& j) {
  TinyCodeConfig c;
  R1_CHECK(j.is_null() || j.is_object(), "task config for 'tiny_code' must be a map, got ", j.dump());
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      auto integer = [&, key = k, val = v]() {
        R1_CHECK(val.is_number_integer(), "task config for 'tiny_code': '", key, "' must be an integer");
        return val.get<int>();
      };
      if (k == "n") c.n = integer();
      else if (k == "max_value") c.max_value = integer();
      else if (k == "tests") c.tests = integer();
      else if (k == "kinds") {
        R1_CHECK(v.is_array() && !v.empty(), "task config for 'tiny_code': 'kinds' must be a non-empty list");
        c.kinds.clear();
        for (auto& x : v) {
          R1_CHECK(x.is_string() && std::count(all_kinds().begin(), all_kinds().end(), x.get<std::string>()),
                   "task config for 'tiny_code': unknown kind ", x.dump(), " (expected list, sum, largest, ",
                   "smallest, product, count, repeat, add, times, one, pair, many)");
          c.kinds.push_back(x.get<std::string>());
        }
      } else {
        fail("task config for 'tiny_code': unknown key '", k, "'; expected n, max_value, tests, kinds");
      }
    }
  }
  R1_CHECK(c.n > 0 && c.max_value >= 2 && c.max_value <= 99 && c.tests >= 1 && c.tests <= 100,
           "task config for 'tiny_code': need n > 0, 2 <= max_value <= 99, 1 <= tests <= 100");
  return c;
}

TinyCodeProblem random_tiny_code_problem(Rng& r, const TinyCodeConfig& c) {
  TinyCodeProblem p;
  p.kind = c.kinds[r.below(c.kinds.size())];
  p.question = "Write a program that ";
  if (p.kind == "one" || p.kind == "pair" || p.kind == "many")
    worded_problem(r, c, p);
  else if (p.kind == "add" || p.kind == "times")
    reading_problem(r, c, p);
  else
    constant_problem(r, c.max_value, p);
  return p;
}

std::vector<TinyCodeProblem> tiny_code_split(const TinyCodeConfig& c, const std::string& split, uint64_t seed) {
  R1_CHECK(split == "train" || split == "test", "task 'tiny_code': unknown split '", split,
           "'; expected train or test");
  auto train = draw(c, 1000003ull + seed, c.n);
  if (split == "train") return train;
  std::set<std::string> seen;
  for (auto& p : train) seen.insert(p.question);
  std::vector<TinyCodeProblem> test;
  for (auto& p : draw(c, 2000003ull + seed, 3l * c.n))
    if (!seen.count(p.question) && (long)test.size() < c.n) test.push_back(std::move(p));
  return test;
}

std::string tiny_code_reply(const std::string& program) { return "\n```python\n" + program + "\n```"; }

std::vector<Problem> TinyCodeTask::problems(const std::string& split, uint64_t seed) const {
  std::vector<Problem> out;
  auto ps = tiny_code_split(c_, split, seed);
  for (size_t i = 0; i < ps.size(); ++i) {
    Problem p;
    p.id = split + "-" + std::to_string(i);
    p.prompt = ps[i].question;
    p.gold = ps[i].program;
    nlohmann::json tests = nlohmann::json::array();
    for (auto& t : ps[i].tests) tests.push_back({{"input", t.input}, {"output", t.output}});
    p.meta = {{"kind", ps[i].kind}, {"tests", tests}};
    out.push_back(std::move(p));
  }
  R1_CHECK(!out.empty(), "task 'tiny_code': split '", split, "' has no problems (every question drawn for it is ",
           "in the train split; use more kinds or a larger max_value)");
  return out;
}

void CodeCorpusConfig::declare(OptionSet& o) {
  o.add("out", &out, "folder; the documents are written to <out>/code_corpus.jsonl as {\"text\": ...}");
  o.add("docs", &docs, "documents");
  o.add("seed", &seed, "seed of the corpus draw");
  o.add("data_seed", &data_seed, "the tiny_code task's data_seed: its test questions are kept out of the corpus");
  o.add("task_config", &task_config, "tiny_code task config (n, max_value, tests, kinds)");
  o.add("correct", &correct, "share of documents whose reply is the correct program in a ```python block");
  o.add("near_miss", &near_miss, "share of documents whose reply is the kind's near miss in a ```python block");
  o.add("unfenced", &unfenced, "share of documents whose reply is the correct program without a block (no code to the reward)");
  o.add("repl", &repl, "share of documents that are Python sessions echoing and reducing lists (copying practice)");
}

namespace {

// A Python session with lists echoed and reduced: ">>> [4, 1, 8]\n[4, 1, 8]\n>>> max([4, 1, 8])\n8\n". Dense
// copying of lists, the skill every list kind needs.
std::string repl_doc(Rng& r, int M) {
  std::string d;
  const int n = 2 + (int)r.below(3);
  for (int i = 0; i < n; ++i) {
    std::vector<int> v(2 + r.below(4));
    for (int& x : v) x = (int)r.below((uint64_t)M + 1);
    const std::string list = "[" + join(v, ", ") + "]";
    long s = 0, mx = v[0], mn = v[0];
    for (int x : v) s += x, mx = std::max<long>(mx, x), mn = std::min<long>(mn, x);
    switch (r.below(4)) {
      case 0: d += ">>> " + list + "\n" + list + "\n"; break;
      case 1: d += ">>> sum(" + list + ")\n" + std::to_string(s) + "\n"; break;
      case 2: d += ">>> max(" + list + ")\n" + std::to_string(mx) + "\n"; break;
      default: d += ">>> min(" + list + ")\n" + std::to_string(mn) + "\n"; break;
    }
  }
  return d;
}

}  // namespace

std::vector<std::string> tiny_code_docs(const CodeCorpusConfig& c) {
  const TinyCodeConfig tc = tiny_code_config_from_json(c.task_config);
  for (auto [name, v] : {std::pair{"correct", c.correct}, {"near_miss", c.near_miss}, {"unfenced", c.unfenced},
                         {"repl", c.repl}})
    R1_CHECK(v >= 0 && v <= 1, "code_corpus: field '", name, "' must be in [0, 1], got ", v);
  R1_CHECK(c.correct + c.near_miss + c.unfenced + c.repl <= 1 + 1e-9, "code_corpus: correct + near_miss + unfenced + ",
           "repl add up to more than 1 (prose replies get what is left)");
  R1_CHECK(c.docs > 0, "code_corpus: field 'docs' must be positive");
  std::set<std::string> held_out;
  for (auto& p : tiny_code_split(tc, "test", (uint64_t)c.data_seed)) held_out.insert(p.question);
  Rng r(splitmix64((uint64_t)c.seed * 7919ull + 17));
  std::vector<std::string> docs;
  long misses = 0;
  while ((long)docs.size() < c.docs) {
    const double u = r.uniform();  // the document's kind: shares of the whole corpus
    if (u < c.repl) {
      docs.push_back(repl_doc(r, tc.max_value));
      continue;
    }
    TinyCodeProblem p = random_tiny_code_problem(r, tc);
    while (held_out.count(p.question)) {
      R1_CHECK(++misses < 1000000, "code_corpus: nearly every question drawn is in the test split");
      p = random_tiny_code_problem(r, tc);
    }
    const double v = u - c.repl;
    std::string reply = v < c.correct                              ? tiny_code_reply(p.program)
                        : v < c.correct + c.near_miss              ? tiny_code_reply(p.near_miss)
                        : v < c.correct + c.near_miss + c.unfenced ? "\n" + p.program
                                                                   : "\nThe answer is " + p.answer + ".";
    docs.push_back(p.question + reply);
  }
  return docs;
}

std::string run_code_corpus(const CodeCorpusConfig& c) {
  R1_CHECK(!c.out.empty(), "code_corpus: field 'out' is required");
  auto docs = tiny_code_docs(c);
  make_dirs(c.out);
  std::string text;
  for (const auto& d : docs) text += nlohmann::json{{"text", d}}.dump() + "\n";
  const std::string path = path_join(c.out, "code_corpus.jsonl");
  atomic_write(path, text);
  atomic_write(path_join(c.out, "config.yaml"), effective_config_yaml(c));
  std::fprintf(stderr, "[code_corpus] wrote %zu documents to %s\n", docs.size(), path.c_str());
  return path;
}

StageKind code_corpus_stage() {
  return {"code_corpus",
          "Write the tiny_code pretraining corpus (questions with programs, near misses, bare code and prose replies)",
          "data", "code_corpus.jsonl", "out", {}, StageKind::kProducer,
          recipe_run<CodeCorpusConfig>([](const CodeCorpusConfig& c) { return nlohmann::json{{"data", run_code_corpus(c)}}; })};
}

}  // namespace r1
