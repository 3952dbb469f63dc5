"""python -m experiments.capacity: write the runs, then read what the sweeps made of them.

    python -m experiments.capacity tasks [--networks 16] [--sizes 64 128 ...]
        networks into experiments/capacity_runs/networks/, one task document per run into
        experiments/capacity_runs/tasks/<pairs>-<tuner>/ (the T of each size: PLAN)
    python main.py sweep experiments/capacity_prune.yaml --out runs/capacity-prune --workers 1
        (and capacity_lbfgs.yaml, capacity_ep.yaml)
    python -m experiments.capacity figure runs/capacity-prune runs/capacity-lbfgs ... [--png PATH]
        the table of crossings and exponents, and the figure
    python -m experiments.capacity gap runs/capacity-lbfgs runs/capacity-ep
        where L-BFGS-B tuned and EP did not, what one change at a time does (gap.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "capacity_runs"


def geometric(lo: int, hi: int) -> list[int]:
    """Target counts from lo to hi, each about sqrt(2) times the last."""
    return sorted({int(round(lo * 2 ** (i / 2))) for i in range(60) if lo * 2 ** (i / 2) <= hi * 1.01})


# (pairs, tuner) -> {N: (smallest T, largest T)}: windows around each crossing, from an
# 8-network pilot, wide enough to go from all to almost no network tuned
PLAN = {
    ("ghost", "prune"): {64: (3, 64), 128: (6, 91), 256: (8, 128), 512: (11, 256), 1024: (16, 362), 2048: (23, 724)},
    ("ghost", "lbfgs"): {64: (23, 362), 128: (45, 724), 256: (91, 1448), 512: (181, 2896), 1024: (362, 5793)},
    ("ghost", "ep"): {64: (23, 362), 128: (45, 724), 256: (91, 1448), 512: (181, 2896), 1024: (90.5, 5793)},  # 1,024: two octaves below the first window, on its grid
    ("bonds", "prune"): {64: (1, 23), 128: (2, 32), 256: (3, 45), 512: (4, 64), 1024: (6, 91), 2048: (8, 128)},
}


def cmd_tasks(args) -> int:
    from sandbox.physics.factor import use_one_blas_thread

    from .runs import write_networks, write_tasks

    use_one_blas_thread()
    sizes = sorted({n for plan in PLAN.values() for n in plan if not args.sizes or n in args.sizes})
    write_networks(FOLDER, sizes, args.networks)
    for (kind, tuner), plan in PLAN.items():
        chosen = {n: geometric(*window) for n, window in plan.items() if n in sizes}
        paths = write_tasks(FOLDER, tuner, kind, chosen, args.networks)
        print(f"{kind}-{tuner}: {len(paths)} tasks")
    return 0


def cmd_figure(args) -> int:
    from .figure import draw, summary
    from .fit import read_outcomes

    table = read_outcomes(*(Path(d) / "results.csv" for d in args.results))
    if not table:
        raise SystemExit("no finished capacity runs in " + ", ".join(args.results))
    lines, results = summary(table, replicates=args.replicates)
    print("\n".join(lines))
    png = Path(args.png) if args.png else Path(args.results[0]) / "capacity.png"
    draw(table, results, png)
    print(f"wrote {png}")
    return 0


def cmd_gap(args) -> int:
    from sandbox.physics.factor import use_one_blas_thread

    from .gap import diagnose, short_cases

    use_one_blas_thread()
    cases = short_cases(Path(args.lbfgs), Path(args.ep))
    cases = {n: c for n, c in cases.items() if not args.sizes or n in args.sizes}
    print("L-BFGS-B tuned, EP did not: " + ", ".join(f"N = {n}: {len(c)} runs" for n, c in cases.items()))
    result = diagnose(FOLDER, cases, args.cases)
    for n, counts in result.items():
        print(f"N = {n}: " + ", ".join(f"{v} tunes {a}/{b}" for v, (a, b) in counts.items()))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.capacity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tasks", help="write the networks and the task documents")
    t.add_argument("--networks", type=int, default=16)
    t.add_argument("--sizes", type=int, nargs="*", help="only these sizes (default: all of PLAN)")
    f = sub.add_parser("figure", help="crossings, exponents and the figure from sweeps' results folders")
    f.add_argument("results", nargs="+")
    f.add_argument("--png")
    f.add_argument("--replicates", type=int, default=1000)
    g = sub.add_parser("gap", help="where L-BFGS-B tuned and EP did not: try one change at a time")
    g.add_argument("lbfgs", help="the L-BFGS-B sweep's results folder")
    g.add_argument("ep", help="the EP sweep's results folder")
    g.add_argument("--cases", type=int, default=8, help="runs tried per size (drawn at random)")
    g.add_argument("--sizes", type=int, nargs="*")
    args = p.parse_args(argv)
    return {"tasks": cmd_tasks, "figure": cmd_figure, "gap": cmd_gap}[args.command](args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
    raise SystemExit(main())
