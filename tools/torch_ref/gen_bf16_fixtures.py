#!/usr/bin/python3
"""Generate tests/fixtures/model_{llama,qwen2,qwen3}/bf16_reference.safetensors for the bf16 model test.

Run from the repository root (after gen_model_fixtures.py, whose files it reads):
    python3 tools/torch_ref/gen_bf16_fixtures.py
Deterministic (no randomness). For each fixture model it reads config.json, model.safetensors and the batch of
reference.safetensors (input_ids, targets, loss_mask) and writes two bf16 forward/backward results:

- `emu.*` — r1's bf16 scheme (src/kernels/bf16_matmul.cpp, ref::matmul_forward_bf16 & co.) written out: every
  nn.Linear (q/k/v/o, gate/up/down, lm_head) is `Bf16Linear`: out = bf16(a) · bf16(W)^T + bias with exact sums,
  da = bf16(dout) · bf16(W), dW = bf16(dout)^T · bf16(a), dbias = Σ_rows dout (not rounded); the keys and values
  after rotary are rounded to bf16 (`RoundKV`: what a bf16 KV cache holds; their gradient passes unchanged).
  Everything else (embedding, RMSNorm, rotary, queries, attention, softmax, SwiGLU, cross-entropy) is unrounded.
  All arithmetic other than
  the bf16 roundings runs in float64, as in reference.safetensors: these are the exact values of the scheme, which
  r1's fp32 arithmetic approximates to fp32 roundoff. An operand is rounded as r1 rounds its fp32 values:
  `x.float().bfloat16()` (round to nearest even).
- `ac.*` — the float32 model run under `torch.autocast("cpu", dtype=torch.bfloat16)` (PyTorch's own bf16 mixed
  precision: linears and matmuls on bf16 operands, their outputs bf16, so attention scores, probabilities and the
  logits are rounded as well), loss computed inside the autocast region, backward outside it; grads fp32.

Tensors (F32): `<p>.logits` [B,T,V], `<p>.loss` [1] (= masked mean CE, as `loss` of reference.safetensors) and
`<p>.grad.<HF name>` for every parameter, p in {emu, ac}. Tied model: the embedding's grad holds both uses.
`emu.in.<module>` [B*T, in_features]: the emulation's input of that linear before rounding, for
model.layers.<l>.self_attn.q_proj (also k/v_proj's), .self_attn.o_proj, .mlp.gate_proj (also up_proj's),
.mlp.down_proj and lm_head: with it the test checks that r1 rounds the very same values to the very same bf16
operands, so that its tight tolerances only have fp32 summation order to cover.

Checks (asserted): every linear of the model goes through Bf16Linear; with the rounding switched off the emulation
reproduces reference.safetensors' fp32 results (logits, loss, every gradient), which checks Bf16Linear's backward
and the plumbing; under autocast the logits come out bf16; the bf16 results differ from the fp32 ones by far more
than the fp32 reference's own precision; the file is read back bit-exactly. Printed, not asserted: the emulation
with float32 instead of float64 for the unrounded math (as r1 computes) against the float64 one. It differs by fp32
roundoff, and by more where an operand next to a bf16 rounding tie rounds the other way (a "flip": see the caveat in
tests/train/test_model_bf16_vs_torch.cpp); qwen2's 2.8e-5 gradient difference is most likely one.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from gen_model_fixtures import OUT_ROOT, check_close, expected_names  # noqa: E402
from hf_model import Attention, CausalLM, Config, masked_ce  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

KINDS = ["llama", "qwen2", "qwen3"]


def bf16(t):
    """r1's rounding of an fp32 value to bf16 (nearest even), returned in t's dtype."""
    return t.float().bfloat16().to(t.dtype)


class Bf16Linear(torch.autograd.Function):
    """r1's bf16 product: x [.., K], w [N, K], b [N] or None. `rnd` is the rounding (identity to test the plumbing)."""

    @staticmethod
    def forward(ctx, x, w, b, rnd):
        xr, wr = rnd(x), rnd(w)
        ctx.save_for_backward(xr, wr)
        ctx.rnd = rnd
        ctx.has_bias = b is not None
        out = xr @ wr.t()
        return out + b if b is not None else out

    @staticmethod
    def backward(ctx, dout):
        xr, wr = ctx.saved_tensors
        d2 = dout.reshape(-1, dout.shape[-1])
        dr = ctx.rnd(d2)
        dx = (dr @ wr).reshape(xr.shape)
        dw = dr.t() @ xr.reshape(-1, xr.shape[-1])
        db = d2.sum(0) if ctx.has_bias else None
        return dx, dw, db, None


