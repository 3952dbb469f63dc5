"""Benchmarks, side by side in one run: `python main.py bench [--quick] [--json] [--plot PNG]`.

- training throughput: epochs of Iris, Digits and a 1,024-node lattice scene with the batched
  trainer, with the trainer relaxing one example at a time (as before issue 27) and with the
  reference path (the solver before issue 15, bench/reference.py), epochs interleaved
  (bench/batching.py);
- B examples relaxed together against one at a time and against the floor (one factorization
  and solve of the stacked system), B = 1 to 150, at 49, 110 (Iris) and 484 nodes;
- one relaxation at 50 to 1,000 nodes against its floor (one dense or sparse factorization and
  solve), and a peer: scipy's solve_ivp (LSODA, dense Jacobian) integrating the overdamped motion
  to the same residual, as public elastic-network learning code does;
- band Cholesky against SuperLU (the crossover of `factor.BAND_MAX_COORDS`);
- relaxing to a force residual of 1e-9: our Newton solver against scipy's L-BFGS-B, FIRE and the
  pymunk world, on lattices of about 100 to 50,000 nodes (ratios against Newton);
- one EP training step (free + two nudged phases + update, warm-started as in training) against
  the floor it cannot beat: one sparse factorization and solve of the same Hessian;
- how Newton's time grows with size (fitted exponent);
- the frame time of drawing a network with the window's panels;
- validating a scene that lists 20,000 nodes, against yaml.load(text, CSafeLoader) alone;
- peak memory of the run.
Times are medians of several repeats; each row carries the load average when it was measured.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np
import scipy.linalg as sla
import scipy.optimize as so
import scipy.sparse.linalg as spla

from bench import batching
from bench.batching import training_rows
from bench.reference import ReferenceNewton
from sandbox.learning.rules import Rule
from sandbox.learning.task import Task
from sandbox.learning.trainer import Trainer
from sandbox.physics import energy as en
from sandbox.physics.assembly import SpringAssembly
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.factor import BAND_MAX_COORDS, factorize, sparse_factor, use_one_blas_thread
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
    net = Network(pos, edges, rng.uniform(0.5, 1.5, len(edges)), None, roles)
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


def relax_reference(net, x0):
    """The reference path (the solver before issue 15), one-shot like relax_newton."""
    return ReferenceNewton(tol=TOL).relax(net, x0).residual


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
    solve of the Hessian at the free equilibrium (assembly included in both); the same step
    with the reference path."""
    net, task = lattice(n)
    ref = Trainer(net.copy(), task, Rule(kind="centered", beta=1e-3, lr=1.0), engine=ReferenceNewton(),
                  warm_start=True)
    ref.step([0])
    ref_t, _ = timed(lambda: ref.step([0]), repeats)
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
                floor_seconds=floor_t, ratio=step_t / floor_t, reference_seconds=ref_t,
                reference_ratio=ref_t / floor_t, cold_step_seconds=cold_t,
                cold_ratio=cold_t / floor_t)


def lattice_scene(side: int = 32):
    """The `large` scene's lattice cut to side x side nodes (1,024 by default), with three
    examples: the input pair pulled apart, the output pair asked to squeeze."""
    from sandbox.paths import SCENES
    from sandbox.scenes.build import build_scene
    from sandbox.scenes.yaml_source import read_yaml

    raw = read_yaml(SCENES / "large.yaml")
    raw["name"] = f"lattice {side}x{side}"
    raw["network"]["generate"].update(rows=side, cols=side)
    y = round(side * 0.6)
    raw["network"]["roles"]["input"] = [{"nearest": [side * 0.25, y]}, {"nearest": [side * 0.25 + 2, y]}]
    raw["network"]["roles"]["output"] = [{"nearest": [side * 0.7, y]}, {"nearest": [side * 0.7 + 2, y]}]
    raw["task"]["examples"] = [{"inputs": a, "targets": [-a / 4]} for a in (0.2, 0.1, -0.1)]
    raw["learning"]["lr"] = 100.0
    return build_scene(raw, SCENES / "large.yaml")


