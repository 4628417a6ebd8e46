#!/usr/bin/python3
"""Generate tests/fixtures/lora/{llama,qwen2,qwen3}.safetensors and tests/fixtures/lora/adapter_config.json.

Run from the repository root:  python3 tools/torch_ref/gen_lora_fixtures.py
Deterministic (fixed seed per model: 3000 llama, 3001 qwen2, 3002 qwen3). Inputs are the base models in
tests/fixtures/model_{llama,qwen2,qwen3}/. All math runs in float64 from the float32 base weights and the
float32-rounded adapter values; results are stored as F32, integer tensors as I64.

LoRA as PEFT defines it (no dropout): every targeted nn.Linear with weight W [out, in] (bias b if any) computes
    y = x W^T + b + (alpha / r) * (x A^T) B^T,   A = lora_A.weight [r, in],  B = lora_B.weight [out, r],
with r = 4, alpha = 8 (scaling 2) on q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj of every layer.
The base weights are frozen (requires_grad False); only A and B train. Both A and B are drawn N(0, 0.1^2) from
the fixed-seed generator (a fresh PEFT adapter has B = 0, which would give A a zero gradient) and rounded to
float32. Implemented by replacing each targeted nn.Linear of hf_model.CausalLM with LoraLinear (below), whose
submodule names make named_parameters() yield "model.layers.{l}.self_attn.q_proj.lora_A.weight" etc.; PEFT saves
the same tensors as "base_model.model." + that name (the adapter name "default" removed).

Batch: B = 2, T = 8; ids random in [0, V); targets random in [0, V) independent of ids (position t is scored
against targets[b, t] directly, no shift), with targets = -1 at the masked positions [0, 0:2], [1, 0:3], [1, 5]
(the loss_mask of tests/fixtures/model_*/reference.safetensors). loss = mean over the 10 unmasked positions of
-log softmax(logits[b, t])[targets[b, t]].

Optimiser: 3 steps of torch.optim.AdamW(A and B of every module, one group, lr=1e-2, betas=(0.9, 0.95),
eps=1e-8, weight_decay=0.1), each preceded by torch.nn.utils.clip_grad_norm_(all A and B together, 1.0); the
global norm is over the adapter parameters only. No loss scaling and no lr change were needed: the asserts below
check that the pre-clip norm exceeds 1 at some step (it does at every step for all three models) and that the
loss falls.

Each <kind>.safetensors holds
  ids, targets I64 [2, 8]; cfg_r, cfg_alpha F32 [1];
  base_model.model.model.layers.{l}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight,
  base_model.model.model.layers.{l}.mlp.{gate,up,down}_proj.lora_{A,B}.weight   (the initial adapter, F32);
  lp F32 [2, 8]: log softmax(logits)[target] with the adapter on (0 where masked); loss F32 [1];
  grad.<PEFT name>: d loss / d A, d loss / d B (autograd, float64);
  adamw.<PEFT name>: A and B after the 3 AdamW steps; adamw_loss F32 [3] (loss before each step, [0] == loss);
  adamw_norm F32 [3] (pre-clip global grad norm returned by clip_grad_norm_ at each step);
  merged_lp F32 [2, 8]: lp of the base model with W replaced by W + (alpha/r) B A (asserted == lp to 1e-12);
  base_lp F32 [2, 8]: lp of the base model with the adapters off (asserted bit-equal to plain CausalLM).

adapter_config.json: what PEFT 0.20.0 (tag v0.20.0 of huggingface/peft; src/peft/config.py PeftConfigMixin /
PeftConfig and src/peft/tuners/lora/config.py LoraConfig) writes from PeftModel.save_pretrained for
LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=[the seven], bias="none", task_type="CAUSAL_LM"):
asdict() of every dataclass field except runtime_config (LoraConfig.to_dict drops it), inference_mode forced to
true, peft_version filled in, auto_mapping null (task_type is set), json.dumps(indent=2, sort_keys=True) with no
trailing newline. target_modules is a set inside PEFT (saved in arbitrary order); written sorted here.
base_model_name_or_path is null (the one file serves the three base models). Older PEFT versions write a subset of
these keys (0.13 lacks exclude_modules, lora_bias, eva_config, corda_config, trainable_token_indices, ...).
"""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from hf_model import CausalLM, Config, masked_ce  # noqa: E402
from optim_ref import manual_adamw  # noqa: E402
from fd_ref import check_entry  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "tests", "fixtures", "lora")

