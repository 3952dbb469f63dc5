"""The names a student reads: a node's display name from the scene (its `label:`, else the id
the file gives it; a generated node has none and is named by its role), and the names of the
input and output numbers on the response panel's axes. Never an internal id such as n26."""

from __future__ import annotations

import re

import numpy as np

GENERATED = re.compile(r"^n\d+$")  # the ids a generated network gives its nodes (kept in a saved copy)


def node_names(scene) -> list[str]:
    """(N,) a display name per node: its label, else the id written in the scene file, else ''
    (a node of a generated network, even listed in a saved copy: n0, n1...)."""
    given = {str(nd["id"]): nd.get("label") or ("" if GENERATED.match(str(nd["id"])) else str(nd["id"]))
             for nd in (scene.spec.network.nodes or [])}
    return [given.get(str(i), "") for i in scene.net.ids]


def _named(names: list[str], nodes, role: str) -> list[str]:
    """The display names of `nodes`, an unnamed one called by its role (numbered if several)."""
    nodes = list(nodes)
    return [names[i] or (role if len(nodes) == 1 else f"{role} {j + 1}") for j, i in enumerate(nodes)]


def _pair(names: list[str], a: int, b: int, role: str) -> str:
    return f"{names[a]}-{names[b]}" if names[a] and names[b] else f"{role} pair"


def input_names(scene, task, probe) -> list[str]:
    """A name for each varied input number: the input's name and axis, or the pair's strain."""
    names = node_names(scene)
    mode = probe.input_mode
    if mode == "strain":
        return [f"{_pair(names, task.inputs[0], task.inputs[1], 'input')} strain"]
    shown = _named(names, task.inputs, "input")
    if mode == "displacement":
        return [f"{shown[d // 2]} {'dy' if d % 2 else 'dx'}" for d in probe.dims]
    return [f"{shown[d]} ({mode})" for d in probe.dims]


def output_names(scene, task, probe) -> list[str]:
    """A name for each output number: the class name (a classifier whose classes are named),
    the output's name (with its axis, or dx and dy), or the pair's strain."""
    names = node_names(scene)
    out = np.asarray(task.outputs)
    if probe.classify:
        return list(task.class_names) if task.class_names else _named(names, out.ravel(), "output")
    if probe.output_mode == "strain":
        return [f"{_pair(names, a, b, 'output' if len(out) == 1 else f'output {j + 1}')} strain"
                for j, (a, b) in enumerate(out)]
    shown = _named(names, out, "output")
    if probe.output_mode == "position":
        return [f"{n} {c}" for n in shown for c in ("dx", "dy")]
    return [f"{n} ({probe.output_mode})" for n in shown]


def class_names(scene, task) -> list[str]:
    """For a classifier: the name of each class, the class names the scene gives, else the
    name of the output that rises for it (XOR: R, C)."""
    if task.class_names:
        return [str(c) for c in task.class_names]
    return _named(node_names(scene), np.asarray(task.outputs).ravel(), "output")
