#!/usr/bin/python3
"""Minimal PyTorch GRPO loop: the peer of bench_grpo (same model shape, task, prompt and settings).

Per step: P arithmetic prompts in the R1-Zero template (byte-level ids, as r1.cpp's tiny models use), G samples
each at temperature 1 with a KV cache (HF generate style: the G copies of a prompt are prefilled together, every
sequence steps until all are done), rule-based rewards (strict R1 format + exact integer in <answer>),
group-normalised advantages, then one update of the GRPO loss (token ratios clipped at 0.2, k3 KL to a frozen
reference with beta, seq-mean-token-mean) with clip_grad_norm 1.0 and AdamW. Eager mode, fp32.
Prints one JSON line with steps per minute and the generate / score / train split.
"""
import argparse
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_common import add_model_args, blas_library, build_model  # noqa: E402

import torch  # noqa: E402

SPECIALS = ["<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"]
EOS = 256
TEMPLATE = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
            "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
            "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
            "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
            "User: {q}. Assistant:")
FORMAT = re.compile(r"^\s*<think>(.+?)</think>\s*<answer>(.+?)</answer>\s*$", re.S)


def decode(ids):
    out = bytearray()
    for t in ids:
        if t < 256:
            out.append(t)
        else:
            out += SPECIALS[t - 256].encode()
    return out.decode("utf-8", "replace")


def reward(text, gold):
    m = FORMAT.match(text)
    fmt = 1.0 if m else 0.0
    acc = 0.0
    a = re.findall(r"<answer>(.*?)</answer>", text, re.S)
    if a and a[-1].strip().lstrip("-").isdigit() and int(a[-1].strip()) == gold:
        acc = 1.0
    return acc + 0.1 * fmt


def generate(model, prompt_ids, G, max_new, gen):
    """G samples of one prompt; returns completion ids [G, <=max_new] (eos-padded) and their log-probs."""
    x = torch.tensor([prompt_ids] * G)
    logits, cache = model(x, last_only=True)
    toks, lps = [], []
    done = torch.zeros(G, dtype=torch.bool)
    for _ in range(max_new):
        logp = torch.log_softmax(logits[:, -1], -1)
        tok = torch.multinomial(logp.exp(), 1, generator=gen)
        tok[done] = EOS
        toks.append(tok)
        lps.append(logp.gather(1, tok))
        done |= tok[:, 0] == EOS
        if bool(done.all()):
            break
        logits, cache = model(tok, cache)
    return torch.cat(toks, 1), torch.cat(lps, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--beta", type=float, default=0.001)
    a = ap.parse_args()
    a.vocab = 256 + len(SPECIALS)
    cfg, model = build_model(a)
    _, ref = build_model(a)
    ref.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-6, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    rnd = random.Random(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    G, P = a.group, a.prompts
    splits = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        batch = []
        with torch.inference_mode():
            for _ in range(P):
                ops = [rnd.randint(0, 99) for _ in range(rnd.randint(2, 4))]
                q, gold = "What is " + " + ".join(map(str, ops)) + "?", sum(ops)
                pids = list(TEMPLATE.format(q=q).encode())
                comp, lp = generate(model, pids, G, a.max_new_tokens, gen)
                batch.append((pids, comp, lp, gold))
        t1 = time.perf_counter()
        rows, rewards = [], []
        for pids, comp, lp, gold in batch:
            for g in range(G):
                c = comp[g].tolist()
                n = c.index(EOS) + 1 if EOS in c else len(c)
                text = decode(c[: n - 1] if c[n - 1] == EOS else c[:n])
                rewards.append(reward(text, gold))
                rows.append((pids, c[:n], lp[g, :n]))
        r = torch.tensor(rewards).view(P, G)
        adv = ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-6)).view(-1)
        t2 = time.perf_counter()
        T = max(len(p) + len(c) for p, c, _ in rows) - 1
        B = len(rows)
        ids = torch.zeros(B, T, dtype=torch.long)
        tgt = torch.zeros(B, T, dtype=torch.long)
        mask = torch.zeros(B, T)
        old = torch.zeros(B, T)
        for i, (p, c, lp) in enumerate(rows):
            seq = p + c
            ids[i, : len(seq) - 1] = torch.tensor(seq[:-1])
            tgt[i, : len(seq) - 1] = torch.tensor(seq[1:])
            mask[i, len(p) - 1: len(seq) - 1] = 1
            old[i, len(p) - 1: len(seq) - 1] = lp
        opt.zero_grad(set_to_none=True)
        logits, _ = model(ids)
        lp_new = torch.log_softmax(logits, -1).gather(2, tgt.unsqueeze(2)).squeeze(2)
        with torch.no_grad():
            rlogits, _ = ref(ids)
            lp_ref = torch.log_softmax(rlogits, -1).gather(2, tgt.unsqueeze(2)).squeeze(2)
        ratio = torch.exp(lp_new - old)
        A = adv.unsqueeze(1)
        sur = torch.min(ratio * A, torch.clamp(ratio, 0.8, 1.2) * A)
        x = lp_new - lp_ref
        kl = torch.exp(-x) + x - 1
        tok_loss = -sur + a.beta * kl
        loss = ((tok_loss * mask).sum(1) / mask.sum(1)).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t3 = time.perf_counter()
        if step >= a.warmup:
            splits.append((t1 - t0, t2 - t1, t3 - t2))
    n = len(splits)
    gen_s, score_s, train_s = (sum(s[i] for s in splits) / n for i in range(3))
    step_s = gen_s + score_s + train_s
    print(json.dumps({"impl": "pytorch-eager", "torch": torch.__version__, "blas": blas_library(),
                      "threads": torch.get_num_threads(), "hidden": a.hidden, "layers": a.layers,
                      "group": G, "prompts": P, "max_new_tokens": a.max_new_tokens, "steps": n,
                      "steps_per_min": round(60 / step_s, 3), "step_s": round(step_s, 3),
                      "gen_s": round(gen_s, 3), "score_s": round(score_s, 4), "train_s": round(train_s, 3)}))


if __name__ == "__main__":
    main()
