#!/usr/bin/env bash
# The main job: install what is missing, build, then pretrain the built-in tiny base model on the synthetic
# arithmetic corpus (recipes/pretrain_tiny.yaml). Extra arguments are field=value overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./build/r1 pretrain --config recipes/pretrain_tiny.yaml "$@"