def relaxation_vs_floor(n: int, repeats: int, peer: bool = True) -> list[dict]:
    """One cold relaxation (the solver knows the structure, no factorization kept) of a lattice
    of about n nodes from its input-pulled start; a nudged relaxation (beta 1e-3) from that
    equilibrium with the free phase's factorization kept, as in training; their floor, one factorization and solve of the
    Hessian at the equilibrium (the faster of dense Cholesky and SuperLU, the matrix given); the
    reference path; and the peer, LSODA with a dense Jacobian, to the same residual."""
    net, task = lattice(n)
    x0 = task.start(net, 0)
    solver = NewtonSolver(tol=TOL)
    solver.relax(net, x0)

    def ours():
        solver.forget()
        return solver.relax(net, x0)

    t_new, eq = timed(ours, repeats * 5)
    free = net.free_dofs
    h = en.hessian(net, eq.x)
    hd = h.toarray()
    g = en.gradient(net, x0).reshape(-1)[free]
    use_one_blas_thread()
    t_dense, _ = timed(lambda: sla.cho_solve(sla.cho_factor(hd, check_finite=False), g, check_finite=False),
                       repeats * 5)
    t_sparse, _ = timed(lambda: spla.splu(h, permc_spec="MMD_AT_PLUS_A").solve(g), repeats * 5)
    floor = min(t_dense, t_sparse)
    ref = ReferenceNewton(tol=TOL)
    t_ref, _ = timed(lambda: (ref.forget(), ref.relax(net, x0)), repeats * 5)
    cost = task.cost(net, 0)
    solver.relax(net, x0)  # keep the free phase's factorization, as training does
    t_warm, warm = timed(lambda: solver.relax(net, eq.x, cost, 1e-3), repeats * 5)
    base = dict(nodes=net.n_nodes, floor_seconds=floor, dense_floor_seconds=t_dense, sparse_floor_seconds=t_sparse)
    rows = [dict(case="relax (cold) / factorize+solve", seconds=t_new, ratio=t_new / floor,
                 iterations=eq.iterations, factorizations=eq.factorizations, residual=eq.residual, **base),
            dict(case="relax (cold), reference / factorize+solve", seconds=t_ref, ratio=t_ref / floor, **base),
            dict(case="relax (nudged, warm) / factorize+solve", seconds=t_warm, ratio=t_warm / floor,
                 iterations=warm.iterations, factorizations=warm.factorizations, **base)]
    if peer:
        t_ivp, res_ivp = timed(lambda: relax_lsoda(net, x0), 1)
        rows.append(dict(case="relax: LSODA (solve_ivp, dense Jacobian)", seconds=t_ivp, ratio=t_ivp / t_new,
                         residual=res_ivp, **base))
    return rows


def relax_lsoda(net, x0):
    """Overdamped motion dx/dt = -dE/dx integrated by solve_ivp's LSODA with the dense Hessian
    as Jacobian, until the force residual falls below TOL (a terminal event)."""
    from scipy.integrate import solve_ivp

    free = net.free_dofs
    x = x0.copy()
    z = x.reshape(-1)

    def force(_t, y):
        z[free] = y
        return -en.gradient(net, x).reshape(-1)[free]

    def jac(_t, y):
        z[free] = y
        return -en.hessian(net, x).toarray()

    def settled(_t, y):
        return float(np.abs(force(0, y)).max()) - TOL

    settled.terminal = True
    sol = solve_ivp(force, (0, 1e7), x0.reshape(-1)[free].copy(), method="LSODA", jac=jac,
                    events=settled, rtol=1e-10, atol=1e-13)
    return float(np.abs(force(0, sol.y[:, -1])).max())


def band_vs_superlu(n: int, repeats: int) -> dict:
    """One factorization + solve of a lattice's Hessian by band Cholesky (RCM order) and by
    SuperLU, both from the assembled values (ratio: band / SuperLU)."""
    net, task = lattice(n)
    x = task.start(net, 0)
    asm = SpringAssembly(net.edges, net.n_nodes, net.free_dofs)
    vals = asm.values(x, net.k, net.L)
    g = np.ones(asm.n_free)
    use_one_blas_thread()
    asm.band_layout()
    t_band, _ = timed(lambda: factorize(asm, vals, band=True).solve(g), repeats)
    t_lu, _ = timed(lambda: sparse_factor(asm.sparse(vals)).solve(g), repeats)
    return dict(case="band Cholesky / SuperLU (factor+solve)", nodes=net.n_nodes, coords=asm.n_free,
                bandwidth=asm.bandwidth, seconds=t_band, superlu_seconds=t_lu, ratio=t_band / t_lu,
                band_used=asm.n_free <= BAND_MAX_COORDS)


