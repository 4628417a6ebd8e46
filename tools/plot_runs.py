#!/usr/bin/python3
"""Draws training curves from one or more r1.cpp run folders (metrics.jsonl) with matplotlib.

Usage: plot_runs.py OUT_DIR RUN_DIR [RUN_DIR ...]
Writes one PNG per metric present in any run (GRPO: reward, accuracy, format rate, response length, KL,
entropy, ...; pretrain/SFT: loss, eval loss) plus overview.png with all of them; several runs are overlaid.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("reward_mean", "reward (mean)"),
    ("accuracy", "accuracy (train samples)"),
    ("eval_accuracy", "accuracy (held-out, greedy)"),
    ("format_rate", "format rate"),
    ("response_length_mean", "response length (tokens)"),
    ("cot_chars_mean", "chain of thought (characters in <think>)"),
    ("kl", "KL to reference"),
    ("entropy", "entropy"),
    ("zero_std_frac", "groups with zero reward std"),
    ("loss", "loss"),
    ("eval_loss", "held-out loss"),
]


def load(run):
    path = os.path.join(run, "metrics.jsonl")
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not valid JSON ({e})")
    return rows


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, runs = sys.argv[1], sys.argv[2:]
    data = {r: load(r) for r in runs}
    # legend labels: the folder name, or parent/folder when several runs share a name (e.g. .../s1/rl, .../s2/rl)
    names = [os.path.basename(os.path.normpath(r)) for r in runs]
    labels = {r: (os.path.join(os.path.basename(os.path.dirname(os.path.normpath(r))), n) if names.count(n) > 1 else n)
              for r, n in zip(runs, names)}
    os.makedirs(out, exist_ok=True)
    present = [(k, t) for k, t in PANELS if any(any(k in row and row[k] is not None for row in rows) for rows in data.values())]
    if not present:
        sys.exit("no known metric in " + ", ".join(runs))
    cols = 3
    rows_n = (len(present) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(5 * cols, 3.2 * rows_n), squeeze=False)
    for i, (key, title) in enumerate(present):
        ax = axes[i // cols][i % cols]
        single, sax = plt.subplots(figsize=(6, 3.6))
        for run, rows in data.items():
            pts = [(row["step"], row[key]) for row in rows if key in row and row[key] is not None]
            if not pts:
                continue
            xs, ys = zip(*pts)
            label = labels[run]
            for a in (ax, sax):
                a.plot(xs, ys, marker="." if len(xs) < 30 else None, label=label)
        for a in (ax, sax):
            a.set_title(title)
            a.set_xlabel("step")
            a.grid(alpha=0.3)
            if len(data) > 1:
                a.legend(fontsize=8)
        single.tight_layout()
        single.savefig(os.path.join(out, key.replace("/", "_") + ".png"), dpi=90)
        plt.close(single)
    for j in range(len(present), rows_n * cols):
        axes[j // cols][j % cols].axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "overview.png"), dpi=80)
    print(f"wrote {len(present) + 1} plots to {out}")


if __name__ == "__main__":
    main()
