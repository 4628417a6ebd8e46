#!/usr/bin/env bash
# Configures and builds r1.cpp into build/ (Release, optimised for this machine unless R1_NATIVE=OFF).
# Arguments are targets (default: everything, tests and benchmarks included).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DR1_NATIVE="${R1_NATIVE:-ON}" ${R1_CMAKE_ARGS:-} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j"$JOBS" "${targets[@]}"
