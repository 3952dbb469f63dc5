"""Benchmarks, side by side in one run: `python main.py bench [--quick] [--json] [--plot PNG]`.

- relaxing to a force residual of 1e-9: our Newton solver against scipy's L-BFGS-B, FIRE and the
  pymunk world, on lattices of about 100 to 50,000 nodes (ratios against Newton);
- one EP training step (free + two nudged phases + update, warm-started as in training) against
  the floor it cannot beat: one sparse factorization and solve of the same Hessian;
- how Newton's time grows with size (fitted exponent);
- the frame time of drawing a network with the window's panels;
- peak memory of the run.
Times are medians of several repeats.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np
import scipy.optimize as so
import scipy.sparse.linalg as spla

from sandbox.learning.rules import Rule
from sandbox.learning.task import Task
from sandbox.learning.trainer import Trainer
from sandbox.physics import energy as en
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.network import FIXED, INPUT, OUTPUT, Network, triangular_lattice

TOL = 1e-9


def lattice(n_nodes: int, seed: int = 0) -> tuple[Network, Task]:
    """A square-ish triangular lattice of about n_nodes, bottom row fixed, random stiffness and
    rest lengths off by 5% (so the reference state is not at rest), an input pair and output pair."""
    rng = np.random.default_rng(seed)
    side = max(3, int(round(np.sqrt(n_nodes))))
    pos, edges = triangular_lattice(side, side)
    roles = np.full(len(pos), 2)
    roles[:side] = FIXED
    mid = side // 2
    inp = [mid * side + 1, mid * side + 3]
    out = [mid * side + side - 4, mid * side + side - 2]
    roles[inp] = INPUT
    roles[out] = OUTPUT
    net = Network(pos, edges, rng.uniform(0.5, 1.5, len(edges)), np.zeros(len(edges)), roles)
    net.L = net.rest_lengths_from_positions() * (1 + 0.05 * rng.standard_normal(len(edges)))
    d0 = np.linalg.norm(pos[out[1]] - pos[out[0]])
    task = Task(np.array(inp), np.array([[[-0.1, 0.0], [0.1, 0.0]]]), "distance",
                np.array([out]), np.array([[0.9 * d0]]))
    return net, task


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def relax_newton(net, x0):
    eq = NewtonSolver(tol=TOL).relax(net, x0)
    return eq.residual


def relax_lbfgs(net, x0):
    free = net.free_dofs
    x = x0.copy()

    def f(z):
        x.reshape(-1)[free] = z
        return en.energy(net, x), en.gradient(net, x).reshape(-1)[free]

    so.minimize(f, x0.reshape(-1)[free].copy(), jac=True, method="L-BFGS-B",
                options=dict(gtol=TOL, ftol=0.0, maxiter=200_000, maxcor=20))
    return float(np.abs(en.gradient(net, x).reshape(-1)[free]).max())


def relax_fire(net, x0, max_steps=500_000):
    """FIRE (Bitzek et al. 2006), the minimizer of jamming and elastic-network research."""
    free = net.free_dofs
    x = x0.copy()
    z = x.reshape(-1)
    v = np.zeros(int(free.sum()))
    dt, dt_max, alpha, n_pos = 0.05, 0.5, 0.1, 0
    for _ in range(max_steps):
        fz = -en.gradient(net, x).reshape(-1)[free]
        if np.abs(fz).max() < TOL:
            break
        p = fz @ v
        if p > 0:
            v = (1 - alpha) * v + alpha * np.linalg.norm(v) * fz / np.linalg.norm(fz)
            n_pos += 1
            if n_pos > 5:
                dt, alpha = min(dt * 1.1, dt_max), alpha * 0.99
        else:
            v[:] = 0
            dt, alpha, n_pos = dt * 0.5, 0.1, 0
        v += fz * dt
        z[free] += v * dt
    return float(np.abs(en.gradient(net, x).reshape(-1)[free]).max())


def relax_world(net, x0):
    from sandbox.physics.world import WorldEngine

    eq = WorldEngine(tol=TOL, max_steps=2_000_000).relax(net, x0)
    return eq.residual


def ep_step_vs_floor(n: int, repeats: int) -> dict:
    """Median time of one EP step in training (after a first one) and of one factorization +
    solve of the Hessian at the free equilibrium (assembly included in both)."""
    net, task = lattice(n)
    tr = Trainer(net, task, Rule(kind="centered", beta=1e-3, lr=1.0), warm_start=True)
    tr.step([0])
    step_t, _ = timed(lambda: tr.step([0]), repeats)
    x0 = tr._x[0]
    g = en.gradient(net, x0).reshape(-1)[net.free_dofs]

    def floor():
        return spla.splu(en.hessian(net, x0), permc_spec="MMD_AT_PLUS_A").solve(g)

    floor_t, _ = timed(floor, repeats)
    one_shot = Trainer(net.copy(), task, Rule(kind="centered", beta=1e-3, lr=1.0))
    cold_t, _ = timed(lambda: one_shot.step([0]), max(1, repeats // 2))
    return dict(case="EP step (warm) / factorize+solve", nodes=net.n_nodes, seconds=step_t,
                floor_seconds=floor_t, ratio=step_t / floor_t, cold_step_seconds=cold_t,
                cold_ratio=cold_t / floor_t)


def frame_time(repeats: int) -> list[dict]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from sandbox.paths import SCENES
    from sandbox.scenes.build import load_scene
    from sandbox.window.app import App

    rows = []
    app = App(load_scene(SCENES / "large.yaml"), headless=True, show_help=False)
    app.tick()
    t, _ = timed(app.draw, repeats)
    e = app.session.net.n_springs
    rows.append(dict(case="draw a frame (window, panels)", nodes=app.session.net.n_nodes, springs=e,
                     seconds=t, ratio=t / (1 / 60), largest_springs_at_60fps=int(e * (1 / 60) / t)))
    return rows


def current_rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def long_run(steps: int) -> dict:
    """Memory over a long training run on the 120-node allostery scene: growth after warm-up."""
    from sandbox.paths import SCENES
    from sandbox.runner import make_trainer
    from sandbox.scenes.build import load_scene

    tr = make_trainer(load_scene(SCENES / "allostery.yaml"))
    warm = max(1, steps // 10)
    t = time.perf_counter()
    for i in range(steps):
        tr.step([0])
        if i + 1 == warm:
            after_warmup = current_rss_mb()
    end = current_rss_mb()
    return dict(case=f"long run: {steps} EP steps, memory growth", nodes=tr.net.n_nodes,
                seconds=time.perf_counter() - t, ratio=end / after_warmup,
                rss_after_warmup_mb=after_warmup, rss_end_mb=end)


def world_frame(repeats: int) -> dict:
    """How many pymunk steps fit in a 60 fps frame on a network of about 2,000 springs."""
    from sandbox.physics.world import World

    net, task = lattice(700)  # ~700 nodes, ~2,000 springs
    world = World(net, task.start(net, 0))
    steps = 100
    t, _ = timed(lambda: world.step(steps), repeats)
    per_step = t / steps
    return dict(case="pymunk world: one step", nodes=net.n_nodes, springs=net.n_springs, seconds=per_step,
                ratio=(1 / 60) / per_step, substeps_per_frame_at_60fps=int((1 / 60) / per_step))


def run(quick: bool = False) -> list[dict]:
    sizes = [100, 1000] if quick else [100, 1000, 10_000, 50_000]
    repeats = 3
    rows = []
    for n in sizes:
        net, task = lattice(n)
        x0 = task.start(net, 0)
        t_newton, res = timed(lambda net=net, x0=x0: relax_newton(net, x0), repeats)
        rows.append(dict(case="relax: Newton (ours)", nodes=net.n_nodes, seconds=t_newton, residual=res, ratio=1.0))
        others = [("relax: L-BFGS-B (scipy)", relax_lbfgs, 10_000), ("relax: FIRE", relax_fire, 10_000),
                  ("relax: pymunk world", relax_world, 100 if quick else 1000)]
        for name, fn, limit in others:
            if net.n_nodes > limit * 1.2:
                continue
            slow = net.n_nodes > 2000 or (fn is relax_world and net.n_nodes > 200)
            t, res = timed(lambda fn=fn, net=net, x0=x0: fn(net, x0), 1 if slow else repeats)
            rows.append(dict(case=name, nodes=net.n_nodes, seconds=t, residual=res, ratio=t / t_newton))
    newton = [r for r in rows if r["case"].startswith("relax: Newton")]
    if len(newton) >= 2:
        slope = np.polyfit(np.log([r["nodes"] for r in newton]), np.log([r["seconds"] for r in newton]), 1)[0]
        rows.append(dict(case="Newton time ~ nodes^p", nodes=newton[-1]["nodes"], seconds=newton[-1]["seconds"],
                         ratio=float(slope)))
    rows.append(ep_step_vs_floor(1000 if quick else 10_000, repeats))
    rows.extend(frame_time(repeats))
    rows.append(world_frame(repeats))
    rows.append(long_run(300 if quick else 10_000))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    rows.append(dict(case="peak memory (MB, whole run)", nodes=max(r["nodes"] for r in rows), seconds=0.0, ratio=peak))
    return rows


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    for name in sorted({r["case"] for r in rows if r["case"].startswith("relax:")}):
        pts = [(r["nodes"], r["seconds"]) for r in rows if r["case"] == name]
        ax.loglog(*zip(*pts), "o-", label=name.replace("relax: ", ""))
    ax.set_xlabel("nodes")
    ax.set_ylabel(f"seconds to a force residual of {TOL:g}")
    ax.set_title("Relaxing a spring lattice")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(quick: bool = False, as_json: bool = False, plot: str | None = None) -> int:
    rows = run(quick)
    if as_json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'case':<36} {'nodes':>7} {'seconds':>10} {'ratio':>10}")
        for r in rows:
            print(f"{r['case']:<36} {r['nodes']:>7} {r['seconds']:>10.4g} {r['ratio']:>10.3g}")
        print("ratio: relax rows, time / Newton's; EP step, time / one factorization+solve; "
              "growth row, fitted exponent p; draw row, time / 16.7 ms; world step row, steps per 60 fps frame; long run, memory end / after "
              "warm-up; memory row, MB")
    if plot:
        globals()["plot"](rows, plot)
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv, as_json="--json" in sys.argv))
