"""Every rule against the exact gradient, on every kind of cost: the README's table.

    python examples/rule_cosines.py [--betas 1e-3 1e-4]

For library scenes and for a 150-node network built in code (the one of docs/api.md, with a
distance target and with position targets), one-sided, centered and coupled EP (eta = beta) on
the first training example, as `check` computes them: the cosine to the exact gradient, and the
relative error (coupled learning's to its own limit as eta -> 0). Prints a Markdown table.
"""

import argparse

import numpy as np

import sandbox
from sandbox.physics.network import FIXED, HIDDEN, INPUT, OUTPUT, disordered_network


def network_in_code(kind: str):
    """The 150-node network of docs/api.md, with a distance task (its output pair squeezes by
    10%) or a position task (both outputs pushed along x and y: four coordinates)."""
    pos, edges = disordered_network(150, 4.6, 15.0, 10.0, np.random.default_rng(1))
    roles = np.full(len(pos), HIDDEN)
    roles[pos[:, 1] < 0.8] = FIXED
    near = [int(np.argmin(np.linalg.norm(pos - p, axis=1))) for p in ((2, 7), (4, 7), (11, 7), (13, 7))]
    roles[near[:2]], roles[near[2:]] = INPUT, OUTPUT
    net = sandbox.Network(pos, edges, None, None, roles)
    d_in = pos[near[1]] - pos[near[0]]
    clamps = [[-0.1 * d_in, 0.1 * d_in]]
    if kind == "distance":
        d = np.linalg.norm(pos[near[3]] - pos[near[2]])
        return net, sandbox.Task(near[:2], clamps, "distance", [near[2:]], [[0.9 * d]])
    return net, sandbox.Task(near[:2], clamps, "position", near[2:], [[[0.1, -0.05], [-0.05, 0.1]]])


CASES = [  # (what, how to get (net, task), learn, quantities the cost constrains)
    ("`allostery`", lambda: _scene("allostery"), "stiffness", "distance: 1 pair"),
    ("`allostery_multi`", lambda: _scene("allostery_multi"), "stiffness", "distance: 2 pairs"),
    ("150 nodes, in code", lambda: network_in_code("distance"), "both", "distance: 1 pair"),
    ("`two_springs`", lambda: _scene("two_springs"), "stiffness", "position: 1 coordinate"),
    ("`regression`", lambda: _scene("regression"), "stiffness", "position: 1 coordinate"),
    ("`symmetrize`", lambda: _scene("symmetrize"), "stiffness", "position: 2 coordinates"),
    ("150 nodes, in code", lambda: network_in_code("position"), "both", "position: 4 coordinates"),
    ("`xor`", lambda: _scene("xor"), "stiffness", "margin (no targets)"),
    ("`iris`", lambda: _scene("iris"), "stiffness", "margin (no targets)"),
]


def _scene(name):
    scene = sandbox.load_scene(name)
    return scene.net, scene.task


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--betas", type=float, nargs="+", default=[1e-3, 1e-4])
    betas = p.parse_args(argv).betas
    head = "| network | cost | learns | rule | " + " | ".join(f"cosine at {b:g}" for b in betas)
    print(head + f" | rel. error at {betas[0]:g} |")
    print("|" + "---|" * (5 + len(betas)))
    for what, make, learn, cost in CASES:
        net, task = make()
        rows = sandbox.gradient_check(net, task, int(task.train[0]), betas=betas, learn=learn)
        for rule, key in (("one-sided", "one_sided"), ("centered", "centered"), ("coupled", "coupled")):
            if np.isnan(rows[0][f"cosine_{key}"]):
                cells = ["n/a"] * len(betas) + ["n/a"]
            else:
                cells = [f"{r[f'cosine_{key}']:.6f}" for r in rows] + [f"{rows[0][f'rel_err_{key}']:.1e}"]
            print(f"| {what} | {cost} | {learn} | {rule} | " + " | ".join(cells) + " |")
    print("\n(coupled: the relative error is to its own limit as eta -> 0; the cosine to the exact gradient)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
