// The code reward: correct programs pass, broken ones score 0, hostile ones are blocked by the sandbox with
// reward 0 and leave the host unharmed, and the reward fails closed when bwrap cannot run. The jail's own
// tests are in tests/sandbox/test_sandbox.cpp.
#include "core/check.h"
#include "core/io.h"
#include "rewards/code.h"
#include "sandbox/sandbox.h"

#include "../sandbox/sandbox_procs.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

using namespace r1;

namespace {

Sandbox& box() {
  static Sandbox b(SandboxConfig{});  // parallelism 2
  return b;
}

CodeOptions fast_options() {
  CodeOptions o;
  o.run.cpu_seconds = 1;
  o.run.wall_seconds = 2;
  o.run.memory_bytes = 256ull << 20;
  return o;
}

std::string py(const std::string& src) { return "Here is my solution.\n```python\n" + src + "\n```\n"; }
std::string cpp(const std::string& src) { return "```cpp\n" + src + "\n```"; }

}  // namespace

TEST(Code, ExtractProgram) {
  auto p = extract_program("text ```python\nprint(1)\n``` more ```cpp\nint main(){}\n``` end");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->language, "cpp");  // the last block
  EXPECT_EQ(p->source, "int main(){}\n");
  p = extract_program("```py\na\n```\n```python3\nb\n```", "python");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source, "b\n");
  EXPECT_FALSE(extract_program("```python\nprint(1)\n```", "cpp"));
  EXPECT_FALSE(extract_program("```python\nprint(1)"));  // unclosed
  EXPECT_FALSE(extract_program("```\nprint(1)\n```"));   // no language
  EXPECT_FALSE(extract_program("print(1)"));
  EXPECT_THROW(extract_program("x", "rust"), Error);
}

TEST(Code, OutputNormalisation) {
  EXPECT_TRUE(outputs_match("3\n", "3"));
  EXPECT_TRUE(outputs_match("  1 2  \r\n3\t\n\n", "1 2\n3"));
  EXPECT_FALSE(outputs_match("1  2", "1 2"));  // inner spaces matter
  EXPECT_FALSE(outputs_match("1\n\n2", "1\n2"));
  EXPECT_FALSE(outputs_match("", "0"));
}

TEST(Code, ParseTests) {
  auto t = parse_code_tests(nlohmann::json::parse(R"J({"tests": [{"input": "1 2", "output": "3"}]})J"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].output, "3");
  t = parse_code_tests(nlohmann::json::parse(R"J({"input_output": "{\"inputs\": [\"1\", \"2\"], \"outputs\": [\"a\", \"b\"]}"})J"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].input, "2");
  EXPECT_THROW(parse_code_tests(nlohmann::json::parse(R"J({"inputs": ["1"], "outputs": []})J")), Error);
  EXPECT_THROW(parse_code_tests(nlohmann::json::parse(R"J({"tests": [{"input": "1"}]})J")), Error);
  EXPECT_THROW(parse_code_tests(nlohmann::json::parse(R"J({"input_output": "{bad"})J")), Error);
  EXPECT_THROW(parse_code_tests(nlohmann::json::parse(R"J([1])J")), Error);
}

TEST(Code, CorrectBrokenAndPartialPrograms) {
  const std::vector<CodeTest> sum = {{"1 2\n", "3\n"}, {"5 7", "12"}};
  const std::vector<CodeTest> sum3 = {{"1 2", "3"}, {"2 2", "4"}, {"2 3", "6"}};  // last one expects a*b
  const std::string py_sum = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)";
  std::vector<std::string> comps = {
      py(py_sum),
      cpp("#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<\"\\n\";}"),
      cpp("int main( {"),                                  // compile error
      py(py_sum),                                          // 2 of 3
      py("print(3)\nraise SystemExit(1)"),                 // right output, non-zero exit
      "I would print the sum.",                            // no program
      py("print('wrong')\n```\nthen\n```python\n" + py_sum),  // the last block is the one that runs
      py("import sys\nprint(len(sys.stdin.buffer.read()))"),  // 2 MB of stdin goes through
  };
  std::vector<std::vector<CodeTest>> tests = {sum, sum, sum, sum3, {{"", "3"}}, sum, sum,
                                              {{std::string(2 << 20, 'x'), std::to_string(2 << 20)}}};
  auto v = code_verdicts(box(), comps, tests, fast_options());
  EXPECT_EQ(v[0].reward, 1.0) << v[0].error;
  EXPECT_EQ(v[1].reward, 1.0) << v[1].error;
  EXPECT_EQ(v[2].reward, 0.0);
  EXPECT_NE(v[2].error.find("compile error"), std::string::npos) << v[2].error;
  EXPECT_DOUBLE_EQ(v[3].reward, 2.0 / 3.0);
  EXPECT_EQ(v[3].passed, 2);
  EXPECT_EQ(v[4].reward, 0.0);
  EXPECT_EQ(v[5].reward, 0.0);
  EXPECT_EQ(v[5].error, "no program");
  EXPECT_EQ(v[6].reward, 1.0) << v[6].error;
  EXPECT_EQ(v[7].reward, 1.0) << v[7].error;
  EXPECT_EQ(code_reward(box(), py(py_sum), {}, fast_options()), 0.0);  // no tests -> 0
}

TEST(Code, ProgramsAfterThinking) {
  // Only the answer after the last </think> is searched.
  EXPECT_FALSE(extract_program("<think>```python\nprint(1)\n```</think> I am not sure."));
  auto p = extract_program("<think>```python\nprint(1)\n```</think>```python\nprint(2)\n```");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source, "print(2)\n");
}

