#!/usr/bin/python3
"""Training metrics of GRPO runs averaged over windows of steps, and the first step each run's held-out greedy
accuracy reaches a level (README "Results": the R1-Zero table by steps and "RL steps to the same accuracy").

Usage: run_windows.py [--windows 0-9,40-59,...] [--levels 0.6,0.7] RL_DIR [RL_DIR ...]
Each RL_DIR holds a metrics.jsonl written by `r1 grpo`; the windows average over all runs together.
Prints a markdown table, then one line per run.
"""
import argparse
import json
import os


def load(d):
    with open(os.path.join(d, "metrics.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", default="0-9,40-59,90-109,190-209,290-309,390-409,490-499")
    ap.add_argument("--levels", default="0.6,0.7")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    runs = [load(d) for d in a.runs]
    print("| steps | accuracy | format rate | response length | chain of thought | held-out greedy |")
    print("|---|---|---|---|---|---|")
    for w in a.windows.split(","):
        lo, hi = (int(x) for x in w.split("-"))
        rows = [m for r in runs for m in r if "step" in m and lo <= m["step"] <= hi]

        def mean(key):
            v = [m[key] for m in rows if key in m]
            return sum(v) / len(v) if v else float("nan")

        print(f"| {lo}–{hi} | {100 * mean('accuracy'):.1f}% | {100 * mean('format_rate'):.1f}% | "
              f"{mean('response_length_mean'):.1f} | {mean('cot_chars_mean'):.1f} | {100 * mean('eval_accuracy'):.1f}% |")
    levels = [float(x) for x in a.levels.split(",")]
    for d, r in zip(a.runs, runs):
        ev = [(m["step"], m["eval_accuracy"]) for m in r if "eval_accuracy" in m]
        first = {lv: next((s for s, acc in ev if acc >= lv), None) for lv in levels}
        print(f"{d}: held-out greedy " + ", ".join(f"first >= {lv:g} at step {first[lv]}" for lv in levels) +
              f"; max {max(acc for _, acc in ev):.3f}; by step: " + " ".join(f"{s}:{acc:.3f}" for s, acc in ev[:5]))


if __name__ == "__main__":
    main()
