#!/usr/bin/python3
"""Generate tests/fixtures/rm/{qwen2,qwen3}/ for the C++ reward-model tests (tests/train/test_reward_model.cpp).

Run from the repository root:  python3 tools/torch_ref/gen_rm_fixtures.py
Deterministic (fixed seeds 4000 qwen2, 4001 qwen3; byte-identical output on every run). All results are computed
in float64 from the float32-rounded parameters and stored as F32; integer tensors as I64.

The model is transformers' *ForSequenceClassification with num_labels = 1 (hf_model.ForSequenceClassification):
the body of gen_model_fixtures.py's tiny model (same sizes and initialisation), then score = Linear(C, 1,
bias=False) at each row's last non-pad token, found from pad_token_id as transformers does. Configs are the
model fixtures' with architectures [*ForSequenceClassification], id2label {"0": "LABEL_0"}, label2id
{"LABEL_0": 0} (what transformers writes for num_labels = 1; it saves no num_labels key) and pad_token_id 0.
The qwen2 config keeps tie_word_embeddings: true: a reward model has no lm_head whatever it says.

Batch: B = 4 rows of T = 8, lengths 8, 5, 6, 3 (row 0 has no pad), ids random in [1, V) and right-padded with
pad id 0. Rows are paired (chosen, rejected) = (0, 1), (2, 3). Loss (TRL RewardTrainer, hf_model.bt_loss):
    loss = mean_p(-logsigmoid(r_c - r_r - margin_p)) + center * mean_p((r_c + r_r)^2),
margin = [0.5, -0.25], center = 0.1.

Each rm/<kind>/ holds
  config.json, model.safetensors (F32, transformers' names: model.*, score.weight [1, C]);
  reference.safetensors: input_ids I64 [4, 8], lengths I64 [4], last_index I64 [4] (the scored position of each
    row), scores F32 [4], margin F32 [2], center F32 [1], loss F32 [1], dscores F32 [4] (d loss / d score),
    grad.<name> for every parameter (d loss / d parameter);
  expected_names.json: {"architectures": [...], "tensors": {name: shape}} of named_parameters(), i.e. what
    AutoModelForSequenceClassification has for this config.

Checks (asserted): the parameter names are the body's plus score.weight (no lm_head); both last-token rules
(older and newer transformers) agree; each row's score equals the same row run alone without padding (1e-12) and
an independent naive forward (gen_model_fixtures.naive_forward with score.weight as a one-row head) at the last
token (1e-10); central finite differences on 2 entries of every parameter match autograd; every parameter gets a
nonzero gradient; the files read back bit-exactly.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402

from gen_model_fixtures import CONFIGS, check_close, init_params, naive_forward  # noqa: E402
from gen_model_fixtures import expected_names as lm_expected_names  # noqa: E402
from hf_model import Config, ForSequenceClassification, bt_loss  # noqa: E402
from fd_ref import check_entry  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_ROOT = os.path.join(REPO, "tests", "fixtures", "rm")

B, T = 4, 8
LENGTHS = [8, 5, 6, 3]
PAD = 0
MARGIN = [0.5, -0.25]
CENTER = 0.1
SEEDS = {"qwen2": 4000, "qwen3": 4001}
ARCHS = {"qwen2": "Qwen2ForSequenceClassification", "qwen3": "Qwen3ForSequenceClassification"}


def rm_config(kind):
    c = dict(CONFIGS[kind])
    c["architectures"] = [ARCHS[kind]]
    c["id2label"] = {"0": "LABEL_0"}
    c["label2id"] = {"LABEL_0": 0}
    c["pad_token_id"] = PAD
    return c


def expected_names(cfg_dict):
    """The causal LM's tensor names (gen_model_fixtures.expected_names) without lm_head, plus score.weight."""
    return sorted([n for n in lm_expected_names(cfg_dict) if n != "lm_head.weight"] + ["score.weight"])


def loss_of(model, input_ids, margin):
    r = model(input_ids)
    return bt_loss(r[0::2], r[1::2], margin, CENTER), r


def make_batch(gen, V):
    ids = torch.randint(1, V, (B, T), generator=gen)  # never the pad id inside a row
    for b, n in enumerate(LENGTHS):
        ids[b, n:] = PAD
    return ids