TEST(Code, ExtractFunctionProgram) {
  const std::string prompt = "import math\n\ndef area(r):\n    \"\"\"Area of a circle.\"\"\"\n";
  // A base model continues the prompt; the continuation stops at the first top-level def/class/if/print/#.
  auto p = extract_function_program("    return math.pi * r * r\n\n\ndef other():\n    pass\n", prompt, "area");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, prompt + "    return math.pi * r * r\n\n");
  p = extract_function_program("    return 1\nprint(area(2))\n", prompt, "area");
  EXPECT_EQ(*p, prompt + "    return 1");
  // A chat model's block that redefines the function comes after the prompt (which keeps the imports).
  const std::string chat = "Sure.\n```python\ndef area(r):\n    return math.pi * r ** 2\n```\nUsage:\n```python\n"
                           "print(area(1))\n```\n";
  p = extract_function_program(chat, prompt, "area");
  EXPECT_EQ(*p, prompt + "def area(r):\n    return math.pi * r ** 2\n");
  // Without a block that defines it, the last Python or unlabelled block (here a body) continues the prompt.
  p = extract_function_program("```\n    return 0\n```", prompt, "area");
  EXPECT_EQ(*p, prompt + "    return 0\n");
  EXPECT_FALSE(extract_function_program("```cpp\nint main(){}\n```", prompt, "area"));
  // A bare program, from its first import/from/def line.
  p = extract_function_program("Here it is:\nimport math\ndef area(r):\n    return 3\n", "", "area");
  EXPECT_EQ(*p, "import math\ndef area(r):\n    return 3\n");
  // No code: prose, nothing, or only thinking.
  EXPECT_FALSE(extract_function_program("The area is pi r squared.", prompt, "area"));
  EXPECT_FALSE(extract_function_program("  \n", prompt, "area"));
  EXPECT_FALSE(extract_function_program("<think>\n    return 1\n</think>", prompt, "area"));
  EXPECT_TRUE(extract_function_program("<think>hmm</think>\n    return 1\n", prompt, "area"));
}

