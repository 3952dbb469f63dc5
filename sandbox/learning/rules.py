"""Equilibrium propagation on springs: the local learning rules, the exact gradient, the update.

For one example, with the parameters theta = (k, L) and dE/dk = 1/2 e^2, dE/dL = -k e:

    one-sided:  x_a = free equilibrium,       x_b = nudged with +beta,   scale = beta
    centered:   x_a = nudged with -beta,      x_b = nudged with +beta,   scale = 2 beta
    coupled:    x_a = free equilibrium,       x_b = what the cost constrains (output coordinates,
                or output pairs' lengths) held a fraction eta = beta of the way to the targets,
                                                                          scale = eta
    gradient estimate  g = (dE/dtheta(x_b) - dE/dtheta(x_a)) / scale      (one spring at a time)
    update             theta <- theta - lr * g,  k kept in [k_min, k_max], L >= L_min

As beta -> 0 the one-sided and centered estimates are the true gradient dC/dtheta of the cost at
the free equilibrium (Scellier & Bengio 2017): the physics computes it. Coupled learning (Stern
et al. 2021) tends to the gradient of the cost with each constrained quantity's error weighted
by the stiffness the outputs meet (`coupled_limit`): the same direction when the cost constrains
one quantity (one output pair, one output coordinate), a descent direction otherwise.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla

from ..physics import energy as en
from ..physics.assembly import SpringAssembly
from ..physics.costs import Clamp, DistanceCost, batch_of
from ..physics.equilibrium import NewtonSolver
from ..physics.factor import BAND_MAX_COORDS, factorize_many, solve_many
from ..physics.network import Network
from .hardware import Hardware, measure
from .optimizers import OPTIMIZERS, OptimizerState
from .task import Task

RULES = ("one-sided", "centered", "coupled", "exact")  # exact: what backprop would do, for comparison
LEARNS = ("stiffness", "rest_length", "both")
REST_STEPS = ("scaled", "gradient")


def _choice(options):
    def check(name, v):
        if v not in options:
            close = difflib.get_close_matches(str(v), options, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"Rule: {name} {v!r} is not known{hint}; one of {', '.join(options)}")
        return v
    return check


def _number(low: float, high: float = math.inf, low_open=True, high_open=False, what=""):
    def check(name, v):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"Rule: {name} must be a number{what}, not {v!r}")
        v = float(v)
        below = v <= low if low_open else v < low
        above = v >= high if high_open else v > high
        if not math.isfinite(v) or below or above:
            lo, hi = ("(" if low_open else "["), (")" if high_open or high == math.inf else "]")
            raise ValueError(f"Rule: {name} must lie in {lo}{low:g}, {high:g}{hi}{what}, not {v:g}")
        return v
    return check


_CHECKS = {
    "kind": _choice(RULES),
    "beta": _number(0, what=" (the nudge strength; eta for coupled learning)"),
    "lr": _number(0, what=" (the learning rate)"),
    "learn": _choice(LEARNS),
    "k_min": _number(0, what=" (a spring cannot have zero or negative stiffness)"),
    "k_max": _number(0),
    "L_min": _number(0, what=" (a rest length must stay positive)"),
    "max_change": _number(0, 1, what=" (the largest relative change in one update)"),
    "lr_rest": lambda name, v: v if v is None else _number(0, what=" (or None: lr)")(name, v),
    "lr_decay": _number(0, low_open=False),
    "rest_step": _choice(REST_STEPS),
    "optimizer": _choice(OPTIMIZERS),
    "momentum": _number(0, 1, low_open=False, high_open=True),
}


@dataclass
class Rule:
    """Hyperparameters of learning (set once; training never changes them). Every value is
    checked when set: a bad one raises ValueError saying which and why.

    kind: one of RULES; beta: nudge strength (eta for coupled learning); lr: learning rate;
    learn: one of LEARNS; k_min, k_max, L_min: bounds kept after each update;
    max_change: the largest relative change of one spring's k in one update (a trust region:
    near a snap-through the gradient can spike, and one step must not wreck the network); a rest
    length moves by at most max_change times its extension ("scaled") or its length ("gradient").
    lr_rest: learning rate of rest lengths (None: lr). rest_step: "scaled" multiplies each
    spring's rest-length gradient by (e/k)^2, its extension over its stiffness, so one rate suits
    k and L alike (a spring at rest then does not learn its length); "gradient" takes the plain
    gradient (give it its own lr_rest: dC/dL is about k/e times dC/dk). lr_decay: the rate at
    epoch t is lr / (1 + lr_decay t), one number broadcast to every spring (0: constant).
    optimizer: "sgd" (plain steps), "momentum" (heavy ball, factor `momentum`) or "adam" (Adam on
    log k and log L, beta1 = `momentum`; lr is then a step in log k, ~0.01-0.1); see optimizers.py.
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
    rest_step: str = "scaled"
    optimizer: str = "sgd"
    momentum: float = 0.9

    def __setattr__(self, name, value):
        check = _CHECKS.get(name)
        value = check(name, value) if check else value
        bounds = {"k_min": self.__dict__.get("k_min"), "k_max": self.__dict__.get("k_max"), name: value}
        if name in ("k_min", "k_max") and None not in bounds.values() and bounds["k_min"] >= bounds["k_max"]:
            raise ValueError(f"Rule: k_min ({bounds['k_min']:g}) must be below k_max ({bounds['k_max']:g})")
        super().__setattr__(name, value)

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


