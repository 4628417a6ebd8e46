#!/usr/bin/env bash
# Issue 8's experiments at tiny scale on this machine; each writes results/<experiment>.json and its runs under
# runs/exp/. Takes about an hour on 2 cores. Usage: scripts/experiments.sh [r1_zero] [distill] [pipeline]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh r1 >/dev/null
R1=./build/r1
E=runs/exp
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(r1_zero distill pipeline)
has() { for w in "${what[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

# 1. R1-Zero, three seeds of the RL stage on one base (the base is pretrained once, by seed 1's pipeline)
if has r1_zero; then
  for s in 1 2 3; do
    extra=()
    [ "$s" != 1 ] && extra=(base.reuse=$E/r1_zero_s1/base/model)
    $R1 pipeline --config recipes/r1_zero_demo.yaml out=$E/r1_zero_s$s rl.seed=$s "${extra[@]}"
  done
  $R1 plot $E/r1_zero_s1/rl $E/r1_zero_s2/rl $E/r1_zero_s3/rl --output $E/r1_zero_plots
  /usr/bin/python3 tools/collect_results.py r1_zero results/r1_zero.json $E/r1_zero_s1 $E/r1_zero_s2 $E/r1_zero_s3
fi

# 2. Distillation: the seed-1 R1-Zero model teaches a 2-layer student (r1 distill = r1 sample + r1 sft); the same
#    student base trained by GRPO for the same wall time is the comparison.
if has distill; then
  $R1 pretrain --config recipes/pretrain_tiny.yaml model.layers=2 out=$E/student_base
  $R1 distill --config recipes/distill_tiny.yaml out=$E/distill teacher=$E/r1_zero_s1/rl/model \
    student=$E/student_base/model
  wall=$(/usr/bin/python3 -c "import json;p=json.load(open('$E/distill/pipeline.json'));print(int(sum(s['wall_s'] or 0 for s in p['stages'] if s['name']!='teacher_eval')))")
  $R1 pipeline --config recipes/r1_zero_demo.yaml out=$E/student_rl base.reuse=$E/student_base/model \
    rl.time_budget_s=$wall rl.steps=1000
  # and the same student with the teacher's whole RL budget (100 GRPO steps, as the teacher had)
  $R1 pipeline --config recipes/r1_zero_demo.yaml out=$E/student_rl100 base.reuse=$E/student_base/model
  /usr/bin/python3 tools/collect_results.py compare results/distill.json \
    teacher=$E/distill/teacher_eval student_base=$E/student_rl/base student_distilled=$E/distill/sft \
    student_rl_equal_wall=$E/student_rl/rl student_rl_100_steps=$E/student_rl100/rl
fi

# 3. The R1 pipeline at tiny scale (cold-start SFT -> RL -> rejection sampling -> SFT -> RL) on the same base
if has pipeline; then
  $R1 pipeline --config recipes/r1_tiny.yaml out=$E/r1_tiny base.reuse=$E/r1_zero_s1/base/model
  /usr/bin/python3 tools/collect_results.py compare results/r1_tiny.json \
    base=$E/r1_zero_s1/base r1_zero=$E/r1_zero_s1/rl cold_sft=$E/r1_tiny/cold_sft rl=$E/r1_tiny/rl \
    sft=$E/r1_tiny/sft rl_final=$E/r1_tiny/rl_final final_eval=$E/r1_tiny/final_eval
fi
