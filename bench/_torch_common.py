"""Shared setup for the PyTorch benchmark peers (bench/torch_*.py)."""
import math
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "tools", "torch_ref"))
from _torch_env import ensure_torch  # noqa: E402

ensure_torch()

import torch  # noqa: E402

from hf_model import CausalLM, Config  # noqa: E402


def add_model_args(ap):
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=None, help="default: heads (no GQA)")
    ap.add_argument("--head-dim", type=int, default=None, help="default: hidden/heads")
    ap.add_argument("--inter", type=int, default=None, help="default: round(8/3*hidden) to a multiple of 64")
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)


def build_model(a):
    """Llama-style model (no biases, untied lm_head), fp32, HF-like init (std 0.02, norms 1)."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    inter = a.inter or int(64 * math.ceil(8 * a.hidden / 3 / 64))
    cfg_dict = {
        "model_type": "llama", "vocab_size": a.vocab, "hidden_size": a.hidden,
        "intermediate_size": inter, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads or a.heads,
        "head_dim": a.head_dim, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "tie_word_embeddings": False,
    }
    cfg = Config(cfg_dict)
    model = CausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    return cfg, model


def count_params(model):
    """(total, matmul) parameter counts. matmul = every weight used in a matmul: all linear layers
    incl. lm_head, excluding the embedding table (a lookup) and the norm weights."""
    total = sum(p.numel() for p in model.parameters())
    matmul = sum(p.numel() for n, p in model.named_parameters()
                 if n.endswith("proj.weight") or n == "lm_head.weight")
    return total, matmul


def blas_library():
    """Which BLAS torch's matmuls use on Debian (libblas.so.3 alternative). Debian's torch is built with
    BLAS_INFO=generic; with only libblas3 installed this is the slow netlib reference BLAS, so the peer
    numbers are meaningful only with an optimised one (libopenblas0-openmp)."""
    path = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    if "openblas" in path:
        return "openblas"
    if "/blas/libblas.so.3" in path:  # the realpath carries the version: .../blas/libblas.so.3.11.0
        return "netlib-reference"
    return path
