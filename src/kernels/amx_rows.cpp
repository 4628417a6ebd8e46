// bf16 mode's forward products on AMX tiles, reading the weights in oneDNN's own packed layout (bf16_matmul.cpp).
//
// Why not oneDNN's kernel: (1) oneDNN 2.6's AMX matmul sums a row differently depending on the row count M and the
// thread count once K >= 1024 (measured: K = 1024 from M = 256 or 512 on, K = 2816 from M = 65 with 2 threads), so
// the trainer (hundreds of rows) and the rollout engine (a few) would disagree in the last bits at hidden >= 1024;
// here every output is the sum of its k-blocks of 32, in order, in one fp32 tile, the bias added once after, for
// any M and any thread count (threads split the blocks of 64 columns x 64 rows, never a sum). (2) At decode's 64 rows
// a product is bound by reading its weights (64 FLOP per byte), and oneDNN waits on each weight tile as it arrives;
// this kernel asks for the next block of weights (into L2) spread evenly over the passes that compute the current
// one, so reading and computing overlap (README "bf16 speed"). For 64 rows oneDNN forms the same sums: a throwaway
// harness found 0 of 622,592 outputs different on the decode benchmark's shapes, and the bf16 demo's runs kept
// their bytes.
#include "core/aligned.h"
#include "core/bits.h"
#include "kernels/cpu.h"

#include <immintrin.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace r1::cpu {

namespace {
constexpr int kArchReqXcompPerm = 0x1023;  // arch_prctl: ask the kernel for the AMX tile state
constexpr int kXfeatureXtiledata = 18;
constexpr int kPrefetchBlocks = 8;  // k-blocks (4 KB each) of weights requested ahead of the tiles (16 rows or fewer)

struct TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3: a 32 x 32 block of fp32 sums (2 x 2 tiles of 16 x 16); 4-5: two 16-row slices of the source;
// 6-7: two 16-column slices of the weights; every tile 16 rows of 64 bytes.
__attribute__((target("amx-tile"))) void configure_tiles() {
  TileConfig c;
  for (int t = 0; t < 8; t++) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  _tile_loadconfig(&c);
}

// W (oneDNN tag BA16a64b2a of [K, N]): block nb of 64 columns is K * 64 values in a row; in it, k-block kb (32 k)
// is 2048 values [16 pairs of k][64 columns][2], so a 16-column slice is 16 rows of 64 bytes, 256 bytes apart.
// Asks for the 4 KB k-block kPrefetchBlocks ahead of k-block kb of block wb (KB k-blocks), running on into the
// next block `next` (nullptr: none).
inline void prefetch_ahead(const uint16_t* wb, const uint16_t* next, int kb, int KB) {
  const int k2 = kb + kPrefetchBlocks;
  const uint16_t* p = k2 < KB ? wb + (size_t)k2 * 2048 : next && k2 - KB < KB ? next + (size_t)(k2 - KB) * 2048 : nullptr;
  if (p)
    for (int l = 0; l < 4096; l += 64) _mm_prefetch((const char*)p + l, _MM_HINT_T1);
}

// Asks for share `step` of `steps` of the block `next` (KB k-blocks of 64 lines, in order; nullptr: none).
inline void prefetch_share(const uint16_t* next, int KB, long step, long steps) {
  if (!next) return;
  const long lines = (long)KB * 64, l0 = lines * step / steps, l1 = lines * (step + 1) / steps;
  for (long l = l0; l < l1; l++) _mm_prefetch((const char*)next + l * 64, _MM_HINT_T1);
}

// The source `a` of the blocks below is rounded to bf16 and packed in tiles (amx_bf16_rows): row tile r (16 rows),
// k-block kb at (r * KB + kb) * 512, [16 rows][32 k], so a tile load reads 1 KB in a row (in a row-major source
// with K a power of two, a tile's 16 rows fall in two L1 sets).

// out[16 rows, 64 columns] = a (one packed row tile) · block wb: one pass, each k-block's 4 KB of weights read in
// order, kPrefetchBlocks ahead when `ahead` (the block comes from memory), running on into next.
__attribute__((target("amx-tile,amx-bf16"))) void block16(float* out, int ldo, const uint16_t* a,
                                                          const uint16_t* wb, const uint16_t* next, bool ahead,
                                                          int K) {
  const int KB = K / 32;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int kb = 0; kb < KB; kb++) {
    if (ahead) prefetch_ahead(wb, next, kb, KB);
    const uint16_t* b = wb + (size_t)kb * 2048;
    _tile_loadd(4, a + (size_t)kb * 512, 64);
    _tile_loadd(5, b, 256);
    _tile_loadd(6, b + 32, 256);
    _tile_loadd(7, b + 64, 256);
    _tile_dpbf16ps(0, 4, 5);
    _tile_dpbf16ps(1, 4, 6);
    _tile_dpbf16ps(2, 4, 7);
    _tile_loadd(5, b + 96, 256);
    _tile_dpbf16ps(3, 4, 5);
  }
  _tile_stored(0, out, ldo * 4);
  _tile_stored(1, out + 16, ldo * 4);
  _tile_stored(2, out + 32, ldo * 4);
  _tile_stored(3, out + 48, ldo * 4);
}

