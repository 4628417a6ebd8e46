#!/usr/bin/env bash
# A short run of every numeric path (pretrain -> grpo -> eval -> sample -> sft) whose outputs a refactor must not
# move: prints one JSON object of SHA-256 digests (model bytes, metrics without timing fields, completions,
# evaluation and traces). tests/pipeline/test_pinned_numbers.cpp compares it with tests/fixtures/pinned/.
# Usage: tools/pin_short_run.sh R1_BINARY WORK_DIR
set -euo pipefail
R1=$1
D=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
rm -rf "$D" && mkdir -p "$D"
log() { "$@" >>"$D/log.txt" 2>&1 || { echo "pin_short_run: failed: $*" >&2; tail -20 "$D/log.txt" >&2; exit 1; }; }
TC='{"n": 200, "min_operands": 2, "max_operands": 3, "max_value": 9, "p_minus": 0.0}'
log "$R1" pretrain --config "$SRC/recipes/pretrain_tiny.yaml" out="$D/base" steps=40 corpus_docs=3000 seq=128 batch=4 \
  model.layers=2 eval_every=20 ckpt_every=0
log "$R1" grpo --config "$SRC/recipes/r1_zero_tiny.yaml" out="$D/rl" model="$D/base/model" steps=6 task_config="$TC" \
  sampling.prompts_per_step=4 sampling.max_new_tokens=40 eval_problems=8 eval_every=3 ckpt_every=0 \
  rewards='{"accuracy": 1.0, "format": 0.1, "repetition": 0.2}'
log "$R1" eval --model "$D/rl/model" --task arithmetic --task-config "$TC" -k 3 --pass-k 1,2 --limit 6 \
  --max-new-tokens 40 --template r1_zero_short --output "$D/eval.json"
log "$R1" sample model="$D/rl/model" task_config="$TC" limit=6 k=3 sampling.max_new_tokens=40 \
  prompt_template=r1_zero_short filter.require_format=false output="$D/traces.jsonl"
printf '{"prompt": "1 + 2 =", "completion": " 3"}\n{"prompt": "4 + 4 =", "completion": " 8"}\n' >"$D/sft.jsonl"
log "$R1" sft model="$D/base/model" data="$D/sft.jsonl" out="$D/sft" seq=32 batch=2 epochs=2 eval_fraction=0 ckpt_every=0
/usr/bin/python3 - "$D" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
def sha(b): return hashlib.sha256(b).hexdigest()
def file(p): return sha(open(p, 'rb').read())
timing = {"gen_s", "score_s", "train_s", "step_s", "elapsed_s", "tokens_per_s", "comm_s"}
def metrics(p):
    rows = [json.loads(l) for l in open(p)]
    return sha(json.dumps([{k: v for k, v in r.items() if k not in timing and not k.startswith("reward_time_s/")}
                           for r in rows], sort_keys=True).encode())
ev = json.load(open(d + "/eval.json"))
out = {
    "base_model": file(d + "/base/model/model.safetensors"),
    "base_metrics": metrics(d + "/base/metrics.jsonl"),
    "rl_model": file(d + "/rl/model/model.safetensors"),
    "rl_metrics": metrics(d + "/rl/metrics.jsonl"),
    "rl_completions": file(d + "/rl/completions.jsonl"),
    "eval_problems": sha(json.dumps(ev["problems"], sort_keys=True).encode()),
    "eval_summary": ev["summary"],
    "sample_traces": file(d + "/traces.jsonl"),
    "sft_model": file(d + "/sft/model/model.safetensors"),
}
print(json.dumps(out, indent=1, sort_keys=True))
PY
