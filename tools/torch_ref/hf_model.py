"""Plain-PyTorch decoder-only transformer covering Llama 3, Qwen2/Qwen2.5 and Qwen3.

Written from the behaviour of Hugging Face transformers' LlamaForCausalLM,
Qwen2ForCausalLM and Qwen3ForCausalLM (no rope_scaling, no sliding window,
no dropout). Module attribute names mirror the HF ones, so named_parameters()
yields exactly the HF tensor names (model.layers.0.self_attn.q_proj.weight, ...).
Works in any floating dtype; all math runs in the parameters' dtype.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    """The subset of an HF config.json that the architecture needs."""

    def __init__(self, cfg):
        self.model_type = cfg.get("model_type", "llama")
        if self.model_type not in ("llama", "qwen2", "qwen3"):
            raise ValueError(f"unsupported model_type {self.model_type!r}")
        if cfg.get("rope_scaling") not in (None, {}):
            raise ValueError("rope_scaling is not implemented")
        self.vocab_size = cfg["vocab_size"]
        self.hidden_size = cfg["hidden_size"]
        self.intermediate_size = cfg["intermediate_size"]
        self.num_hidden_layers = cfg["num_hidden_layers"]
        self.num_attention_heads = cfg["num_attention_heads"]
        self.num_key_value_heads = cfg.get("num_key_value_heads") or self.num_attention_heads
        hd = cfg.get("head_dim")
        self.head_dim = hd if hd is not None else self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = cfg.get("rms_norm_eps", 1e-6)
        self.rope_theta = cfg.get("rope_theta", 10000.0)
        self.tie_word_embeddings = cfg.get("tie_word_embeddings", False)
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        # Qwen2: q/k/v always carry a bias, o_proj never. Llama/Qwen3: attention_bias (default
        # false) switches the bias on q/k/v/o together.
        if self.model_type == "qwen2":
            self.qkv_bias, self.o_bias = True, False
        else:
            ab = bool(cfg.get("attention_bias", False))
            self.qkv_bias, self.o_bias = ab, ab
        self.mlp_bias = bool(cfg.get("mlp_bias", False)) if self.model_type == "llama" else False
        self.qk_norm = self.model_type == "qwen3"


def rms_norm(x, weight, eps):
    """x * rsqrt(mean(x^2) + eps) * weight over the last dimension."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def rope_cos_sin(head_dim, theta, positions, dtype):
    """cos/sin tables [T, head_dim] in the rotate-half layout for integer positions [T]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    """x: [B, heads, T, hd]; cos/sin: [T, hd]."""
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        C, H, KV, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(C, H * hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(C, KV * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(C, KV * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(H * hd, C, bias=cfg.o_bias)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(hd, cfg.rms_norm_eps)
            self.k_norm = RMSNorm(hd, cfg.rms_norm_eps)
        self.kv_round = None  # a function applied to the new keys and values after rotary (gen_bf16_fixtures.py)

    def forward(self, x, cos, sin, past_kv=None):
        """x: [B, T, C]; cos/sin for positions P..P+T-1 where P = cached length.
        Returns (out [B, T, C], (k, v) cache with all positions, kv heads [B, KV, P+T, hd])."""
        cfg = self.cfg
        B, T, _ = x.shape
        H, KV, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        q = self.q_proj(x).view(B, T, H, hd)
        k = self.k_proj(x).view(B, T, KV, hd)
        v = self.v_proj(x).view(B, T, KV, hd).transpose(1, 2)
        if cfg.qk_norm:  # Qwen3: per-head RMSNorm before rotary
            q = self.q_norm(q)
            k = self.k_norm(k)
        q = apply_rope(q.transpose(1, 2), cos, sin)
        k = apply_rope(k.transpose(1, 2), cos, sin)
        if self.kv_round is not None:
            k, v = self.kv_round(k), self.kv_round(v)
        if past_kv is not None:
            k = torch.cat([past_kv[0], k], dim=2)
            v = torch.cat([past_kv[1], v], dim=2)
        cache = (k, v)
        P = k.shape[2] - T
        rep = H // KV
        if rep > 1:  # query head h reads kv head h // rep (HF repeat_kv order)
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        if T > 1:  # query i (absolute P+i) sees keys j <= P+i
            qpos = torch.arange(T, device=x.device)[:, None] + P
            kpos = torch.arange(P + T, device=x.device)[None, :]
            scores = scores.masked_fill(kpos > qpos, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H * hd)
        return self.o_proj(out), cache


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(C, I, bias=cfg.mlp_bias)
        self.up_proj = nn.Linear(C, I, bias=cfg.mlp_bias)
        self.down_proj = nn.Linear(I, C, bias=cfg.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, past_kv=None):
        a, cache = self.self_attn(self.input_layernorm(x), cos, sin, past_kv)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, cache


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class CausalLM(nn.Module):
    """named_parameters() gives HF names; when tied, lm_head.weight IS model.embed_tokens.weight
    and is reported once (as model.embed_tokens.weight)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids, past=None, last_only=False):
        """input_ids [B, T] -> (logits [B, T, V], new cache list). With `past`, positions continue
        after the cached length. last_only: compute logits for the last position only ([B, 1, V])."""
        cfg = self.cfg
        P = 0 if past is None else past[0][0].shape[2]
        T = input_ids.shape[1]
        x = self.model.embed_tokens(input_ids)
        pos = torch.arange(P, P + T, device=input_ids.device)
        cos, sin = rope_cos_sin(cfg.head_dim, cfg.rope_theta, pos, x.dtype)
        caches = []
        for i, layer in enumerate(self.model.layers):
            x, c = layer(x, cos, sin, None if past is None else past[i])
            caches.append(c)
        if last_only:
            x = x[:, -1:]
        x = self.model.norm(x)
        return self.lm_head(x), caches


