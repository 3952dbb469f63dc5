"""Benchmarks of relaxing a mini-batch's examples together (issue 27), side by side in one run:
`python -m bench.batching [--quick] [--json]` (also part of `python main.py bench`).

- `relax_many_rows`: B examples of a lattice relaxed together (`NewtonSolver.relax_many`) and
  one at a time (`relax`, each from the same factorization), against the floor: one
  factorization and solve of the stacked system at the equilibria (the matrices given);
- `training_rows`: epochs of a scene with the batched trainer, with the trainer driving the
  solver one relaxation at a time as before batching (`reference.OneAtATime`), and with the
  first version's solver (`reference.ReferenceNewton`), epochs interleaved.
"""

from __future__ import annotations

import time

import numpy as np

from bench.reference import OneAtATime, ReferenceNewton
from sandbox.learning.trainer import Trainer
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.factor import factorize_many, solve_many


def relax_many_rows(net, task, sizes, repeats: int, tol: float) -> list[dict]:
    """One row per batch size B: the B examples (the task's input pulled by random amounts
    between 0.5 and 1.5 times its own) relaxed together and one at a time, each from the
    factorization of the network at rest, as the trainer starts a mini-batch, and the floor."""
    from bench.benchmarks import timed

    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 1.5, max(sizes))
    starts = np.repeat(net.pos[None], max(sizes), axis=0)
    starts[:, task.inputs] = net.pos[task.inputs] + scale[:, None, None] * task.clamps[0]
    solver = NewtonSolver(tol=tol)
    rows = []
    for b in sizes:
        x = starts[:b]
        t_together, eqs = timed(lambda x=x: _together(solver, net, x), repeats)
        t_alone, _ = timed(lambda x=x: _one_at_a_time(solver, net, x), repeats)
        asm = solver.assembly(net, net.free_dofs)
        vals = asm.hessians(np.stack([eq.x for eq in eqs]).reshape(b, -1).T, net.k, net.L)
        g = np.ones((b, asm.n_free))
        band = asm.n_free <= solver.band_max
        t_floor, _ = timed(lambda asm=asm, vals=vals, g=g, band=band: solve_many(factorize_many(asm, vals, band)[0], g),
                           repeats)
        rows.append(dict(case=f"relax {b} examples: one at a time / together", nodes=net.n_nodes, examples=b,
                         seconds=t_together, ratio=t_alone / t_together, one_at_a_time_seconds=t_alone,
                         floor_seconds=t_floor, floor_ratio=t_together / t_floor,
                         iterations=float(np.mean([eq.iterations for eq in eqs]))))
    return rows


def _together(solver, net, x):
    rest = solver.factorization_at(net, net.pos, psd=True)
    return solver.relax_many(net, x, kept=[rest] * len(x))


def _one_at_a_time(solver, net, x):
    rest = solver.factorization_at(net, net.pos, psd=True)
    out = []
    for xi in x:
        solver.kept = rest
        out.append(solver.relax(net, xi))
    return out


def training_rows(name: str, scene_fn, epochs: int, reference: bool = True) -> list[dict]:
    """Seconds per epoch (the steps and the end-of-epoch evaluation) of the batched trainer, the
    trainer before batching and (reference=True) the first version's solver, epochs
    interleaved so all see the same load: a row "one at a time / batched" and one
    "reference / batched"; with the largest relative difference in k from the one-at-a-time run
    (its free phases start from other factorizations, so they agree to the tolerance only).
    `ratio` is of wall time; `cpu_ratio` of this process's CPU time, which other jobs on a
    shared machine disturb much less (at a load of 11 on 2 cores a process gets a third of a
    core, and the wall-time ratios of two runs differed by 20%)."""
    paths = [("batched", NewtonSolver()), ("one at a time", OneAtATime())]
    if reference:
        paths.append(("reference", ReferenceNewton()))
    runs = {}
    for path, engine in paths:
        tr = Trainer.from_scene(scene_fn(), engine=engine)
        tr.record()
        runs[path] = [tr, [], []]
    for _ in range(epochs):
        for tr, times, cpu in runs.values():
            t, c = time.perf_counter(), time.process_time()
            tr.fit(1)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    new, new_times, new_cpu = runs["batched"]
    base = dict(nodes=new.net.n_nodes, examples=new.task.n_examples, epochs=epochs, seconds=sum(new_times) / epochs,
                epoch_seconds=new_times, cpu_seconds=sum(new_cpu) / epochs,
                test_accuracy=new.history[-1]["test_accuracy"])
    rows = []
    for path, (tr, times, cpu) in runs.items():
        if path == "batched":
            continue
        k = tr.net.k
        rows.append(dict(case=f"train {name}: epoch, {path} / batched", ratio=sum(times) / sum(new_times),
                         cpu_ratio=sum(cpu) / sum(new_cpu), other_seconds=sum(times) / epochs,
                         other_cpu_seconds=sum(cpu) / epochs, other_epoch_seconds=times,
                         max_rel_k_difference=float(np.max(np.abs(new.net.k - k) / np.abs(k))), **base))
    return rows


def run(quick: bool = False) -> list[dict]:
    """The rows above: Iris (20 epochs), Digits (one epoch) and relaxing 1 to 150 examples of
    lattices of 49 and 484 nodes and of Iris's network; quick: one Iris epoch, 49 nodes only."""
    import os

    from bench.benchmarks import TOL, lattice
    from sandbox.paths import SCENES
    from sandbox.scenes.build import load_scene

    def stamp(rows):
        return [{**row, "load": os.getloadavg()[0]} for row in rows]

    rows = stamp(training_rows("Iris", lambda: load_scene(SCENES / "iris.yaml"), 1 if quick else 20))
    if not quick:
        rows += stamp(training_rows("Digits", lambda: load_scene(SCENES / "digits.yaml"), 1))
    iris = load_scene(SCENES / "iris.yaml")
    for net, task in [lattice(50)] if quick else [lattice(50), (iris.net, iris.task), lattice(500)]:
        rows += stamp(relax_many_rows(net, task, [1, 10] if quick else [1, 5, 10, 50, 150], 3, TOL))
    return rows


def main(argv=None) -> int:
    import json
    import sys

    argv = sys.argv[1:] if argv is None else argv
    rows = run("--quick" in argv)
    if "--json" in argv:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'case':<48} {'nodes':>6} {'seconds':>10} {'ratio':>8} {'cpu':>6} {'floor':>7} {'load':>6}")
    for r in rows:
        floor = f"{r['floor_ratio']:.2f}" if "floor_ratio" in r else ""
        cpu = f"{r['cpu_ratio']:.3g}" if "cpu_ratio" in r else ""
        print(f"{r['case']:<48} {r['nodes']:>6} {r['seconds']:>10.4g} {r['ratio']:>8.3g} {cpu:>6} {floor:>7} "
              f"{r['load']:>6.1f}")
    print("ratio: the other path's time / the batched one's (cpu: of CPU time); floor: together / one "
          "factorization and solve of the stacked system; seconds: the batched path's (an epoch, or one "
          "relaxation of the batch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