def check_model(kind, model, params32, cfg_dict, input_ids, scores):
    """Padding, both last-token rules and an independent forward agree on every row's score."""
    idx = model.last_token(input_ids)
    assert idx.tolist() == [n - 1 for n in LENGTHS], idx.tolist()
    with torch.no_grad():
        for b, n in enumerate(LENGTHS):
            alone = model(input_ids[b:b + 1, :n])
            check_close(alone, scores[b:b + 1], 1e-12, f"{kind}: row {b} unpadded")
    W = {n: p.double() for n, p in params32.items()}
    W["lm_head.weight"] = W["score.weight"]  # a one-row head: logits [B, T, 1] are every position's score
    naive = naive_forward(W, cfg_dict, input_ids)[torch.arange(B), idx, 0]
    check_close(naive, scores.detach(), 1e-10, f"{kind}: naive forward")


def check_fd(kind, model, input_ids, margin, grads, seed):
    """Central finite differences on 2 entries of every parameter; every gradient nonzero."""
    fd_gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            for _ in range(2):
                idx = tuple(int(torch.randint(0, s, (1,), generator=fd_gen)) for s in p.shape)
                if n == "model.embed_tokens.weight":
                    idx = (int(input_ids[0, 3]),) + idx[1:]  # a row that is actually used
                check_entry(kind, n, p, idx, lambda: loss_of(model, input_ids, margin)[0], grads[n])
    for n, g in grads.items():
        assert float(g.abs().max()) > 0, f"{kind}: zero grad for {n}"


def write(kind, cfg_dict, params32, ref, names):
    out = os.path.join(OUT_ROOT, kind)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "expected_names.json"), "w") as f:
        json.dump(names, f, indent=2, sort_keys=True)
        f.write("\n")
    save_file(params32, os.path.join(out, "model.safetensors"), {"format": "pt"})
    save_file(ref, os.path.join(out, "reference.safetensors"), {"format": "pt"})
    for fname, want in (("model.safetensors", params32), ("reference.safetensors", ref)):
        back = load_file(os.path.join(out, fname))
        assert back.pop("__metadata__") == {"format": "pt"}
        assert sorted(back) == sorted(want), fname
        for n in want:
            assert torch.equal(back[n], want[n]), f"{fname}: {n}"
    return sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))


def generate(kind):
    cfg_dict = rm_config(kind)
    cfg = Config(cfg_dict)
    gen = torch.Generator().manual_seed(SEEDS[kind])
    model32 = ForSequenceClassification(cfg, PAD)
    init_params(model32, gen)  # score.weight [1, C]: N(0, 1/C), like every linear weight
    params32 = {n: p.detach().clone() for n, p in model32.named_parameters()}
    assert sorted(params32) == expected_names(cfg_dict), sorted(params32)
    assert "lm_head.weight" not in params32

    model = ForSequenceClassification(cfg, PAD).double()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(params32[n].double())  # exact widening
    input_ids = make_batch(gen, cfg.vocab_size)
    margin = torch.tensor(MARGIN, dtype=torch.float64)

    model.zero_grad()
    loss, scores = loss_of(model, input_ids, margin)
    scores.retain_grad()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    check_model(kind, model, params32, cfg_dict, input_ids, scores)
    check_fd(kind, model, input_ids, margin, grads, SEEDS[kind] + 1)

    ref = {
        "input_ids": input_ids.to(torch.int64),
        "lengths": torch.tensor(LENGTHS, dtype=torch.int64),
        "last_index": model.last_token(input_ids).to(torch.int64),
        "scores": scores.detach().float(),
        "margin": margin.float(),
        "center": torch.tensor([CENTER], dtype=torch.float32),
        "loss": loss.detach().float().reshape(1),
        "dscores": scores.grad.detach().float(),
    }
    for n, g in grads.items():
        ref["grad." + n] = g.float()
    names = {"architectures": [ARCHS[kind]],
             "tensors": {n: list(p.shape) for n, p in model32.named_parameters()}}
    size = write(kind, cfg_dict, params32, ref, names)
    print(f"rm/{kind}: scores {[round(float(s), 4) for s in scores]}, loss {float(loss):.6f}, {size} bytes")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for kind in ("qwen2", "qwen3"):
        generate(kind)


if __name__ == "__main__":
    main()
