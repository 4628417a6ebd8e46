#!/usr/bin/env python3
"""The reward-model experiment's table (scripts/experiments.sh rm): for each pipeline folder (one seed), the
reward model's held-out pair accuracy, and the evaluation of the policy before the final RL stage (sft) and after
it without the RM (rl_final_none), with the RM on the full reply (rl_final, the recipe) and with the RM on the
summary (rl_final_summary): pass@1, cons@8, format rate, length, chain of thought, the RM's mean score and the word
3-gram repetition of the samples. Prints markdown: mean over the folders, min-max in brackets.

Usage: rm_results.py PIPELINE_DIR [PIPELINE_DIR ...]"""
import json
import os
import sys

VARIANTS = [("sft", "before the final RL (sft)"), ("rl_final_none", "final RL, rule-based rewards only"),
            ("rl_final", "final RL + RM on the full reply (the recipe)"),
            ("rl_final_summary", "final RL + RM on the summary (R1's reading)"),
            ("rl_final_judge", "final RL + the rl model as a generative judge")]
COLS = [("pass@1", "pass@1", 100, "%"), ("cons@8", "cons@8", 100, "%"), ("format_rate", "format", 100, "%"),
        ("mean_length", "length (tokens)", 1, ""), ("cot_chars_mean", "chain of thought (chars)", 1, ""),
        ("rm_score_mean", "RM score", 1, ""), ("repetition_mean", "3-gram repetition", 1, "")]


def stat(vals, scale, unit):
    if not vals:
        return "–"
    m = sum(vals) / len(vals) * scale
    fmt = "%.1f" if unit == "%" or abs(m) >= 10 else "%.3f"
    s = (fmt % m) + unit
    if len(vals) > 1:
        s += " (" + (fmt % (min(vals) * scale)) + "–" + (fmt % (max(vals) * scale)) + ")"
    return s


def summary(path):
    """The evaluation's summary; the RM score and repetition means from the k samples' records."""
    with open(path) as f:
        e = json.load(f)
    s = dict(e["summary"])
    samples = [smp for p in e["problems"] for smp in p.get("samples", [])]
    if samples and "rm_score" in samples[0]:
        s["rm_score_mean"] = sum(x["rm_score"] for x in samples) / len(samples)
        s["repetition_mean"] = sum(x["repetition"] for x in samples) / len(samples)
    return s


def main():
    runs = sys.argv[1:]
    if not runs:
        sys.exit(__doc__)
    rm_acc, kinds = [], {}
    for r in runs:
        e = json.load(open(os.path.join(r, "rm", "eval.json")))
        rm_acc.append(e["accuracy"])
        for k, v in e.get("by_kind", {}).items():
            kinds.setdefault(k, []).append(v["accuracy"])
    print(f"Reward model, held-out pair accuracy over {len(runs)} seeds: {stat(rm_acc, 100, '%')}; by kind: " +
          ", ".join(f"{k} {stat(v, 100, '%')}" for k, v in sorted(kinds.items())))
    print()
    print("| policy | " + " | ".join(c[1] for c in COLS) + " |")
    print("|---|" + "---|" * len(COLS))
    for v, title in VARIANTS:
        sums = [summary(os.path.join(r, v, "eval.json")) for r in runs if os.path.exists(os.path.join(r, v, "eval.json"))]
        if not sums:
            continue
        cells = [stat([s[k] for s in sums if k in s], scale, unit) for k, _, scale, unit in COLS]
        print(f"| {title}{'' if len(sums) == len(runs) else f' ({len(sums)} seed)'} | " + " | ".join(cells) + " |")
    # the judge's bookkeeping (metrics.jsonl): judgements, unparseable ones, seconds per step
    for r in runs:
        m = os.path.join(r, "rl_final_judge", "metrics.jsonl")
        if not os.path.exists(m):
            continue
        rows = [json.loads(l) for l in open(m) if l.strip()]
        rows = [x for x in rows if "judge_judged" in x]
        n = sum(x["judge_judged"] for x in rows)
        u = sum(x.get("judge_unparsed", 0) for x in rows)
        t = sum(x.get("reward_time_s/judge", 0) for x in rows) / max(1, len(rows))
        print()
        print(f"Judge ({r}): {int(n)} judgements over {len(rows)} steps, {int(u)} unparseable "
              f"({100 * u / max(1, n):.1f}%, scored the default), {t:.2f} s per step judging.")


if __name__ == "__main__":
    main()
