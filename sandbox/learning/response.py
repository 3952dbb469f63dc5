"""The function a network computes: its free-state answer over a grid of input values.

A scene's examples give each input as numbers (one per input node along an axis, two for a
displacement, one for the strain of the input pair) and each target as numbers in the same way.
When one or two of those input numbers vary between the examples, the network's answer can be
drawn over them: a curve (one input) or a map (two). The other input numbers stay at the first
example's values (a bias input, for instance).

Each grid point is a free equilibrium (Newton, to the trainer's tolerance) relaxed from the
reference positions, as the trainer's evaluation relaxes an example (from the factorization of
the network at rest): the whole grid is one batch (`NewtonSolver.relax_many`), and the view
shows exactly the answer evaluation sees, also where the network has several equilibria.
Cost: RESOLUTION[n] points a side (41 on a curve, 21 x 21 on a map), relaxed together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.equilibrium import NewtonSolver
from ..physics.network import Network
from .task import Task

RESOLUTION = {1: 41, 2: 21}  # grid points a side: a curve, a map


@dataclass(frozen=True)
class Probe:
    """How a scene's input and output numbers map onto its network.

    input_mode:  "displacement", "x", "y" or "strain" (the scene's task.input)
    output_mode: "position", "x", "y" or "strain" (task.output)
    base:  (D,) input numbers held for the inputs the view does not vary (the first example's)
    dims:  (n,) n = 1 or 2: which of the D input numbers the view varies
    lo, hi: (n,) the range shown along each varied number
    classify: whether the answer is a class (which output moved furthest)
    """

    input_mode: str
    output_mode: str
    base: np.ndarray
    dims: tuple
    lo: np.ndarray
    hi: np.ndarray
    classify: bool = False

    @property
    def n_dims(self) -> int:
        return len(self.dims)


# ------------------------------------------------------------------ numbers <-> network


def input_numbers(task: Task, net: Network, mode: str) -> np.ndarray:
    """(S, D) the input numbers of every example, as the scene file gives them."""
    c = task.clamps
    if mode == "x":
        return c[:, :, 0].copy()
    if mode == "y":
        return c[:, :, 1].copy()
    if mode == "strain":  # the second end moved by +strain/2 times the pair's vector
        d = net.pos[task.inputs[1]] - net.pos[task.inputs[0]]
        return (2 * c[:, 1] @ d / (d @ d))[:, None]
    return c.reshape(len(c), -1).copy()


def clamps_for(task: Task, net: Network, mode: str, numbers) -> np.ndarray:
    """(M, 2) displacements of the input nodes for input numbers (D,)."""
    v = np.asarray(numbers, float)
    m = len(task.inputs)
    out = np.zeros((m, 2))
    if mode == "x":
        out[:, 0] = v
    elif mode == "y":
        out[:, 1] = v
    elif mode == "strain":
        d = net.pos[task.inputs[1]] - net.pos[task.inputs[0]]
        out[:] = [-0.5 * v[0] * d, 0.5 * v[0] * d]
    else:
        out[:] = v.reshape(m, 2)
    return out


def output_numbers(task: Task, net: Network, mode: str, x: np.ndarray) -> np.ndarray:
    """(P',) the network's answer at positions x (N, 2), in the units of the scene's targets:
    the outputs' displacement along the axis (x, y, and every classifier), both coordinates of
    each output (position: 2P numbers), or the relative stretch of each output pair (strain)."""
    if task.labels is not None or mode in ("x", "y"):
        return task.readout(net, x)
    if mode == "strain":
        a, b = task.outputs[:, 0], task.outputs[:, 1]
        d0 = np.linalg.norm(net.pos[b] - net.pos[a], axis=1)
        return np.linalg.norm(x[b] - x[a], axis=1) / d0 - 1
    return (x[task.outputs] - net.pos[task.outputs]).ravel()


def target_numbers(task: Task, net: Network, mode: str) -> np.ndarray | None:
    """(S, P') every example's targets in the same units as output_numbers; None for a
    classifier (its examples have labels)."""
    if task.labels is not None:
        return None
    if mode in ("x", "y"):
        return task.targets[:, :, {"x": 0, "y": 1}[mode]].copy()
    if mode == "strain":
        a, b = task.outputs[:, 0], task.outputs[:, 1]
        return task.targets / np.linalg.norm(net.pos[b] - net.pos[a], axis=1) - 1
    return task.targets.reshape(len(task.targets), -1).copy()


def probe_for(task: Task, net: Network, input_mode: str, output_mode: str, margin: float = 0.15) -> Probe | None:
    """The probe of a task whose examples vary one or two input numbers (or have one or two in
    all); None otherwise. The range shown spans the examples and zero (the rest state), widened
    by `margin` of its width on each side."""
    nums = input_numbers(task, net, input_mode)
    varying = tuple(int(d) for d in np.flatnonzero(np.ptp(nums, axis=0) > 1e-12))
    if not varying and nums.shape[1] <= 2:
        varying = tuple(range(nums.shape[1]))
    if len(varying) not in (1, 2):
        return None
    v = nums[:, varying]
    lo, hi = np.minimum(v.min(axis=0), 0.0), np.maximum(v.max(axis=0), 0.0)
    pad = margin * np.maximum(hi - lo, 1e-3)
    return Probe(input_mode, output_mode, nums[0].copy(), varying, lo - pad, hi + pad, task.labels is not None)


def probe_of_scene(scene) -> Probe | None:
    """probe_for a loaded scene (a sandbox.scenes.build.Scene), from its task's modes."""
    ts = scene.spec.task
    return probe_for(scene.task, scene.net, ts.input, ts.output)


@dataclass
class ExampleNumbers:
    """The examples as the response view shows them.

    inputs: (S, D) input numbers; targets: (S, P') target numbers, or None for a classifier;
    labels: (S,) int or None; test: (S,) bool, held out for testing."""

    inputs: np.ndarray
    targets: np.ndarray | None
    labels: np.ndarray | None
    test: np.ndarray


def example_numbers(task: Task, net: Network, input_mode: str, output_mode: str) -> ExampleNumbers:
    test = np.zeros(task.n_examples, bool)
    test[task.test] = True
    return ExampleNumbers(input_numbers(task, net, input_mode), target_numbers(task, net, output_mode),
                          task.labels, test)


def input_names(task: Task, net: Network, probe: Probe) -> list[str]:
    """A name for each varied input number: the input node's id (with dx or dy for a
    displacement, or the axis), or 'input strain'."""
    ids = [net.ids[i] for i in task.inputs]
    mode = probe.input_mode
    if mode == "strain":
        return ["input strain"]
    if mode == "displacement":
        return [f"{ids[d // 2]} {'dy' if d % 2 else 'dx'}" for d in probe.dims]
    return [f"{ids[d]} ({mode})" for d in probe.dims]


def output_names(task: Task, net: Network, probe: Probe) -> list[str]:
    """A name for each output number: the output node's id (with dx or dy for a position, or
    the axis), or 'pair <a>-<b> strain'."""
    out = np.asarray(task.outputs)
    if probe.classify:
        return [net.ids[i] for i in out.ravel()]
    if probe.output_mode == "strain":
        return [f"pair {net.ids[a]}-{net.ids[b]} strain" for a, b in out]
    if probe.output_mode == "position":
        return [f"{net.ids[i]} {c}" for i in out for c in ("dx", "dy")]
    return [f"{net.ids[i]} ({probe.output_mode})" for i in out]


# ------------------------------------------------------------------ the response


@dataclass
class Response:
    """The network's answer over the probe's grid.

    axes:   n arrays (G,): the varied input numbers along each grid direction
    values: (G, P') on a curve, (G, G, P') on a map (values[i, j] at axes[0][i], axes[1][j]):
            output_numbers at each grid point; nan where a relaxation did not converge
    relaxations: how many were run; newton_iterations: their Newton steps in all
    """

    axes: list
    values: np.ndarray
    relaxations: int = 0
    newton_iterations: int = 0

    def classes(self) -> np.ndarray:
        """(G,) or (G, G) int: the predicted class (the output that moved furthest) at each point."""
        return np.argmax(np.nan_to_num(self.values, nan=-np.inf), axis=-1)


def grid_inputs(probe: Probe, resolution: int | None = None) -> tuple[list, np.ndarray]:
    """The grid: n axes (G,) and the input numbers (G, D) or (G, G, D) at every point."""
    g = resolution or RESOLUTION[probe.n_dims]
    axes = [np.linspace(probe.lo[i], probe.hi[i], g) for i in range(probe.n_dims)]
    mesh = np.meshgrid(*axes, indexing="ij")
    nums = np.broadcast_to(probe.base, mesh[0].shape + probe.base.shape).copy()
    for i, d in enumerate(probe.dims):
        nums[..., d] = mesh[i]
    return axes, nums


def free_response(net: Network, task: Task, probe: Probe, resolution: int | None = None) -> Response:
    """The network's free-state answer at every grid point, all relaxed as one batch from the
    reference positions with the point's inputs clamped. Raises FloppyNetworkError if the
    network is floppy."""
    axes, nums = grid_inputs(probe, resolution)
    shape = nums.shape[:-1]
    flat = nums.reshape(-1, nums.shape[-1])
    starts = np.repeat(net.pos[None], len(flat), axis=0)
    starts[:, net.held] = net.pos[net.held]
    for i, numbers in enumerate(flat):
        starts[i, task.inputs] = net.pos[task.inputs] + clamps_for(task, net, probe.input_mode, numbers)
    solver = NewtonSolver()  # each from the factorization at rest, as the trainer's evaluation
    eqs = solver.relax_many(net, starts, kept=[solver.factorization_at(net, net.pos, psd=True)] * len(starts))
    out = np.stack([output_numbers(task, net, probe.output_mode, eq.x) for eq in eqs])
    out[[not eq.converged for eq in eqs]] = np.nan
    return Response(axes, out.reshape(shape + out.shape[1:]), relaxations=len(eqs),
                    newton_iterations=sum(eq.iterations for eq in eqs))
