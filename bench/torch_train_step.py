#!/usr/bin/python3
"""PyTorch eager peer for the C++ training-step benchmark.

Times one training step of a Llama-style decoder (fp32 parameters and compute, eager mode, no
torch.compile): forward + masked cross-entropy + backward + gradient-norm clipping (to 1, as r1's trainer: optim.grad_clip)
+ AdamW step, on a fixed random batch.
With --autocast the forward runs under torch.autocast("cpu", dtype=torch.bfloat16) (bf16 matrix products,
fp32 master weights and optimizer; the loss is computed from the logits cast to fp32), PyTorch's mixed precision
on CPU. Prints one JSON line.

FLOPs per step (training, forward + backward = 3x forward):
    6 * N_matmul * B * T  +  6 * L * B * T * T * (NH * head_dim)
N_matmul = all linear weights incl. lm_head, excluding the embedding table and norm weights.
The attention term is 3 * (QK^T + PV = 2 * 2*B*NH*T*T*hd) / 2: forward+backward, counting only the
causal (lower-triangular) half, i.e. the usual "6*L*B*T*T*C" for NH*hd = C. Elementwise ops
(norms, RoPE, softmax, SiLU, optimizer) are not counted.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_common import add_model_args, blas_library, build_model, count_params  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "torch_ref"))
from hf_model import masked_ce  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--clip", type=float, default=1.0,
                    help="clip the global gradient norm to this, as r1's trainer does (optim.grad_clip 1.0); 0: off")
    ap.add_argument("--autocast", action="store_true", help="bf16 autocast around the forward (mixed precision)")
    a = ap.parse_args()

    cfg, model = build_model(a)
    B, T = a.batch, a.seq
    g = torch.Generator().manual_seed(a.seed + 1)
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    targets = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T)
    mask[:, : T // 4] = 0  # e.g. prompt tokens excluded from the loss
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        if a.autocast:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, _ = model(ids)
            loss = masked_ce(logits.float(), targets, mask)
        else:
            logits, _ = model(ids)
            loss = masked_ce(logits, targets, mask)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        return float(loss)

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    step_s = sum(times) / len(times)
    total, matmul = count_params(model)
    attn_width = cfg.num_attention_heads * cfg.head_dim
    flops = 6 * matmul * B * T + 6 * cfg.num_hidden_layers * B * T * T * attn_width
    print(json.dumps({
        "impl": "pytorch-eager-autocast-bf16" if a.autocast else "pytorch-eager",
        "precision": "bf16-autocast" if a.autocast else "fp32", "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(),
        "hidden": cfg.hidden_size, "layers": cfg.num_hidden_layers, "heads": cfg.num_attention_heads,
        "kv_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim, "inter": cfg.intermediate_size,
        "vocab": cfg.vocab_size, "batch": B, "seq": T, "steps": a.steps,
        "params": total, "params_matmul": matmul,
        "step_ms": round(step_s * 1e3, 3), "step_ms_min": round(min(times) * 1e3, 3),
        "tokens_per_s": round(B * T / step_s, 1), "gflops": round(flops / step_s / 1e9, 3),
        "loss": round(loss, 5),
    }))


if __name__ == "__main__":
    main()
