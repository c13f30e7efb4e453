"""What a lab declares and what it returns, the registry, and the small helpers the experiments share.

A part module (``foundations``, ``momentum``, ...) defines each experiment as a plain function and registers it
with the ``lab`` decorator right above it:

    @lab(title="Where gradient descent blows up", section="gd", claim="Sweeping the learning rate ...",
         params=(Param("lam_max", "largest curvature λmax", 2.0, 1000.0, 100.0, log=True), ...))
    def stability_map(lam_max: float, ...) -> LabResult:
        ...
        return LabResult(passed=..., measured={"gd_edge": ...}, expected={...}, labels={"gd_edge": "..."}, ...)

The lab's id is the function's name. ``measured`` and ``expected`` are keyed by stable snake_case ids, which tests
and code use; ``labels`` maps each id to the words a reader sees, so a label can be reworded without touching a
test. No Streamlit here.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..landscapes import Landscape, quadratic

F64 = torch.float64
DEVICE = "cpu"  # labs step a handful of points: launch latency dominates, and the CPU has float64 everywhere

# --------------------------------------------------------------------------------------------------------------
# Parameters a lab declares (a UI turns them into widgets).


@dataclass(frozen=True)
class Param:
    """A bounded numeric knob. ``log`` asks the UI for a log-spaced slider; ``integer`` for whole numbers."""

    name: str
    label: str
    min: float
    max: float
    default: float
    step: float | None = None
    log: bool = False
    integer: bool = False
    help: str = ""

    def validate(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{self.label} ({self.name}) must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or not self.min <= number <= self.max:
            raise ValueError(f"{self.label} ({self.name}) must be in [{self.min:g}, {self.max:g}], got {value!r}")
        if self.integer:
            if number != round(number):
                raise ValueError(f"{self.label} ({self.name}) must be a whole number, got {value!r}")
            return int(round(number))
        return number

    def options(self, per_decade: int = 12) -> list[float]:
        """The values a log slider offers: a geometric grid over [min, max] that always contains the default."""
        count = max(2, int(round(math.log10(self.max / self.min) * per_decade)) + 1)
        grid = {float(f"{v:.3g}") for v in np.geomspace(self.min, self.max, count)}
        grid = {v for v in grid if self.min <= v <= self.max} | {self.default}
        return sorted(grid)


@dataclass(frozen=True)
class Choice:
    """A pick from fixed options; ``multi`` allows several (returned as a tuple in the options' order)."""

    name: str
    label: str
    options: tuple[str, ...]
    default: str | tuple[str, ...]
    multi: bool = False
    help: str = ""

    def validate(self, value: Any) -> str | tuple[str, ...]:
        if not self.multi:
            if value not in self.options:
                raise ValueError(f"{self.label} ({self.name}) must be one of {list(self.options)}, got {value!r}")
            return value
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{self.label} ({self.name}) must be a list of option names, got {value!r}")
        unknown = [v for v in value if v not in self.options]
        if unknown or not value:
            raise ValueError(f"{self.label} ({self.name}) must be a non-empty subset of {list(self.options)}, "
                             f"got {list(value)!r}")
        return tuple(o for o in self.options if o in value)


Spec = Param | Choice


def lr_param(name: str = "lr", label: str = "learning rate η", low: float = 1e-4, high: float = 1.0,
             default: float = 0.01) -> Param:
    """A learning-rate knob: log-spaced, since learning rates are compared by their order of magnitude."""
    return Param(name, label, low, high, default, log=True)


# --------------------------------------------------------------------------------------------------------------
# What an experiment returns.


@dataclass(frozen=True)
class RefLine:
    """A reference line on a chart: ``axis`` "x" draws a vertical rule at ``value``, "y" a horizontal one."""

    axis: str
    value: float
    label: str


@dataclass(frozen=True)
class Plot:
    """How to draw one frame. ``dash`` names a column whose rows marked "theory" are drawn dashed; ``colors``
    maps series labels to optimizer ids so every chart uses the app's optimizer colours."""

    frame: str
    x: str
    y: str
    color: str | None = None
    title: str = ""
    x_title: str | None = None
    y_title: str | None = None
    x_log: bool = False
    y_log: bool = False
    mark: str = "line"  # "line", "point", "line_point" or "bar"
    dash: str | None = None
    refs: tuple[RefLine, ...] = ()
    colors: tuple[tuple[str, str], ...] = ()


QUANTITY_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(kw_only=True)
class LabResult:
    """One run of a lab. ``measured`` comes out of the experiment, ``expected`` from the formula the prose states;
    both are keyed by stable ids (snake_case, distinct across the two), and ``labels`` holds the display label of
    every id. ``passed`` is the same comparison the tests assert."""

    passed: bool
    measured: dict[str, float]
    expected: dict[str, float]
    labels: dict[str, str]
    verdict: str
    frames: dict[str, pd.DataFrame]
    plots: tuple[Plot, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # what ran besides the parameters, disclosed
    params: dict[str, Any] = field(default_factory=dict)  # the validated parameters used (set by Lab.run)
    runtime_s: float = 0.0

    def check_quantities(self, lab_id: str) -> None:
        """Raise ``TypeError`` when an id is malformed, used twice, or has no label (a mistake in the experiment)."""
        ids = [*self.measured, *self.expected]
        bad = [q for q in ids if not QUANTITY_ID.fullmatch(q)]
        twice = sorted(set(self.measured) & set(self.expected))
        if bad or twice or set(ids) != set(self.labels):
            raise TypeError(f"Lab {lab_id!r}: quantity ids must be snake_case ({bad}), distinct across measured "
                            f"and expected ({twice}), and each labelled once: unlabelled "
                            f"{sorted(set(ids) - set(self.labels))}, labels without a quantity "
                            f"{sorted(set(self.labels) - set(ids))}")


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    section: str  # section id (content front matter)
    claim: str  # one sentence: what the figure demonstrates
    params: tuple[Spec, ...]
    experiment: Callable[..., LabResult]

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def spec(self, name: str) -> Spec:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"Lab {self.id!r} has no parameter {name!r}; valid: {[p.name for p in self.params]}")

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``, each value checked against its bounds."""
        given = dict(params or {})
        for name in given:
            self.spec(name)
        return {p.name: p.validate(given.get(p.name, p.default)) for p in self.params}

    def run(self, **params: Any) -> LabResult:
        resolved = self.resolve(params)
        start = time.perf_counter()
        with torch.inference_mode():
            result = self.experiment(**resolved)
        result.check_quantities(self.id)
        return dataclasses.replace(result, params=resolved, runtime_s=time.perf_counter() - start,
                                   measured={k: float(v) for k, v in result.measured.items()},
                                   expected={k: float(v) for k, v in result.expected.items()})

    def key(self, params: Mapping[str, Any] | None = None) -> str:
        """A canonical JSON string of the resolved parameters (a cache key)."""
        return json.dumps(self.resolve(params), sort_keys=True)


# --------------------------------------------------------------------------------------------------------------
# The registry. The package imports its part modules in the guide's order, so ``LABS`` lists the labs in the
# order a reader meets them.

LABS: dict[str, Lab] = {}
Experiment = TypeVar("Experiment", bound=Callable[..., LabResult])


def lab(*, title: str, section: str, claim: str, params: tuple[Spec, ...] = ()) -> Callable[[Experiment], Experiment]:
    """Register the experiment below as the lab ``<its function name>``; the function itself is returned unchanged.

    ``params`` must name exactly the experiment's arguments: a knob the function does not take, or an argument no
    knob sets, is refused here, when the module is imported, rather than when a reader turns the knob."""

    def register(experiment: Experiment) -> Experiment:
        lab_id = experiment.__name__
        if lab_id in LABS:
            raise ValueError(f"Lab {lab_id!r} is registered twice")
        arguments = list(inspect.signature(experiment).parameters)
        if arguments != [p.name for p in params]:
            raise TypeError(f"Lab {lab_id!r}: params {[p.name for p in params]} do not match the experiment's "
                            f"arguments {arguments}")
        LABS[lab_id] = Lab(lab_id, title, section, claim, tuple(params), experiment)
        return experiment

    return register


def get_lab(lab_id: str) -> Lab:
    if lab_id not in LABS:
        raise ValueError(f"Unknown lab {lab_id!r}; valid ids: {', '.join(LABS)}")
    return LABS[lab_id]


# --------------------------------------------------------------------------------------------------------------
# Small shared helpers.


def fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "never" if x == math.inf else str(x)
    return f"{x:.4g}"


def close(measured: float, expected: float, rel: float = 0.0, abs_: float = 0.0) -> bool:
    return abs(measured - expected) <= max(rel * abs(expected), abs_)


def quadratic_landscape(l1: float, l2: float, start=(1.0, 1.0), angle: float = 0.0) -> Landscape:
    surface = quadratic(l1, l2, angle)
    return Landscape("lab_quadratic", f"quadratic λ = ({l1:g}, {l2:g})", surface.loss, tuple(start),
                     ((-2.0, 2.0), (-2.0, 2.0)), ((0.0, 0.0),), **surface.closed_forms())


def log_indices(n: int, count: int = 400) -> np.ndarray:
    """About ``count`` indices in [0, n), dense at the start and sparse later (for log-time charts)."""
    if n <= count:
        return np.arange(n)
    return np.unique(np.concatenate([np.arange(min(n, 50)), np.geomspace(1, n - 1, count).astype(int)]))


def loglog_slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log t."""
    return float(np.polyfit(np.log(t), np.log(y), 1)[0])


def step_lengths(stepper, theta: Tensor, gradient: Callable[[int, Tensor], Tensor], steps: int) -> np.ndarray:
    """|Δθ| per coordinate for ``steps`` updates of any stepper (``make_stepper`` or ``Stepper.from_transform``):
    (steps, B, *shape). ``gradient(t, theta)`` gives the gradient of step t = 1, 2, ..."""
    state = stepper.init(theta)
    out = []
    for t in range(1, steps + 1):
        new, state = stepper.update(theta, gradient(t, theta), state)
        out.append((new - theta).abs())
        theta = new
    return torch.stack(out).numpy()