FELL_BACK = "negative nudge unstable at this beta: used one-sided EP"


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
        return [Phases(x0[i], x0[i], nudged[i].x, b, costs[i], max(free[i].residual, nudged[i].residual),
                       samples_a=free[i].samples, samples_b=nudged[i].samples) for i in range(n)]
    if rule.kind == "centered":
        both = relax(net, x0 + x0, costs + costs, np.repeat([b, -b], n), kept=kept + kept)
        return [_centered(free[i], both[i], both[n + i], costs[i], b) for i in range(n)]
    if rule.kind == "coupled":
        for cost in costs:
            if not callable(getattr(cost, "coupled_clamp", None)):
                raise NotImplementedError(f"coupled learning needs the cost's coupled_clamp; {type(cost).__name__} has none")
        clamps = [cost.coupled_clamp(x, b) for cost, x in zip(costs, x0)]
        if all(c.lengths is None and np.array_equal(c.held, clamps[0].held) for c in clamps):
            cl = relax(net, [c.x for c in clamps], free=net.free_dofs & ~clamps[0].held, kept=kept)
        else:  # lengths held by a constraint, or examples that hold other coordinates: each apart
            cl = []
            for i in range(n):
                if hasattr(solver, "kept"):
                    solver.kept = kept[i]
                cl.append(clamped_equilibrium(solver, net, x0[i], clamps[i]))
        return [Phases(x0[i], x0[i], cl[i].x, b, costs[i], max(free[i].residual, cl[i].residual),
                       samples_a=free[i].samples, samples_b=cl[i].samples) for i in range(n)]
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
        return Phases(x0, x0, plus.x, b, cost, res, FELL_BACK, free.samples, plus.samples)
    return Phases(x0, minus.x, plus.x, 2 * b, cost, res, samples_a=minus.samples, samples_b=plus.samples)


# a clamped length is held by a penalty this many times stiffer than the springs at its pair
# (stiffer penalties reach the goal in fewer shifts, but their forces' round-off, K eps r, grows
# past what a tight relaxation resolves: 1e3 stalled Newton at a residual of 1e-12)
CLAMP_STIFFNESS = 10.0
CLAMP_TOL = 1e-10  # the largest miss of a clamped length, relative to how far it was moved


