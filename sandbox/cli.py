"""The command line: open the window, train headless, check gradients, validate scenes, benchmark.

Every mistake a user can make (missing file, bad scene, bad flag) ends with a message and
exit code 2, never a traceback. Exit codes (EXIT): 0 done (train: the promise met), 1 the
promise not met (sweep: some run failed), 2 bad input, 3 the output could not be written,
130 interrupted (Ctrl+C, SIGTERM, SIGHUP).
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
EXIT = {"met": 0, "not met": 1, "bad input": 2, "output": 3, "interrupted": 130}
COMMANDS = ("run", "train", "check", "validate", "bench", "sweep", "lessons")

EPILOG = """commands:
  run [SCENE]        open the interactive window (the default: `%(prog)s SCENE`)
  train SCENE        train headless; writes trained.yaml, history.csv, run.json (together, at
                     checkpoints), then loss.png, network.png (and response.png for one or two inputs)
  check SCENE        compare EP's gradient (one-sided, centered, coupled) with the exact one
                     over five decades of beta
  validate FILE...   check scene (or sweep) files; every problem with its line and key
  bench              benchmarks, side by side
  sweep SWEEP.yaml   a grid of runs over scenes, on Dask; results.csv, resumable
  lessons            every step of every lesson as a PNG (the window off-screen), with an index

exit codes: 0 done (train: promise met), 1 promise not met (sweep: a run failed), 2 bad input,
3 output could not be written, 130 interrupted (Ctrl+C, SIGTERM, SIGHUP).

