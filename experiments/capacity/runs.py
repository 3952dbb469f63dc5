"""One capacity run as the sweep command runs it, and the files that describe the runs.

A task document (YAML, one per run; written by `write_tasks`):

    network: ../../networks/n0256-net03.npz   # the network, relative to this file
    seed: 3                                  # the network's index: its pairs' seed is 10,000 + it
    kind: ghost                              # which pairs (pairs.KINDS)
    targets: 45                              # T: the first T of the network's targets
    tuner: prune                             # prune, lbfgs or ep

`run_task` is what `python main.py sweep` calls for it (the sweep file says
`run: experiments.capacity.runs:run_task`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sandbox.files import write_atomic

from .descend import ep, lbfgs
from .networks import CapacityNetwork, disc_network
from .pairs import KINDS, choose_pairs
from .prune import prune
from .task import K_MAX, K_MIN, Task

TUNERS = {"prune": prune, "lbfgs": lbfgs, "ep": ep}
PAIR_SEED = 10_000
HISTORY_ROWS = 400  # at most this many rows of a run's learning curve are kept


def network_file(folder: Path, n: int, seed: int) -> Path:
    return Path(folder) / "networks" / f"n{n:04d}-net{seed:02d}.npz"


def run_task(raw: dict, path: Path, overrides: dict) -> dict:
    """Tune the network of a task document; returns {"row": ..., "history": [...]} for the sweep."""
    unknown = set(raw) - {"network", "seed", "kind", "targets", "tuner"}
    if unknown or raw.get("tuner") not in TUNERS or raw.get("kind") not in KINDS:
        raise ValueError(f"{path}: not a capacity task (keys network, seed, kind, targets, tuner; "
                         f"tuner one of {', '.join(TUNERS)}; kind one of {', '.join(KINDS)})")
    net = CapacityNetwork.load(Path(path).parent / raw["network"])
    source, targets = choose_pairs(net, raw["kind"], PAIR_SEED + int(raw["seed"]))
    t = int(raw["targets"])
    if t > len(targets):
        raise ValueError(f"{path}: asks for {t} targets; network {raw['network']} offers {len(targets)}")
    task = Task(net.pos, net.edges, source, targets[:t])
    out = TUNERS[raw["tuner"]](task)
    met, loss, smallest = task.verify(out["k"])
    history = out["history"]
    if len(history) > HISTORY_ROWS:
        keep = np.unique(np.linspace(0, len(history) - 1, HISTORY_ROWS).astype(int))
        history = [history[i] for i in keep]
    row = {"tuner": raw["tuner"], "kind": raw["kind"], "nodes": len(net.pos), "springs": len(net.edges),
           "targets": t, "network": int(raw["seed"]), "met": met, "epochs_done": out["steps"],
           "loss_start": task.loss(task.eta0), "loss": loss, "min_residual": smallest,
           "stopped": out["stopped"], "removed": out.get("removed"), "evaluations": out.get("evaluations"),
           "k_at_min": float(np.mean(out["k"] <= K_MIN * 1.0001)), "k_at_max": float(np.mean(out["k"] >= K_MAX / 1.0001))}
    return {"row": row, "history": history}


def write_networks(folder: Path, sizes, networks: int, log=print) -> None:
    """Generate (once) and save the networks the tasks name."""
    for n in sizes:
        for seed in range(networks):
            path = network_file(folder, n, seed)
            if not path.exists():
                disc_network(n, seed).save(path)
        log(f"networks of {n} nodes: {networks} in {path.parent}")


def write_tasks(folder: Path, tuner: str, kind: str, plan: dict, networks: int) -> list[Path]:
    """One task document per (N, T, network) of `plan` ({N: [T, ...]}) into
    folder/tasks/<kind>-<tuner>/; returns their paths. T beyond what a network offers is left out."""
    paths = []
    out = Path(folder) / "tasks" / f"{kind}-{tuner}"
    for n, counts in plan.items():
        for seed in range(networks):
            net_path = network_file(folder, n, seed)
            offered = len(choose_pairs(CapacityNetwork.load(net_path), kind, PAIR_SEED + seed)[1])
            for t in counts:
                if t > offered:
                    continue
                doc = {"network": f"../../networks/{net_path.name}", "seed": seed, "kind": kind,
                       "targets": int(t), "tuner": tuner}
                path = out / f"n{n:04d}-t{t:04d}-net{seed:02d}.yaml"
                write_atomic(path, "# written by python -m experiments.capacity tasks; do not edit\n"
                             + yaml.safe_dump(doc, sort_keys=False))
                paths.append(path)
    return paths