B, T = 2, 8
MASKED = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (1, 5)]
R, ALPHA = 4, 8
INIT_STD = 0.1
ADAMW = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
ADAMW_STEPS = 3
CLIP = 1.0
ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP = ["gate_proj", "up_proj", "down_proj"]
TARGETS = sorted(ATTN + MLP)
PEFT_PREFIX = "base_model.model."
KINDS = ["llama", "qwen2", "qwen3"]

# adapter_config.json as PEFT 0.20.0 saves it (every dataclass field of PeftConfigMixin, PeftConfig and
# LoraConfig with its default, minus runtime_config; the LoraConfig arguments above; inference_mode True).
ADAPTER_CONFIG = {
    # PeftConfigMixin / PeftConfig
    "task_type": "CAUSAL_LM",
    "peft_type": "LORA",
    "auto_mapping": None,
    "peft_version": "0.20.0",
    "base_model_name_or_path": None,
    "revision": None,
    "inference_mode": True,
    # LoraConfig
    "r": R,
    "target_modules": TARGETS,
    "exclude_modules": None,
    "lora_alpha": ALPHA,
    "lora_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "use_rslora": False,
    "modules_to_save": None,
    "init_lora_weights": True,
    "layers_to_transform": None,
    "layers_pattern": None,
    "rank_pattern": {},
    "alpha_pattern": {},
    "megatron_config": None,
    "megatron_core": "megatron.core",
    "trainable_token_indices": None,
    "loftq_config": {},
    "eva_config": None,
    "corda_config": None,
    "lora_ga_config": None,
    "use_dora": False,
    "velora_config": None,
    "alora_invocation_tokens": None,
    "use_qalora": False,
    "qalora_group_size": 16,
    "monteclora_config": None,
    "layer_replication": None,
    "lora_bias": False,
    "target_parameters": None,
    "use_bdlora": None,
    "arrow_config": None,
    "ensure_weight_tying": False,
}