`%(prog)s COMMAND --help` explains each command. A SCENE is a scene file or the name
of a shipped scene (allostery, xor, iris, ...: the files in {scenes})."""


def program() -> str:
    """How the commands were started, as a user would type it again: `spring-sandbox` (the
    installed command; spring-sandbox.exe on Windows) or `python main.py`."""
    name = Path(sys.argv[0]).name
    return "spring-sandbox" if name.startswith("spring-sandbox") else "python main.py"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program(),
        description="A sandbox where a network of masses and springs learns by equilibrium "
                    "propagation, shown live.",
        epilog=EPILOG.format(scenes=SCENES), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="open the interactive window",
                         description="Open the window on a scene and watch it learn. "
                                     "Press H in the window for every key.")
    run.add_argument("scene", nargs="?", default=str(DEFAULT_SCENE), help="scene file (default: lesson 1, lesson_two_springs)")

    tr = sub.add_parser("train", help="train a scene headless",
                        description="Train a scene without a window. Into --out, trained.yaml (a scene "
                                    "file that opens like any other), history.csv and run.json (the "
                                    "settings, versions and timings) are written together, of one epoch, "
                                    "at checkpoints and at the end; then loss.png and "
                                    "network.png. Ctrl+C, SIGTERM and SIGHUP stop it and keep the last "
                                    "completed epoch; train the saved trained.yaml to resume. Exit 0 if "
                                    "the scene's promise (its 'expect') was met, 1 if not, 2 for bad "
                                    "input, 3 if the output could not be written, 130 if interrupted.")
    tr.add_argument("scene", help="scene file, or a shipped scene's name (e.g. allostery)")
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
    tr.add_argument("--out", help="output folder (default: runs/<scene>-<time>/); an older run there is replaced")
    tr.add_argument("--seed", type=_seed, help="shuffling seed (default: the scene's)")
    tr.add_argument("--checkpoint-every", type=_count, metavar="EPOCHS",
                    help="write the last completed epoch every EPOCHS epochs (0: not by epochs; default 100)")
    tr.add_argument("--checkpoint-seconds", type=_seconds, metavar="S",
                    help="... or every S seconds, whichever comes first (0: not by time; default 10). With "
                         "neither given, a checkpoint also waits 50 times its own cost (2%% of the time at most)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--gif", help="also record the network learning, one frame per epoch, into this GIF")
    tr.add_argument("--compare", action="store_true",
                    help="also train the same network from its start with the exact gradient (what "
                         "backprop would reach) and print the two side by side")

    ck = sub.add_parser("check", help="gradient check: EP against the exact gradient",
                        description="For beta over five decades, the relative error and cosine "
                                    "similarity of one-sided, centered and coupled EP (eta = beta) "
                                    "against the exact gradient (implicit differentiation), on the "
                                    "scene's first training example and its learned parameters. "
                                    "Coupled learning's relative error is to its own limit as eta "
                                    "goes to 0 (the gradient with each output's error weighted by "
                                    "the stiffness it meets); its cosine is to the exact gradient.")
    ck.add_argument("scene", help="scene file, or a shipped scene's name")
    ck.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    ck.add_argument("--example", type=int, default=None, help="which example (default: the first training one)")

    va = sub.add_parser("validate", help="validate scene or sweep files",
                        description="Load and check scene files, and sweep files (a file with 'scenes:' "
                                    "and no 'network:', checked as a sweep, with every scene it names); "
                                    "print every problem with its line and key. Exit 0 if all are "
                                    "valid, 2 if not.")
    va.add_argument("scenes", nargs="+", help="scene or sweep files (or shipped scenes' names)")

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
    sw.add_argument("--max-runs", type=_positive_int, default=100_000,
                    help="refuse a sweep of more runs than this (default 100,000), before anything is made")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    le = sub.add_parser("lessons", help="every lesson step as a PNG",
                        description="Drive the window off-screen through every lesson, as a student "
                                    "would (the events each card asks for), and write each step's "
                                    "picture into --out, with README.md listing them.")
    le.add_argument("--out", default="docs/lessons", help="folder (default: docs/lessons)")
    return p


def _number(parse, ok, must: str):
    """An argparse type: the text as parse (int or float) gives it, refused with a message
    unless it is finite and ok(value); `must` says the rule."""
    what = "a whole number" if parse is int else "a number"

    def convert(s):
        try:
            v = parse(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s[:40]!r} is not {what}") from None
        if not ((parse is int or math.isfinite(v)) and ok(v)):
            raise argparse.ArgumentTypeError(must)
        return v

    return convert


_positive_int = _number(int, lambda v: v >= 1, "must be at least 1")
_count = _number(int, lambda v: v >= 0, "must be 0 or more")
_seconds = _number(float, lambda v: v >= 0, "must be 0 or more")
_positive_float = _number(float, lambda v: v > 0, "must be a positive number")
_nonnegative_float = _number(float, lambda v: v >= 0, "must be a number, 0 or more")


def _seed(s):
    from .scenes.schema import MAX_SEED

    v = _count(s) if len(s) <= 30 else MAX_SEED + 1
    if v > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEED}")
    return v


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run"] + argv
    args = _parser().parse_args(argv)
    args.argv = argv
    from .run_folder import OutputError
    from .scenes.messages import SceneError

    try:
        return {"run": cmd_run, "train": cmd_train, "check": cmd_check, "validate": cmd_validate,
                "bench": cmd_bench, "sweep": cmd_sweep, "lessons": cmd_lessons}[args.command](args)
    except SceneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT["bad input"]
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT["output"]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT["interrupted"]


def cmd_run(args) -> int:
    from .scenes.build import load_scene

    scene = load_scene(args.scene)
    if not _has_pygame():
        print(f"The window needs pygame-ce and pygame_gui, which are not installed: pip install "
              f"'spring-sandbox[window]'. Train headless instead: {program()} train {args.scene}", file=sys.stderr)
        return EXIT["bad input"]
    if not display_available():
        print(f"No display here: the window cannot open. Train headless instead: "
              f"{program()} train {args.scene}", file=sys.stderr)
        return EXIT["bad input"]
    from .window.app import App

    App(scene).run()
    return 0


def cmd_lessons(args) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return EXIT["bad input"]
    if not _has_pygame():
        print("The lessons are drawn by the window, which needs pygame-ce and pygame_gui: pip install "
              "'spring-sandbox[window]'", file=sys.stderr)
        return EXIT["bad input"]
    os.environ["SDL_VIDEODRIVER"] = "dummy"  # off-screen, with or without a display
    from .window.tour import render_lessons

    done = render_lessons(out)
    for title, shots in done:
        print(f"{title}: {len(shots)} pictures")
    print(f"wrote {out}/README.md")
    return 0


def _has_pygame() -> bool:
    """Whether pygame-ce (the [window] extra) can be imported."""
    return _importable("pygame")


def _importable(name: str) -> bool:
    """Whether the module `name` can be imported, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # a module set to None in sys.modules (tests that hide it)
        return False


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
    from .runner import stop_on_signals

    with stop_on_signals():  # SIGTERM and SIGHUP stop training as Ctrl+C does, keeping what was learned
        return _train(args)


