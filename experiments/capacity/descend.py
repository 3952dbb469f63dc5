"""The two continuous tuners, both on theta = log k within [log K_MIN, log K_MAX], from k = 1:

- `lbfgs`: the exact gradient (one adjoint solve) and scipy's L-BFGS-B, the ceiling of what
  continuous tuning from this start reaches;
- `ep`: centered equilibrium propagation (the gradient from the free phase and the phases
  nudged by +beta and -beta, spring by spring) and Adam, a step a physical learner could take
  (one global rate; each spring keeps its own two running means).

Both aim at DELTA + MARGIN (inside the goal, not on its edge, where the squared hinge's gradient
vanishes) and stop as soon as every target meets DELTA, or at a plateau, or at their budget.
"""

from __future__ import annotations

import numpy as np

from .task import DELTA, K_MAX, K_MIN, Task

MARGIN = 0.01
LBFGS_ITERATIONS = 3000
EP_STEPS = 5000
EP_RATE = 0.05  # Adam's rate on log k (chosen on N = 64 and 256, see the README)
EP_PATIENCE = 300  # steps without a 1% lower loss: a plateau
NUDGE = 1e-4  # the nudge springs' summed stiffness at the start, relative to one spring's (k = 1)


def lbfgs(task: Task, max_iterations: int = LBFGS_ITERATIONS, start: np.ndarray | None = None,
          gradient: str = "exact") -> dict:
    """L-BFGS-B from stiffness `start` (E,) (default 1), with the exact gradient or EP's
    estimate of it (gradient="ep"); returns the outcome (see `runs`)."""
    from scipy.optimize import minimize

    quadratic = task.hinge(DELTA + MARGIN)
    history, last = [], {}
    beta = ep_beta(task)

    def loss_and_gradient(theta):
        k = np.exp(theta)
        if gradient == "ep":
            c, grad, state = task.response.ep_gradient(k, quadratic, beta)
        else:
            c, grad, state = task.response.exact_gradient(k, quadratic)
        last.update(theta=theta.copy(), ratios=state.ratios)
        return c, grad * k

    def stop_when_met(intermediate_result):
        x = intermediate_result.x
        ratios = last["ratios"] if np.array_equal(last["theta"], x) else task.response.ratios(np.exp(x))
        history.append({"epoch": len(history) + 1, "loss": task.loss(ratios)})
        if task.met(ratios):
            raise StopIteration

    bounds = [(np.log(K_MIN), np.log(K_MAX))] * len(task.edges)
    theta0 = np.zeros(len(task.edges)) if start is None else np.log(start)
    res = minimize(loss_and_gradient, theta0, jac=True, method="L-BFGS-B", bounds=bounds, callback=stop_when_met,
                   options={"maxiter": max_iterations, "maxfun": 2 * max_iterations, "ftol": 1e-12, "gtol": 1e-10})
    met = task.met(task.response.ratios(np.exp(res.x)))
    return {"k": np.exp(res.x), "steps": int(res.nit), "evaluations": int(res.nfev),
            "history": [{"epoch": 0, "loss": task.loss(task.eta0)}] + history,
            "stopped": "" if met else str(res.message)}


def adam_step(theta: np.ndarray, grad: np.ndarray, state: dict, rate: float,
              b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> np.ndarray:
    """One Adam step on theta (E,) with gradient grad (E,); state holds each spring's running
    means and the step count. (The research core is adding optimizers to Rule; this is the one
    place to swap for it.)"""
    t = state["t"] = state.get("t", 0) + 1
    m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
    v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad * grad
    return theta - rate * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def ep_beta(task: Task) -> float:
    """The nudge: the nudging springs' summed stiffness at the start is NUDGE (one spring's is 1)."""
    return NUDGE / float(np.sum((task.response.pair_length * task.eta0) ** -2.0))


def ep(task: Task, rate: float = EP_RATE, max_steps: int = EP_STEPS, patience: int = EP_PATIENCE,
       bounds: tuple = (K_MIN, K_MAX)) -> dict:
    """Centered EP with Adam on log k within `bounds`; returns the outcome (see `runs`)."""
    quadratic = task.hinge(DELTA + MARGIN)
    beta = ep_beta(task)
    theta, state = np.zeros(len(task.edges)), {}
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    history = [{"epoch": 0, "loss": task.loss(task.eta0)}]
    best, since, stopped, step = np.inf, 0, f"step budget ({max_steps})", 0
    for step in range(1, max_steps + 1):
        k = np.exp(theta)
        _, grad, s = task.response.ep_gradient(k, quadratic, beta)
        if task.met(s.ratios):
            stopped, step = "", step - 1
            break
        loss = task.loss(s.ratios, DELTA + MARGIN)
        history.append({"epoch": step - 1, "loss": task.loss(s.ratios)})
        if loss < best * (1 - 1e-2):
            best, since = loss, 0
        else:
            since += 1
            if since >= patience:
                stopped = f"plateau ({patience} steps without a 1% lower loss)"
                break
        theta = np.clip(adam_step(theta, grad * k, state, rate), lo, hi)
    return {"k": np.exp(theta), "steps": step, "history": history, "stopped": stopped, "beta": beta}