TEST(Code, TestLayouts) {
  auto t = code_tests_from_meta(nlohmann::json::parse(R"J({"test_code": "def check(f):\n    assert f(1) == 2\n",
                                                           "entry_point": "inc", "code_prompt": "def inc(x):\n"})J"));
  EXPECT_TRUE(t.error.empty()) << t.error;
  EXPECT_TRUE(t.function_call());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.entry_point, "inc");
  t = code_tests_from_meta(nlohmann::json::parse(R"J({"test_code": ["assert inc(1) == 2", "assert inc(2) == 3"]})J"));
  EXPECT_TRUE(t.error.empty()) << t.error;  // asserts need no entry point
  EXPECT_EQ(t.size(), 2u);
  t = code_tests_from_meta(nlohmann::json::parse(R"J({"tests": [{"input": "1", "output": "2"}]})J"));
  EXPECT_FALSE(t.function_call());
  EXPECT_EQ(t.size(), 1u);
  struct Bad {
    const char* meta;
    const char* says;
  };
  for (const Bad& b : {Bad{R"J({"test_code": "def check(c):\n    assert c(1)\n"})J", "'entry_point' is missing"},
                       Bad{R"J({"test_code": "assert f(1)", "entry_point": "not valid"})J", "Python identifier"},
                       Bad{R"J({"test_code": 3})J", "'test_code'"},
                       Bad{R"J({"test_code": []})J", "'test_code'"},
                       Bad{R"J({"test_code": "  "})J", "empty test"},
                       Bad{R"J({"tests": []})J", "no tests"},
                       Bad{R"J({"question": "x"})J", "expected 'tests'"},
                       Bad{R"J({"input_output": "{bad"})J", "'input_output'"},
                       Bad{R"J([1])J", "expected an object"}}) {
    t = code_tests_from_meta(nlohmann::json::parse(b.meta));
    EXPECT_NE(t.error.find(b.says), std::string::npos) << b.meta << " -> " << t.error;
  }
}

// HumanEval's layout on a hand-made problem: one completion per status.
TEST(Code, FunctionCallStatuses) {
  CodeTests t;
  t.code_prompt = "def add(a, b):\n    \"\"\"Sum of a and b.\"\"\"\n";
  t.entry_point = "add";
  t.test_code = {"def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-4, 4) == 0\n"};
  struct Case {
    std::string completion;
    CodeStatus status;
  };
  const std::vector<Case> cases = {
      {"    return a + b\n", CodeStatus::Passed},
      {"```python\ndef add(a, b):\n    return b + a\n```", CodeStatus::Passed},
      {"    return a - b\n", CodeStatus::WrongAnswer},
      {"    return a +\n", CodeStatus::SyntaxError},
      {"    return a + c\n", CodeStatus::RuntimeError},
      {"    while True:\n        pass\n", CodeStatus::Timeout},
      {"I cannot do that.", CodeStatus::NoCode},
      {"    import os\n    os._exit(0)\n", CodeStatus::RuntimeError},             // ends the harness early
      {"    raise SystemExit(0)\n", CodeStatus::RuntimeError},                      // exits "successfully"
      {"    print('\\nR1-STATUS 0000000000000000 passed')\n    return 0\n", CodeStatus::WrongAnswer},  // a forged pass
      {"    import sys\n    sys.stdout.write('x' * (1 << 22))\n", CodeStatus::RuntimeError},  // output limit
  };
  std::vector<std::string> comps;
  for (auto& c : cases) comps.push_back(c.completion);
  auto v = code_verdicts(box(), comps, std::vector<CodeTests>(cases.size(), t), fast_options());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(code_status_name(v[i].status), std::string(code_status_name(cases[i].status)))
        << cases[i].completion << "\n" << v[i].error << "\n" << v[i].stderr_tail;
    EXPECT_EQ(v[i].reward, cases[i].status == CodeStatus::Passed ? 1.0 : 0.0) << cases[i].completion;
    EXPECT_EQ(v[i].total, 1);
  }
  EXPECT_NE(v[4].stderr_tail.find("NameError"), std::string::npos) << v[4].stderr_tail;
  EXPECT_NE(v[4].error.find("NameError: name 'c' is not defined"), std::string::npos) << v[4].error;
}

