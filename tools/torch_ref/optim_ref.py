"""AdamW with global-norm gradient clipping written out step by step (the formula in tools/torch_ref/README.md),
to confirm that torch.optim.AdamW + clip_grad_norm_ compute it. Shared by the fixture scripts."""
import math


def manual_adamw(params, grads_fn, steps, adamw, clip):
    """params: name -> tensor; grads_fn(params) -> name -> gradient; adamw: dict(lr, betas, eps, weight_decay)."""
    b1, b2 = adamw["betas"]
    lr, eps, wd = adamw["lr"], adamw["eps"], adamw["weight_decay"]
    m = {k: v.new_zeros(v.shape) for k, v in params.items()}
    s = {k: v.new_zeros(v.shape) for k, v in params.items()}
    for step in range(1, steps + 1):
        g = grads_fn(params)
        total = math.sqrt(sum(float((gi * gi).sum()) for gi in g.values()))
        coef = min(1.0, clip / (total + 1e-6))
        for k in params:
            gk = g[k] * coef
            params[k] = params[k] * (1 - lr * wd)
            m[k] = b1 * m[k] + (1 - b1) * gk
            s[k] = b2 * s[k] + (1 - b2) * gk * gk
            mhat = m[k] / (1 - b1 ** step)
            denom = (s[k] / (1 - b2 ** step)).sqrt() + eps
            params[k] = params[k] - lr * mhat / denom
    return params
