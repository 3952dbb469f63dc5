"""Saving a scene: the network listed node by node (learned k and L exactly), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ..files import write_atomic
from ..physics.network import ROLE_NAMES, Network
from .build import Scene
from .csv_data import carry_data_file
from .messages import SceneError


def scene_document(scene: Scene, net: Network | None = None, origin: dict | None = None,
                   settings: dict | None = None) -> dict:
    """The scene as a YAML-ready dict, with the network listed node by node and spring by spring
    (so it keeps learned k and L exactly), and an `origin` record of where it came from.
    settings: {section: {key: value}} that replace the file's (e.g. a learning rate tuned live)."""
    net = net or scene.net
    doc = {k: v for k, v in scene.raw.items() if k not in ("network", "origin")}
    for section, values in (settings or {}).items():
        doc[section] = {**doc.get(section, {}), **values}
    nodes = []
    for i in range(net.n_nodes):
        nd = {"id": net.ids[i], "pos": [float(net.pos[i, 0]), float(net.pos[i, 1])],
              "role": ROLE_NAMES[net.roles[i]]}
        if not net.held[i] and not net.axes[i].all():
            nd["slide"] = "x" if net.axes[i, 0] else "y"
        nodes.append(nd)
    springs = [{"between": [net.ids[a], net.ids[b]], "k": float(kk), "rest": float(ll)}
               for (a, b), kk, ll in zip(net.edges, net.k, net.L)]
    doc["network"] = {"nodes": nodes, "springs": springs}
    if "fabrication" in (doc.get("hardware") or {}):  # the springs listed are the ones built: not twice
        doc["hardware"] = {k: v for k, v in doc["hardware"].items() if k != "fabrication"}
    task = dict(doc.get("task", {}))
    if task.get("inputs") is None:
        task["inputs"] = [net.ids[i] for i in scene.task.inputs]
    if task.get("outputs") is None:
        task["outputs"] = [net.ids[i] for i in np.asarray(scene.task.outputs).ravel()]
    doc["task"] = task
    if origin:
        doc["origin"] = origin
    return doc


def save_scene(scene: Scene, out_path, net: Network | None = None, origin: dict | None = None,
               overwrite_source: bool = False, settings: dict | None = None) -> Path:
    """Write the scene atomically (temp file, then rename). Refuses to write over the scene it
    was loaded from unless overwrite_source=True. A CSV reference is rewritten so the saved
    scene opens from where it lands: its name in assets/, or a copy next to the new file."""
    out_path = Path(out_path)
    if out_path.resolve() == scene.path.resolve() and not overwrite_source:
        raise SceneError(out_path, ["refusing to overwrite the source scene; choose another file "
                                    "(or ask for it explicitly)"])
    doc = scene_document(scene, net, origin, settings)
    csv_spec = doc.get("task", {}).get("csv")
    if csv_spec:
        doc["task"]["csv"] = dict(csv_spec, file=carry_data_file(csv_spec["file"], scene.path, out_path))
    write_atomic(out_path, yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
    return out_path


class _Dumper(yaml.SafeDumper):
    """Writes short lists of numbers or names on one line ([x, y]), the rest as blocks."""


def _represent_list(dumper, data):
    flow = len(data) <= 8 and all(isinstance(v, (int, float, str)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper, data):
    flow = len(data) <= 4 and all(
        isinstance(v, (int, float, str)) or (isinstance(v, list) and len(v) <= 8
                                             and all(isinstance(w, (int, float, str)) for w in v))
        for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