// Tests that break before any test runs, a bad layout, and MBPP-style assert scripts (partial credit; a missing
// function).
TEST(Code, FunctionCallBadTestsAndScripts) {
  CodeTests broken;
  broken.entry_point = "add";
  broken.test_code = {"def check(candidate):\n    assert candidate(1, 2) ==\n"};  // not Python
  CodeTests crashes = broken;
  crashes.test_code = {"import no_such_module\ndef check(candidate):\n    assert candidate(1, 2) == 3\n"};
  CodeTests layout;
  layout.error = "code tests: field 'entry_point' is missing";
  CodeTests script;
  script.test_code = {"assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(0, 0) == 0"};
  const std::string good = "```python\ndef add(a, b):\n    return a + b\n```";
  auto v = code_verdicts(box(), {good, good, good, good, "```python\ndef plus(a, b):\n    return a + b\n```"},
                         {broken, crashes, layout, script, script}, fast_options());
  for (int i : {0, 1, 2}) {
    EXPECT_EQ(v[i].status, CodeStatus::BadTests) << i << ": " << v[i].error << v[i].stderr_tail;
    EXPECT_EQ(v[i].reward, 0.0);
  }
  EXPECT_EQ(v[2].error, layout.error);
  EXPECT_NE(v[1].stderr_tail.find("no_such_module"), std::string::npos);
  EXPECT_EQ(v[3].status, CodeStatus::WrongAnswer);  // the second assert is wrong
  EXPECT_EQ(v[3].passed, 2);
  EXPECT_DOUBLE_EQ(v[3].reward, 2.0 / 3.0);
  EXPECT_EQ(v[4].status, CodeStatus::RuntimeError);  // NameError: add
  EXPECT_EQ(v[4].passed, 0);
  CodeOptions all_or_nothing = fast_options();
  all_or_nothing.partial = false;
  EXPECT_EQ(code_verdicts(box(), {good}, {script}, all_or_nothing)[0].reward, 0.0);
}

TEST(Code, StdinStatusesAndAllOrNothing) {
  const std::vector<CodeTest> sum = {{"1 2", "3"}, {"2 2", "4"}, {"2 3", "6"}};  // the last expects a*b
  const std::string py_sum = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)";
  auto v = code_verdicts(box(),
                         {py(py_sum), py("print(("), py("print(1 // 0)"), py("import time\ntime.sleep(30)"),
                          py("print(5)"), cpp("int main( {")},
                         std::vector<std::vector<CodeTest>>(6, sum), fast_options());
  EXPECT_EQ(v[0].status, CodeStatus::WrongAnswer);  // the first failing test speaks
  EXPECT_NE(v[0].error.find("test 2"), std::string::npos) << v[0].error;
  EXPECT_DOUBLE_EQ(v[0].reward, 2.0 / 3.0);
  EXPECT_EQ(v[1].status, CodeStatus::SyntaxError) << v[1].stderr_tail;
  EXPECT_EQ(v[2].status, CodeStatus::RuntimeError) << v[2].stderr_tail;
  EXPECT_EQ(v[3].status, CodeStatus::Timeout);
  EXPECT_EQ(v[4].status, CodeStatus::WrongAnswer);
  EXPECT_EQ(v[5].status, CodeStatus::CompileError);
  CodeOptions o = fast_options();
  o.partial = false;
  EXPECT_EQ(code_verdicts(box(), {py(py_sum)}, std::vector<std::vector<CodeTest>>{sum}, o)[0].reward, 0.0);
  EXPECT_EQ(code_verdicts(box(), {py(py_sum)}, std::vector<std::vector<CodeTest>>{{sum[0], sum[1]}}, o)[0].reward,
            1.0);
  EXPECT_EQ(code_options_from_json(nlohmann::json::parse(R"J({"partial": false})J")).partial, false);
  EXPECT_THROW(code_options_from_json(nlohmann::json::parse(R"J({"partial": 1})J")), Error);
}

