"""What the window says about a spring, and how far EP's gradient is from the exact one,
spring by spring (no pygame; computed off the window's thread)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..learning.rules import ep_gradient, ep_phases, exact_gradient
from ..physics.energy import extensions
from ..physics.equilibrium import FloppyNetworkError
from .engines import ExactEngine

SINGULAR = (FloppyNetworkError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)


def _gradients(net, task, s, rule):
    """EP's and the exact dC/dk (E,) for example s, with its free and nudged states."""
    cost = task.cost(net, s)
    solver = ExactEngine(tol=1e-12)
    x0 = solver.relax(net, task.start(net, s)).x
    rule = rule if rule.kind in ("one-sided", "centered") else replace(rule, kind="centered")
    ph = ep_phases(solver, net, x0, cost, rule)
    return ep_gradient(net, ph)[0], exact_gradient(net, x0, cost)[0], x0, ph.x_b


def spring_info(net, task, s, rule, e: int) -> dict | None:
    """Spring e: k, L, its extension in the free and nudged states of example s, and its EP
    gradient beside the exact one. None while the network cannot be relaxed (floppy)."""
    if e >= net.n_springs:
        return None
    try:
        gk, ek, x0, xb = _gradients(net, task, s, rule)
    except SINGULAR:
        return None
    return dict(spring=e, k=float(net.k[e]), L=float(net.L[e]),
                extension_free=float(extensions(net, x0)[e]),
                extension_nudged=float(extensions(net, xb)[e]),
                ep_grad=float(gk[e]), exact_grad=float(ek[e]))


def agreement(net, task, s, rule) -> np.ndarray | None:
    """(E,) disagreement of EP's dC/dk with the exact one, spring by spring, relative to the
    largest exact component: 0 where EP is exact. None while the network is floppy."""
    try:
        gk, ek, _, _ = _gradients(net, task, s, rule)
    except SINGULAR:
        return None
    return np.abs(gk - ek) / (np.abs(ek).max(initial=0.0) + 1e-300)
