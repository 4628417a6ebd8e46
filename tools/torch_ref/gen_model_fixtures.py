#!/usr/bin/python3
"""Generate tests/fixtures/model_{llama,qwen2,qwen3}/ for the C++ model tests.

Run from the repository root:  python3 tools/torch_ref/gen_model_fixtures.py
Deterministic (fixed seeds). See tools/torch_ref/README.md for what each file holds.
All reference results are computed in float64 from the float32-rounded parameters and
stored as F32; integer tensors are stored as I64.
"""
import copy
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402

from hf_model import CausalLM, Config, masked_ce  # noqa: E402
from optim_ref import manual_adamw  # noqa: E402
from fd_ref import check_entry  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_ROOT = os.path.join(REPO, "tests", "fixtures")

B, T = 2, 8
ADAMW = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
ADAMW_STEPS = 10
CLIP = 1.0
GEN_PROMPT, GEN_NEW = 4, 6

_COMMON = {
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "max_position_embeddings": 128,
    "torch_dtype": "float32",
    "transformers_version": "4.51.0",
    "use_cache": True,
}

CONFIGS = {
    # Llama 3 style: GQA (4 q heads / 2 kv heads), no biases, untied lm_head, head_dim absent (= 32/4 = 8).
    "llama": dict(_COMMON, **{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
        "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "rope_scaling": None,
        "tie_word_embeddings": False,
    }),
    # Qwen2 style: q/k/v biases, tied embeddings (no lm_head.weight tensor), head_dim absent (= 8).
    # rope_theta 10000 (not Qwen2.5's 1e6) so that more rotary frequencies turn noticeably over T=8.
    "qwen2": dict(_COMMON, **{
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None,
        "max_window_layers": 2, "sliding_window": None, "use_sliding_window": False,
        "tie_word_embeddings": True,
    }),
    # Qwen3 style: explicit head_dim 16 != 32/4, per-head q_norm/k_norm, no biases, untied lm_head.
    "qwen3": dict(_COMMON, **{
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
        "attention_bias": False, "head_dim": 16,
        "hidden_size": 32, "intermediate_size": 56, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
        "max_window_layers": 2, "sliding_window": None, "use_sliding_window": False,
        "tie_word_embeddings": False,
    }),
}

# Parameters chosen for adamw_final.<name> (per model, in addition to the common two).
ADAMW_FINAL = {
    "llama": ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "lm_head.weight"],
    "qwen2": ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
              "model.layers.1.self_attn.k_proj.bias"],
    "qwen3": ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
              "model.layers.1.self_attn.k_norm.weight"],
}


