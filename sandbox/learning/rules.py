"""Equilibrium propagation on springs: the local learning rules, the exact gradient, the trainer.

For one example, with the parameters theta = (k, L) and dE/dk = 1/2 e^2, dE/dL = -k e:

    one-sided:  x_a = free equilibrium,       x_b = nudged with +beta,   scale = beta
    centered:   x_a = nudged with -beta,      x_b = nudged with +beta,   scale = 2 beta
    coupled:    x_a = free equilibrium,       x_b = outputs clamped at x_a + eta (y - x_a),
                                                                          scale = eta
    gradient estimate  g = (dE/dtheta(x_b) - dE/dtheta(x_a)) / scale      (one spring at a time)
    update             theta <- theta - lr * g,  k kept in [k_min, k_max], L >= L_min

As beta -> 0 the estimate is the true gradient dC/dtheta of the cost at the free equilibrium
(Scellier & Bengio 2017): the physics computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla

from ..physics import energy as en
from ..physics.equilibrium import NewtonSolver
from ..physics.network import Network
from .hardware import Hardware, measure
from .task import Task

RULES = ("one-sided", "centered", "coupled", "exact")  # exact: what backprop would do, for comparison
LEARNS = ("stiffness", "rest_length", "both")


@dataclass
class Rule:
    """Hyperparameters of learning (set once; training never changes them).

    kind: one of RULES; beta: nudge strength (eta for coupled learning); lr: learning rate;
    learn: one of LEARNS; k_min, k_max, L_min: bounds kept after each update;
    max_change: the largest relative change of one spring's k in one update (a trust region:
    near a snap-through the gradient can spike, and one step must not wreck the network); a rest
    length moves by at most max_change times the spring's own extension (see apply_update).
    lr_rest: learning rate of rest lengths, scaled per spring by (e/k)^2 (None: lr). lr_decay: the rate at epoch t is
    lr / (1 + lr_decay t), one number broadcast to every spring (0: constant).
    """

    kind: str = "centered"
    beta: float = 1e-3
    lr: float = 0.1
    learn: str = "stiffness"
    k_min: float = 1e-3
    k_max: float = 1e3
    L_min: float = 1e-3
    max_change: float = 0.5
    lr_rest: float | None = None
    lr_decay: float = 0.0

    def rates(self, epoch: int = 0) -> tuple[float, float]:
        """The learning rates (of k, of L) at `epoch` (0 for the first), after the decay."""
        f = 1.0 / (1.0 + self.lr_decay * max(epoch, 0))
        return self.lr * f, (self.lr if self.lr_rest is None else self.lr_rest) * f


@dataclass
class Phases:
    """The equilibria of one EP step: x_free (N, 2), and the pair (x_a, x_b) whose difference in
    dE/dtheta, divided by `scale`, estimates the gradient. `warning` is set when a phase was not
    trustworthy (e.g. a negative nudge that flipped the network); `cost` is the example's cost.
    At a temperature above 0, samples_a and samples_b hold what each state is measured over."""

    x_free: np.ndarray
    x_a: np.ndarray
    x_b: np.ndarray
    scale: float
    cost: object
    residual: float
    warning: str = ""
    samples_a: np.ndarray | None = None  # (S, N, 2) thermal snapshots of x_a and x_b (temperature > 0)
    samples_b: np.ndarray | None = None


def ep_phases(solver, net: Network, x_start: np.ndarray, cost, rule: Rule) -> Phases:
    """Relax freely from x_start (N, 2), then nudge as `rule` says; returns the equilibria."""
    free = solver.relax(net, x_start)
    x0 = free.x
    b = rule.beta
    if rule.kind == "one-sided":
        nudged = solver.relax(net, x0, cost, b)
        return Phases(x0, x0, nudged.x, b, cost, max(free.residual, nudged.residual),
                      samples_a=free.samples, samples_b=nudged.samples)
    if rule.kind == "centered":
        plus = solver.relax(net, x0, cost, b)
        minus = solver.relax(net, x0, cost, -b)
        jump_plus = np.abs(plus.x - x0).max()
        jump_minus = np.abs(minus.x - x0).max()
        res = max(free.residual, plus.residual, minus.residual)
        if not minus.converged or jump_minus > 10 * jump_plus + 1e-12:
            # the negative nudge flipped the network to another equilibrium: fall back
            return Phases(x0, x0, plus.x, b, cost, res,
                          "negative nudge unstable at this beta: used one-sided EP", free.samples, plus.samples)
        return Phases(x0, minus.x, plus.x, 2 * b, cost, res, samples_a=minus.samples, samples_b=plus.samples)
    if rule.kind == "coupled":
        y, clamped = cost.coupled_clamp(x0, b)
        cl = solver.relax(net, y, free=net.free_dofs & ~clamped)
        return Phases(x0, x0, cl.x, b, cost, max(free.residual, cl.residual),
                      samples_a=free.samples, samples_b=cl.samples)
    raise ValueError(f"unknown rule {rule.kind!r}; expected one of {', '.join(RULES)}")


def ep_gradient(net: Network, phases: Phases, hardware: Hardware | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) estimates of dC/dk and dC/dL, each spring from its own two measurements (of its
    extension; over thermal snapshots, through imperfect hardware: `hardware.measure`)."""
    gk_b, gl_b = measure(net, phases.x_b, phases.samples_b, hardware)
    gk_a, gl_a = measure(net, phases.x_a, phases.samples_a, hardware)
    return (gk_b - gk_a) / phases.scale, (gl_b - gl_a) / phases.scale


