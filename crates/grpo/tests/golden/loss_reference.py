"""Independent NumPy reference for the GRPO loss in crates/grpo/src/loss.rs.

Writes loss_golden.json next to this file: for each case, the inputs (float32
values), the loss, its gradient with respect to `logprobs`, and the metrics,
computed in float64 from the formulas in docs/grpo.md. The gradient is derived
by hand and cross-checked here against central finite differences.

Regenerate (from the repository root):

    .venv/bin/python crates/grpo/tests/golden/loss_reference.py

Written with Python 3.11 and NumPy 2.4.
"""

import json
import pathlib
import sys

import numpy as np

SEED = 20250306
OUT = pathlib.Path(__file__).with_name("loss_golden.json")


def per_token_terms(lp, old, ref, adv, keep, eps_low, eps_high, beta):
    """Per-token loss and its derivative with respect to lp (float64)."""
    log_ratio = np.where(keep, lp - old, 0.0)
    ratio = np.exp(log_ratio)
    a = adv[:, None]
    unclipped = ratio * a
    clipped = np.clip(ratio, 1.0 - eps_low, 1.0 + eps_high) * a
    # min picks the unclipped branch (ties included): its derivative in lp
    # is r * A; the clipped branch is constant in lp when it is chosen.
    takes_unclipped = unclipped <= clipped
    loss = -np.minimum(unclipped, clipped)
    dloss = np.where(takes_unclipped, -ratio * a, 0.0)
    k3 = None
    if ref is not None:
        d = np.where(keep, ref - lp, 0.0)
        k3 = np.exp(d) - d - 1.0
        if beta > 0:
            loss = loss + beta * k3
            # d/dlp [exp(ref - lp) - (ref - lp) - 1] = 1 - exp(ref - lp)
            dloss = dloss + beta * (1.0 - np.exp(d))
    return loss, np.where(keep, dloss, 0.0), ratio, k3


def weights(keep, loss_type, max_len, total_tokens):
    """The factor each counted token's loss is multiplied by in the sum."""
    m = keep.astype(np.float64)
    b = m.shape[0]
    if loss_type == "grpo":
        return m / np.maximum(m.sum(axis=1, keepdims=True), 1.0) / b
    if loss_type == "bnpo":
        return m / max(m.sum(), 1.0)
    if loss_type == "dr_grpo":
        return m / (b * max_len)
    if loss_type == "dapo":
        n = total_tokens if total_tokens is not None else max(m.sum(), 1.0)
        return m / n
    raise ValueError(loss_type)


def reference(case):
    lp = np.array(case["logprobs"], dtype=np.float64)
    old = lp if case["old_logprobs"] is None else np.array(case["old_logprobs"], np.float64)
    ref = None if case["ref_logprobs"] is None else np.array(case["ref_logprobs"], np.float64)
    adv = np.array(case["advantages"], dtype=np.float64)
    keep = np.array(case["mask"], dtype=np.float64) != 0
    eps_low = case["epsilon"]
    eps_high = eps_low if case["epsilon_high"] is None else case["epsilon_high"]

    def loss_of(lp_, old_):
        per_token, dper_token, ratio, k3 = per_token_terms(
            lp_, old_, ref, adv, keep, eps_low, eps_high, case["beta"]
        )
        w = weights(keep, case["loss_type"], case["max_completion_length"], case["total_tokens"])
        return float((np.where(keep, per_token, 0.0) * w).sum()), dper_token * w, ratio, k3

    loss, grad, ratio, k3 = loss_of(lp, old)

    # Finite differences; `old` stays fixed (it is detached in the loss).
    h = 1e-6
    fd = np.zeros_like(lp)
    for idx in np.ndindex(lp.shape):
        up, down = lp.copy(), lp.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (loss_of(up, old)[0] - loss_of(down, old)[0]) / (2 * h)
    if not np.allclose(fd, grad, rtol=1e-5, atol=1e-7):
        sys.exit(f"{case['name']}: analytic gradient disagrees with finite differences")

    n = max(keep.sum(), 1)
    a = adv[:, None]
    low = (ratio < 1.0 - eps_low) & (a < 0) & keep
    high = (ratio > 1.0 + eps_high) & (a > 0) & keep
    return {
        "loss": loss,
        "grad": grad.tolist(),
        "ratio_mean": float(np.where(keep, ratio, 0.0).sum() / n),
        "clip_fraction_low": float(low.sum() / n),
        "clip_fraction_high": float(high.sum() / n),
        "clip_fraction": float((low | high).sum() / n),
        "kl": None if k3 is None else float(np.where(keep, k3, 0.0).sum() / n),
    }


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64).tolist()