class RoundKV(torch.autograd.Function):
    """r1's bf16 keys and values (after rotary): rounded forward, the gradient passed through unchanged."""

    @staticmethod
    def forward(ctx, x, rnd):
        return rnd(x)

    @staticmethod
    def backward(ctx, g):
        return g, None


def patch_kv(model, rnd):
    """Every attention's new keys and values through RoundKV with rounding `rnd`; returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, Attention):
            m.kv_round = lambda t, rnd=rnd: RoundKV.apply(t, rnd)
            n += 1
    return n


def load_model(kind, dtype):
    """The fixture model (float32 parameters widened to `dtype`) and its config dict."""
    d = os.path.join(OUT_ROOT, f"model_{kind}")
    with open(os.path.join(d, "config.json")) as f:
        cfg_dict = json.load(f)
    params = load_file(os.path.join(d, "model.safetensors"))
    params.pop("__metadata__")
    assert sorted(params) == expected_names(cfg_dict), sorted(params)
    model = CausalLM(Config(cfg_dict)).to(dtype)
    with torch.no_grad():
        for n, p in model.named_parameters():
            assert params[n].dtype == torch.float32
            p.copy_(params[n].to(dtype))
    return model, cfg_dict


# The linears whose input r1 rounds once for several products (its fused wqkv and wgu read one rounded copy):
# their inputs are stored as emu.in.<name> (k_proj, v_proj and up_proj read the same tensors).
OPERAND_MODULES = ("self_attn.q_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.down_proj", "lm_head")


def patch_linears(model, rnd, record=None):
    """Route every nn.Linear of the model through Bf16Linear; returns how many. With `record`, the unrounded
    input of each OPERAND_MODULES linear goes into record[module name]."""
    n = 0
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            def fwd(x, m=m, name=name):
                if record is not None and name.endswith(OPERAND_MODULES):
                    record[name] = x.detach().clone()
                return Bf16Linear.apply(x, m.weight, m.bias, rnd)
            m.forward = fwd
            n += 1
    return n


def run(model, batch, autocast=False):
    """Forward + backward on the batch -> (logits, loss, {name: grad}), as float32 tensors."""
    ids, targets, mask = batch
    model.zero_grad()
    if autocast:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = model(ids)
            loss = masked_ce(logits, targets, mask)
    else:
        logits, _ = model(ids)
        loss = masked_ce(logits, targets, mask.to(logits.dtype))
    loss.backward()
    grads = {n: p.grad.detach().float().clone() for n, p in model.named_parameters()}
    return logits.detach(), loss.detach().float().reshape(1), grads


def rel(a, b):
    return float((a.double() - b.double()).norm() / (b.double().norm() + 1e-30))


def generate(kind):
    d = os.path.join(OUT_ROOT, f"model_{kind}")
    ref = load_file(os.path.join(d, "reference.safetensors"))
    batch = (ref["input_ids"], ref["targets"], ref["loss_mask"].double())

    # (1) plumbing: rounding off -> the fp32 reference (float64 math stored as F32)
    model, cfg_dict = load_model(kind, torch.float64)
    c = Config(cfg_dict)
    n_linear = 7 * c.num_hidden_layers + 1
    assert patch_linears(model, lambda t: t) == n_linear
    assert patch_kv(model, lambda t: t) == c.num_hidden_layers
    lg, loss, grads = run(model, batch)
    check_close(lg.float(), ref["logits"], 1e-6, f"{kind}: no-rounding emulation logits")
    check_close(loss, ref["loss"], 1e-6, f"{kind}: no-rounding emulation loss")
    for n, g in grads.items():
        assert rel(g, ref["grad." + n]) < 1e-6, f"{kind}: no-rounding emulation grad {n}: {rel(g, ref['grad.' + n])}"

    # (2) the emulation of r1's bf16 scheme (float64 for the unrounded math)
    model, _ = load_model(kind, torch.float64)
    operands = {}
    assert patch_linears(model, bf16, operands) == n_linear
    assert patch_kv(model, bf16) == c.num_hidden_layers
    e_lg, e_loss, e_grads = run(model, batch)
    assert len(operands) == 4 * c.num_hidden_layers + 1
    e_lg = e_lg.float()
    assert sorted(e_grads) == sorted(n[5:] for n in ref if n.startswith("grad."))

    # the same with float32 for the unrounded math, as r1 computes it (printed below)
    model32, _ = load_model(kind, torch.float32)
    patch_linears(model32, bf16)
    patch_kv(model32, bf16)
    f_lg, f_loss, f_grads = run(model32, batch)

    # (3) autocast
    model, _ = load_model(kind, torch.float32)
    a_lg, a_loss, a_grads = run(model, batch, autocast=True)
    assert a_lg.dtype == torch.bfloat16, f"{kind}: autocast did not produce bf16 logits ({a_lg.dtype})"
    a_lg = a_lg.float()

    # bf16 is in effect in both, and both stay near the fp32 model
    scale = float(ref["logits"].abs().max())
    for tag, lgx, gx in (("emu", e_lg, e_grads), ("ac", a_lg, a_grads)):
        dl = float((lgx - ref["logits"]).abs().max())
        dg = max(rel(gx[n], ref["grad." + n]) for n in gx)
        assert 1e-4 * scale < dl < 0.1 * scale, f"{kind}: {tag} logits vs fp32 {dl} (scale {scale})"
        assert 1e-4 < dg < 0.2, f"{kind}: {tag} grads vs fp32 {dg}"

    out = {"emu.logits": e_lg, "emu.loss": e_loss, "ac.logits": a_lg, "ac.loss": a_loss}
    for n, x in operands.items():
        out["emu.in." + n] = x.float().reshape(-1, x.shape[-1])
    for n in e_grads:
        out["emu.grad." + n] = e_grads[n]
        out["ac.grad." + n] = a_grads[n]
    path = os.path.join(d, "bf16_reference.safetensors")
    save_file(out, path, {"format": "pt"})
    back = load_file(path)
    assert back.pop("__metadata__") == {"format": "pt"}
    assert sorted(back) == sorted(out)
    for n in out:
        assert back[n].dtype == torch.float32 and torch.equal(back[n], out[n]), n

    def diffs(lgx, lossx, gx, lgy, lossy, gy):
        return (f"logits {float((lgx - lgy).abs().max()):.2e}, loss {abs(float(lossx) - float(lossy)):.2e}, "
                f"grad rel {max(rel(gx[n], gy[n]) for n in gx):.2e}")

    fp = (ref["logits"], ref["loss"], {n: ref["grad." + n] for n in e_grads})
    print(f"model_{kind}: max|logit| {scale:.3f}, loss fp32 {float(ref['loss']):.6f} emu {float(e_loss):.6f} "
          f"autocast {float(a_loss):.6f}; {os.path.getsize(path)} bytes")
    print(f"  emu vs fp32:       {diffs(e_lg, e_loss, e_grads, *fp)}")
    print(f"  autocast vs fp32:  {diffs(a_lg, a_loss, a_grads, *fp)}")
    print(f"  autocast vs emu:   {diffs(a_lg, a_loss, a_grads, e_lg, e_loss, e_grads)}")
    print(f"  emu(f32) vs emu:   {diffs(f_lg, f_loss, f_grads, e_lg, e_loss, e_grads)}")


def main():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for kind in KINDS:
        generate(kind)


if __name__ == "__main__":
    main()
