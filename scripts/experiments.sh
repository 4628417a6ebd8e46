#!/usr/bin/env bash
# Issue 8's experiments at tiny scale on this machine; each writes results/<experiment>.json and its runs under
# runs/exp/. Takes about 1.5 hours on 2 cores. Usage: scripts/experiments.sh [r1_zero] [bf16] [distill] [pipeline]
# [lora] [rm] (bf16: issue 16's demo in bf16, about 20 minutes; lora: issue 19's LoRA vs full fine-tuning, about 30
# minutes more; rm: issue 18's reward model in the final RL stage, about 25 minutes; none of these three in the
# default set). R1=path/to/r1 uses that binary instead of building build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${R1:-}" ]; then
  ./scripts/build.sh r1 >/dev/null
  R1=./build/r1
fi
E=runs/exp
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(r1_zero distill pipeline)
EVAL_ARGS=(--task arithmetic --task_config '{n: 2000, min_operands: 2, max_operands: 5, max_value: 9, p_minus: 0.0}'
           --split test --data_seed 1 --prompt_template r1_zero_short -k 8 --pass_k 1 --pass_k 8 --temperature 0.6
           --top_p 0.95 --max_new_tokens 160 --limit 200)  # the main job's evaluation (recipes/r1_zero_demo.yaml)
