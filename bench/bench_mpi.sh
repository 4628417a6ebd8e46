#!/usr/bin/env bash
# Data-parallel scaling on this machine (issue 15): steps/min of the tiny R1-Zero recipe and tokens/s of a
# hidden-512 SFT step on 1 rank (2 OpenMP threads) and 2 ranks (1 thread each: the same 2 cores), with the time of
# a step split into generate / score / train / communicate, then the communication model for N machines.
# Prints markdown. Usage: bench/bench_mpi.sh [WORK_DIR]   (needs build/r1 built with MPI, and mpirun)
set -euo pipefail
cd "$(dirname "$0")/.."
R1=$(pwd)/build/r1
W=${1:-/tmp/r1_bench_mpi}
rm -rf "$W" && mkdir -p "$W"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to core -x OMP_NUM_THREADS=1 -np 2)
"$R1" info | grep -q "mpi: built in" || { echo "bench_mpi: r1 is built without MPI"; exit 1; }

# 1. the tiny R1-Zero recipe: a base of 150 pretraining steps, then 24 GRPO steps (the first 4 not timed)
OMP_NUM_THREADS=2 "$R1" pretrain --config recipes/pretrain_tiny.yaml out="$W/base" steps=150 eval_every=0 \
  ckpt_every=0 >"$W/base.log" 2>&1
GRPO=(grpo --config recipes/r1_zero_tiny.yaml model="$W/base/model" steps=24 eval_every=0 eval_problems=8 ckpt_every=0)
OMP_NUM_THREADS=2 "$R1" "${GRPO[@]}" out="$W/grpo1" >"$W/grpo1.log" 2>&1
"${MPIRUN[@]}" "$R1" "${GRPO[@]}" out="$W/grpo2" >"$W/grpo2.log" 2>&1

# 2. SFT at hidden 512 (4 layers, byte-level vocabulary): a random model, 64 rows of ~250 tokens, 8 rows per step
OMP_NUM_THREADS=2 "$R1" pretrain --config recipes/pretrain_tiny.yaml out="$W/m512" steps=1 corpus_docs=2000 seq=256 \
  batch=8 model.hidden=512 model.heads=8 model.kv_heads=4 model.ffn=1376 model.layers=4 eval_every=0 ckpt_every=0 \
  >"$W/m512.log" 2>&1
python3 - "$W/sft.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(64):
        q = " + ".join(str((i * 7 + k) % 10) for k in range(12))
        f.write(json.dumps({"prompt": "Work out " + q + ".", "completion": (" Step by step: " + q + ". ") * 4}) + "\n")
PY
SFT=(sft model="$W/m512/model" data="$W/sft.jsonl" seq=256 batch=8 epochs=2 eval_fraction=0 ckpt_every=0 log_every=1)
OMP_NUM_THREADS=2 "$R1" "${SFT[@]}" out="$W/sft1" >"$W/sft1.log" 2>&1
"${MPIRUN[@]}" "$R1" "${SFT[@]}" out="$W/sft2" >"$W/sft2.log" 2>&1

python3 - "$W" <<'PY'
import json, statistics, sys
w = sys.argv[1]
def med(rs, k): return statistics.median([x.get(k, 0.0) for x in rs])
print("## Data-parallel runs on this machine (2 cores): 1 rank x 2 threads vs 2 ranks x 1 thread\n")
print("| job | ranks | steps/min | step s | generate s | score s | train s | communicate s |")
print("|---|---|---|---|---|---|---|---|")
g = {}
for n in (1, 2):
    rs = [x for x in (json.loads(l) for l in open(f"{w}/grpo{n}/metrics.jsonl")) if x.get("step", 0) > 4]
    g[n] = med(rs, "step_s")
    print(f"| tiny R1-Zero GRPO | {n} | {60 / g[n]:.1f} | {g[n]:.3f} | {med(rs, 'gen_s'):.3f} | {med(rs, 'score_s'):.4f} | "
          f"{med(rs, 'train_s'):.3f} | {med(rs, 'comm_s'):.4f} |")
s = {}
for n in (1, 2):
    rs = [x for x in (json.loads(l) for l in open(f"{w}/sft{n}/metrics.jsonl")) if x.get("step", 0) > 2 and "loss" in x]
    s[n] = med(rs, "tokens_per_s")
    print(f"| hidden-512 SFT (8 x 256 tokens) | {n} | tokens/s {s[n]:.0f} | | | | | {med(rs, 'comm_s'):.4f} |")
print(f"\n2-rank over 1-rank efficiency: GRPO {g[1] / g[2] * 100:.0f}%, SFT {s[2] / s[1] * 100:.0f}%")
same = open(f"{w}/grpo1/model/model.safetensors", "rb").read() == open(f"{w}/grpo2/model/model.safetensors", "rb").read()
same2 = open(f"{w}/sft1/model/model.safetensors", "rb").read() == open(f"{w}/sft2/model/model.safetensors", "rb").read()
print(f"same model bytes on 1 and 2 ranks: GRPO {same}, SFT {same2}\n")

# Communication model: a rank sends its subtree's gradient and receives the other N-1 (an allgather of fp32
# partials): (N-1) x params x 4 bytes in per rank per optimizer step. Compute: 6 x params x tokens at the fp32
# rate measured here (~190 GFLOP/s for 2 cores), split over N ranks.
print("| model | params | gradient MB | tokens / step | compute s / step on 1 machine | 1 GbE: largest N compute-bound | 10 GbE | InfiniBand 200 Gb/s |")
print("|---|---|---|---|---|---|---|---|")
links = {"1 GbE": 0.125e9, "10 GbE": 1.25e9, "IB": 25e9}
for name, p, tok in (("tiny (C=128, L=4)", 0.82e6, 64 * 100), ("Qwen2.5-0.5B", 494e6, 64 * 600), ("Qwen2.5-1.5B", 1.54e9, 64 * 600)):
    comp1 = 6 * p * tok / 190e9
    cells = []
    for bw in links.values():
        best = 1
        for n in (2, 4, 8, 16, 32, 64, 128):
            if (n - 1) * p * 4 / bw <= comp1 / n: best = n
        cells.append(str(best))
    print(f"| {name} | {p / 1e6:.1f}M | {p * 4 / 1e6:.0f} | {tok} | {comp1:.2f} | " + " | ".join(cells) + " |")
PY
