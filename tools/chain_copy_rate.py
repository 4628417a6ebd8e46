#!/usr/bin/python3
"""How often an arithmetic chain of thought starts by restating the question (README "R1-Zero in bf16": what
separates the demo runs that reach 90% from those that stall near 20%).

Usage: chain_copy_rate.py EVAL_JSON [EVAL_JSON ...]
Each EVAL_JSON is an eval.json written by `r1 eval` or a pipeline stage (rl/eval.json) on the arithmetic task,
with its samples; a think_prefix it was run with (`r1 eval think_prefix='<think>'`) counts as the start of each
sample. A sample restates the question when its text has "<think>" and the terms before the first "=" after it
are the question's ("What is 6 + 7 + 7 + 7?" -> "6 + 7 + 7 + 7"), term for term, or, for a sum, the same
operands in another order. Prints one markdown row per file: samples, chains (samples with "<think> ... ="),
restatements / samples, restatements / chains, and pass@1 over the samples.
"""
import json
import re
import sys

QUESTION = re.compile(r"What is (.*)\?\s*$")
CHAIN = re.compile(r"<think>\s*([^=<]*?)\s*=")


def terms(s):
    return s.split()


def restates(chain, q):
    """The chain's first expression is the question's: term for term, or, for a sum ("+" only), the same operands
    in another order (a reordered sum has the same value)."""
    if chain == q:
        return True
    if set(q[1::2]) == {"+"} and len(chain) == len(q) and set(chain[1::2]) <= {"+"}:
        return sorted(chain[0::2]) == sorted(q[0::2])
    return False


def rates(path):
    with open(path) as f:
        e = json.load(f)
    prefix = e.get("config", {}).get("think_prefix", "")  # forced into the prompt, not part of the sample text
    n = chains = copies = correct = 0
    for p in e["problems"]:
        m = QUESTION.search(p["question"])
        if not m:
            sys.exit(f"{path}: problem {p.get('id')}: question {p['question']!r} is not 'What is ...?' "
                     "(expected the arithmetic task)")
        q = terms(m.group(1))
        for s in p.get("samples", []):
            n += 1
            correct += bool(s.get("correct"))
            c = CHAIN.search(prefix + s.get("text", ""))
            if c:
                chains += 1
                copies += restates(terms(c.group(1)), q)
    if n == 0:
        sys.exit(f"{path}: no samples with text (expected an eval.json with its samples)")
    return n, chains, copies, correct


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| eval.json | samples | chains | restates the question | of chains | pass@1 |")
    print("|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        n, chains, copies, correct = rates(path)
        of_chains = f"{100.0 * copies / chains:.1f}%" if chains else "-"
        print(f"| {path} | {n} | {chains} | {100.0 * copies / n:.1f}% | {of_chains} | {100.0 * correct / n:.1f}% |")


if __name__ == "__main__":
    main()