def ep_step_band_vs_superlu(n: int, repeats: int) -> dict:
    """One warm EP step (as in ep_step_vs_floor) with the band Cholesky forced on and off
    (ratio: band / SuperLU): where `factor.BAND_MAX_COORDS` should sit."""
    times = []
    for band_max in (10**9, 0):
        net, task = lattice(n)
        tr = Trainer(net, task, Rule(kind="centered", beta=1e-3, lr=1.0), engine=NewtonSolver(band_max=band_max),
                     warm_start=True)
        tr.step([0])
        times.append(timed(lambda tr=tr: tr.step([0]), repeats)[0])
    return dict(case="EP step (warm), band / SuperLU", nodes=net.n_nodes, coords=int(net.free_dofs.sum()),
                seconds=times[0], superlu_seconds=times[1], ratio=times[0] / times[1],
                band_used=int(net.free_dofs.sum()) <= BAND_MAX_COORDS)


def start_up(iris_epoch_seconds: float | None, repeats: int) -> list[dict]:
    """Wall time of `python main.py --help` and `validate scenes/iris.yaml` in a new process
    (best of `repeats`); with the Iris epoch time measured in this run, the share of a 10-epoch
    `train` spent outside training (imports, building the scene, writing the outputs)."""
    import subprocess
    import tempfile

    from sandbox.paths import ROOT

    def run(*args) -> float:
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t)
        return best

    t_help = run("--help")
    rows = [dict(case="start-up: main.py --help", nodes=0, seconds=t_help, ratio=t_help / 0.3)]
    if iris_epoch_seconds is not None:
        t_val = run("validate", "scenes/iris.yaml")
        rows.append(dict(case="start-up: validate iris.yaml", nodes=110, seconds=t_val, ratio=t_val / t_help))
        with tempfile.TemporaryDirectory() as out:
            t_train = run("train", "scenes/iris.yaml", "--epochs", "10", "--quiet", "--out", out)
        outside = max(t_train - 10 * iris_epoch_seconds, 0.0)
        rows.append(dict(case="start-up: train iris 10 epochs, outside share", nodes=110, seconds=t_train,
                         ratio=outside / t_train, outside_seconds=outside, training_seconds=10 * iris_epoch_seconds))
    return rows


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
    from sandbox.learning.trainer import Trainer
    from sandbox.paths import SCENES
    from sandbox.scenes.build import load_scene

    tr = Trainer.from_scene(load_scene(SCENES / "allostery.yaml"))
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


def listed_scene(folder, rows: int, cols: int):
    """A scene file listing a rows x cols triangular lattice node by node and spring by spring,
    as `train` saves one (trained.yaml), in folder; returns its path."""
    from pathlib import Path

    from sandbox.paths import SCENES
    from sandbox.scenes.build import build_scene
    from sandbox.scenes.save import save_scene

    raw = {"name": f"listed {rows}x{cols}", "seed": 1,
           "network": {"generate": {"kind": "triangular", "rows": rows, "cols": cols, "k_spread": 0.3},
                       "roles": {"fixed": ["bottom_row"], "input": [{"nearest": [3, rows * 0.8]}, {"nearest": [5, rows * 0.8]}],
                                 "output": [{"nearest": [cols - 6, rows * 0.8]}, {"nearest": [cols - 4, rows * 0.8]}]}},
           "task": {"input": "strain", "output": "strain", "examples": [{"inputs": 0.2, "targets": [-0.05]}]}}
    return save_scene(build_scene(raw, SCENES / "large.yaml"), Path(folder) / f"listed-{rows}x{cols}.yaml")


