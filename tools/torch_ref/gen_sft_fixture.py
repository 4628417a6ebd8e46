#!/usr/bin/python3
"""Generate tests/fixtures/sft/llama_packed.safetensors for tests/train/test_sft.cpp.

Run from the repository root:  python3 tools/torch_ref/gen_sft_fixture.py
Deterministic. Six hand-shaped examples (token ids + per-token "learn" flags) are packed into rows of SEQ
positions by the rule stated in src/train/sft.h, written here independently: an example of n tokens gives n-1
positions (input ids[t], target ids[t+1], scored iff learn[t+1]); examples are placed whole and in order, a new row
starts when the next one does not fit; longer than SEQ -> cut to SEQ positions; an example with nothing to learn
within its kept positions is dropped; padding is id PAD with target -1. The masked mean cross-entropy over the
packed [B, SEQ] batch and its gradient for every parameter come from float64 autograd through
tools/torch_ref/hf_model.py on tests/fixtures/model_llama (attention crosses examples inside a row: plain
causal attention with positions 0..SEQ-1, as r1's kernel).

Stored: ex_ids, ex_learn (I64, concatenated), ex_len (I64); ids, targets [B, SEQ] (I64); loss [1];
grad.<HF name> for every parameter (F32).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402

from hf_model import CausalLM, Config, masked_ce  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEQ = 12
PAD = 0

# (length, learned token indices)
SHAPES = [
    (6, [3, 4, 5]),                 # prompt/completion
    (4, [2, 3]),
    (8, [3, 4, 5, 7]),              # two assistant turns with a user turn between
    (15, list(range(5, 15))),       # longer than SEQ: cut to 12 positions
    (3, []),                        # nothing to learn: dropped
    (5, [3, 4]),
]


def pack(examples):
    rows_ids, rows_tg = [], []
    used = SEQ
    for ids, learn in examples:
        n = min(len(ids) - 1, SEQ)
        if n < 1 or not any(learn[j] for j in range(1, n + 1)):
            continue
        if used + n > SEQ:
            rows_ids.append([PAD] * SEQ)
            rows_tg.append([-1] * SEQ)
            used = 0
        for t in range(n):
            rows_ids[-1][used + t] = ids[t]
            rows_tg[-1][used + t] = ids[t + 1] if learn[t + 1] else -1
        used += n
    return rows_ids, rows_tg


def main():
    gen = torch.Generator().manual_seed(20261129)
    d = os.path.join(REPO, "tests", "fixtures", "model_llama")
    with open(os.path.join(d, "config.json")) as f:
        cfg = Config(json.load(f))
    model = CausalLM(cfg).double()
    st = load_file(os.path.join(d, "model.safetensors"))
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(st[n].to(torch.float64))
    examples = []
    for length, learned in SHAPES:
        ids = torch.randint(3, cfg.vocab_size, (length,), generator=gen).tolist()
        learn = [1 if j in learned else 0 for j in range(length)]
        examples.append((ids, learn))
    rows_ids, rows_tg = pack(examples)
    ids = torch.tensor(rows_ids, dtype=torch.int64)
    tg = torch.tensor(rows_tg, dtype=torch.int64)
    logits, _ = model(ids)
    mask = tg >= 0
    loss = masked_ce(logits, tg.clamp(min=0), mask)
    loss.backward()
    out = {
        "ex_ids": torch.tensor([i for e in examples for i in e[0]], dtype=torch.int64),
        "ex_learn": torch.tensor([x for e in examples for x in e[1]], dtype=torch.int64),
        "ex_len": torch.tensor([len(e[0]) for e in examples], dtype=torch.int64),
        "ids": ids, "targets": tg,
        "loss": loss.detach().reshape(1).float(),
    }
    for n, p in model.named_parameters():
        out["grad." + n] = p.grad.float()
    path = os.path.join(REPO, "tests", "fixtures", "sft", "llama_packed.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(out, path, {"format": "pt", "model": "model_llama", "seq": str(SEQ), "pad": str(PAD)})
    print(f"{os.path.relpath(path, REPO)}: {len(rows_ids)} rows, loss {float(loss):.8f} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