class ForSequenceClassification(nn.Module):
    """transformers' LlamaForSequenceClassification / Qwen2ForSequenceClassification /
    Qwen3ForSequenceClassification with num_labels = 1 (a reward model): the same body, then
    score = nn.Linear(hidden, 1, bias=False) on the final-norm hidden states, read at each row's last
    non-pad token. No lm_head, whatever tie_word_embeddings says. named_parameters(): model.*, score.weight."""

    def __init__(self, cfg, pad_token_id):
        super().__init__()
        self.cfg = cfg
        self.pad_token_id = pad_token_id
        self.model = Backbone(cfg)
        self.score = nn.Linear(cfg.hidden_size, 1, bias=False)

    def hidden(self, input_ids):
        """input_ids [B, T] -> final-norm hidden states [B, T, C] (positions 0..T-1, causal, no cache)."""
        cfg = self.cfg
        x = self.model.embed_tokens(input_ids)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        cos, sin = rope_cos_sin(cfg.head_dim, cfg.rope_theta, pos, x.dtype)
        for layer in self.model.layers:
            x, _ = layer(x, cos, sin)
        return self.model.norm(x)

    def last_token(self, input_ids):
        """Each row's scored position as transformers finds it from pad_token_id. Older releases: the token
        before the first pad, (argmax(ids == pad) - 1) % T, so a row without pad scores its last token.
        Newer releases: the rightmost non-pad token, argmax(arange(T) * (ids != pad)). The two agree on
        right-padded rows with no pad id inside them (asserted here)."""
        T = input_ids.shape[-1]
        old = (torch.eq(input_ids, self.pad_token_id).int().argmax(-1) - 1) % T
        non_pad = (input_ids != self.pad_token_id).to(torch.int64)
        new = (torch.arange(T, dtype=torch.int64) * non_pad).argmax(-1)
        assert torch.equal(old, new), f"last-token rules disagree: {old.tolist()} vs {new.tolist()}"
        return old

    def forward(self, input_ids):
        """input_ids [B, T], right-padded with pad_token_id -> scores [B] (transformers' logits [B, 1])."""
        logits = self.score(self.hidden(input_ids))  # [B, T, 1]
        idx = self.last_token(input_ids)
        return logits[torch.arange(input_ids.shape[0]), idx, 0]


def bt_loss(r_chosen, r_rejected, margin, center):
    """TRL RewardTrainer's loss: mean(-logsigmoid(rc - rr - margin)) + center * mean((rc + rr)^2)."""
    loss = -F.logsigmoid(r_chosen - r_rejected - margin).mean()
    return loss + center * ((r_chosen + r_rejected) ** 2).mean()


def masked_ce(logits, targets, mask):
    """sum(mask * CE(logits, targets)) / sum(mask); logits [B,T,V], targets [B,T], mask [B,T]."""
    V = logits.shape[-1]
    ce = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none")
    m = mask.reshape(-1).to(ce.dtype)
    return (ce * m).sum() / m.sum()
