"""Saving a scene: the network listed node by node (learned k and L exactly), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import yaml_text
from ..files import write_atomic
from ..physics.network import Network
from ..physics.network_file import network_document, network_text
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
    doc["network"] = network_document(net, node_labels(scene))["network"]
    if origin:
        doc["origin"] = origin
    return doc


def node_labels(scene: Scene) -> dict[str, str]:
    """{node id: label} for the listed nodes the scene names with `label:`."""
    return {str(nd["id"]): nd["label"] for nd in (scene.spec.network.nodes or []) if nd.get("label")}


def _head(scene: Scene, net: Network, settings: dict | None) -> dict:
    """The scene's document before its network: every key but network and origin, the task
    naming its inputs and outputs."""
    doc = {k: v for k, v in scene.raw.items() if k not in ("network", "origin")}
    for section, values in (settings or {}).items():
        doc[section] = {**doc.get(section, {}), **values}
    if "fabrication" in (doc.get("hardware") or {}):  # the springs listed are the ones built: not twice
        doc["hardware"] = {k: v for k, v in doc["hardware"].items() if k != "fabrication"}
    task = dict(doc.get("task", {}))
    if task.get("inputs") is None:
        task["inputs"] = [net.ids[i] for i in scene.task.inputs]
    if task.get("outputs") is None:
        task["outputs"] = [net.ids[i] for i in np.asarray(scene.task.outputs).ravel()]
    doc["task"] = task
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
    tail = yaml_text.dump({"origin": origin}) if origin else ""
    labels = node_labels(scene)
    network = network_text(net, labels)
    if network is None:  # names to quote, or long lines: the dumper's own rules
        return yaml_text.dump({**head, "network": network_document(net, labels)["network"]}) + tail
    return yaml_text.dump(head) + network + tail
