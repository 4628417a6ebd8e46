"""Central finite differences of a scalar loss in one parameter entry, checked against the analytic gradient:
the check every fixture script (gen_model_fixtures.py, gen_lora_fixtures.py, gen_rm_fixtures.py) makes."""


def check_entry(kind, name, p, idx, loss, grad, h=1e-6):
    """(loss(p[idx] + h) - loss(p[idx] - h)) / 2h against grad[idx]: |fd - an| <= 1e-7 + 1e-5 |an| (asserts).
    p is changed in place and restored; loss() takes no arguments. Returns |fd - an|."""
    old = float(p[idx])
    p[idx] = old + h
    fp = float(loss())
    p[idx] = old - h
    fm = float(loss())
    p[idx] = old
    fd = (fp - fm) / (2 * h)
    an = float(grad[idx])
    assert abs(fd - an) <= 1e-7 + 1e-5 * abs(an), f"{kind}: finite diff {name}{idx}: {fd} vs {an}"
    return abs(fd - an)
