#!/usr/bin/python3
"""Draws training curves from one or more r1.cpp run folders (metrics.jsonl) with matplotlib.

Usage: plot_runs.py OUT_DIR RUN_DIR [RUN_DIR ...]
Writes one PNG per metric present in any run (GRPO: reward, accuracy, format rate, response length, KL,
entropy, ...; pretrain/SFT: loss, eval loss; rm: pair accuracy, loss, reward margins, and reward_gap_hist.png,
the histogram of the held-out reward gaps in eval.json) plus overview.png with all of them; several runs are overlaid.
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
    ("reward/reward_model/mean", "reward model score (raw, train samples)"),
    ("reward/judge/mean", "judge score (train samples)"),
    ("judge_unparsed", "unparseable judgements per step"),
    ("eval_accuracy", "accuracy (held-out, greedy)"),
    ("format_rate", "format rate"),
    ("response_length_mean", "response length (tokens)"),
    ("cot_chars_mean", "chain of thought (characters in <think>)"),
    ("kl", "KL to reference"),
    ("entropy", "entropy"),
    ("zero_std_frac", "groups with zero reward std"),
    ("loss", "loss"),
    ("eval_loss", "held-out loss"),
    ("margin_mean", "reward margin rc - rr (train pairs)"),
    ("eval_margin_mean", "reward margin rc - rr (held-out pairs)"),
    ("reward_chosen_mean", "reward of chosen replies (train pairs)"),
    ("reward_rejected_mean", "reward of rejected replies (train pairs)"),
]
# Reward-model runs (r1 rm: metrics with reward_chosen_mean): what accuracy and loss mean there.
RM_TITLES = {
    "accuracy": "pair accuracy, rc > rr (train pairs)",
    "eval_accuracy": "pair accuracy, rc > rr (held-out pairs)",
    "loss": "Bradley-Terry loss",
    "eval_loss": "held-out Bradley-Terry loss",
}


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


def gap_histogram(out, runs, labels):
    """Reward-model runs: the held-out reward gaps rc - rr of the last evaluation (RUN/eval.json "gaps")."""
    found = []
    for run in runs:
        try:
            with open(os.path.join(run, "eval.json")) as f:
                ev = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(ev, dict) and isinstance(ev.get("gaps"), list) and ev["gaps"]:
            found.append((run, ev))
    if not found:
        return 0
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for run, ev in found:
        label = f"{labels[run]}: step {ev.get('step')}, accuracy {ev.get('accuracy', 0):.3f}"
        ax.hist(ev["gaps"], bins=40, alpha=0.9 if len(found) == 1 else 0.5, label=label)
    ax.axvline(0, color="black", lw=1)
    ax.set_title("held-out reward gap rc - rr (chosen minus rejected)")
    ax.set_xlabel("rc - rr")
    ax.set_ylabel("pairs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "reward_gap_hist.png"), dpi=90)
    plt.close(fig)
    return 1


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
    if all(any("reward_chosen_mean" in row for row in rows) for rows in data.values()):
        present = [(k, RM_TITLES.get(k, t)) for k, t in present]
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
    hist = gap_histogram(out, runs, labels)
    print(f"wrote {len(present) + 1 + hist} plots to {out}")


if __name__ == "__main__":
    main()
