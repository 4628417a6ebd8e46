#!/usr/bin/env bash
# Installs every Debian 12 package r1.cpp needs to build, test and benchmark.
# Only packages that are missing are installed; nothing is downloaded at build or run time.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config git
  libdnnl-dev                      # matrix products (oneDNN)
  nlohmann-json3-dev               # JSON
  libyaml-cpp-dev                  # recipes
  libcli11-dev                     # command line
  libpcre2-dev libutf8proc-dev     # tokenizers
  libginac-dev                     # math verifier
  bubblewrap                       # code sandbox
  libopenmpi-dev openmpi-bin       # data-parallel runs over MPI (optional at build time: R1_MPI)
  libgtest-dev googletest libbenchmark-dev  # tests and benchmarks
  clang libclang-rt-14-dev         # libFuzzer targets (fuzz smoke run in the tests)
  python3 python3-matplotlib       # plots
)
if [ "${R1_WITH_TORCH:-0}" = 1 ]; then PKGS+=(python3-torch python3-jinja2 libopenblas0-openmp); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install-deps] installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[install-deps] all packages present"
fi
