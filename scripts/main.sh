#!/usr/bin/env bash
# The main job: install what is missing, build, then R1-Zero at tiny scale (recipes/r1_zero_demo.yaml):
# pretrain the tiny base model on the built-in corpus (skipped when runs/r1_zero_demo/base is finished), evaluate
# it, run GRPO from it (accuracy + format rewards, no SFT), evaluate again; report.md, pipeline.json and plots go
# to the run folder. Extra arguments are pipeline overrides (out=DIR, rl.seed=2, rl.steps=50, base.reuse=DIR ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh r1
./build/r1 pipeline --config recipes/r1_zero_demo.yaml "$@"
out=runs/r1_zero_demo
for a in "$@"; do case "$a" in out=*) out="${a#out=}";; esac; done
echo
echo "report: $out/report.md   plots: $out/rl/plots/   metrics: $out/rl/metrics.jsonl"
