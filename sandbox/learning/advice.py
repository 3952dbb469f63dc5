"""What to try when training stalls: a loss that has not moved for several epochs while every
step was a tiny fraction of what it changes says that the learning rate is too small."""

from __future__ import annotations

import math

STALL_EPOCHS = 5  # epochs without movement before saying so
STALL_CHANGE = 1e-2  # a loss that changed by less than this fraction over them has not moved
SMALL_STEP = 1e-3  # an epoch that changed no k (or L) by more than this fraction of itself was small


def stall_advice(history: list, moves: list, rule) -> str:
    """'' or a sentence saying the loss has not moved and what to try.

    history: the trainer's rows (dicts with "loss"), row 0 before training; moves: one
    (largest |dk|/k, largest |dL|/L) per epoch; rule: the Rule. A loss already far below its
    start (converged) or steps that are not small (a plateau of the task) say nothing."""
    if len(history) <= STALL_EPOCHS or len(moves) < STALL_EPOCHS:
        return ""
    now, then, start = history[-1]["loss"], history[-1 - STALL_EPOCHS]["loss"], history[0]["loss"]
    if not all(math.isfinite(v) for v in (now, then, start)) or now <= 1e-2 * start:
        return ""
    if abs(then - now) > STALL_CHANGE * abs(then):
        return ""
    recent = moves[-STALL_EPOCHS:]
    k_move = max(m[0] for m in recent)
    L_move = max(m[1] for m in recent)
    learns_k = rule.learn in ("stiffness", "both")
    learns_L = rule.learn in ("rest_length", "both")
    if (learns_k and k_move >= SMALL_STEP) or (learns_L and L_move >= SMALL_STEP):
        return ""
    said = []
    if learns_k:
        said.append(f"of a stiffness was {100 * k_move:.2g}% of k")
    if learns_L:
        said.append(f"of a rest length was {100 * L_move:.2g}% of L")
    text = (f"the loss has not moved in {STALL_EPOCHS} epochs ({then:.4g} -> {now:.4g}): the largest change in an "
            f"epoch {' and '.join(said)}. Try a larger learning rate (lr now {rule.lr:g}")
    text += f", lr_rest {rule.lr_rest:g})" if learns_L and rule.lr_rest is not None else ")"
    if learns_L and rule.rest_step == "scaled":
        text += ("; a spring at rest does not learn its rest length with rest_step 'scaled' (its step is "
                 "scaled by (e/k)^2): try rest_step 'gradient' with its own lr_rest")
    return text
