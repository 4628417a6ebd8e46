#!/usr/bin/env bash
# The main job: install what is missing, build, then pretrain the built-in tiny base model on the synthetic
# arithmetic corpus (recipes/pretrain_tiny.yaml). Extra arguments are field=value overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh r1
./build/r1 pretrain --config recipes/pretrain_tiny.yaml "$@"
# training curves (loss, held-out loss) as PNG; the run folder is the recipe's unless out= was given
out=runs/pretrain_tiny
for a in "$@"; do case "$a" in out=*) out="${a#out=}";; esac; done
./build/r1 plot "$out" || echo "(plots skipped: python3-matplotlib missing)"
