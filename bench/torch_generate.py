#!/usr/bin/python3
"""PyTorch eager peer for the C++ generation benchmark.

Hugging-Face-generate-like loop on a Llama-style decoder (fp32 or --dtype bfloat16, eager): prefill the whole prompt
(logits for the last position only), pick the first new token, then decode one token per step,
appending each layer's K/V to a cache with torch.cat. Greedy by default; --temperature > 0 samples
from softmax(logits / temperature). One untimed warm-up generation precedes the timed one.

prefill_tokens_per_s = batch * prompt_len / prefill time (prefill includes picking the first token);
decode_tokens_per_s  = batch * (new_tokens - 1) / time of the new_tokens - 1 single-token steps.
Prints one JSON line.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_common import add_model_args, blas_library, build_model, count_params  # noqa: E402

import torch  # noqa: E402


def pick(logits, temperature, gen):
    if temperature <= 0:
        return logits.argmax(-1, keepdim=True)
    probs = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=gen)


def run(model, prompt, new_tokens, temperature, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        t0 = time.perf_counter()
        logits, cache = model(prompt, last_only=True)
        tok = pick(logits[:, -1], temperature, gen)
        t1 = time.perf_counter()
        out = [tok]
        for _ in range(new_tokens - 1):
            logits, cache = model(tok, cache)
            tok = pick(logits[:, -1], temperature, gen)
            out.append(tok)
        t2 = time.perf_counter()
    return torch.cat(out, 1), t1 - t0, t2 - t1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                    help="parameter (and so compute) dtype; HF from_pretrained loads float32 on CPU by default")
    a = ap.parse_args()
    if a.new_tokens < 2:
        ap.error("--new-tokens must be >= 2")

    cfg, model = build_model(a)
    model.eval()
    model.to(getattr(torch, a.dtype))
    g = torch.Generator().manual_seed(a.seed + 1)
    prompt = torch.randint(0, cfg.vocab_size, (a.batch, a.prompt_len), generator=g)
    run(model, prompt, min(a.new_tokens, 4), a.temperature, a.seed)  # warm-up
    toks, t_prefill, t_decode = run(model, prompt, a.new_tokens, a.temperature, a.seed)
    assert toks.shape == (a.batch, a.new_tokens)
    total, matmul = count_params(model)
    steps = a.new_tokens - 1
    print(json.dumps({
        "impl": "pytorch-eager", "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(),
        "hidden": cfg.hidden_size, "layers": cfg.num_hidden_layers, "heads": cfg.num_attention_heads,
        "kv_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim, "inter": cfg.intermediate_size,
        "vocab": cfg.vocab_size, "params": total, "batch": a.batch, "prompt_len": a.prompt_len,
        "new_tokens": a.new_tokens, "temperature": a.temperature, "dtype": a.dtype,
        "prefill_ms": round(t_prefill * 1e3, 3), "decode_ms_per_step": round(t_decode / steps * 1e3, 3),
        "prefill_tokens_per_s": round(a.batch * a.prompt_len / t_prefill, 1),
        "decode_tokens_per_s": round(a.batch * steps / t_decode, 1),
    }))


if __name__ == "__main__":
    main()