def exact_gradient(net: Network, x0: np.ndarray, cost, free=None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) dC/dk and dC/dL at the equilibrium x0 by implicit differentiation (one adjoint solve):
    H lam = dC/dx,  dC/dk_e = -e_e (lam_j - lam_i).u_e,  dC/dL_e = k_e (lam_j - lam_i).u_e."""
    free = net.free_dofs if free is None else free
    h = en.hessian(net, x0, free)
    lam = np.zeros(2 * net.n_nodes)
    lam[free] = spla.splu(h, permc_spec="MMD_AT_PLUS_A").solve(cost.gradient(x0).reshape(-1)[free])
    lam = lam.reshape(-1, 2)
    d, r = en.spring_vectors(x0, net.edges)
    u = d / r[:, None]
    dlam = ((lam[net.edges[:, 1]] - lam[net.edges[:, 0]]) * u).sum(axis=1)
    e = r - net.L
    return -e * dlam, net.k * dlam


def apply_update(net: Network, gk: np.ndarray, gL: np.ndarray, rule: Rule, epoch: int = 0,
                 extension: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Take one step within the bounds; returns the changes (dk, dL), (E,) each.

    With the rates (lr_k, lr_L) = rule.rates(epoch) and e (E,) = `extension`, each spring's own
    extension in the free state (the mean of |e| over the mini-batch, what a spring feels):

        dk = -lr_k gk                  at most max_change * k
        dL = -lr_L (e / k)^2 gL        at most max_change * e

    The factor (e/k)^2 puts a rest length on its own scale: dC/dL is about -(k/e) dC/dk, so one
    rate for both would move rest lengths by many times their extension (on Allostery at its
    lr of 100, by up to 15 times their length) and crumple the network. With it, a rest-length
    step changes the spring's tension (-k dL) by what a stiffness step at the same rate would
    (e dk). Without `extension` (a caller that has no free state), e is taken as L.
    """
    k_old, L_old = net.k.copy(), net.L.copy()
    lr_k, lr_L = rule.rates(epoch)
    if rule.learn in ("stiffness", "both"):
        step = np.clip(-lr_k * gk, -rule.max_change * k_old, rule.max_change * k_old)
        net.k = np.clip(k_old + step, rule.k_min, rule.k_max)
    if rule.learn in ("rest_length", "both"):
        e = L_old if extension is None else np.minimum(np.abs(extension), L_old)
        bound = rule.max_change * e
        step = np.clip(-lr_L * (e / k_old) ** 2 * gL, -bound, bound)
        net.L = np.maximum(L_old + step, rule.L_min)
    return net.k - k_old, net.L - L_old


def gradient_check(net: Network, task: Task, s: int, betas=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
                   learn: str = "stiffness", tol: float = 1e-13) -> list[dict]:
    """EP against the exact gradient on example s, for each beta: a list of rows with beta,
    rel_err_one_sided, rel_err_centered, cosine_one_sided, cosine_centered. The compared vector
    holds dC/dk, dC/dL or both, as `learn` says."""
    solver = NewtonSolver(tol=tol)
    cost = task.cost(net, s)
    x0 = solver.relax(net, task.start(net, s)).x
    gk, gL = exact_gradient(net, x0, cost)

    def pick(a, b):
        return {"stiffness": a, "rest_length": b, "both": np.concatenate([a, b])}[learn]

    exact = pick(gk, gL)
    rows = []
    for beta in betas:
        row = {"beta": float(beta)}
        for kind, key in (("one-sided", "one_sided"), ("centered", "centered")):
            est = pick(*ep_gradient(net, ep_phases(solver, net, x0, cost, Rule(kind=kind, beta=beta))))
            norm = np.linalg.norm(exact)
            row[f"rel_err_{key}"] = float(np.linalg.norm(est - exact) / max(norm, 1e-300))
            row[f"cosine_{key}"] = float(est @ exact / max(norm * np.linalg.norm(est), 1e-300))
        rows.append(row)
    return rows
