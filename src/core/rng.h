// Deterministic random numbers. Every stream is a 64-bit counter-free PCG-style generator whose whole
// state is two uint64 words, so checkpoints can save and restore it exactly.
#pragma once
#include <cstdint>
#include <cmath>

namespace r1 {

// splitmix64 step: used to derive independent seeds (e.g. one per sequence from (seed, index)).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t s0 = 1, s1 = 2;  // xoroshiro128+ state
  Rng() = default;
  explicit Rng(uint64_t seed) { reseed(seed); }
  void reseed(uint64_t seed) {
    s0 = splitmix64(seed);
    s1 = splitmix64(s0 ^ 0x6A09E667F3BCC909ull);
    if ((s0 | s1) == 0) s1 = 1;
  }
  static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next_u64() {
    uint64_t a = s0, b = s1, r = a + b;
    b ^= a;
    s0 = rotl(a, 24) ^ b ^ (b << 16);
    s1 = rotl(b, 37);
    return r;
  }
  // uniform in [0, 1) with 53 random bits
  double uniform() { return (next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  // uniform integer in [0, n)
  uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace r1
