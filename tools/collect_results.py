#!/usr/bin/python3
"""Summarises r1.cpp pipeline runs into results/<experiment>.json (issue 8's machine-readable results).

Usage:
  collect_results.py r1_zero OUT.json RUN_DIR [RUN_DIR ...]     each RUN_DIR a pipeline folder (pipeline.json) of
                                                                recipes/r1_zero_demo.yaml with one seed: the first
                                                                evaluated stage is "before", the last "after"
  collect_results.py compare OUT.json NAME=EVAL_JSON_OR_RUN ...  named evaluations side by side (distillation,
                                                                pipeline vs R1-Zero); names of the form
                                                                NAME/sSEED are also summarised across seeds
Every entry keeps pass@1, cons@k, greedy accuracy, format rate and mean length, the wall time, the seed; the file
records the commit and the machine.
"""
import json
import os
import platform
import statistics
import subprocess
import sys

KEYS = ["pass@1", "cons@8", "greedy_accuracy", "format_rate", "mean_length", "cot_chars_mean"]


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
    except Exception:
        return "unknown"


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}


def pick(summary):
    return {k: summary.get(k) for k in KEYS if k in summary} | {"problems": summary.get("problems"),
                                                              "k": summary.get("samples_per_problem")}


def load_pipeline(run):
    with open(os.path.join(run, "pipeline.json")) as f:
        p = json.load(f)
    if not p.get("complete"):
        sys.exit(f"{run}: pipeline not complete")
    return p


def r1_zero(runs):
    seeds = []
    for run in runs:
        p = load_pipeline(run)
        evaluated = [s for s in p["stages"] if s.get("eval")]
        if len(evaluated) < 2:
            sys.exit(f"{run}: need a 'before' and an 'after' evaluation")
        rl = evaluated[-1]
        with open(os.path.join(run, rl["name"], "stage.json")) as f:
            st = json.load(f)
        metrics = [json.loads(l) for l in open(os.path.join(run, rl["name"], "metrics.jsonl")) if l.strip()]
        seeds.append({
            "run": run,
            "seed": st["config"].get("seed"),
            "rl_steps": len([m for m in metrics if "reward_mean" in m]),
            "before": pick(evaluated[0]["eval"]),
            "after": pick(rl["eval"]),
            "wall_s": {s["name"]: s.get("wall_s") for s in p["stages"]},
        })
    agg = {}
    for when in ("before", "after"):
        for k in KEYS:
            v = [s[when][k] for s in seeds if s[when].get(k) is not None]
            if v:
                agg[f"{when}/{k}"] = {"mean": statistics.mean(v), "min": min(v), "max": max(v)}
    return {"seeds": seeds, "across_seeds": agg}


def compare(pairs):
    out = {}
    for pair in pairs:
        name, path = pair.split("=", 1)
        if os.path.isdir(path):
            path = os.path.join(path, "eval.json")
        with open(path) as f:
            res = json.load(f)
        out[name] = pick(res["summary"]) | {"model": res.get("model"), "file": path}
    groups = {}
    for name, e in out.items():
        if "/s" in name:
            groups.setdefault(name.rsplit("/s", 1)[0], []).append(e)
    agg = {}
    for g, es in groups.items():
        agg[g] = {"seeds": len(es)}
        for k in KEYS:
            v = [e[k] for e in es if e.get(k) is not None]
            if v:
                agg[g][k] = {"mean": statistics.mean(v), "min": min(v), "max": max(v)}
    return {"entries": out} | ({"across_seeds": agg} if agg else {})


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    kind, out, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    body = r1_zero(rest) if kind == "r1_zero" else compare(rest) if kind == "compare" else sys.exit(__doc__)
    doc = {"experiment": os.path.splitext(os.path.basename(out))[0], "commit": commit(), "machine": machine()} | body
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    print(json.dumps(doc.get("across_seeds") or doc.get("entries"), indent=1))


if __name__ == "__main__":
    main()
