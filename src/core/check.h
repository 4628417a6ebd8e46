// Two kinds of check (PyTorch's TORCH_CHECK vs TORCH_INTERNAL_ASSERT):
//   R1_CHECK(cond, parts...)  user input: always on, throws r1::Error with a message naming what was expected.
//   R1_ASSERT(cond)           internal invariant in hot loops: debug builds only.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <cassert>

namespace r1 {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void cat(std::ostringstream&) {}
template <class T, class... R>
void cat(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  cat(os, rest...);
}
}  // namespace detail

template <class... A>
std::string str(const A&... a) {
  std::ostringstream os;
  detail::cat(os, a...);
  return os.str();
}

template <class... A>
[[noreturn]] void fail(const A&... a) {
  throw Error(str(a...));
}

}  // namespace r1

#define R1_CHECK(cond, ...)                      \
  do {                                           \
    if (!(cond)) ::r1::fail(__VA_ARGS__);        \
  } while (0)

#ifdef NDEBUG
#define R1_ASSERT(cond) ((void)0)
#else
#define R1_ASSERT(cond) assert(cond)
#endif