// Identical programs against identical tests run once (in a batch and across calls); `reuse: false` runs each.
TEST(Code, IdenticalProgramsRunOnce) {
  const std::string slow = py("import time\ntime.sleep(1)\nprint(1)");
  const std::vector<std::vector<CodeTest>> tests(8, {{"", "1"}});
  CodeOptions o = fast_options();
  o.run.wall_seconds = 5;
  auto t0 = std::chrono::steady_clock::now();
  auto v = code_verdicts(box(), std::vector<std::string>(8, slow), tests, o);
  double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& x : v) EXPECT_EQ(x.reward, 1.0) << x.error;
  t0 = std::chrono::steady_clock::now();
  v = code_verdicts(box(), std::vector<std::string>(8, slow), tests, o);  // all from the previous call
  double again = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  o.reuse = false;
  t0 = std::chrono::steady_clock::now();
  v = code_verdicts(box(), std::vector<std::string>(8, slow), tests, o);  // 8 runs, 2 at a time: >= 4 s
  double each = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& x : v) EXPECT_EQ(x.reward, 1.0) << x.error;
  std::printf("8 identical 1-second programs: %.2f s (one run), %.3f s (reused), %.2f s (each run)\n", once, again,
              each);
  EXPECT_LT(once, 3.0);
  EXPECT_LT(again, 0.5);
  EXPECT_GT(each, 3.9);
}

TEST(Code, FailsClosedWithoutBwrap) {
  for (const char* bw : {"/nonexistent/bwrap", "/bin/false"}) {
    Sandbox bad(SandboxConfig{bw, 2, 0});
    try {
      code_reward(bad, py("print(3)"), {{"", "3"}}, fast_options());
      ADD_FAILURE() << "no error with bwrap = " << bw;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("code sandbox unavailable"), std::string::npos) << e.what();
    }
  }
}