def clamped_equilibrium(solver, net: Network, x0: np.ndarray, clamp: Clamp, max_shifts: int = 30):
    """Coupled learning's clamped phase: the equilibrium with `clamp` held, from the free state
    x0 (N, 2). Coordinates are held outright. Lengths are held by the constraint on each length
    alone, an augmented Lagrangian: a penalty 1/2 K (r - s)^2 whose target s is shifted by the
    remaining miss (scaled by each pair's measured response to a shift, a secant step) until r
    is at its goal to CLAMP_TOL; K (r - s) is then the constraint's Lagrange multiplier, the
    tension that holds the pair, and the pair may still turn and move. Returns an Equilibrium."""
    movable = net.free_dofs
    free = movable & ~clamp.held
    x = np.array(clamp.x, dtype=float)
    x.reshape(-1)[~movable] = x0.reshape(-1)[~movable]  # what the network holds, it keeps holding
    if clamp.lengths is None:
        return solver.relax(net, x, free=free)
    pairs, goal = clamp.lengths.pairs, clamp.lengths.targets
    around = np.bincount(net.edges.ravel(), np.repeat(net.k, 2), net.n_nodes)
    stiff = CLAMP_STIFFNESS * float(max(around[pairs].max(), 1e-12))
    moved = np.abs(goal - en.spring_vectors(x0, pairs)[1]).max()
    tol = CLAMP_TOL * moved + 1e-15 * float(np.abs(goal).max())
    s, last = goal.copy(), None
    for _ in range(max_shifts):
        eq = solver.relax(net, x, DistanceCost(pairs, s), stiff, free=free)
        r = en.spring_vectors(eq.x, pairs)[1]
        miss = goal - r
        if np.abs(miss).max() <= tol or not eq.converged:
            break
        shift = miss
        if last is not None:  # how far each length followed its last shift: a secant step
            ds, dr = s - last[0], r - last[1]
            slope = np.divide(dr, ds, out=np.ones_like(dr), where=np.abs(ds) > 0)
            shift = miss / np.where((slope > 0.05) & (slope < 2.0), slope, 1.0)
        last = (s.copy(), r)
        s, x = s + shift, eq.x
    return eq


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


def ep_gradient(net: Network, phases: Phases, hardware: Hardware | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) estimates of dC/dk and dC/dL, each spring from its own two measurements (of its
    extension; over thermal snapshots, through imperfect hardware: `hardware.measure`)."""
    gk, gl = ep_gradients(net, [phases], hardware)
    return gk[0], gl[0]


def ep_gradients(net: Network, phases: list, hardware: Hardware | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(B, E) ep_gradient of each of B Phases, with numpy over all at once (one by one when they
    are measured over thermal snapshots or through imperfect hardware)."""
    if hardware is not None or any(ph.samples_a is not None or ph.samples_b is not None for ph in phases):
        rows = []
        for ph in phases:
            gk_b, gl_b = measure(net, ph.x_b, ph.samples_b, hardware)
            gk_a, gl_a = measure(net, ph.x_a, ph.samples_a, hardware)
            rows.append(((gk_b - gk_a) / ph.scale, (gl_b - gl_a) / ph.scale))
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])
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
    return _adjoint(net, xs, lam)


def coupled_limit(net: Network, x0: np.ndarray, cost, free=None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) what coupled learning's estimates of dC/dk and dC/dL tend to as eta -> 0, for a least
    squares cost (residuals rho (P,), jacobian A (P, 2N)): the exact gradient with dC/dx = A^T rho
    replaced by A^T S^-1 rho, S = A H^-1 A^T (P, P) the compliance of the constrained quantities.
    Holding a quantity a fraction eta of the way is a force S^-1 eta rho, where EP's nudge is
    beta rho. With one quantity S is a number: coupled learning is the gradient divided by it."""
    free = net.free_dofs if free is None else free
    lu = spla.splu(en.hessian(net, x0, free), permc_spec="MMD_AT_PLUS_A")
    a = cost.jacobian(x0).tocsc()[:, np.flatnonzero(free)].toarray()
    rho = cost.residuals(x0)
    moves = np.abs(a).sum(axis=1) > 0  # a quantity the network holds is not clamped
    a, rho = a[moves], rho[moves]
    y = np.column_stack([lu.solve(row) for row in a]) if len(a) else np.zeros((int(free.sum()), 0))
    w = np.linalg.solve(a @ y, rho) if len(a) else rho
    lam = np.zeros((1, 2 * net.n_nodes))
    lam[0, free] = y @ w
    gk, gl = _adjoint(net, x0[None], lam)
    return gk[0], gl[0]


def _adjoint(net: Network, xs: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, E) dC/dk and dC/dL at B equilibria xs (B, N, 2) from their adjoints lam = H^-1 dC/dx
    (B, 2N), zero on held coordinates."""
    lam = lam.reshape(xs.shape)
    d, r = en.spring_vectors(xs, net.edges)
    u = d / r[..., None]
    dlam = ((lam[:, net.edges[:, 1]] - lam[:, net.edges[:, 0]]) * u).sum(axis=-1)
    e = r - net.L
    return -e * dlam, net.k * dlam