def _train(args) -> int:
    from dataclasses import replace

    from .run_folder import RunFolder
    from .runner import Checkpoints, train_scene
    from .scenes.build import load_scene

    if args.gif and not _has_pygame():
        print("error: --gif draws with pygame-ce, which is not installed: pip install 'spring-sandbox[window]'",
              file=sys.stderr)
        return EXIT["bad input"]
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
    checkpoints = Checkpoints()
    if args.checkpoint_every is not None or args.checkpoint_seconds is not None:  # as asked, whatever they cost
        checkpoints = Checkpoints(checkpoints.epochs if args.checkpoint_every is None else args.checkpoint_every,
                                  checkpoints.seconds if args.checkpoint_seconds is None else args.checkpoint_seconds,
                                  spacing=0)
    with RunFolder(out, scene.path, [args.gif] if args.gif else []) as folder:  # refused here, before training
        exact = None
        if args.compare and rule.kind != "exact":  # a fresh copy of the scene: the same starting network
            exact = train_scene(load_scene(args.scene), args.epochs, replace(rule, kind="exact"), None, args.seed,
                                progress=not args.quiet)
            if exact.interrupted:
                raise KeyboardInterrupt
        res = train_scene(scene, args.epochs, rule, make_engine(args.engine, scene, args.seed), args.seed, folder,
                          progress=not args.quiet, gif=args.gif, checkpoints=checkpoints,
                          about={"command": args.argv})
    last = res.history[-1]
    engine = "physical" if args.engine == "pymunk" else args.engine
    how = "the exact gradient (not EP)" if rule.kind == "exact" else f"{rule.kind} EP"
    warm = f", kT {scene.spec.physics.temperature:g}" if scene.spec.physics.temperature else ""
    print(f"{scene.name}: {last['epoch']} epochs, {how}, engine {engine}{warm}, {res.seconds:.1f} s")
    _print_result(f"{rule.kind} EP" if rule.kind != "exact" else "exact gradient", res)
    if exact is not None:
        _print_result("exact gradient", exact)
    if scene.task.labels is not None:
        from .learning.baseline import linear_classifier, logistic_regression

        lin, logit = linear_classifier(scene.task), logistic_regression(scene.task)
        for how, fit in (("least squares", lin), (f"logistic regression (L2 {logit['penalty']:.0e}, 5-fold CV)", logit)):
            test = f", test accuracy {fit['test_accuracy']:.1%}" if math.isfinite(fit["test_accuracy"]) else ""
            print(f"  {'linear classifier':>16}: {how} on the raw inputs (not springs): "
                  f"train accuracy {fit['train_accuracy']:.1%}{test}")
    for w in res.warnings:
        print(f"  warning: {w}")
    if res.stopped:
        print(f"  stopped: {res.stopped}")
    if res.written:
        print(f"  wrote {out}/" + ", ".join(res.written))
    if res.output_error:
        print(f"error: {res.output_error}", file=sys.stderr)
        return EXIT["output"]
    print(res.verdict)
    if res.interrupted:
        print(f"interrupted: {out} holds epoch {res.saved_epoch}; train {out}/trained.yaml to go on", file=sys.stderr)
        return EXIT["interrupted"]
    return EXIT["met"] if res.met else EXIT["not met"]


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
        return EXIT["bad input"]
    rows = gradient_check(scene.net, scene.task, s, learn=scene.spec.learning.learn)
    if args.json:  # nan (no coupled learning on this cost) as null: strict JSON
        print(json.dumps([{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                          for r in rows], indent=1))
        return 0
    print("\n".join(line.rstrip() for line in check_table(scene.name, s, scene.spec.learning.learn, rows)))
    return 0


def check_table(name: str, example: int, learn: str, rows: list[dict]) -> list[str]:
    """The lines `check` prints for gradient_check's rows: one per beta, one-sided, centered
    (marked * where it fell back to one-sided) and coupled (when the cost has targets)."""
    coupled = any(math.isfinite(r["cosine_coupled"]) for r in rows)
    head = f"{'beta':>8} | {'rel. error':>10} {'cosine':>10} | {'rel. error':>10} {'cosine':>10} "
    sub = f"{'':>8} | {'one-sided':^21} | {'centered':^21} "
    if coupled:
        head += f"| {'rel. error':>10} {'cosine':>10}"
        sub += f"| {'coupled (eta = beta)':^21}"
    lines = [f"{name}: EP gradient against the exact gradient (example {example}, learning {learn})", head, sub]
    for r in rows:
        mark = "*" if r.get("centered_fell_back") else " "
        line = (f"{r['beta']:>8.0e} | {r['rel_err_one_sided']:>10.2e} {r['cosine_one_sided']:>10.6f} | "
                f"{r['rel_err_centered']:>10.2e} {r['cosine_centered']:>10.6f}{mark}")
        if coupled:
            line += f"| {r['rel_err_coupled']:>10.2e} {r['cosine_coupled']:>10.6f}"
        lines.append(line)
    if any(r.get("centered_fell_back") for r in rows):
        lines.append("* centered EP fell back to one-sided: the negative nudge flipped the network to another "
                     "equilibrium at this beta")
    if coupled:
        lines.append("coupled: rel. error to its own limit as eta -> 0 (each output's error weighted by the "
                     "stiffness it meets); cosine to the exact gradient")
    else:
        lines.append("coupled: not available (this cost has no targets to clamp toward)")
    return lines


def cmd_validate(args) -> int:
    from .scenes.build import load_scene
    from .scenes.messages import SceneError

    bad = 0
    for path in args.scenes:
        try:
            if _is_sweep(path):
                from .sweep.spec import load_sweep

                sw = load_sweep(path)
                print(f"ok: {path} (a sweep: {len(sw.runs)} runs over {len(sw.scenes)} scene(s))")
                continue
            sc = load_scene(path)
        except SceneError as exc:
            bad += 1
            print(f"invalid: {exc}")
            continue
        print(f"ok: {path} ({sc.net.n_nodes} nodes, {sc.net.n_springs} springs, "
              f"{sc.task.n_examples} examples)")
    return EXIT["bad input"] if bad else 0


def _is_sweep(path) -> bool:
    """Whether the YAML file at path is a sweep file: 'scenes:' at its top and no 'network:'
    (a file that does not read as YAML is left to the scene check to explain)."""
    from .scenes.messages import SceneError
    from .scenes.yaml_source import read_yaml

    p = Path(path)
    if not p.is_file():
        return False
    try:
        raw = read_yaml(p)
    except SceneError:
        return False
    return "scenes" in raw and "network" not in raw


def cmd_bench(args) -> int:
    if not (ROOT / "bench").is_dir():
        print("error: the benchmarks run from a checkout of the project (bench/ is not installed)", file=sys.stderr)
        return EXIT["bad input"]
    sys.path.insert(0, str(ROOT))
    from bench.benchmarks import main as bench_main

    return bench_main(quick=args.quick, as_json=args.json, plot=args.plot)


def cmd_sweep(args) -> int:
    from .run_folder import OutputError
    from .sweep import summary
    from .sweep.execute import SchedulerUnreachable, open_client, run_sweep
    from .sweep.results import REJECTED, Results
    from .sweep.spec import load_sweep

    if args.retries < 0:
        print("error: --retries must be 0 or more", file=sys.stderr)
        return EXIT["bad input"]
    if not _importable("distributed"):
        print("error: sweeps run on Dask, which is not installed: pip install 'spring-sandbox[sweep]'", file=sys.stderr)
        return EXIT["bad input"]
    sweep = load_sweep(args.sweep, args.max_runs)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{sweep.path.stem}"
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return EXIT["output"]
    Results(out)  # a file that is not a sweep's results stops here, before any cluster starts
    print(f"{len(sweep.runs)} runs: {len(sweep.scenes)} scene(s) x {len(sweep.runs) // len(sweep.scenes)} "
          f"combination(s) of {', '.join(sweep.columns) or 'no override'}; results in {out}/")
    from .runner import stop_on_signals

    start = time.perf_counter()
    try:
        with stop_on_signals(), open_client(args.scheduler, args.workers) as client:  # SIGTERM: as Ctrl+C
            outcome = run_sweep(sweep, out, client, args.retries, progress=not args.quiet)
    except SchedulerUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT["bad input"]
    except OSError as exc:
        raise OutputError(f"could not write into {out}: {exc.strerror or exc}; every row written before is "
                          f"kept in {out}/results.csv") from None
    if outcome.set_aside:
        print(f"{len(outcome.set_aside)} row(s) of results.csv did not hold up, set aside in {out}/{REJECTED}, "
              f"their runs done again: " + "; ".join(outcome.set_aside[:5])
              + (f"; ... and {len(outcome.set_aside) - 5} more" if len(outcome.set_aside) > 5 else ""), file=sys.stderr)
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
        return EXIT["interrupted"]
    return EXIT["not met"] if outcome.failed else EXIT["met"]
