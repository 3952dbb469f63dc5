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

from ..physics import energy as en
from ..physics.assembly import SpringAssembly
from ..physics.costs import batch_of
from ..physics.equilibrium import NewtonSolver
from ..physics.factor import BAND_MAX_COORDS, factorize_many, solve_many
from ..physics.network import Network
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
    trustworthy (e.g. a negative nudge that flipped the network); `cost` is the example's cost."""

    x_free: np.ndarray
    x_a: np.ndarray
    x_b: np.ndarray
    scale: float
    cost: object
    residual: float
    warning: str = ""


def ep_phases(solver, net: Network, x_start: np.ndarray, cost, rule: Rule) -> Phases:
    """Relax freely from x_start (N, 2), then nudge as `rule` says; returns the equilibria. Each
    nudged phase starts from the free phase's factorization (with an engine that keeps one)."""
    return ep_phases_many(solver, net, [x_start], [cost], rule, one_at_a_time(solver))[0]


def ep_phases_many(solver, net: Network, starts, costs: list, rule: Rule, relax=None, kept=None) -> list[Phases]:
    """ep_phases for B examples: starts (B, N, 2), their costs. Relaxed together with
    `solver.relax_many` (free phases, then all nudged ones at once), or by `relax` if given
    (a function with relax_many's signature); the equilibria are the same. `kept`: the
    factorization each free phase starts from (see relax_many)."""
    relax = relax or solver.relax_many
    free = relax(net, starts, kept=kept)
    x0 = [eq.x for eq in free]
    kept = [eq.kept for eq in free]
    n, b = len(free), rule.beta
    if rule.kind == "one-sided":
        nudged = relax(net, x0, costs, b, kept=kept)
        return [Phases(x0[i], x0[i], nudged[i].x, b, costs[i], max(free[i].residual, nudged[i].residual))
                for i in range(n)]
    if rule.kind == "centered":
        both = relax(net, x0 + x0, costs + costs, np.repeat([b, -b], n), kept=kept + kept)
        return [_centered(free[i], both[i], both[n + i], costs[i], b) for i in range(n)]
    if rule.kind == "coupled":
        clamps = [cost.coupled_clamp(x, b) for cost, x in zip(costs, x0)]
        if all(np.array_equal(m, clamps[0][1]) for _, m in clamps):
            cl = relax(net, [y for y, _ in clamps], free=net.free_dofs & ~clamps[0][1], kept=kept)
        else:  # examples that clamp other coordinates: each apart
            cl = [relax(net, [y], free=net.free_dofs & ~m, kept=[k])[0] for (y, m), k in zip(clamps, kept)]
        return [Phases(x0[i], x0[i], cl[i].x, b, costs[i], max(free[i].residual, cl[i].residual)) for i in range(n)]
    raise ValueError(f"unknown rule {rule.kind!r}; expected one of {', '.join(RULES)}")


def _centered(free, plus, minus, cost, b: float) -> Phases:
    """Centered EP from the free, +beta and -beta equilibria, or one-sided where the negative
    nudge flipped the network to another equilibrium: on the free state's branch the two nudges
    move it by mirror images, to first order in beta (in training the sizes of the two moves
    agree to 3%); a move more than 3 times the positive one's is another branch."""
    x0 = free.x
    jump_plus = np.abs(plus.x - x0).max()
    jump_minus = np.abs(minus.x - x0).max()
    res = max(free.residual, plus.residual, minus.residual)
    if not minus.converged or jump_minus > 3 * jump_plus + 1e-12:
        return Phases(x0, x0, plus.x, b, cost, res, "negative nudge unstable at this beta: used one-sided EP")
    return Phases(x0, minus.x, plus.x, 2 * b, cost, res)


def one_at_a_time(engine):
    """A relax_many for any engine that has `relax`: the examples one after another, each from
    the factorization its own `kept` names (or the one kept at the call) when the engine keeps one."""
    def relax(net, starts, costs=None, beta=0.0, free=None, kept=None):
        betas = np.broadcast_to(np.asarray(beta, dtype=float), (len(starts),))
        keeps = hasattr(engine, "kept")
        first = engine.kept if keeps else None
        out = []
        for i, x in enumerate(starts):
            if keeps:
                engine.kept = first if kept is None else kept[i]
            if costs is None:
                out.append(engine.relax(net, x, free=free))
            else:
                out.append(engine.relax(net, x, costs[i], float(betas[i]), free=free))
        return out

    return relax


def ep_gradient(net: Network, phases: Phases) -> tuple[np.ndarray, np.ndarray]:
    """(E,) estimates of dC/dk and dC/dL, each spring from its own two extensions."""
    gk, gl = ep_gradients(net, [phases])
    return gk[0], gl[0]


def ep_gradients(net: Network, phases: list) -> tuple[np.ndarray, np.ndarray]:
    """(B, E) ep_gradient of each of B Phases, with numpy over all at once."""
    xa = np.stack([ph.x_a for ph in phases])
    xb = np.stack([ph.x_b for ph in phases])
    scale = np.array([ph.scale for ph in phases])[:, None]
    gk_b, gl_b = en.parameter_gradients(net, xb)
    gk_a, gl_a = en.parameter_gradients(net, xa)
    return (gk_b - gk_a) / scale, (gl_b - gl_a) / scale


def exact_gradient(net: Network, x0: np.ndarray, cost, free=None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) dC/dk and dC/dL at the equilibrium x0 by implicit differentiation (one adjoint solve):
    H lam = dC/dx,  dC/dk_e = -e_e (lam_j - lam_i).u_e,  dC/dL_e = k_e (lam_j - lam_i).u_e."""
    gk, gl = exact_gradients(net, x0[None], [cost], free)
    return gk[0], gl[0]


def exact_gradients(net: Network, xs: np.ndarray, costs: list, free=None, solver=None) -> tuple[np.ndarray, np.ndarray]:
    """(B, E) exact_gradient at each of B equilibria xs (B, N, 2): their Hessians factorized side
    by side and solved at once (`factor.factorize_many`), in the pattern `solver` keeps for the
    network (a NewtonSolver), else one worked out now."""
    free = net.free_dofs if free is None else np.asarray(free, dtype=bool)
    xs = np.asarray(xs, dtype=float)
    asm = solver.assembly(net, free) if hasattr(solver, "assembly") else SpringAssembly(net.edges, net.n_nodes, free)
    b = len(xs)
    lam = np.zeros((b, xs[0].size))
    if asm.n_free:
        factors, _ = factorize_many(asm, asm.hessians(xs.reshape(b, -1).T, net.k, net.L), asm.n_free <= BAND_MAX_COORDS)
        dc = batch_of(costs).gradients(xs, np.arange(b)).reshape(b, -1)[:, free]
        lam[:, free] = solve_many(factors, dc)
    lam = lam.reshape(xs.shape)
    d, r = en.spring_vectors(xs, net.edges)
    u = d / r[..., None]
    dlam = ((lam[:, net.edges[:, 1]] - lam[:, net.edges[:, 0]]) * u).sum(axis=-1)
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