// Every hostile program prints, on success, exactly what its test expects; the sandbox must stop it, so each
// scores 0. Host-side checks follow each group.
TEST(Code, HostilePrograms) {
  const std::string tag = std::to_string(getpid());
  // A listener on the host loopback, for the connect attempt.
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, (sockaddr*)&addr, sizeof(addr)), 0);
  ASSERT_EQ(listen(ls, 4), 0);
  socklen_t alen = sizeof(addr);
  getsockname(ls, (sockaddr*)&addr, &alen);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  // A secret the program must not read.
  const std::string secret_path = "/root/r1_secret_" + tag;
  const std::string secret = "s3cr3t-" + tag;
  atomic_write(secret_path, secret);
  const std::string escape_tmp = "/tmp/r1_escape_" + tag;
  const std::vector<std::string> escape_paths = {escape_tmp, "/work/r1_escape_" + tag, "/root/r1_escape_" + tag,
                                                 "/usr/r1_escape_" + tag, "/etc/r1_escape_" + tag, "/r1_escape_" + tag};
  std::string py_paths = "[";
  for (auto& p : escape_paths) py_paths += "'" + p + "', ";
  py_paths += "'/dev/shm/x', '/box/x', '/proc/x']";

  struct Hostile {
    const char* what;
    std::string completion;
    std::string expected;  // what a successful escape prints
  };
  std::vector<Hostile> hs = {
      {"connect to a host listener on 127.0.0.1",
       py("import socket\ns = socket.create_connection(('127.0.0.1', " + port + "), timeout=1)\nprint('connected')"),
       "connected"},
      {"connect to the internet / resolve a name",
       py("import socket\nok = False\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=1); ok = True\n"
          "except OSError: pass\ntry:\n    socket.getaddrinfo('example.com', 80); ok = True\nexcept OSError: pass\n"
          "print('connected' if ok else 'blocked')"),
       "connected"},
      {"write outside its tmpfs",
       py("import os\nhit = []\nfor p in " + py_paths +
          ":\n    try:\n        open(p, 'w').write('x'); hit.append(p)\n    except OSError: pass\n"
          "print('escaped' if [p for p in hit if not p.startswith('/tmp/')] else 'contained')"),
       "escaped"},
      {"read a host secret",
       py("for p in ['" + secret_path + "', '/proc/1/root" + secret_path + "', '/proc/self/root" + secret_path +
          "']:\n    try:\n        print(open(p).read()); break\n    except OSError: pass"),
       secret},
      {"read host /etc/passwd", py("print(open('/etc/passwd').read())"), read_file("/etc/passwd")},
      {"fork bomb (python)",
       py("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"), "done"},
      {"fork bomb (C++)", cpp("#include <unistd.h>\n#include <cstdio>\nint main(){for(;;) fork(); puts(\"done\");}"),
       "done"},
      {"unbounded allocation",
       py("a = []\nwhile True:\n    a.append(bytearray(10**7))\nprint('allocated')"), "allocated"},
      {"infinite loop", py("while True:\n    pass\nprint('done')"), "done"},
      {"sleep past the wall clock", py("import time\ntime.sleep(1000)\nprint('woke')"), "woke"},
      {"print gigabytes", py("import sys\nb = 'x' * (1 << 20)\nfor _ in range(4096):\n    sys.stdout.write(b)"),
       std::string(16, 'x')},
      {"fill the disk", py("f = open('/tmp/big', 'wb')\nfor _ in range(1024):\n    f.write(b'0' * (1 << 20))\n"
                           "f.close()\nprint('filled')"),
       "filled"},
      {"kill host processes",
       py("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError: pass\ntry:\n    os.kill(" + tag +
          ", signal.SIGKILL); print('host killed')\nexcept OSError: print('no')"),
       "host killed"},
      {"gain privileges (user namespace, mount, setuid)",
       py("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nr = []\nr.append(libc.unshare(0x10000000))\n"
          "r.append(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\ntry:\n    os.setuid(0); r.append(0)\n"
          "except OSError: r.append(-1)\nprint('privileged' if 0 in r else 'denied')"),
       "privileged"},
      {"leave a daemon behind",
       py("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1)\n"
          "        print('escaped', flush=True)\n        open('" + escape_tmp + "d', 'w').write('x')\n"
          "    os._exit(0)\nprint('ok', flush=True)"),
       "ok\nescaped"},
  };
  std::vector<std::string> comps;
  std::vector<std::vector<CodeTest>> tests;
  for (auto& h : hs) comps.push_back(h.completion), tests.push_back({{"", h.expected}});
  auto t0 = std::chrono::steady_clock::now();
  auto v = code_verdicts(box(), comps, tests, fast_options());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < hs.size(); ++i) {
    EXPECT_EQ(v[i].reward, 0.0) << hs[i].what << ": " << v[i].error;
    std::printf("[sandbox] %-50s reward %.0f  %s\n", hs[i].what, v[i].reward, v[i].error.c_str());
    EXPECT_NE(v[i].error.find("test 0"), std::string::npos) << hs[i].what << " did not run: " << v[i].error;
  }
  std::printf("[sandbox] %zu hostile programs, all scored 0, %.1f s\n", hs.size(), secs);

  // Host unharmed: no connection reached the listener, no file written, secret intact, nothing left running.
  int c = accept(ls, nullptr, nullptr);
  EXPECT_LT(c, 0) << "a sandboxed program connected to the host listener";
  close(ls);
  for (auto& p : escape_paths) EXPECT_FALSE(file_exists(p)) << p;
  usleep(1200000);  // the daemon would write after 1 s
  EXPECT_FALSE(file_exists(escape_tmp + "d"));
  EXPECT_EQ(read_file(secret_path), secret);
  ::unlink(secret_path.c_str());
  const uint32_t uid_base = box().config().uid_base;
  EXPECT_TRUE(wait_no_sandbox_processes(uid_base)) << sandbox_processes(uid_base) << " sandbox processes survived";
  EXPECT_EQ(::kill(getpid(), 0), 0);
}
