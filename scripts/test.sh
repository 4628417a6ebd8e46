#!/usr/bin/env bash
# The test job: install what is missing, build, run every test with CTest (summary printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# libFuzzer smoke run of every parser (set R1_SKIP_FUZZ=1 to skip)
if [ "${R1_SKIP_FUZZ:-0}" != 1 ]; then ./scripts/fuzz-smoke.sh; fi
cd build
ctest --output-on-failure --timeout 600 -j"${CTEST_JOBS:-1}"
