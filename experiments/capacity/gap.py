"""Why EP falls short of the ceiling, measured: on the runs where L-BFGS-B (exact gradient)
tuned the network and EP did not (same network, same targets), try one change at a time:

- budget:   EP again with ten times the patience and the step budget;
- bounds:   EP again with k free in [1e-6, 1e6] instead of [1e-3, 1e3];
- gradient: L-BFGS-B from k = 1 with EP's gradient in place of the exact one (EP's gradient
            differs from the exact one by O(beta^2): if this tunes, the gradient is not the limit);
- trap:     L-BFGS-B with the exact gradient, started where EP stopped (if this tunes, EP had
            not reached a dead end: it stopped on a slope it was too slow to descend; if not,
            EP's end is a local minimum the ceiling's optimizer cannot leave either).

    python -m experiments.capacity gap runs/capacity-lbfgs runs/capacity-ep [--cases 8]
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .descend import EP_PATIENCE, EP_STEPS, ep, lbfgs
from .networks import CapacityNetwork
from .pairs import choose_pairs
from .runs import PAIR_SEED, network_file
from .task import Task

VARIANTS = ("budget", "bounds", "gradient", "trap")


def _rows(folder: Path) -> dict:
    with (Path(folder) / "results.csv").open(newline="", encoding="utf-8") as fh:
        return {(int(r["nodes"]), int(r["network"]), int(r["targets"])): r
                for r in csv.DictReader(fh) if r.get("status") == "done"}


def short_cases(lbfgs_dir: Path, ep_dir: Path) -> dict:
    """{N: [(network, T), ...]}: L-BFGS-B met, EP did not."""
    a, b = _rows(lbfgs_dir), _rows(ep_dir)
    out: dict = {}
    for key in sorted(a.keys() & b.keys()):
        if a[key]["met"] == "True" and b[key]["met"] != "True":
            out.setdefault(key[0], []).append(key[1:])
    return out


def variant(task: Task, name: str) -> bool:
    """Whether `name` (one of VARIANTS) tunes the task."""
    if name == "budget":
        out = ep(task, max_steps=10 * EP_STEPS, patience=10 * EP_PATIENCE)
    elif name == "bounds":
        out = ep(task, bounds=(1e-6, 1e6))
    elif name == "gradient":
        out = lbfgs(task, gradient="ep")
    elif name == "trap":
        out = lbfgs(task, start=ep(task)["k"])
    else:
        raise ValueError(f"unknown variant {name!r}")
    return task.verify(out["k"])[0]


def diagnose(folder: Path, cases: dict, per_size: int, seed: int = 0, log=print) -> dict:
    """{N: {variant: (tuned, tried)}} over up to per_size cases per size, drawn at random."""
    rng = np.random.default_rng(seed)
    out = {}
    for n, pairs in sorted(cases.items()):
        chosen = [pairs[i] for i in sorted(rng.choice(len(pairs), min(per_size, len(pairs)), replace=False))]
        counts = {v: [0, 0] for v in VARIANTS}
        for net_id, t in chosen:
            net = CapacityNetwork.load(network_file(folder, n, net_id))
            source, targets = choose_pairs(net, "ghost", PAIR_SEED + net_id)
            task = Task(net.pos, net.edges, source, targets[:t])
            for v in VARIANTS:
                counts[v][0] += variant(task, v)
                counts[v][1] += 1
            log(f"N={n} network {net_id} T={t}: " + ", ".join(f"{v} {c[0]}/{c[1]}" for v, c in counts.items()))
        out[n] = {v: tuple(c) for v, c in counts.items()}
    return out
