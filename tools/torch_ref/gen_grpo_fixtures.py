#!/usr/bin/python3
"""Generate tests/fixtures/grpo/<model>_<variant>.safetensors for tests/train/test_grpo_loss.cpp.

Run from the repository root:  python3 tools/torch_ref/gen_grpo_fixtures.py
Deterministic (fixed seed per fixture). The GRPO objective is written here from the published formulas
(DeepSeekMath / DeepSeek-R1 GRPO, DAPO clip-higher and token-mean, Dr. GRPO, GSPO, k1/k2/k3 KL estimators),
vectorised over a [B, T] batch, and differentiated by torch autograd through tools/torch_ref/hf_model.py.
All math runs in float64 from the float32 parameters and float32-rounded inputs; results are stored as F32.

Rollout layout: one group of G = 4 completions of the same prompt, right-padded to T. Row b holds the prompt
(P tokens) then L_b completion tokens then padding. Position t of row b predicts ids[b, t + 1]; the positions
that score completion tokens are t = P-1 .. P-1+L_b-1, i.e. flat offset b*T + P-1 (targets = -1 elsewhere).

Each file holds
  inputs : ids, targets [B, T] (I64); old_lp, ref_lp [B, T] (F32, 0 where not scored); rewards [B];
           span_offset, span_length, span_truncated [B] (I64); temperature [1];
           cfg_* scalars (beta, clip_eps_low, clip_eps_high, max_len, std_norm, adv_eps, entropy_coef,
           mask_truncated; and the strings kl_estimator / loss_agg / ratio_level in the metadata)
  results: loss [1]; advantages [B]; lp, ent [B, T] (the forward, 0 where not scored);
           dlp, dent [B, T] (= d loss / d lp and d loss / d entropy from autograd);
           grad.<HF name> for every parameter (full fixtures) or, to keep the set small, sketch.<HF name> [5]
           = (sum_i g_i cos(0.61803 (i+1)(k+1)) for k = 0..3, then the L2 norm) for the light fixtures.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402

from hf_model import CausalLM, Config  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "tests", "fixtures", "grpo")

G = 4
PROMPT_LEN = 4
COMP_LEN = [5, 3, 8, 6]      # completion lengths (row 2 hits the 8-token budget: the truncated one)
TRUNCATED = [0, 0, 1, 0]
T = PROMPT_LEN + max(COMP_LEN)
# Per-sequence offsets of old_lp - lp: with advantages of signs (+, -, -, +) they put the GSPO sequence ratios
# s = exp(mean(lp - old)) of rows 0..3 at about e^0.3 (A>0, clipped), e^-0.3 (A<0, clipped), e^0.3 (A<0, not
# clipped), e^-0.3 (A>0, not clipped); the per-token noise on top makes token ratios cross both bounds too.
SEQ_OFFSET = [-0.3, 0.3, -0.3, 0.3]
TOKEN_NOISE = 0.25
REF_NOISE = 0.2
MARGIN = 2e-3  # every ratio stays this far (in log space) from a clip bound, so float32 lp cannot flip a branch

BASE = dict(beta=0.001, kl_estimator="k3", clip_eps_low=0.2, clip_eps_high=0.2, loss_agg="seq-mean-token-mean",
            max_len=0, std_norm=True, adv_eps=1e-6, ratio_level="token", entropy_coef=0.0, mask_truncated=False,
            temperature=1.0, rewards=[1.0, 0.0, 0.0, 1.0])

# (model, variant, overrides, full gradients?)
FIXTURES = [
    ("llama", "grpo_k3", {}, True),
    ("llama", "grpo_beta0", dict(beta=0.0), False),
    ("llama", "dapo_token_mean_clip_higher", dict(loss_agg="token-mean", clip_eps_high=0.28, beta=0.0), False),
    ("llama", "dr_grpo", dict(loss_agg="seq-mean-token-sum-norm", std_norm=False, rewards=[1.0, 0.0, 0.2, 1.0]),
     False),
    ("llama", "dr_grpo_max_len", dict(loss_agg="seq-mean-token-sum-norm", std_norm=False, max_len=10), False),
    ("llama", "gspo", dict(ratio_level="sequence", clip_eps_low=0.2, clip_eps_high=0.2), True),
    ("llama", "k1", dict(kl_estimator="k1", beta=0.05), False),
    ("llama", "k2", dict(kl_estimator="k2", beta=0.05), False),
    ("llama", "entropy_t07", dict(entropy_coef=0.01, temperature=0.7, beta=0.01), True),
    ("llama", "mask_truncated", dict(mask_truncated=True, beta=0.01), True),
    ("qwen2", "grpo_k3", dict(beta=0.01), True),
    ("qwen2", "dapo_gspo_entropy", dict(loss_agg="token-mean", clip_eps_high=0.28, ratio_level="sequence",
                                        entropy_coef=0.02, temperature=0.7, kl_estimator="k2", beta=0.02), False),
]


def f32(x):
    """Round to float32 and widen back: the value the C++ side will read."""
    return torch.as_tensor(x, dtype=torch.float64).to(torch.float32).to(torch.float64)


def load_model(kind):
    d = os.path.join(REPO, "tests", "fixtures", "model_" + kind)
    with open(os.path.join(d, "config.json")) as f:
        cfg = Config(json.load(f))
    model = CausalLM(cfg).double()
    st = load_file(os.path.join(d, "model.safetensors"))
    with torch.no_grad():
        names = []
        for n, p in model.named_parameters():
            p.copy_(st[n].to(torch.float64))
            names.append(n)
    return model, names


def batch(V, gen):
    ids = torch.zeros(G, T, dtype=torch.int64)
    prompt = torch.randint(3, V, (PROMPT_LEN,), generator=gen)
    targets = torch.full((G, T), -1, dtype=torch.int64)
    for b in range(G):
        ids[b, :PROMPT_LEN] = prompt
        ids[b, PROMPT_LEN:PROMPT_LEN + COMP_LEN[b]] = torch.randint(3, V, (COMP_LEN[b],), generator=gen)
        for t in range(PROMPT_LEN - 1, PROMPT_LEN - 1 + COMP_LEN[b]):
            targets[b, t] = ids[b, t + 1]
    return ids, targets


def token_logprobs(model, ids, targets, temperature):
    """lp[b, t] = log softmax(logits / temperature)[target] (0 where target < 0), ent[b, t] = entropy."""
    logits, _ = model(ids)
    logp = torch.log_softmax(logits / temperature, dim=-1)
    ent = -(logp.exp() * logp).sum(-1)
    scored = targets >= 0
    lp = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * scored
    return lp, ent * scored


def advantages(rewards, std_norm, eps):
    """Group-normalised advantages; sample std (n - 1), as torch.std."""
    r = rewards.view(-1, G)
    centred = r - r.mean(-1, keepdim=True)
    if std_norm:
        centred = centred / (r.std(-1, keepdim=True) + eps)
    return centred.reshape(-1)


def grpo_objective(c, lp, ent, old_lp, ref_lp, adv, span_mask, counted):
    """The GRPO loss (to minimise) for [B, T] per-token tensors.

    span_mask: 1 on the completion tokens of each row; counted: span_mask with masked (truncated) rows zeroed.
    Returns (loss, token ratios used, per-token 'clipped' flags)."""
    lengths = span_mask.sum(-1)
    log_ratio = (lp - old_lp) * span_mask
    if c["ratio_level"] == "sequence":  # GSPO: s_i = exp(mean_t log(pi/pi_old)), the same for every token of i
        log_ratio = (log_ratio.sum(-1, keepdim=True) / lengths.unsqueeze(-1)).expand_as(lp)
    ratio = torch.exp(log_ratio)
    A = adv.unsqueeze(-1)
    surr = torch.min(ratio * A, torch.clamp(ratio, 1 - c["clip_eps_low"], 1 + c["clip_eps_high"]) * A)
    per_token = -surr
    if c["beta"] > 0:
        x = torch.clamp(lp - ref_lp, -20.0, 20.0)  # log(pi / pi_ref)
        if c["kl_estimator"] == "k1":
            D = x
        elif c["kl_estimator"] == "k2":
            D = 0.5 * x * x
        else:  # k3 = pi_ref/pi - log(pi_ref/pi) - 1
            D = torch.exp(-x) + x - 1
        per_token = per_token + c["beta"] * D
    if c["entropy_coef"] != 0:
        per_token = per_token - c["entropy_coef"] * ent
    per_token = per_token * counted
    nseq = lp.shape[0]  # every sequence of the batch, counted or not (header: num_seqs_norm <= 0 -> seqs.size())
    if c["loss_agg"] == "seq-mean-token-mean":
        loss = (per_token.sum(-1) / lengths).sum() / nseq
    elif c["loss_agg"] == "token-mean":
        loss = per_token.sum() / counted.sum()
    else:  # Dr. GRPO: constant normaliser batch size x max length (config, or the longest completion)
        max_len = c["max_len"] if c["max_len"] > 0 else float(lengths.max())
        loss = per_token.sum() / (nseq * max_len)
    return loss, ratio


def sketch(g):
    g = g.reshape(-1)
    i = torch.arange(1, g.numel() + 1, dtype=torch.float64)
    out = [(g * torch.cos(0.61803 * i * (k + 1))).sum() for k in range(4)]
    out.append(g.norm())
    return torch.stack(out)


class Redraw(Exception):
    """The drawn noise put a ratio too close to a clip bound, or missed a region: draw again."""


def generate(idx, kind, variant, over, full):
    for attempt in range(50):
        try:
            return generate_once(5000 + 100 * idx + attempt, kind, variant, over, full)
        except Redraw as e:
            print(f"  redraw ({e})")
    raise SystemExit(f"{kind}_{variant}: no suitable noise in 50 draws")


def generate_once(seed, kind, variant, over, full):
    c = dict(BASE, **over)
    gen = torch.Generator().manual_seed(seed)
    model, names = load_model(kind)
    ids, targets = batch(model.cfg.vocab_size, gen)
    span_mask = (targets >= 0).to(torch.float64)
    trunc = torch.tensor(TRUNCATED, dtype=torch.float64)
    counted = span_mask * (1 - trunc).unsqueeze(-1) if c["mask_truncated"] else span_mask.clone()
    temperature = float(f32(c["temperature"]))

    with torch.no_grad():
        lp0, _ = token_logprobs(model, ids, targets, temperature)
    noise = torch.randn(G, T, generator=gen, dtype=torch.float64) * TOKEN_NOISE
    noise = noise + torch.tensor(SEQ_OFFSET, dtype=torch.float64).unsqueeze(-1)
    old_lp = f32((lp0 + noise) * span_mask)
    ref_lp = f32((lp0 + torch.randn(G, T, generator=gen, dtype=torch.float64) * REF_NOISE) * span_mask)
    rewards = f32(c["rewards"])
    adv = advantages(rewards, c["std_norm"], float(f32(c["adv_eps"])))
    cf = {k: (float(f32(v)) if isinstance(v, float) else v) for k, v in c.items()}

    model.zero_grad()
    lp, ent = token_logprobs(model, ids, targets, temperature)
    lp.retain_grad()
    ent.retain_grad()
    loss, ratio = grpo_objective(cf, lp, ent, old_lp, ref_lp, adv, span_mask, counted)
    loss.backward()

    # --- the fixture must exercise every branch of the clipped surrogate, away from the kinks
    lo, hi = 1 - cf["clip_eps_low"], 1 + cf["clip_eps_high"]
    r = ratio.detach()
    A = adv.unsqueeze(-1).expand_as(r)
    m = counted > 0
    for bound in (lo, hi):
        gap = (torch.log(r[m]) - math.log(bound)).abs().min()
        if gap <= MARGIN:
            raise Redraw(f"a ratio is {float(gap):.2e} from the bound {bound}")
    clipped_pos = m & (A > 0) & (r > hi)
    clipped_neg = m & (A < 0) & (r < lo)
    free_pos = m & (A > 0) & (r < hi)
    free_neg_hi = m & (A < 0) & (r > hi)  # above 1 + eps with A < 0: the unclipped term is the min, gradient flows
    for name, sel in (("clipped A>0", clipped_pos), ("clipped A<0", clipped_neg), ("unclipped A>0", free_pos),
                      ("A<0 above 1+eps", free_neg_hi)):
        if not bool(sel.any()):
            raise Redraw(f"no token in the region {name}")
    # the clipped tokens really get no surrogate gradient (only KL / entropy terms)
    if cf["ratio_level"] == "token" and cf["beta"] == 0 and cf["entropy_coef"] == 0:
        assert float(lp.grad[clipped_pos | clipped_neg].abs().max()) == 0.0

    out = {
        "ids": ids, "targets": targets,
        "old_lp": old_lp.float(), "ref_lp": ref_lp.float(), "rewards": rewards.float(),
        "span_offset": torch.tensor([b * T + PROMPT_LEN - 1 for b in range(G)], dtype=torch.int64),
        "span_length": torch.tensor(COMP_LEN, dtype=torch.int64),
        "span_truncated": torch.tensor(TRUNCATED, dtype=torch.int64),
        "temperature": torch.tensor([temperature], dtype=torch.float32),
        "loss": loss.detach().reshape(1).float(), "advantages": adv.float(),
        "lp": lp.detach().float(), "ent": ent.detach().float(),
        "dlp": lp.grad.float(),
        "dent": (ent.grad if ent.grad is not None else torch.zeros_like(ent)).float(),
    }
    for k in ("beta", "clip_eps_low", "clip_eps_high", "adv_eps", "entropy_coef"):
        out["cfg_" + k] = torch.tensor([cf[k]], dtype=torch.float32)
    for k in ("max_len", "std_norm", "mask_truncated"):
        out["cfg_" + k] = torch.tensor([int(cf[k])], dtype=torch.int64)
    for n, p in model.named_parameters():
        if full:
            out["grad." + n] = p.grad.float()
        else:
            out["sketch." + n] = sketch(p.grad).float()
    meta = {"format": "pt", "seed": str(seed), "kl_estimator": cf["kl_estimator"], "loss_agg": cf["loss_agg"],
            "ratio_level": cf["ratio_level"], "model": "model_" + kind}
    path = os.path.join(OUT, f"{kind}_{variant}.safetensors")
    save_file(out, path, meta)
    print(f"{os.path.relpath(path, REPO)}: loss {float(loss):.8f}  ({os.path.getsize(path)} bytes)")
    return os.path.getsize(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    total = sum(generate(i, k, v, o, f) for i, (k, v, o, f) in enumerate(FIXTURES))
    print(f"total {total} bytes")
    assert total < 600_000, "keep the GRPO fixtures small"


if __name__ == "__main__":
    main()
