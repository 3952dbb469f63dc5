"""The scene format as pydantic models: every key, its type, default and bounds.

The README has the reference table of every key; `scenes/annotated.yaml` is a commented example.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from typing_extensions import NotRequired, TypedDict

from ..learning.hardware import ROUNDINGS
from ..learning.optimizers import OPTIMIZERS
from ..learning.rules import LEARNS, REST_STEPS, RULES

MAX_NODES = 100_000  # listed or generated (the benchmarks go to 50,176)
MAX_SPRINGS = 300_000  # listed
MAX_EXAMPLES = 100_000  # listed (a CSV has at most as many rows)
MAX_SEED = 2**64 - 1

# ---------------------------------------------------------------- the schema

Pair = tuple[float, float]


class Strict(BaseModel):
    """Unknown keys refused; every float finite (checked by pydantic itself: a Python check of
    every field took 2 of 2.6 s validating a 20,000-node network)."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


def _all_finite(v) -> bool:
    """Whether every float inside v (nested lists, tuples and mappings) is finite."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return all(_all_finite(x) for x in v)
    if isinstance(v, dict):
        return all(_all_finite(x) for x in v.values())
    return True


FINITE = "must be a finite number (no nan or inf, at any depth)"


class Physics(Strict):
    drag: float = Field(1.0, gt=0, description="viscous drag coefficient gamma (force per speed)")
    mass: float = Field(1.0, gt=0, description="mass of each node in the live world")
    temperature: float = Field(0.0, ge=0, le=1e6, description="kT, in the scene's energy units (k times length squared); 0: none")
    samples: int = Field(1, ge=1, le=10_000, description="thermal snapshots (or readings) one measurement averages")


class HardwareSpec(Strict):
    """Imperfect hardware (sandbox/learning/hardware.py); every key off by default."""

    measure_noise: float = Field(0.0, ge=0, le=1e6, description="standard deviation of each measured extension (length)")
    update_noise: float = Field(0.0, ge=0, le=100, description="relative standard deviation of each change of k or L")
    k_levels: int | None = Field(None, ge=2, le=1_000_000, description="stiffness values from k_min to k_max, log-spaced")
    rounding: Literal[ROUNDINGS] = Field("nearest", description="onto the levels: nearest, or stochastic (unbiased)")
    fabrication: float = Field(0.0, ge=0, le=1, description="relative spread of the built k and L around the scene's")


LIMIT = 1e6  # largest coordinate or length a scene may use


def _bounded(v: Pair) -> Pair:
    if any(abs(c) > LIMIT for c in v):
        raise ValueError(f"coordinates must lie within +-{LIMIT:g}")
    return v


# Listed nodes and springs are validated into dicts, not models: a scene may list 100,000 of
# them, and a model took twice the memory and 4x the time of a dict (544 against 242 bytes).
class NodeSpec(TypedDict):
    """A listed node; 'role' defaults to hidden, 'slide' to none."""

    __pydantic_config__ = Strict.model_config
    id: Union[str, int]
    pos: Annotated[Pair, AfterValidator(_bounded)]
    role: NotRequired[Literal["fixed", "input", "hidden", "output"]]
    slide: NotRequired[Literal["x", "y"] | None]
    label: NotRequired[Annotated[str, Field(min_length=1, max_length=30, description="the name the window shows (default: the id)")] | None]


class SpringSpec(TypedDict):
    """A listed spring; 'k' defaults to 1, 'rest' to the distance between its nodes."""

    __pydantic_config__ = Strict.model_config
    between: tuple[Union[str, int], Union[str, int]]
    k: NotRequired[Annotated[float, Field(gt=0, le=1e9)]]
    rest: NotRequired[Annotated[float, Field(gt=0, le=LIMIT)] | None]


class Generate(Strict):
    kind: Literal["triangular", "disordered"]
    rows: int = Field(6, ge=2, le=400)
    cols: int = Field(6, ge=2, le=400)
    spacing: float = Field(1.0, gt=0)
    nodes: int = Field(100, ge=4, le=5000, description="disordered networks: at most 5,000 nodes")
    coordination: float = Field(4.6, ge=3.0, le=6.0)
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    k: float = Field(1.0, gt=0)
    k_spread: float = Field(0.0, ge=0, lt=1, description="k drawn uniformly in k*(1 +- spread)")


Selector = Union[str, int, dict]


class Roles(Strict):
    fixed: list[Selector] = []
    input: list[Selector] = []
    output: list[Selector] = []


class NetworkSpec(Strict):
    nodes: list[NodeSpec] | None = Field(None, max_length=MAX_NODES)
    springs: list[SpringSpec] | None = Field(None, max_length=MAX_SPRINGS)
    generate: Generate | None = None
    roles: Roles | None = None


class Example(Strict):
    inputs: Union[float, list[Union[float, Pair]]]
    targets: Union[float, list[Union[float, Pair]], None] = None
    label: int | None = Field(None, ge=0)
    test: bool | None = Field(None, description="held out for testing (then test_fraction is not used)")


class CsvSpec(Strict):
    file: str
    inputs: list[str]
    label: str
    classes: list[str] | None = None
    scale: float = Field(0.3, gt=0)
    bias: float | None = Field(None, description="one more input, held at this value in every example")


class TaskSpec(Strict):
    inputs: list[Union[str, int]] | None = None
    outputs: list[Union[str, int]] | None = None
    input: Literal["displacement", "x", "y", "strain"] = "displacement"
    output: Literal["position", "x", "y", "strain"] = "position"
    examples: list[Example] | None = Field(None, max_length=MAX_EXAMPLES)
    csv: CsvSpec | None = None
    classify: bool = False
    classify_cost: Literal["squared", "margin"] = "squared"
    margin: float = Field(0.3, gt=0)
    test_fraction: float = Field(0.0, ge=0, lt=1)


class LearningSpec(Strict):
    rule: Literal[RULES] = "centered"
    beta: float = Field(1e-3, gt=0)
    lr: float = Field(0.1, gt=0)
    lr_rest: float | None = Field(None, gt=0, description="learning rate of rest lengths (default: lr)")
    rest_step: Literal[REST_STEPS] = Field("scaled", description="a rest-length step: the gradient times (e/k)^2, or the plain gradient")
    optimizer: Literal[OPTIMIZERS] = Field("sgd", description="plain steps, momentum, or Adam on log k")
    momentum: float = Field(0.9, ge=0, lt=1, description="momentum's factor (Adam's beta1)")
    lr_decay: float = Field(0.0, ge=0, description="the rate at epoch t is lr / (1 + lr_decay t)")
    learn: Literal[LEARNS] = "stiffness"
    k_min: float = Field(1e-3, gt=0)
    k_max: float = Field(1e3, gt=0)
    max_change: float = Field(0.5, gt=0, le=1, description="largest change per update: of k relative to k, of L relative to the spring's extension")
    epochs: int = Field(100, ge=1, le=10_000_000)
    batch: int = Field(1, ge=1)


COLOR_NAMES = ("background", "spring", "tension", "compression", "stiffer", "softer", "fixed", "input",
               "hidden", "output", "target", "ghost", "nudge", "text", "highlight")  # the window's palette
PANEL_NAMES = ("description", "color_by_change")


def _known_keys(mapping: dict, known: tuple, what: str) -> dict:
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            raise ValueError(f"unknown {what} '{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")
                             + f"; allowed: {', '.join(known)}")
    return mapping


class ViewSpec(Strict):
    scale: float | None = Field(None, gt=0, description="pixels per length unit (default: fit)")
    colors: dict[str, tuple[int, int, int]] = {}
    panels: dict[str, bool] = {}

    @field_validator("colors")
    @classmethod
    def _known_colors(cls, v):
        for key, rgb in v.items():
            if not all(0 <= c <= 255 for c in rgb):
                raise ValueError(f"colour '{key}': each of red, green, blue must be 0 to 255")
        return _known_keys(v, COLOR_NAMES, "colour")

    @field_validator("panels")
    @classmethod
    def _known_panels(cls, v):
        return _known_keys(v, PANEL_NAMES, "panel")


class Expect(Strict):
    loss_below: float | None = Field(None, gt=0)
    loss_drop: float | None = Field(None, gt=1, description="initial / final train loss at least")
    accuracy_at_least: float | None = Field(None, ge=0, le=1)
    test_accuracy_at_least: float | None = Field(None, ge=0, le=1)
    test_loss_below: float | None = Field(None, gt=0)


STAGES = ("free", "nudged", "update")


WAITS = ("stage", "epochs", "key", "drag", "temperature", "beta")


class Wait(Strict):
    """What a lesson step waits for before the lesson moves on by itself (one of these)."""

    stage: Literal[STAGES] | None = Field(None, description="a training stage reached")
    epochs: int | None = Field(None, ge=1, le=100_000, description="epochs trained since the step began")
    key: str | None = Field(None, min_length=1, max_length=20, description="a key pressed, by name: space, d, x")
    drag: Union[str, int] | None = Field(None, description="a node dragged: its id, or 'any'")
    temperature: float | None = Field(None, gt=0, le=1e6, description="the temperature kT raised to at least this")
    beta: float | None = Field(None, gt=0, le=1, description="beta raised to at least this")

    @field_validator("key")
    @classmethod
    def _lower(cls, v):
        return v.lower() if v is not None else v

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in WAITS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"wait for exactly one of: {', '.join(WAITS)}")
        return self


class LessonStep(Strict):
    text: str = Field(min_length=1, max_length=600)
    wait: Wait | None = None


class Lesson(Strict):
    title: str = ""
    steps: list[LessonStep] = Field(min_length=1, max_length=100)


class SceneSpec(Strict):
    name: str
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    physics: Physics = Physics()
    hardware: HardwareSpec = HardwareSpec()
    network: NetworkSpec
    task: TaskSpec
    learning: LearningSpec = LearningSpec()
    view: ViewSpec = ViewSpec()
    expect: Expect = Expect()
    lesson: Lesson | None = None
    origin: dict | None = None

    @field_validator("origin")
    @classmethod
    def _finite(cls, v):
        if v is not None and not _all_finite(v):
            raise ValueError(FINITE)
        return v


# ---------------------------------------------------------------- the loaded scene