def check_away_from_kinks(case):
    """Ratios within 1e-3 of a clip bound make f32 and f64 disagree on the branch."""
    if case["old_logprobs"] is None:
        return
    lp, old = np.array(case["logprobs"]), np.array(case["old_logprobs"])
    keep = np.array(case["mask"]) != 0
    eps_high = case["epsilon"] if case["epsilon_high"] is None else case["epsilon_high"]
    r = np.exp(lp - old)[keep]
    for bound in (1.0 - case["epsilon"], 1.0 + eps_high):
        if np.any(np.abs(r - bound) < 1e-3):
            sys.exit(f"{case['name']}: a ratio sits on a clip bound; change the seed")


def render(header, cases):
    """JSON with one line per field of each case, so diffs stay readable."""
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    lines.append(' "cases": [')
    for i, case in enumerate(cases):
        fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(case.items(), key=lambda kv: kv[0] != "name")]
        lines.append("  {\n" + ",\n".join(fields) + "\n  }" + ("," if i + 1 < len(cases) else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


def main():
    rng = np.random.default_rng(SEED)
    b, t = 4, 6
    lp = -rng.uniform(0.05, 3.0, size=(b, t))
    # Old log-probs spread the ratios over about [0.45, 2.2]: clipped on both sides.
    old = lp - rng.uniform(-0.8, 0.8, size=(b, t))
    ref = lp + rng.normal(0.0, 0.5, size=(b, t))
    adv = np.array([1.2, -0.7, 0.4, -1.5])
    # Completions of 6, 4 and 1 tokens, and one of 5 with a hole in it.
    mask = np.array(
        [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0], [1, 1, 0, 1, 1, 1]],
        dtype=np.float64,
    )
    # Padding log-probs are garbage on purpose: they must not leak.
    lp = np.where(mask != 0, lp, -1e4)

    base = {
        "logprobs": f32(lp),
        "old_logprobs": f32(old),
        "ref_logprobs": None,
        "advantages": f32(adv),
        "mask": f32(mask),
        "epsilon": 0.2,
        "epsilon_high": 0.28,
        "beta": 0.0,
        "max_completion_length": 8,
        "total_tokens": None,
    }
    cases = []
    for loss_type in ("grpo", "bnpo", "dr_grpo", "dapo"):
        cases.append({**base, "name": f"{loss_type}_clipped_beta0", "loss_type": loss_type})
        cases.append(
            {
                **base,
                "name": f"{loss_type}_clipped_beta004",
                "loss_type": loss_type,
                "beta": 0.04,
                "ref_logprobs": f32(ref),
            }
        )
    cases.append({**base, "name": "dapo_slice_of_batch", "loss_type": "dapo", "total_tokens": 40.0})
    cases.append(
        {
            **base,
            "name": "grpo_symmetric_kl_metric_only",
            "loss_type": "grpo",
            "epsilon_high": None,
            "ref_logprobs": f32(ref),
        }
    )
    cases.append(
        {
            **base,
            "name": "bnpo_first_update_beta01",
            "loss_type": "bnpo",
            "old_logprobs": None,
            "beta": 0.1,
            "ref_logprobs": f32(ref),
        }
    )
    empty_row = mask.copy()
    empty_row[2] = 0.0
    cases.append({**base, "name": "grpo_empty_row", "loss_type": "grpo", "mask": f32(empty_row)})

    # The clip-range metrics must exercise both sides somewhere.
    for case in cases:
        check_away_from_kinks(case)
        case["expected"] = reference(case)
    clipped = [c["expected"] for c in cases if c["name"] == "grpo_clipped_beta0"][0]
    assert clipped["clip_fraction_low"] > 0 and clipped["clip_fraction_high"] > 0

    header = {"generator": "crates/grpo/tests/golden/loss_reference.py", "numpy": np.__version__, "seed": SEED}
    OUT.write_text(render(header, cases))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