def parse_listed(rows: int, cols: int, repeats: int) -> dict:
    """Validating a scene that lists every node and spring (`load_scene`: read, parse, check
    the schema, build the network and task) against `yaml.load(text, CSafeLoader)` alone on the
    same text, interleaved; and the peak memory of `python main.py validate` on it."""
    import subprocess
    import tempfile

    import yaml

    from sandbox.paths import ROOT, SCENES
    from sandbox.scenes.build import load_scene

    with tempfile.TemporaryDirectory() as folder:
        path = listed_scene(folder, rows, cols)
        text = path.read_text(encoding="utf-8")
        load_scene(SCENES / "two_springs.yaml")  # imports done before timing
        loads, validations = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            yaml.load(text, Loader=yaml.CSafeLoader)
            loads.append(time.perf_counter() - t)
            t = time.perf_counter()
            scene = load_scene(path)
            validations.append(time.perf_counter() - t)
        probe = ("import sys; from sandbox.cli import main; main(['validate', sys.argv[1]]); "  # ru_maxrss would
                 "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")  # count the parent's
        out = subprocess.run([sys.executable, "-c", probe, str(path)], cwd=ROOT, capture_output=True, text=True)
        peak_mb = int(out.stdout.split()[-1]) / 1024
    load_t, validate_t = float(np.median(loads)), float(np.median(validations))
    return dict(case="validate a listed scene / yaml.load(C)", nodes=scene.net.n_nodes, springs=scene.net.n_springs,
                megabytes=len(text.encode()) / 1e6, seconds=validate_t, yaml_load_seconds=load_t,
                ratio=validate_t / load_t, validate_peak_mb=peak_mb)


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
    rows = _Rows()

    rows.extend(batching.run(quick))  # Iris and Digits epochs, 1 to 150 examples relaxed together
    rows.extend(start_up(None if quick else rows[0]["seconds"], 1 if quick else 3))
    rows.extend(training_rows("lattice 32x32", lattice_scene, 1 if quick else 3))
    for n in [50, 100] if quick else [50, 100, 500, 1000]:
        rows.extend(relaxation_vs_floor(n, repeats, peer=not quick or n <= 50))
    for n in [] if quick else [1000, 2500, 4000, 6000, 10_000]:
        rows.append(band_vs_superlu(n, repeats))
    for n in [] if quick else [1000, 2500, 3000, 3500, 4000]:
        rows.append(ep_step_band_vs_superlu(n, 5))
    for n in sizes:
        net, task = lattice(n)
        x0 = task.start(net, 0)
        t_newton, res = timed(lambda net=net, x0=x0: relax_newton(net, x0), repeats)
        rows.append(dict(case="relax: Newton (ours)", nodes=net.n_nodes, seconds=t_newton, residual=res, ratio=1.0))
        others = [("relax: Newton, reference path", relax_reference, 100_000),
                  ("relax: L-BFGS-B (scipy)", relax_lbfgs, 10_000), ("relax: FIRE", relax_fire, 10_000),
                  ("relax: pymunk world", relax_world, 100 if quick else 1000)]
        for name, fn, limit in others:
            if net.n_nodes > limit * 1.2:
                continue
            slow = net.n_nodes > 2000 or (fn is relax_world and net.n_nodes > 200)
            t, res = timed(lambda fn=fn, net=net, x0=x0: fn(net, x0), 1 if slow else repeats)
            rows.append(dict(case=name, nodes=net.n_nodes, seconds=t, residual=res, ratio=t / t_newton))
    newton = [r for r in rows if r["case"] == "relax: Newton (ours)"]
    if len(newton) >= 2:
        slope = np.polyfit(np.log([r["nodes"] for r in newton]), np.log([r["seconds"] for r in newton]), 1)[0]
        rows.append(dict(case="Newton time ~ nodes^p", nodes=newton[-1]["nodes"], seconds=newton[-1]["seconds"],
                         ratio=float(slope)))
    rows.append(ep_step_vs_floor(1000 if quick else 10_000, repeats))
    rows.extend(frame_time(repeats))
    rows.append(world_frame(repeats))
    rows.append(long_run(300 if quick else 10_000))
    rows.append(parse_listed(*((20, 25) if quick else (100, 200)), 1 if quick else 3))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    rows.append(dict(case="peak memory (MB, whole run)", nodes=max(r["nodes"] for r in rows), seconds=0.0, ratio=peak))
    return rows


class _Rows(list):
    """The rows of a run, each stamped with the 1-minute load average when it was added."""

    def append(self, row):
        super().append({"load": os.getloadavg()[0], **row})

    def extend(self, rows):
        for row in rows:
            self.append(row)


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
        print(f"{'case':<48} {'nodes':>7} {'seconds':>10} {'ratio':>10} {'load':>6}")
        for r in rows:
            print(f"{r['case']:<48} {r['nodes']:>7} {r['seconds']:>10.4g} {r['ratio']:>10.3g} {r['load']:>6.1f}")
        print("ratio: train rows, the other path's time / the batched trainer's (speed-up); relax N examples rows, "
              "one at a time / together (their floor_ratio: together / one factorization+solve of the stack); "
              "relax (cold) rows, time / one "
              "factorization+solve (the faster of dense Cholesky and SuperLU); LSODA, time / ours; band rows, "
              "band / SuperLU; start-up rows: --help, time / 0.3 s; validate, time / --help's; train, share of "
              "the run outside training; relax rows, time / Newton's; EP step, time / one factorization+solve; "
              "growth row, fitted exponent p; draw row, time / 16.7 ms; world step row, steps per 60 fps frame; long run, memory end / after "
              "warm-up; validate row, time / yaml.load(CSafeLoader)'s on the same text; memory row, MB")
    if plot:
        globals()["plot"](rows, plot)
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv, as_json="--json" in sys.argv))
