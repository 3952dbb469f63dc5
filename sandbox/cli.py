"""The command line: open the window, train headless, check gradients, validate scenes, benchmark.

Every mistake a user can make (missing file, bad scene, bad flag) ends with a message and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from . import __version__
from .paths import ROOT, SCENES

DEFAULT_SCENE = SCENES / "lesson_two_springs.yaml"
COMMANDS = ("run", "train", "check", "validate", "bench", "sweep")

EPILOG = """commands:
  run [SCENE]        open the interactive window (the default: `python main.py SCENE`)
  train SCENE        train headless; writes trained.yaml, history.csv, loss.png, network.png
                     (and response.png for one or two inputs)
  check SCENE        compare EP's gradient with the exact one over five decades of beta
  validate SCENE...  check scene files; every problem with its line and key
  bench              benchmarks, side by side
  sweep SWEEP.yaml   a grid of runs over scenes, on Dask; results.csv, resumable

`python main.py COMMAND --help` explains each command. Scenes live in scenes/."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spring-sandbox" if Path(sys.argv[0]).name == "spring-sandbox" else "python main.py",
        description="A sandbox where a network of masses and springs learns by equilibrium "
                    "propagation, shown live.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="open the interactive window",
                         description="Open the window on a scene and watch it learn. "
                                     "Press H in the window for every key.")
    run.add_argument("scene", nargs="?", default=str(DEFAULT_SCENE), help="scene file (default: lesson 1, lesson_two_springs)")

    tr = sub.add_parser("train", help="train a scene headless",
                        description="Train a scene without a window, then write trained.yaml (a scene "
                                    "file that opens like any other), history.csv, loss.png and "
                                    "network.png into --out. The last line says whether the scene's "
                                    "promise (its 'expect') was met; exit 0 if it was, 1 if not. "
                                    "Ctrl+C stops and keeps what was learned; train the saved "
                                    "trained.yaml to resume.")
    tr.add_argument("scene", help="scene file")
    tr.add_argument("--epochs", type=_positive_int, help="epochs (default: the scene's)")
    tr.add_argument("--rule", choices=("centered", "one-sided", "coupled", "exact"),
                    help="learning rule (default: the scene's); 'exact' is not EP but the gradient a "
                         "computer would take (implicit differentiation), for comparison")
    tr.add_argument("--lr", type=_positive_float, help="learning rate (default: the scene's)")
    tr.add_argument("--beta", type=_positive_float, help="nudge strength beta, or eta for coupled (default: the scene's)")
    tr.add_argument("--engine", choices=("exact", "physical", "pymunk"), default="exact",
                    help="exact: Newton equilibria (fast, default); physical (or pymunk): equilibria "
                         "from the live pymunk world, as a self-learning machine would")
    tr.add_argument("--temperature", type=_nonnegative_float, metavar="KT",
                    help="thermal energy kT (default: the scene's physics.temperature, usually 0): each "
                         "state a spring measures jiggles, averaged over physics.samples snapshots")
    tr.add_argument("--out", help="output folder (default: runs/<scene>-<time>/)")
    tr.add_argument("--seed", type=int, help="shuffling seed (default: the scene's)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--gif", help="also record the network learning, one frame per epoch, into this GIF")
    tr.add_argument("--compare", action="store_true",
                    help="also train the same network from its start with the exact gradient (what "
                         "backprop would reach) and print the two side by side")

    ck = sub.add_parser("check", help="gradient check: EP against the exact gradient",
                        description="For beta over five decades, the relative error and cosine "
                                    "similarity of one-sided and centered EP against the exact "
                                    "gradient (implicit differentiation), on the scene's first "
                                    "training example and its learned parameters.")
    ck.add_argument("scene", help="scene file")
    ck.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    ck.add_argument("--example", type=int, default=None, help="which example (default: the first training one)")

    va = sub.add_parser("validate", help="validate scene files",
                        description="Load and check scene files; print every problem with its line and "
                                    "key. Exit 0 if all are valid, 2 if not.")
    va.add_argument("scenes", nargs="+", help="scene files")

    be = sub.add_parser("bench", help="benchmarks, side by side",
                        description="Relaxation (Newton vs L-BFGS-B vs FIRE vs the pymunk world), an "
                                    "EP step vs one factorization, growth with size, frame time.")
    be.add_argument("--quick", action="store_true", help="small sizes only (under a minute)")
    be.add_argument("--json", action="store_true", help="print JSON rows")
    be.add_argument("--plot", help="write a log-log plot of time against size to this PNG")

    sw = sub.add_parser("sweep", help="a grid of runs over scenes, on Dask",
                        description="Train every combination of a sweep file's grid on every scene it "
                                    "names, on Dask: a local cluster (one worker process per core) or "
                                    "--scheduler. Writes results.csv (a row per run as it finishes), "
                                    "histories/, summary.png and a copy of the sweep file into --out. "
                                    "The same command again runs only what is missing or failed. "
                                    "Exit 0 if every run finished, 1 if some failed.")
    sw.add_argument("sweep", help="sweep file (YAML: scenes, grid, fixed overrides)")
    sw.add_argument("--out", help="results folder (default: runs/sweep-<sweep file name>/)")
    sw.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786 "
                                        "(default: start a local cluster)")
    sw.add_argument("--workers", type=_positive_int, help="local cluster: worker processes (default: one per core)")
    sw.add_argument("--retries", type=int, default=2, help="times Dask retries a run that raises (default 2)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def _positive_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError("must be a positive number")
    return v


def _nonnegative_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError("must be a number, 0 or more")
    return v


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run"] + argv
    args = _parser().parse_args(argv)
    from .scenes.messages import SceneError

    try:
        return {"run": cmd_run, "train": cmd_train, "check": cmd_check,
                "validate": cmd_validate, "bench": cmd_bench, "sweep": cmd_sweep}[args.command](args)
    except SceneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def cmd_run(args) -> int:
    from .scenes.build import load_scene

    scene = load_scene(args.scene)
    if not display_available():
        print(f"No display here: the window cannot open. Train headless instead: "
              f"python main.py train {args.scene}", file=sys.stderr)
        return 2
    from .window.app import App

    App(scene).run()
    return 0


def display_available() -> bool:
    """True when SDL can open a real window (not the dummy or offscreen driver)."""
    if os.environ.get("SDL_VIDEODRIVER", "") in ("dummy", "offscreen"):
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return True


def make_engine(name: str, scene, seed: int | None = None):
    """The physical engine at the scene's physics (its temperature's noise seeded by `seed`,
    default the scene's), or None: the trainer's exact engine."""
    if name in ("physical", "pymunk"):
        from .physics.world import WorldEngine

        return WorldEngine(scene.spec.physics, seed=scene.spec.seed if seed is None else seed)
    return None


def cmd_train(args) -> int:
    from dataclasses import replace

    from .runner import train_scene
    from .scenes.build import load_scene

    scene = load_scene(args.scene)
    if args.temperature is not None:
        scene.override("physics", temperature=args.temperature)
    rule = scene.rule()
    if args.rule:
        rule = replace(rule, kind=args.rule)
    if args.lr:
        rule = replace(rule, lr=args.lr)
    if args.beta:
        rule = replace(rule, beta=args.beta)
    out = Path(args.out) if args.out else Path("runs") / f"{scene.path.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return 2
    exact = None
    if args.compare and rule.kind != "exact":  # a fresh copy of the scene: the same starting network
        exact = train_scene(load_scene(args.scene), args.epochs, replace(rule, kind="exact"), None, args.seed,
                            progress=not args.quiet)
    res = train_scene(scene, args.epochs, rule, make_engine(args.engine, scene, args.seed), args.seed, out,
                      progress=not args.quiet, gif=args.gif)
    last = res.history[-1]
    engine = "physical" if args.engine == "pymunk" else args.engine
    how = "the exact gradient (not EP)" if rule.kind == "exact" else f"{rule.kind} EP"
    warm = f", kT {scene.spec.physics.temperature:g}" if scene.spec.physics.temperature else ""
    print(f"{scene.name}: {last['epoch']} epochs, {how}, engine {engine}{warm}, {res.seconds:.1f} s")
    _print_result(f"{rule.kind} EP" if rule.kind != "exact" else "exact gradient", res)
    if exact is not None:
        _print_result("exact gradient", exact)
    if scene.task.labels is not None:
        from .learning.baseline import linear_classifier

        lin = linear_classifier(scene.task)
        test = f", test accuracy {lin['test_accuracy']:.1%}" if math.isfinite(lin["test_accuracy"]) else ""
        print(f"  {'linear classifier':>16}: least squares on the raw inputs (not springs): "
              f"train accuracy {lin['train_accuracy']:.1%}{test}")
    for w in res.warnings:
        print(f"  warning: {w}")
    if res.stopped:
        print(f"  stopped: {res.stopped}")
    response = ", response.png" if (Path(out) / "response.png").exists() else ""
    print(f"  wrote {out}/trained.yaml, history.csv, loss.png, network.png{response}" + (f", {args.gif}" if args.gif else ""))
    print(res.verdict)
    return 0 if res.met else 1


def _print_result(label: str, res) -> None:
    """One line of figures for a run (and one of per-class accuracy for a classifier)."""
    first, last = res.history[0], res.history[-1]
    line = f"  {label:>16}: train loss {first['loss']:.4g} -> {last['loss']:.4g}"
    if math.isfinite(last["test_loss"]):
        line += f", test loss {last['test_loss']:.4g}"
    if math.isfinite(last["accuracy"]):
        line += f", train accuracy {last['accuracy']:.1%}"
    if math.isfinite(last["test_accuracy"]):
        line += f", test accuracy {last['test_accuracy']:.1%}"
    print(line + f" ({res.seconds:.1f} s)")
    if res.class_accuracy:
        which = "test" if math.isfinite(last["test_accuracy"]) else "train"
        print(f"  {'':>16}  {which} accuracy by class: " + ", ".join(f"{c} {a:.0%}" for c, a in res.class_accuracy.items()))


def cmd_check(args) -> int:
    from .learning.rules import gradient_check
    from .scenes.build import load_scene

    scene = load_scene(args.scene)
    s = int(scene.task.train[0]) if args.example is None else args.example
    if not 0 <= s < scene.task.n_examples:
        print(f"error: --example must be between 0 and {scene.task.n_examples - 1}", file=sys.stderr)
        return 2
    rows = gradient_check(scene.net, scene.task, s, learn=scene.spec.learning.learn)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{scene.name}: EP gradient against the exact gradient (example {s}, learning {scene.spec.learning.learn})")
    print(f"{'beta':>8} | {'rel. error':>10} {'cosine':>10} | {'rel. error':>10} {'cosine':>10}")
    print(f"{'':>8} | {'one-sided':^21} | {'centered':^21}")
    for r in rows:
        print(f"{r['beta']:>8.0e} | {r['rel_err_one_sided']:>10.2e} {r['cosine_one_sided']:>10.6f} | "
              f"{r['rel_err_centered']:>10.2e} {r['cosine_centered']:>10.6f}")
    return 0


def cmd_validate(args) -> int:
    from .scenes.build import load_scene
    from .scenes.messages import SceneError

    bad = 0
    for path in args.scenes:
        try:
            sc = load_scene(path)
        except SceneError as exc:
            bad += 1
            print(f"invalid: {exc}")
            continue
        print(f"ok: {path} ({sc.net.n_nodes} nodes, {sc.net.n_springs} springs, "
              f"{sc.task.n_examples} examples)")
    return 2 if bad else 0


def cmd_bench(args) -> int:
    if not (ROOT / "bench").is_dir():
        print("error: the benchmarks run from a checkout of the project (bench/ is not installed)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from bench.benchmarks import main as bench_main

    return bench_main(quick=args.quick, as_json=args.json, plot=args.plot)


def cmd_sweep(args) -> int:
    from .sweep import summary
    from .sweep.execute import SchedulerUnreachable, open_client, run_sweep
    from .sweep.results import Results
    from .sweep.spec import load_sweep

    if args.retries < 0:
        print("error: --retries must be 0 or more", file=sys.stderr)
        return 2
    sweep = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{sweep.path.stem}"
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return 2
    Results(out)  # an unreadable results.csv stops here, before any cluster starts
    print(f"{len(sweep.runs)} runs: {len(sweep.scenes)} scene(s) x {len(sweep.runs) // len(sweep.scenes)} "
          f"combination(s) of {', '.join(sweep.columns) or 'no override'}; results in {out}/")
    start = time.perf_counter()
    try:
        with open_client(args.scheduler, args.workers) as client:
            outcome = run_sweep(sweep, out, client, args.retries, progress=not args.quiet)
    except SchedulerUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = Results(out)
    if results.rows:
        summary.plot(sweep, results, out / "summary.png")
        print("\n".join(summary.table(sweep, results)))
    print(f"{outcome.done} run(s) finished now, {outcome.skipped} were done before, {outcome.failed} failed "
          f"in {time.perf_counter() - start:.0f} s" + (f"; see {out}/results.csv (failed runs with their "
                                                       f"message), summary.png" if results.rows else ""))
    if outcome.interrupted:
        print(f"interrupted: every finished run is kept; run the same command again to do the other "
              f"{outcome.total - outcome.skipped - outcome.done - outcome.failed}", file=sys.stderr)
        return 130
    return 1 if outcome.failed else 0
