"""Where an epoch's time goes: a sampling profiler over training epochs of a library scene.
`python -m bench.profile iris|digits [--skip N] [--epochs M]`.

Every 0.5 ms of this process's CPU time (SIGPROF; as often as the kernel's timer ticks, 4 ms on
some kernels) it records the Python stack, and prints each function's share of the samples:
inclusive (the function or anything it called) and self (the innermost Python frame, which C
calls such as numpy's are charged to). Unlike cProfile it adds
nothing per call, so small numpy-bound functions keep their true weight. Skipped epochs (Iris:
the first 14) are trained first, unsampled.
"""

from __future__ import annotations

import collections
import signal
import time


def sample(fn, interval: float = 0.0005) -> tuple[collections.Counter, collections.Counter, int]:
    """Run fn() under the sampler: (inclusive, self) sample counts by 'file:function', and the
    number of samples."""
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0

    def take(signum, frame):
        nonlocal total
        total += 1
        seen = set()
        own[_name(frame)] += 1
        while frame is not None:
            name = _name(frame)
            if name not in seen:
                inclusive[name] += 1
                seen.add(name)
            frame = frame.f_back

    before = signal.signal(signal.SIGPROF, take)
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    try:
        fn()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, before)
    return inclusive, own, total


def _name(frame) -> str:
    return f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_code.co_name}"


def main(argv=None) -> int:
    import argparse

    from sandbox.learning.trainer import Trainer
    from sandbox.paths import SCENES
    from sandbox.scenes.build import load_scene

    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    ap.add_argument("scene", help="a library scene's name, e.g. iris or digits")
    ap.add_argument("--skip", type=int, default=None, help="epochs trained first, unsampled (Iris: 14, else 0)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs sampled (Iris: 6, else 3)")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args(argv)
    skip = args.skip if args.skip is not None else (14 if args.scene == "iris" else 0)
    epochs = args.epochs if args.epochs is not None else (6 if args.scene == "iris" else 3)
    tr = Trainer.from_scene(load_scene(SCENES / f"{args.scene}.yaml"))
    tr.record()
    tr.fit(skip)
    cpu = time.process_time()
    inclusive, own, total = sample(lambda: tr.fit(epochs))
    cpu = (time.process_time() - cpu) / epochs
    print(f"{args.scene}: epochs {skip + 1} to {skip + epochs}, {cpu:.3f} s of CPU an epoch, {total} samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for name, n in counts.most_common(args.top):
            print(f"{100 * n / max(total, 1):5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
