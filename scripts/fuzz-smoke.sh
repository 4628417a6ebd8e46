#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/fuzz_<layer>_*.cpp) with clang, ASan and UBSan in build-fuzz/, then runs
# each for FUZZ_SECONDS (default 10) from an empty corpus. Fails if any target crashes, leaks memory it owns,
# or hangs past its per-input timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-10}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR1_FUZZ=ON -DR1_BUILD_TESTS=OFF \
  -DR1_BUILD_BENCH=OFF >/dev/null
targets=$(ls fuzz/fuzz_*.cpp | xargs -n1 basename | sed 's/\.cpp$//')
cmake --build build-fuzz -j"$(nproc)" --target $targets
# GiNaC keeps small global caches that LeakSanitizer reports at exit; leaks are not what this smoke run checks.
export ASAN_OPTIONS=detect_leaks=0
for t in $targets; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "[fuzz-smoke] $t for ${SECS}s"
  ./build-fuzz/"$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 "build-fuzz/corpus/$t" 2>&1 | tail -n 2
done
echo "[fuzz-smoke] all targets ran clean"