// out[32 * pairs rows, 64 columns] = a (2 * pairs packed row tiles) · block wb (pairs 1 or 2): 2 x 2 tiles of
// sums at a time, so each of the 2 * pairs passes over K reads half of each k-block's weights. `cold`: the block
// is not in cache yet (the thread's first), so the first pass asks kPrefetchBlocks ahead; next's lines are asked
// for evenly over all passes, so that memory is read while the tiles compute.
__attribute__((target("amx-tile,amx-bf16"))) void block64(float* out, int ldo, const uint16_t* a,
                                                          const uint16_t* wb, const uint16_t* next, bool cold,
                                                          int pairs, int K) {
  const int KB = K / 32, passes = 2 * pairs;
  for (int cp = 0; cp < 2; cp++) {
    for (int rp = 0; rp < pairs; rp++) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      const int pass = cp * pairs + rp;
      const uint16_t* a0 = a + (size_t)(rp * 2) * KB * 512;
      const uint16_t* a1 = a0 + (size_t)KB * 512;
      const uint16_t* b = wb + cp * 64;
      for (int kb = 0; kb < KB; kb++) {
        if (cold && pass == 0) prefetch_ahead(wb, nullptr, kb, KB);
        prefetch_share(next, KB, (long)pass * KB + kb, (long)passes * KB);
        _tile_loadd(4, a0 + (size_t)kb * 512, 64);
        _tile_loadd(5, a1 + (size_t)kb * 512, 64);
        _tile_loadd(6, b + (size_t)kb * 2048, 256);
        _tile_loadd(7, b + (size_t)kb * 2048 + 32, 256);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      float* o = out + (size_t)(rp * 32) * ldo + cp * 32;
      _tile_stored(0, o, ldo * 4);
      _tile_stored(1, o + 16, ldo * 4);
      _tile_stored(2, o + (size_t)16 * ldo, ldo * 4);
      _tile_stored(3, o + (size_t)16 * ldo + 16, ldo * 4);
    }
  }
}

__attribute__((target("amx-tile"))) void release_tiles() { _tile_release(); }
}  // namespace

bool amx_rows_available() {
  static const bool ok = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) return false;
    unsigned a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    const bool tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;  // CPUID.(7,0).EDX: AMX-TILE, AMX-BF16
    return tile && bf16 && syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
}

void amx_bf16_rows(float* out, const float* a, const uint16_t* w, const float* bias, int M, int K, int N) {
  const int NB = (N + 63) / 64, MB = (M + 63) / 64, KB = K / 32;  // W's columns are padded with zeros to NB * 64
  // the source, packed (above), with zero rows past M up to the 16, 32 or 64 rows the last block's tiles read;
  // shared by the team, each thread packs a share
  const int tail = M - (MB - 1) * 64, rows_packed = (MB - 1) * 64 + (tail <= 16 ? 16 : tail <= 32 ? 32 : 64);
  thread_local AlignedArray<uint16_t> packed;
  uint16_t* ap = packed.get((size_t)rows_packed * K);
  // work items (block of 64 columns, block of 64 rows), column-block major: a thread's consecutive items share a
  // block of weights, which stays in its L2 while the rows pass, and each block of weights is read once. When the
  // packed source is over 2 MB (L2), in groups of G blocks of rows (at most 1 MB, at most a thread's share), each
  // group column-block major, so that the group's rows stay in L2 while every block of weights passes (over all
  // rows, a large source was reread for every 64 columns: the 2048^3 product ran at ~85% of oneDNN's speed; groups
  // for a small source made each thread read all the weights: decoding 256 rows lost 10%; bench_kernels_bf16,
  // bench_generate). The order of the items changes no sum.
  const int threads = omp_get_max_threads();
  const bool small = (size_t)rows_packed * K * 2 <= (2u << 20);
  const int G = small ? MB : std::min((MB + threads - 1) / threads, std::max(1, 8192 / K));
  const long items = (long)NB * MB;
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    for (int m = rows_packed * t / nt, m1 = rows_packed * (t + 1) / nt; m < m1; m++)
      for (int kb = 0; kb < KB; kb++) {
        uint16_t* d = ap + (((size_t)(m / 16) * KB + kb) * 16 + m % 16) * 32;
        if (m < M) {
          const float* s = a + (size_t)m * K + kb * 32;
          for (int j = 0; j < 32; j++) d[j] = f32_to_bf16_bits(s[j]);
        } else {
          std::memset(d, 0, 64);
        }
      }
#pragma omp barrier
    configure_tiles();
    const long i0 = items * t / nt, i1 = items * (t + 1) / nt;
    alignas(64) float tmp[64 * 64];
    for (long i = i0; i < i1; i++) {
      const long g = i / ((long)NB * G), r = i % ((long)NB * G);
      const int gsize = (int)std::min<long>(G, MB - g * G);
      const int nb = (int)(r / gsize), mb = (int)(g * G + r % gsize);
      const uint16_t* wb = w + (size_t)nb * K * 64;
      // one block of rows (decoding): each item reads its weights from memory once, so ask for the next item's
      const uint16_t* next = MB == 1 && i + 1 < i1 ? wb + (size_t)K * 64 : nullptr;
      const uint16_t* src = ap + (size_t)mb * 4 * KB * 512;
      const int rows = std::min(64, M - mb * 64);
      const int cols = std::min(64, N - nb * 64);
      const bool direct = rows == 64 && cols == 64 && !bias;
      float* o = direct ? out + (size_t)mb * 64 * N + nb * 64 : tmp;
      if (rows <= 16)
        block16(o, direct ? N : 64, src, wb, next, MB == 1, K);
      else
        block64(o, direct ? N : 64, src, wb, next, MB == 1 && i == i0, rows <= 32 ? 1 : 2, K);
      if (!direct)
        for (int r = 0; r < rows; r++) {
          float* dst = out + (size_t)(mb * 64 + r) * N + nb * 64;
          const float* s = tmp + r * 64;
          if (bias)
            for (int j = 0; j < cols; j++) dst[j] = s[j] + bias[nb * 64 + j];
          else
            std::memcpy(dst, s, sizeof(float) * cols);
        }
    }
    release_tiles();
  }
}

}  // namespace r1::cpu