class LoraLinear(nn.Module):
    """base_layer(x) + scaling * lora_B(lora_A(x)); `enabled` False gives the base layer alone."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base_layer = base
        dt = base.weight.dtype
        self.lora_A = nn.Linear(base.in_features, r, bias=False).to(dt)
        self.lora_B = nn.Linear(r, base.out_features, bias=False).to(dt)
        self.scaling = alpha / r
        self.enabled = True

    def forward(self, x):
        y = self.base_layer(x)
        if self.enabled:
            y = y + self.lora_B(self.lora_A(x)) * self.scaling
        return y


def load_base(kind):
    d = os.path.join(REPO, "tests", "fixtures", "model_" + kind)
    with open(os.path.join(d, "config.json")) as f:
        cfg = Config(json.load(f))
    model = CausalLM(cfg).double()
    st = load_file(os.path.join(d, "model.safetensors"))
    st.pop("__metadata__", None)
    with torch.no_grad():
        names = [n for n, _ in model.named_parameters()]
        assert sorted(names) == sorted(st), (kind, sorted(set(names) ^ set(st)))
        for n, p in model.named_parameters():
            p.copy_(st[n].to(torch.float64))
    return cfg, model


def lora_modules(model):
    """(HF module prefix, parent module, attribute) for every target, in layer / ATTN+MLP order."""
    out = []
    for i, layer in enumerate(model.model.layers):
        for a in ATTN:
            out.append((f"model.layers.{i}.self_attn.{a}", layer.self_attn, a))
        for a in MLP:
            out.append((f"model.layers.{i}.mlp.{a}", layer.mlp, a))
    return out


def add_lora(model, gen):
    """Wrap every target in place; A, B ~ N(0, INIT_STD^2) rounded to float32. Returns {PEFT name: param}."""
    for p in model.parameters():
        p.requires_grad_(False)
    adapter = {}
    for prefix, parent, attr in lora_modules(model):
        base = getattr(parent, attr)
        assert isinstance(base, nn.Linear)
        m = LoraLinear(base, R, ALPHA)
        with torch.no_grad():
            for which in ("lora_A", "lora_B"):
                w = getattr(m, which).weight
                w.copy_((INIT_STD * torch.randn(w.shape, generator=gen)).float().double())
        setattr(parent, attr, m)
        adapter[f"{PEFT_PREFIX}{prefix}.lora_A.weight"] = m.lora_A.weight
        adapter[f"{PEFT_PREFIX}{prefix}.lora_B.weight"] = m.lora_B.weight
    trainable = {PEFT_PREFIX + n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable.keys() == adapter.keys() and all(trainable[k] is adapter[k] for k in adapter)
    return adapter


def set_adapters(model, on):
    for mod in model.modules():
        if isinstance(mod, LoraLinear):
            mod.enabled = on


def token_lp(model, ids, targets):
    """lp [B, T] = log softmax(logits)[target] (0 where target < 0) and the masked mean CE loss."""
    logits, _ = model(ids)
    mask = (targets >= 0).to(logits.dtype)
    tgt = targets.clamp(min=0)
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    lp = torch.where(targets >= 0, lp, torch.zeros_like(lp))  # +0.0 (not -0.0) where masked
    loss = masked_ce(logits, tgt, mask)
    assert abs(float(loss) + float(lp.sum() / mask.sum())) < 1e-12
    return lp, loss


def merged_model(base, model):
    """A plain CausalLM whose targeted weights are W + scaling * B @ A."""
    merged = copy.deepcopy(base)
    with torch.no_grad():
        for (prefix, parent, attr), (_, mparent, _) in zip(lora_modules(model), lora_modules(merged)):
            lm = getattr(parent, attr)
            w = getattr(mparent, attr).weight
            w.add_(lm.scaling * (lm.lora_B.weight @ lm.lora_A.weight))
    return merged


def check_close(a, b, tol, what):
    err = float((a - b).abs().max())
    assert err <= tol, f"{what}: max abs err {err:.3e} > {tol:.1e}"
    return err


def generate(kind, seed):
    gen = torch.Generator().manual_seed(seed)
    cfg, base = load_base(kind)
    V = cfg.vocab_size
    ids = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    for b, t in MASKED:
        targets[b, t] = -1

    model = copy.deepcopy(base)
    adapter = add_lora(model, gen)
    base_names = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert len(base_names) == len(list(base.parameters()))

    # --- forward / backward with the adapter (float64)
    lp, loss = token_lp(model, ids, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in adapter.items()}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            assert p.grad is None, f"{kind}: frozen {n} got a gradient"
    for n, g in grads.items():
        assert float(g.abs().max()) > 0, f"{kind}: zero grad for {n}"

    # --- adapters off == base model; merged == adapter forward
    with torch.no_grad():
        set_adapters(model, False)
        base_lp, _ = token_lp(model, ids, targets)
        set_adapters(model, True)
        plain_lp, _ = token_lp(base, ids, targets)
        assert torch.equal(base_lp, plain_lp), f"{kind}: adapters off != base model"
        assert float((base_lp - lp).abs().max()) > 1e-3, f"{kind}: the adapter must change the output"
        merged_lp, _ = token_lp(merged_model(base, model), ids, targets)
        check_close(merged_lp, lp, 1e-12, f"{kind}: merged vs adapter forward")

    # --- central finite differences on 2 entries of every A and B
    fd_gen = torch.Generator().manual_seed(seed + 100)
    h = 1e-6
    worst = 0.0
    with torch.no_grad():
        for n, p in adapter.items():
            for _ in range(2):
                idx = tuple(int(torch.randint(0, s, (1,), generator=fd_gen)) for s in p.shape)
                worst = max(worst, check_entry(kind, n, p, idx, lambda: token_lp(model, ids, targets)[1], grads[n], h))

    # --- AdamW over the adapter only
    init = {n: p.detach().clone() for n, p in adapter.items()}
    opt_model = copy.deepcopy(model)
    opt_adapter = {PEFT_PREFIX + n: p for n, p in opt_model.named_parameters() if p.requires_grad}
    assert opt_adapter.keys() == adapter.keys()
    params = list(opt_adapter.values())
    opt = torch.optim.AdamW(params, **ADAMW)
    losses, norms = [], []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad()
        _, l_ = token_lp(opt_model, ids, targets)
        losses.append(float(l_))
        l_.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, CLIP)))
        opt.step()
    with torch.no_grad():
        final_loss = float(token_lp(opt_model, ids, targets)[1])
    assert losses[0] == float(loss)
    assert losses[-1] < losses[0] and final_loss < losses[-1], f"{kind}: AdamW did not reduce the loss {losses}"
    assert max(norms) > CLIP, f"{kind}: clipping not exercised (grad norms {norms})"
    finals = {n: p.detach().clone() for n, p in opt_adapter.items()}
    for n, p in opt_model.named_parameters():
        if not p.requires_grad:
            assert torch.equal(p, dict(model.named_parameters())[n]), f"{kind}: frozen {n} moved"

    def grads_fn(pd):
        m = copy.deepcopy(model)
        ad = {PEFT_PREFIX + n: p for n, p in m.named_parameters() if p.requires_grad}
        with torch.no_grad():
            for n, p in ad.items():
                p.copy_(pd[n])
                p.grad = None
        token_lp(m, ids, targets)[1].backward()
        return {n: p.grad for n, p in ad.items()}

    manual = manual_adamw({n: v.clone() for n, v in init.items()}, grads_fn, ADAMW_STEPS, ADAMW, CLIP)
    for n in finals:
        check_close(manual[n], finals[n], 1e-12, f"{kind}: manual AdamW {n}")

    # --- write
    out = {
        "ids": ids.to(torch.int64),
        "targets": targets.to(torch.int64),
        "cfg_r": torch.tensor([R], dtype=torch.float32),
        "cfg_alpha": torch.tensor([ALPHA], dtype=torch.float32),
        "lp": lp.detach().float(),
        "loss": loss.detach().float().reshape(1),
        "merged_lp": merged_lp.float(),
        "base_lp": base_lp.float(),
        "adamw_loss": torch.tensor(losses, dtype=torch.float32),
        "adamw_norm": torch.tensor(norms, dtype=torch.float32),
    }
    for n in adapter:
        out[n] = init[n].float()
        assert torch.equal(out[n].double(), init[n]), "adapter init must be exactly float32"
        out["grad." + n] = grads[n].float()
        out["adamw." + n] = finals[n].float()
    meta = {"format": "pt", "model": "model_" + kind, "seed": str(seed), "r": str(R), "lora_alpha": str(ALPHA)}
    path = os.path.join(OUT, f"{kind}.safetensors")
    save_file(out, path, meta)
    back = load_file(path)
    assert back.pop("__metadata__") == meta
    assert sorted(back) == sorted(out)
    for n in out:
        assert back[n].dtype == out[n].dtype and torch.equal(back[n], out[n]), n
    size = os.path.getsize(path)
    print(f"{os.path.relpath(path, REPO)}: loss {float(loss):.8f}  adamw_loss {[round(x, 6) for x in losses]} "
          f"-> {final_loss:.6f}  adamw_norm {[round(x, 4) for x in norms]}  fd worst {worst:.1e}  ({size} bytes)")
    return size


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    total = sum(generate(kind, 3000 + i) for i, kind in enumerate(KINDS))
    with open(os.path.join(OUT, "adapter_config.json"), "w") as f:
        f.write(json.dumps(ADAPTER_CONFIG, indent=2, sort_keys=True))  # as PEFT writes it (no trailing newline)
    print(f"total {total} bytes")
    assert total < 200_000, "keep the LoRA fixtures small"


if __name__ == "__main__":
    main()