def apply_update(net: Network, gk: np.ndarray, gL: np.ndarray, rule: Rule, epoch: int = 0,
                 extension: np.ndarray | None = None, state: OptimizerState | None = None):
    """Take one step within the bounds; returns the changes (dk, dL), (E,) each.

    With the rates (lr_k, lr_L) = rule.rates(epoch) and e (E,) = `extension`, each spring's own
    extension in the free state (the mean of |e| over the mini-batch, what a spring feels), the
    optimizer (`state` keeps its moments; None: a fresh one) turns the gradients into steps:

        k:  from gk,                                 at most max_change * k
        L:  from (e / k)^2 gL  (rest_step "scaled")  at most max_change * e
            from gL            (rest_step "gradient") at most max_change * L

    The factor (e/k)^2 puts a rest length on its own scale: dC/dL is about -(k/e) dC/dk, so one
    rate for both would move rest lengths by many times their extension (on Allostery at its
    lr of 100, by up to 15 times their length) and crumple the network. With it, a rest-length
    step changes the spring's tension (-k dL) by what a stiffness step at the same rate would
    (e dk); but a spring at rest (e = 0) does not learn its length. Without `extension` (a
    caller that has no free state), e is taken as L.
    """
    state = state if state is not None else OptimizerState()
    k_old, L_old = net.k.copy(), net.L.copy()
    lr_k, lr_L = rule.rates(epoch)
    if rule.learn in ("stiffness", "both"):
        step = state.step("k", gk, k_old, lr_k, rule.optimizer, rule.momentum)
        step = np.clip(step, -rule.max_change * k_old, rule.max_change * k_old)
        net.k = np.clip(k_old + step, rule.k_min, rule.k_max)
    if rule.learn in ("rest_length", "both"):
        if rule.rest_step == "scaled":
            e = L_old if extension is None else np.minimum(np.abs(extension), L_old)
            g, bound = (e / k_old) ** 2 * gL, rule.max_change * e
        else:
            g, bound = gL, rule.max_change * L_old
        step = np.clip(state.step("L", g, L_old, lr_L, rule.optimizer, rule.momentum), -bound, bound)
        net.L = np.maximum(L_old + step, rule.L_min)
    return net.k - k_old, net.L - L_old


def gradient_check(net: Network, task: Task, s: int, betas=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
                   learn: str = "stiffness", tol: float = 1e-13) -> list[dict]:
    """EP against the exact gradient on example s, for each beta: a list of rows with beta,
    rel_err_* and cosine_* for one_sided, centered and coupled (eta = beta), and
    centered_fell_back (the negative nudge flipped the network: centered used one-sided).
    The compared vector holds dC/dk, dC/dL or both, as `learn` says. The cosines are against
    the exact gradient; one-sided's and centered's relative errors too, coupled's against its
    own limit as eta -> 0 (`coupled_limit`: the gradient weighted by the outputs' stiffness).
    Coupled's entries are nan for a cost it cannot clamp (a margin)."""
    solver = NewtonSolver(tol=tol)
    cost = task.cost(net, s)
    x0 = solver.relax(net, task.start(net, s)).x

    def pick(a, b):
        return {"stiffness": a, "rest_length": b, "both": np.concatenate([a, b])}[learn]

    exact = pick(*exact_gradient(net, x0, cost))
    try:
        limit = pick(*coupled_limit(net, x0, cost))
        cost.coupled_clamp(x0, 0.5)
    except (AttributeError, NotImplementedError):
        limit = None
    rows = []
    for beta in betas:
        row = {"beta": float(beta)}
        for kind, key in (("one-sided", "one_sided"), ("centered", "centered"), ("coupled", "coupled")):
            if kind == "coupled" and limit is None:
                row["rel_err_coupled"] = row["cosine_coupled"] = float("nan")
                continue
            ph = ep_phases(solver, net, x0, cost, Rule(kind=kind, beta=beta))
            est = pick(*ep_gradient(net, ph))
            ref = limit if kind == "coupled" else exact
            row[f"rel_err_{key}"] = float(np.linalg.norm(est - ref) / max(np.linalg.norm(ref), 1e-300))
            row[f"cosine_{key}"] = _cosine(est, exact)
            if kind == "centered":
                row["centered_fell_back"] = ph.warning == FELL_BACK
        rows.append(row)
    return rows


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))