has() { for w in "${what[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
# demo_seeds RECIPE NAME: three RL seeds of an R1-Zero demo recipe on one base (pretrained once, by seed 1's
# pipeline), in $E/NAME_s1..3
demo_seeds() {
  for s in 1 2 3; do
    extra=()
    [ "$s" != 1 ] && extra=(base.reuse=$E/${2}_s1/base/model)
    $R1 pipeline --config "$1" out=$E/${2}_s$s rl.seed=$s "${extra[@]}"
  done
}

# 1. R1-Zero, three seeds of the RL stage on one base (the base is pretrained once, by seed 1's pipeline)
if has r1_zero; then
  demo_seeds recipes/r1_zero_demo.yaml r1_zero
  $R1 plot $E/r1_zero_s1/rl $E/r1_zero_s2/rl $E/r1_zero_s3/rl --output $E/r1_zero_plots
  /usr/bin/python3 tools/collect_results.py r1_zero results/r1_zero.json $E/r1_zero_s1 $E/r1_zero_s2 $E/r1_zero_s3
fi

# 1b. The same in bf16 (issue 16): recipes/r1_zero_demo_bf16.yaml, every stage in bf16 from a bf16 base, three RL
#     seeds on one base; results/r1_zero_bf16.json (README "R1-Zero in bf16"). Not in the default set.
if has bf16; then
  demo_seeds recipes/r1_zero_demo_bf16.yaml r1_zero_bf16
  /usr/bin/python3 tools/collect_results.py r1_zero results/r1_zero_bf16.json $E/r1_zero_bf16_s1 $E/r1_zero_bf16_s2 \
    $E/r1_zero_bf16_s3
fi

# 2. Distillation, three seeds: the seed-s R1-Zero model teaches a 2-layer student (r1 distill = r1 sample + r1 sft,
#    sampling and SFT seeded with s); the same student base trained by GRPO (seed s) for the same wall time is the
#    comparison, and so is the student with the teacher's whole RL budget (the R1-Zero recipe's steps).
if has distill; then
  $R1 pretrain --config recipes/pretrain_tiny.yaml model.layers=2 out=$E/student_base
  args=()
  for s in 1 2 3; do
    $R1 distill --config recipes/distill_tiny.yaml out=$E/distill_s$s teacher=$E/r1_zero_s$s/rl/model \
      student=$E/student_base/model sample.seed=$s sft.seed=$s
    # the distillation's own time: sampling the traces plus the SFT, without their evaluations
    wall=$(/usr/bin/python3 -c "import json;p=json.load(open('$E/distill_s$s/pipeline.json'));print(round(sum(s['run_s'] for s in p['stages'] if s['name']!='teacher_eval'),1))")
    $R1 pipeline --config recipes/r1_zero_demo.yaml out=$E/student_rlfull_s$s base.reuse=$E/student_base/model rl.seed=$s
    # GRPO for the same time: as many steps as the full run's mean step time fits in it, so that its learning-rate
    # schedule ends with the budget (time_budget_s stops it should the steps run slower)
    steps=$(/usr/bin/python3 -c "import json;m=[json.loads(l) for l in open('$E/student_rlfull_s$s/rl/metrics.jsonl')];t=[x['step_s'] for x in m if 'step_s' in x];print(max(1,int($wall*len(t)/sum(t))))")
    $R1 pipeline --config recipes/r1_zero_demo.yaml out=$E/student_rl_s$s base.reuse=$E/student_base/model \
      rl.seed=$s rl.steps=$steps rl.time_budget_s=$wall
    args+=(teacher/s$s=$E/distill_s$s/teacher_eval student_distilled/s$s=$E/distill_s$s/sft
           student_rl_equal_wall/s$s=$E/student_rl_s$s/rl student_rl_teacher_budget/s$s=$E/student_rlfull_s$s/rl)
  done
  /usr/bin/python3 tools/collect_results.py compare results/distill.json student_base=$E/student_rl_s1/base "${args[@]}"
fi

# 3. The R1 pipeline at tiny scale (cold-start SFT -> RL -> rejection sampling -> SFT -> RL) on the same base, three
#    seeds (every stage's seed), next to R1-Zero's seeds
if has pipeline; then
  args=()
  for s in 1 2 3; do
    $R1 pipeline --config recipes/r1_tiny.yaml out=$E/r1_tiny_s$s base.reuse=$E/r1_zero_s1/base/model \
      cold_data.seed=$s cold_sft.seed=$s rl.seed=$s rs.seed=$s sft.seed=$s rl_final.seed=$s final_eval.seed=$s
    args+=(r1_zero/s$s=$E/r1_zero_s$s/rl)
    for st in cold_sft rl sft rl_final final_eval; do args+=($st/s$s=$E/r1_tiny_s$s/$st); done
  done
  /usr/bin/python3 tools/collect_results.py compare results/r1_tiny.json base=$E/r1_zero_s1/base "${args[@]}"
fi

# 4. LoRA beside full fine-tuning (issue 19): the R1-Zero RL stage with recipes/r1_zero_tiny_lora.yaml (r 8 on
#    every projection, lr 2e-3; and r 32, alpha 64) and with recipes/r1_zero_tiny.yaml, three seeds each from one
#    base, evaluated as the main job evaluates (runs/exp/{lora,lora32,full}_s<seed>/eval.json; the README table)
if has lora; then
  base=${LORA_BASE:-$E/r1_zero_s1/base/model}
  for s in 1 2 3; do
    for v in lora lora32 full; do
      cfg=recipes/r1_zero_tiny_lora.yaml
      extra=()
      [ "$v" = lora32 ] && extra=(lora.r=32 lora.alpha=64)
      [ "$v" = full ] && cfg=recipes/r1_zero_tiny.yaml
      $R1 grpo --config $cfg model=$base out=$E/${v}_s$s seed=$s "${extra[@]}"
      $R1 eval --model $E/${v}_s$s/model "${EVAL_ARGS[@]}" --output $E/${v}_s$s/eval.json
    done
  done
fi

# 5. The reward model in R1's final RL stage (issue 18): recipes/r1_tiny.yaml as shipped (prefs -> rm from the base;
#    rl_final = accuracy + format + language + the RM on the full reply at weight 0.25), three seeds (every stage's
#    seed); beside it, from the same sft model and seed, rl_final without the RM and with the RM on the summary
#    (R1's helpfulness reading). Each final model is evaluated with the pipeline's protocol plus the RM's score
#    and the word 3-gram repetition of every sample (readability). results/rm_final.json; the README table.
if has rm; then
  base=${RM_BASE:-$E/r1_zero_s1/base/model}
  for s in 1 2 3; do
    P=$E/r1_tiny_rm_s$s
    $R1 pipeline --config recipes/r1_tiny.yaml out=$P base.reuse=$base prefs.seed=$s rm.seed=$s \
      cold_data.seed=$s cold_sft.seed=$s rl.seed=$s rs.seed=$s sft.seed=$s rl_final.seed=$s final_eval.seed=$s
    for v in none summary; do
      rw='{accuracy: 1.0, format: 0.1, language: 0.1}'
      [ $v = summary ] && rw="{accuracy: 1.0, format: 0.1, language: 0.1, reward_model: {weight: 0.25, path: $P/rm/model, on: summary, normalize: batch}}"
      [ -f $P/rl_final_$v/model/model.safetensors ] || \
        $R1 grpo --config recipes/r1_zero_tiny.yaml model=$P/sft/model out=$P/rl_final_$v seed=$s steps=20 \
          optim.lr=1e-4 eval_every=0 rewards="$rw"
      $R1 eval --model $P/rl_final_$v/model "${EVAL_ARGS[@]}" --seed 0 --reward_model $P/rm/model --save_text false \
        --output $P/rl_final_$v/eval.json
    done
  done
  # the generative judge, plumbing at tiny scale (seed 1): the rl stage's model judges the summary
  P=$E/r1_tiny_rm_s1
  judge="{weight: 0.25, model: $P/rl/model, max_new_tokens: 16, parse: 'score: N/10', default: 0.0,"
  judge+=" template: 'User: Rate the reply to {{ question }} Reply: {{ summary }} Assistant: score:'}"
  [ -f $P/rl_final_judge/model/model.safetensors ] || \
    $R1 grpo --config recipes/r1_zero_tiny.yaml model=$P/sft/model out=$P/rl_final_judge seed=1 steps=20 \
      optim.lr=1e-4 eval_every=0 rewards="{accuracy: 1.0, format: 0.1, language: 0.1, judge: $judge}"
  $R1 eval --model $P/rl_final_judge/model "${EVAL_ARGS[@]}" --seed 0 --reward_model $P/rm/model --save_text false \
    --output $P/rl_final_judge/eval.json
  /usr/bin/python3 tools/rm_results.py $E/r1_tiny_rm_s1 $E/r1_tiny_rm_s2 $E/r1_tiny_rm_s3 > results/rm_final.md
  cat results/rm_final.md
fi
