"""From runs to capacity: the number of targets at 50% success per size, with a bootstrap
interval, and the exponent of its growth with N, with its interval.

- The success curve of one tuner at one size is fitted by maximum likelihood with a logistic
  in log T: P(T) = 1 / (1 + exp((log T - log Tc) / w)), each run one Bernoulli outcome. Tc is
  the crossing (the paper fits the same kind of curve, in T, with an error function).
- The exponent nu is the least-squares slope of log Tc against log N.
- Intervals: the networks are resampled with replacement, at each size on its own (a network's
  runs at all T go together: they share a network), the crossings and the slope fitted again;
  the interval is the 2.5th to 97.5th percentile of 1,000 such replicates.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

REPLICATES = 1000


def read_outcomes(*results_csvs) -> dict:
    """{(tuner, kind, N): {network: {T: met}}} from sweeps' results.csv (finished runs only)."""
    table: dict = {}
    for path in results_csvs:
        with Path(path).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("status") != "done" or not row.get("tuner"):
                    continue
                key = (row["tuner"], row["kind"], int(row["nodes"]))
                table.setdefault(key, {}).setdefault(int(row["network"]), {})[int(row["targets"])] = row["met"] == "True"
    return table


def success_fractions(runs: dict) -> dict:
    """{T: (successes, runs)} of one (tuner, kind, N)."""
    out: dict = {}
    for by_t in runs.values():
        for t, met in by_t.items():
            s, n = out.get(t, (0, 0))
            out[t] = (s + met, n + 1)
    return dict(sorted(out.items()))


def crossing(runs: dict) -> float | None:
    """Tc of the logistic fit to one size's runs ({network: {T: met}}), or None when the
    success fraction is not at or above 1/2 at some T and below it at a larger one."""
    t = np.array([t for by_t in runs.values() for t in by_t], dtype=float)
    y = np.array([met for by_t in runs.values() for met in by_t.values()], dtype=float)
    frac = success_fractions(runs)
    ts = np.array(list(frac))
    p = np.array([s / n for s, n in frac.values()])
    above, below = ts[p >= 0.5], ts[p < 0.5]
    if len(above) == 0 or len(below) == 0 or below.max() <= above.min():
        return None
    a, b = logistic_fit(np.log(t), y)
    mu = -a / b
    if not (np.log(ts.min()) - 1.0 <= mu <= np.log(ts.max()) + 1.0):
        return None  # a fit that runs off the measured range is no crossing
    return math.exp(mu)


def logistic_fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-2, iterations: int = 50) -> tuple[float, float]:
    """(a, b) maximizing sum log P(y | x) with P(success) = 1 / (1 + exp(-(a + b x))), by
    Newton's method; a small ridge on b keeps it finite when the outcomes are separated by x
    (all tuned below some T, none above): the crossing then falls between them."""
    xm = x.mean()
    xc = x - xm
    a, b = 0.0, -1.0
    for _ in range(iterations):
        z = a + b * xc
        pr = 1.0 / (1.0 + np.exp(-z))
        w = pr * (1.0 - pr)
        g = np.array([np.sum(y - pr), np.sum((y - pr) * xc) - ridge * b])
        h = np.array([[np.sum(w), np.sum(w * xc)], [np.sum(w * xc), np.sum(w * xc * xc) + ridge]])
        step = np.linalg.solve(h + 1e-12 * np.eye(2), g)
        a, b = a + step[0], b + step[1]
        if np.abs(step).max() < 1e-10:
            break
    return a - b * xm, b


def power_law(sizes, values) -> tuple[float, float]:
    """Least squares of log values = log a + nu log sizes: returns (a, nu)."""
    nu, loga = np.polyfit(np.log(sizes), np.log(values), 1)
    return float(np.exp(loga)), float(nu)


def _resample(runs: dict, rng) -> dict:
    keys = list(runs)
    picks = rng.integers(len(keys), size=len(keys))
    return {i: runs[keys[j]] for i, j in enumerate(picks)}


def capacity(table: dict, tuner: str, kind: str, replicates: int = REPLICATES, seed: int = 0) -> dict:
    """For one tuner and pair kind: {"sizes": [...], "tc": [...], "tc_low", "tc_high",
    "nu", "nu_low", "nu_high", "a"} (crossings per size with their 95% intervals, and the
    exponent with its own); sizes without a crossing are left out."""
    rng = np.random.default_rng(seed)
    by_size = {n: runs for (tu, ki, n), runs in sorted(table.items()) if tu == tuner and ki == kind}
    tc = {n: crossing(runs) for n, runs in by_size.items()}
    sizes = [n for n in by_size if tc[n] is not None]
    samples = {n: [] for n in sizes}
    slopes = []
    for _ in range(replicates):
        rep = {n: crossing(_resample(by_size[n], rng)) for n in sizes}
        for n in sizes:
            if rep[n] is not None:
                samples[n].append(rep[n])
        ok = [n for n in sizes if rep[n] is not None]
        if len(ok) >= 2 and len(ok) == len(sizes):
            slopes.append(power_law(ok, [rep[n] for n in ok])[1])
    out = {"sizes": sizes, "tc": [tc[n] for n in sizes],
           "tc_low": [float(np.percentile(samples[n], 2.5)) if samples[n] else math.nan for n in sizes],
           "tc_high": [float(np.percentile(samples[n], 97.5)) if samples[n] else math.nan for n in sizes],
           "runs": {n: sum(len(v) for v in by_size[n].values()) for n in by_size},
           "networks": {n: len(by_size[n]) for n in by_size}}
    if len(sizes) >= 2:
        out["a"], out["nu"] = power_law(sizes, out["tc"])
        out["nu_low"], out["nu_high"] = ((float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5)))
                                         if slopes else (math.nan, math.nan))
    return out


def gap(table: dict, kind: str, low: str = "ep", high: str = "lbfgs", replicates: int = REPLICATES,
        seed: int = 0) -> dict:
    """{N: (ratio, low, high)}: Tc of `low` over Tc of `high` at each size both cross, with a
    95% interval from resampling the networks (the same networks for both: they are paired)."""
    rng = np.random.default_rng(seed)
    out = {}
    sizes = sorted({n for (tu, ki, n) in table if ki == kind and tu == low} &
                   {n for (tu, ki, n) in table if ki == kind and tu == high})
    for n in sizes:
        a, b = table[(low, kind, n)], table[(high, kind, n)]
        ta, tb = crossing(a), crossing(b)
        if ta is None or tb is None:
            continue
        nets = sorted(set(a) & set(b))
        ratios = []
        for _ in range(replicates):
            pick = [nets[j] for j in rng.integers(len(nets), size=len(nets))]
            ra = crossing({i: a[k] for i, k in enumerate(pick)})
            rb = crossing({i: b[k] for i, k in enumerate(pick)})
            if ra is not None and rb is not None:
                ratios.append(ra / rb)
        out[n] = (ta / tb, float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5)))
    return out
