"""Saving a scene: the network listed node by node (learned k and L exactly), written atomically."""

from __future__ import annotations

import math
import re
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
    doc = _head(scene, net, settings)
    nodes = []
    for i in range(net.n_nodes):
        nd = {"id": net.ids[i], "pos": [float(net.pos[i, 0]), float(net.pos[i, 1])],
              "role": ROLE_NAMES[net.roles[i]]}
        slide = _slide(net, i)
        if slide:
            nd["slide"] = slide
        nodes.append(nd)
    springs = [{"between": [net.ids[a], net.ids[b]], "k": float(kk), "rest": float(ll)}
               for (a, b), kk, ll in zip(net.edges, net.k, net.L)]
    doc["network"] = {"nodes": nodes, "springs": springs}
    if origin:
        doc["origin"] = origin
    return doc


def _head(scene: Scene, net: Network, settings: dict | None) -> dict:
    """The scene's document before its network: every key but network and origin, the task
    naming its inputs and outputs."""
    doc = {k: v for k, v in scene.raw.items() if k not in ("network", "origin")}
    for section, values in (settings or {}).items():
        doc[section] = {**doc.get(section, {}), **values}
    task = dict(doc.get("task", {}))
    if task.get("inputs") is None:
        task["inputs"] = [net.ids[i] for i in scene.task.inputs]
    if task.get("outputs") is None:
        task["outputs"] = [net.ids[i] for i in np.asarray(scene.task.outputs).ravel()]
    doc["task"] = task
    return doc


def _slide(net: Network, i: int) -> str:
    """'x' or 'y' for a free node on a rail, else ''."""
    if net.held[i] or net.axes[i].all():
        return ""
    return "x" if net.axes[i, 0] else "y"


def save_scene(scene: Scene, out_path, net: Network | None = None, origin: dict | None = None,
               overwrite_source: bool = False, settings: dict | None = None) -> Path:
    """Write the scene atomically (temp file, then rename). Refuses to write over the scene it
    was loaded from unless overwrite_source=True. A CSV reference is rewritten so the saved
    scene opens from where it lands: its name in assets/, or a copy next to the new file."""
    out_path = Path(out_path)
    if out_path.resolve() == scene.path.resolve() and not overwrite_source:
        raise SceneError(out_path, ["refusing to overwrite the source scene; choose another file "
                                    "(or ask for it explicitly)"])
    write_atomic(out_path, scene_text(scene, out_path, net, origin, settings))
    return out_path


def scene_text(scene: Scene, out_path, net: Network | None = None, origin: dict | None = None,
               settings: dict | None = None) -> str:
    """The YAML text of the scene as it would be saved at out_path (see save_scene); a CSV of
    the scene's own is copied next to out_path now, if it is not there yet."""
    net = net or scene.net
    head = _head(scene, net, settings)
    csv_spec = head.get("task", {}).get("csv")
    if csv_spec:
        head["task"]["csv"] = dict(csv_spec, file=carry_data_file(csv_spec["file"], scene.path, Path(out_path)))
    network = network_text(net)
    if network is None:  # names to quote, or long lines: the dumper's own rules
        doc = scene_document(scene, net, origin, settings)
        doc["task"] = head["task"]
        return _dump(doc)
    return _dump(head) + network + (_dump({"origin": origin}) if origin else "")


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS = {w for word in ("yes", "no", "true", "false", "on", "off", "null") for w in (word, word.title(), word.upper())}


def network_text(net: Network) -> str | None:
    """The `network:` section exactly as the dumper writes it (a node or a spring a line), 20
    times faster: a checkpoint of a 20,000-node network is this text. None where the dumper
    would write otherwise: a name it would quote, a line it might wrap (over 80 columns)."""
    ids = net.ids
    if not all(_PLAIN_ID.fullmatch(i) and i not in _WORDS for i in ids):
        return None
    f = _yaml_float
    lines = ["network:", "  nodes:"]
    for i in range(net.n_nodes):
        slide = _slide(net, i)
        lines.append(f"  - {{id: {ids[i]}, pos: [{f(net.pos[i, 0])}, {f(net.pos[i, 1])}], "
                     f"role: {ROLE_NAMES[net.roles[i]]}" + (f", slide: {slide}}}" if slide else "}"))
    lines.append("  springs:" if net.n_springs else "  springs: []")
    for (a, b), k, rest in zip(net.edges.tolist(), net.k.tolist(), net.L.tolist()):
        lines.append(f"  - {{between: [{ids[a]}, {ids[b]}], k: {f(k)}, rest: {f(rest)}}}")
    if any(len(line) > 80 for line in lines):
        return None
    return "\n".join(lines) + "\n"


def _yaml_float(v) -> str:
    """A float as PyYAML's SafeRepresenter writes it."""
    v = float(v)
    if v != v:
        return ".nan"
    if v in (math.inf, -math.inf):
        return ".inf" if v > 0 else "-.inf"
    text = repr(v).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter: 4x faster, same text
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