def init_params(model, gen):
    """Random float32 parameters. Linear weights ~ N(0, 1/in_features) (std 0.18 for in=32; larger
    than HF's 0.02 so attention is far from uniform and RoPE/masking errors show), embeddings
    ~ N(0, 0.5^2), biases ~ N(0, 0.1^2), norm weights ~ 1 + N(0, 0.1^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name == "model.embed_tokens.weight":
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))


def expected_names(cfg_dict):
    c = Config(cfg_dict)
    names = ["model.embed_tokens.weight", "model.norm.weight"]
    if not c.tie_word_embeddings:
        names.append("lm_head.weight")
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        names += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
        names += [p + f"self_attn.{x}_proj.weight" for x in "qkvo"]
        names += [p + f"mlp.{x}_proj.weight" for x in ("gate", "up", "down")]
        if c.qkv_bias:
            names += [p + f"self_attn.{x}_proj.bias" for x in "qkv"]
        if c.qk_norm:
            names += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
    return sorted(names)


# ----------------------------------------------------------------------------------------------
# Independent naive forward: explicit loops over batch, heads and positions, reading weights by HF
# name from a plain dict. Used only to cross-check CausalLM (GQA head mapping, RoPE, causal mask,
# q/k norm, biases, tying).
def naive_forward(W, cfg_dict, ids):
    c = Config(cfg_dict)
    H, KV, hd, eps = c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.rms_norm_eps

    def norm(x, w):
        return x / torch.sqrt((x * x).sum(-1, keepdim=True) / x.shape[-1] + eps) * w

    def lin(x, name):
        y = x @ W[name + ".weight"].t()
        return y + W[name + ".bias"] if name + ".bias" in W else y

    def rope(vec, pos):  # vec [hd]; pair (i, i + hd/2) rotated by angle pos * theta^(-2i/hd)
        out = vec.clone()
        half = hd // 2
        for i in range(half):
            ang = pos * c.rope_theta ** (-2.0 * i / hd)
            a, b = vec[i], vec[i + half]
            out[i] = a * math.cos(ang) - b * math.sin(ang)
            out[i + half] = b * math.cos(ang) + a * math.sin(ang)
        return out

    Bn, Tn = ids.shape
    logits = torch.zeros(Bn, Tn, c.vocab_size, dtype=torch.float64)
    for b in range(Bn):
        x = W["model.embed_tokens.weight"][ids[b]].clone()  # [T, C]
        for L in range(c.num_hidden_layers):
            p = f"model.layers.{L}."
            h = norm(x, W[p + "input_layernorm.weight"])
            q = lin(h, p + "self_attn.q_proj").view(Tn, H, hd)
            k = lin(h, p + "self_attn.k_proj").view(Tn, KV, hd)
            v = lin(h, p + "self_attn.v_proj").view(Tn, KV, hd)
            att = torch.zeros(Tn, H, hd, dtype=torch.float64)
            for head in range(H):
                g = head // (H // KV)
                for t in range(Tn):
                    qv = q[t, head]
                    if c.qk_norm:
                        qv = norm(qv, W[p + "self_attn.q_norm.weight"])
                    qv = rope(qv, t)
                    scores = []
                    for s in range(t + 1):
                        kv = k[s, g]
                        if c.qk_norm:
                            kv = norm(kv, W[p + "self_attn.k_norm.weight"])
                        scores.append(float(qv @ rope(kv, s)) / math.sqrt(hd))
                    m = max(scores)
                    e = [math.exp(sc - m) for sc in scores]
                    z = sum(e)
                    for s in range(t + 1):
                        att[t, head] += (e[s] / z) * v[s, g]
            x = x + lin(att.reshape(Tn, H * hd), p + "self_attn.o_proj")
            h = norm(x, W[p + "post_attention_layernorm.weight"])
            gte = lin(h, p + "mlp.gate_proj")
            x = x + lin((gte / (1 + torch.exp(-gte))) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = norm(x, W["model.norm.weight"])
        head_w = W.get("lm_head.weight", W["model.embed_tokens.weight"])
        logits[b] = x @ head_w.t()
    return logits


def check_close(a, b, tol, what):
    err = float((a - b).abs().max())
    scale = float(b.abs().max()) + 1e-30
    assert err <= tol * max(1.0, scale), f"{what}: max abs err {err:.3e} (scale {scale:.3e})"
    return err


def generate(kind, cfg_dict, seed):
    cfg = Config(cfg_dict)
    gen = torch.Generator().manual_seed(seed)
    model32 = CausalLM(cfg)
    init_params(model32, gen)
    params32 = {n: p.detach().clone() for n, p in model32.named_parameters()}
    assert sorted(params32) == expected_names(cfg_dict), sorted(params32)
    if cfg.tie_word_embeddings:
        assert model32.lm_head.weight is model32.model.embed_tokens.weight
        assert "lm_head.weight" not in params32
    if cfg_dict.get("head_dim") is not None:
        assert cfg.head_dim * cfg.num_attention_heads != cfg.hidden_size, "qwen3 fixture must use head_dim != C/H"
    assert cfg.num_key_value_heads < cfg.num_attention_heads, "fixtures must exercise GQA"

    model = copy.deepcopy(model32).double()  # exact widening of the float32 parameters
    V = cfg.vocab_size
    input_ids = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    loss_mask = torch.ones(B, T, dtype=torch.float64)
    loss_mask[0, :2] = 0
    loss_mask[1, :3] = 0
    loss_mask[1, 5] = 0

    # --- forward/backward in float64
    model.zero_grad()
    logits, _ = model(input_ids)
    loss = masked_ce(logits, targets, loss_mask)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}

    # --- sanity checks -------------------------------------------------------------------------
    # (1) independent naive implementation, reading weights by name from the written file later.
    W64 = {n: p.double() for n, p in params32.items()}
    check_close(naive_forward(W64, cfg_dict, input_ids), logits.detach(), 1e-10, f"{kind}: naive forward")
    # (2) causal mask: changing tokens after position t leaves logits at <= t unchanged.
    with torch.no_grad():
        for t in (0, 3, T - 2):
            alt = input_ids.clone()
            alt[:, t + 1:] = (alt[:, t + 1:] + 7) % V
            la, _ = model(alt)
            check_close(la[:, :t + 1], logits[:, :t + 1], 1e-12, f"{kind}: causality at t={t}")
            assert float((la[:, t + 1:] - logits[:, t + 1:]).abs().max()) > 1e-6, "future tokens must matter"
    # (3) KV-cache decode gives the same logits as the full forward.
    with torch.no_grad():
        lp, cache = model(input_ids[:, :3])
        parts = [lp]
        for t in range(3, T):
            lt, cache = model(input_ids[:, t:t + 1], cache)
            parts.append(lt)
        check_close(torch.cat(parts, 1), logits, 1e-12, f"{kind}: kv-cache decode")
    # (4) tying: the shared weight's grad is the sum of embedding and lm_head grads of an untied copy.
    if cfg.tie_word_embeddings:
        untied_cfg = Config(dict(cfg_dict, tie_word_embeddings=False))
        um = CausalLM(untied_cfg).double()
        with torch.no_grad():
            sd = {n: p.clone() for n, p in model.named_parameters()}
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"].clone()
            for n, p in um.named_parameters():
                p.copy_(sd[n])
        ul, _ = um(input_ids)
        masked_ce(ul, targets, loss_mask).backward()
        summed = um.model.embed_tokens.weight.grad + um.lm_head.weight.grad
        check_close(grads["model.embed_tokens.weight"], summed, 1e-12, f"{kind}: tied grad")
        assert float(um.lm_head.weight.grad.abs().max()) > 1e-6 and float(um.model.embed_tokens.weight.grad.abs().max()) > 1e-6
    # (5) finite differences on a few entries of every parameter.
    fd_gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            for _ in range(2):
                idx = tuple(int(torch.randint(0, s, (1,), generator=fd_gen)) for s in p.shape)
                if n == "model.embed_tokens.weight" and not cfg.tie_word_embeddings:
                    idx = (int(input_ids[0, 3]),) + idx[1:]  # a row that is actually used
                check_entry(kind, n, p, idx, lambda: masked_ce(model(input_ids)[0], targets, loss_mask), grads[n])
    # every parameter receives a gradient
    for n, g in grads.items():
        assert float(g.abs().max()) > 0, f"{kind}: zero grad for {n}"

    # --- AdamW trajectory (float64) --------------------------------------------------------------
    opt_model = copy.deepcopy(model)
    opt_model.zero_grad()
    params = list(opt_model.parameters())
    opt = torch.optim.AdamW(params, **ADAMW)
    losses, norms = [], []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad()
        lg, _ = opt_model(input_ids)
        l_ = masked_ce(lg, targets, loss_mask)
        losses.append(float(l_))
        l_.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, CLIP)))
        opt.step()
    assert losses[-1] < losses[0], f"{kind}: AdamW did not reduce the loss {losses}"
    assert norms[0] > CLIP, f"{kind}: clipping not exercised (grad norm {norms[0]})"
    finals = {n: p.detach().clone() for n, p in opt_model.named_parameters()}

    def grads_fn(pd):
        m = CausalLM(cfg).double()
        with torch.no_grad():
            for n, p in m.named_parameters():
                p.copy_(pd[n])
        lg, _ = m(input_ids)
        masked_ce(lg, targets, loss_mask).backward()
        return {n: p.grad for n, p in m.named_parameters()}

    manual = manual_adamw({n: p.detach().clone() for n, p in model.named_parameters()}, grads_fn, ADAMW_STEPS, ADAMW, CLIP)
    for n in finals:
        check_close(manual[n], finals[n], 1e-10, f"{kind}: manual AdamW {n}")

    # --- greedy generation (full recompute, float64) -------------------------------------------
    prompt = input_ids[:, :GEN_PROMPT].clone()
    seq = prompt.clone()
    with torch.no_grad():
        for _ in range(GEN_NEW):
            lg, _ = model(seq)
            top2 = lg[:, -1].topk(2, dim=-1).values
            assert float((top2[:, 0] - top2[:, 1]).min()) > 1e-3, f"{kind}: greedy near-tie"
            seq = torch.cat([seq, lg[:, -1].argmax(-1, keepdim=True)], 1)

    # --- write -----------------------------------------------------------------------------------
    out = os.path.join(OUT_ROOT, f"model_{kind}")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)
        f.write("\n")
    save_file(params32, os.path.join(out, "model.safetensors"), {"format": "pt"})
    ref = {
        "input_ids": input_ids.to(torch.int64),
        "targets": targets.to(torch.int64),
        "loss_mask": loss_mask.float(),
        "logits": logits.detach().float(),
        "loss": loss.detach().float().reshape(1),
        "adamw_losses": torch.tensor(losses, dtype=torch.float32),
        "adamw_grad_norms": torch.tensor(norms, dtype=torch.float32),
        "generate_prompt": prompt.to(torch.int64),
        "generate_tokens": seq[:, GEN_PROMPT:].to(torch.int64),
    }
    for n, g in grads.items():
        ref["grad." + n] = g.float()
    for n in ADAMW_FINAL[kind]:
        ref["adamw_final." + n] = finals[n].float()
    save_file(ref, os.path.join(out, "reference.safetensors"), {"format": "pt"})

    # round trip: re-read both files; naive forward on the re-read weights matches.
    back = load_file(os.path.join(out, "model.safetensors"))
    assert back.pop("__metadata__") == {"format": "pt"}
    assert sorted(back) == expected_names(cfg_dict)
    for n in back:
        assert back[n].dtype == torch.float32 and torch.equal(back[n], params32[n]), n
    rback = load_file(os.path.join(out, "reference.safetensors"))
    rback.pop("__metadata__")
    assert sorted(rback) == sorted(ref)
    for n in ref:
        assert torch.equal(rback[n], ref[n]), n
    sizes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"model_{kind}: loss {float(loss):.6f}, adamw {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"grad norm {norms[0]:.3f}, generated {seq[:, GEN_PROMPT:].tolist()}, {sizes} bytes")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for i, kind in enumerate(["llama", "qwen2", "qwen3"]):
        generate(kind, CONFIGS[kind], 1000 + i)


if __name__ == "__main__":
    main()
