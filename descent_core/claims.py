"""Claims a figure makes about the race it draws, as named properties the code measures on that very race.

A caption such as "gradient descent zig-zags while Adam heads straight for the floor" is only as good as the race
under it. Here each part of such a sentence is a ``Check``: a measurement of the race (how often a run's velocity
across the valley changes sign, how much longer its path is than the straight line from start to end, its rank, the
step at which it leaves a saddle) compared with a threshold. A figure declares its claim as a tuple of checks; the
page shows each check's verdict under the chart, recomputed whenever a reader's knob changes the race, and a test
runs every figure at its defaults and asserts that every check holds.

The measurements read only ``Race`` arrays, so they work on any recording; for velocities and path lengths the
race should record every step (figures do).

Rankings. ``ranking`` is the one order every table and every "ranks first" check uses: runs that settle within the
tolerance come first, sooner first; then the runs that never settle, by final loss; diverged runs last. So a run
with a "steps to tolerance" number always ranks above one without. On a surface whose loss has no lower bound (the
saddle), a low final loss only says who ran off fastest: there the order is by the step at which a run escaped
(its loss first fell below the surface's escape level), then by final loss.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .landscapes import Landscape
from .optimizers import OPTIMIZERS
from .race import Race

TOLERANCE = 1e-3

# Surfaces whose loss decreases without limit, with the loss below which a run counts as having escaped. The saddle
# x^2 - y^2 starts at loss 2.25; below -1 a run is well past the saddle point (0, 0) on its way down the y axis.
UNBOUNDED_BELOW: dict[str, float] = {"saddle": -1.0}

AXES = {"x": (1.0, 0.0), "y": (0.0, 1.0)}
_OPS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    ">=": (operator.ge, "≥"), "<=": (operator.le, "≤"), ">": (operator.gt, ">"), "<": (operator.lt, "<"),
    "==": (operator.eq, "="),
}


def unbounded_below(landscape: Landscape) -> bool:
    return landscape.id in UNBOUNDED_BELOW


def escape_level(landscape: Landscape) -> float | None:
    return UNBOUNDED_BELOW.get(landscape.id)


# --------------------------------------------------------------------------------------------------------------
# Measurements of one run. ``opt`` is an optimizer id of the race; ``run`` the run of that optimizer.


def _index(race: Race, opt: str) -> int:
    if opt not in race.optimizers:
        raise KeyError(f"{opt!r} is not in this race ({', '.join(race.optimizers)})")
    return race.optimizers.index(opt)


def _until(race: Race, until: int | None) -> int:
    """The number of recorded points up to step ``until`` (all of them when None)."""
    if until is None:
        return len(race.recorded)
    return int(np.searchsorted(race.recorded, until, side="right"))


def path(race: Race, opt: str, run: int = 0, until: int | None = None) -> np.ndarray:
    """The recorded points of one run, (P, 2), up to step ``until``."""
    return race.paths[_index(race, opt), run, : _until(race, until)]


def sign_changes(race: Race, opt: str, direction: Sequence[float] | str = "y", run: int = 0,
                 until: int | None = None, floor: float = 1e-3) -> int:
    """How often the velocity of a run along ``direction`` (an axis name or a vector) changes sign: the count of a
    zig-zag. Moves smaller than ``floor`` times the largest one are ignored, so a run that has settled does not
    count rounding noise as swings."""
    d = np.asarray(AXES.get(direction, direction) if isinstance(direction, str) else direction, dtype=float)
    d = d / np.linalg.norm(d)
    velocity = np.diff(path(race, opt, run, until), axis=0) @ d
    velocity = velocity[np.isfinite(velocity)]
    if velocity.size == 0 or not np.abs(velocity).max() > 0:
        return 0
    signs = np.sign(velocity[np.abs(velocity) > floor * np.abs(velocity).max()])
    return int((signs[1:] != signs[:-1]).sum())


def path_length(race: Race, opt: str, run: int = 0, until: int | None = None) -> float:
    return float(np.linalg.norm(np.diff(path(race, opt, run, until), axis=0), axis=-1).sum())


def straightness(race: Race, opt: str, run: int = 0, until: int | None = None) -> float:
    """Path length over the straight-line distance from start to end: 1 for a straight run, larger for detours
    (a zig-zag, a loop). ``inf`` for a run that ends where it started."""
    points = path(race, opt, run, until)
    displacement = float(np.linalg.norm(points[-1] - points[0]))
    return path_length(race, opt, run, until) / displacement if displacement > 0 else math.inf


def final_loss(race: Race, opt: str, run: int = 0) -> float:
    return float(race.losses[_index(race, opt), run, -1])


def distance_to(race: Race, opt: str, point: Sequence[float], run: int = 0) -> float:
    """Distance from a run's last point to ``point``."""
    return float(np.linalg.norm(race.paths[_index(race, opt), run, -1] - np.asarray(point, dtype=float)))


def distance_to_minimum(race: Race, opt: str, run: int = 0) -> float:
    """Distance from a run's last point to the nearest known minimum of the surface."""
    if not race.landscape.minima:
        return math.inf
    return min(distance_to(race, opt, m, run) for m in race.landscape.minima)


def steps_to_tolerance(race: Race, opt: str, run: int = 0, tolerance: float = TOLERANCE) -> float:
    """The step from which the run stays within ``tolerance`` of the minimum value to the end; inf if it never
    settles there."""
    step = int(race.steps_to_tolerance(tolerance)[_index(race, opt), run])
    return math.inf if step < 0 else float(step)


def escape_step(race: Race, opt: str, run: int = 0, level: float | None = None) -> float:
    """The first recorded step at which a run's loss is at or below ``level`` (the surface's escape level by
    default); inf if it never gets there."""
    level = escape_level(race.landscape) if level is None else level
    if level is None:
        raise ValueError(f"{race.landscape.name} has no escape level; pass one")
    i = _index(race, opt)
    below = (race.losses[i, run] <= level) & np.isfinite(race.losses[i, run])
    return float(race.recorded[below.argmax()]) if below.any() else math.inf


def overshoot(race: Race, opt: str, direction: Sequence[float] | str = "x", target: Sequence[float] = (0.0, 0.0),
              run: int = 0) -> float:
    """How far a run goes past ``target`` along ``direction``, measured from the side it starts on (0 if it never
    crosses)."""
    d = np.asarray(AXES.get(direction, direction) if isinstance(direction, str) else direction, dtype=float)
    d = d / np.linalg.norm(d)
    along = (path(race, opt, run) - np.asarray(target, dtype=float)) @ d
    side = np.sign(along[0]) or 1.0
    return float(max(0.0, (-side * along).max()))


def step_lengths(race: Race, opt: str, run: int = 0, until: int | None = None) -> np.ndarray:
    return np.linalg.norm(np.diff(path(race, opt, run, until), axis=0), axis=-1)


def step_spread(race: Race, opt: str, run: int = 0, until: int | None = None) -> float:
    """How uneven a run's steps are: the longest step over the median step (1 for perfectly even steps)."""
    lengths = step_lengths(race, opt, run, until)
    lengths = lengths[np.isfinite(lengths)]
    median = float(np.median(lengths)) if lengths.size else 0.0
    return float(lengths.max() / median) if median > 0 else math.inf


def sign_step_share(race: Race, opt: str, run: int = 0, until: int | None = None, rel: float = 1e-3) -> float:
    """The share of a run's steps that move every coordinate by exactly its learning rate (a sign step), within
    ``rel`` relative error. Uses the learning rate in force at each update."""
    i = _index(race, opt)
    points = path(race, opt, run, until)
    moves = np.abs(np.diff(points, axis=0))
    lr = race.lr[i, run, : moves.shape[0]][:, None]
    exact = np.abs(moves - lr) <= rel * lr
    return float(exact.all(axis=-1).mean()) if moves.size else 0.0


def left_region(race: Race, opt: str, run: int = 0) -> bool:
    """True when a run diverged or went outside the surface's drawn region."""
    i = _index(race, opt)
    if race.diverged_at[i, run] >= 0:
        return True
    (x0, x1), (y0, y1) = race.landscape.bounds
    p = race.paths[i, run]
    return bool(((p[:, 0] < x0) | (p[:, 0] > x1) | (p[:, 1] < y0) | (p[:, 1] > y1)).any())


def motion_share(race: Race, opt: str, direction: Sequence[float] | str = "y", run: int = 0,
                 until: int | None = None) -> float:
    """The share of a run's movement that goes along ``direction``: sum |v.d| over sum (|v.d| + |v.d_perp|)."""
    d = np.asarray(AXES.get(direction, direction) if isinstance(direction, str) else direction, dtype=float)
    d = d / np.linalg.norm(d)
    v = np.diff(path(race, opt, run, until), axis=0)
    along = np.abs(v @ d).sum()
    across = np.abs(v @ np.array([-d[1], d[0]])).sum()
    return float(along / (along + across)) if along + across > 0 else 0.0


def shrinking_share(race: Race, opt: str, run: int = 0, until: int | None = None, rel: float = 1e-9) -> float:
    """The share of a run's steps that are no longer than the step before them."""
    lengths = step_lengths(race, opt, run, until)
    if lengths.size < 2:
        return 1.0
    return float((lengths[1:] <= lengths[:-1] * (1 + rel)).mean())


def window_step_ratio(race: Race, opt: str, window: tuple[float, float], reference: tuple[float, float],
                      run: int = 0) -> float:
    """Mean step length in ``window`` over mean step length in ``reference``, both given as fractions of the race
    (``(0.9, 1.0)`` is its last tenth)."""
    lengths = step_lengths(race, opt, run)

    def mean(span: tuple[float, float]) -> float:
        a, b = (int(round(f * lengths.size)) for f in span)
        return float(lengths[a:max(b, a + 1)].mean())

    base = mean(reference)
    return mean(window) / base if base > 0 else math.inf


def norm_tracking(race: Race, opt: str, run: int = 0) -> float:
    """Correlation between a run's step length and the norm of the point it stepped from: near 1 when steps scale
    with the distance from the origin, as a trust ratio makes them."""
    points = path(race, opt, run)
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=-1)
    norms = np.linalg.norm(points[:-1], axis=-1)
    if lengths.std() == 0 or norms.std() == 0:
        return 0.0
    return float(np.corrcoef(lengths, norms)[0, 1])


COUNTERPART = {"ravine": ("rotated_ravine", math.pi / 4), "rotated_ravine": ("ravine", -math.pi / 4)}


def rotation_gap(race: Race, opt: str, run: int = 0) -> float:
    """Race ``opt`` with the same settings on the other ravine (the same valley turned by 45 degrees), turn that
    path onto this one, and return the largest distance between the two: 0 for a rule that does not care how the
    valley is turned. Only for the two ravines."""
    from .race import race as run_race  # the counterpart race is run on demand

    if race.landscape.id not in COUNTERPART:
        raise ValueError("rotation_gap compares the two ravines")
    other, angle = COUNTERPART[race.landscape.id]
    c, s = math.cos(angle), math.sin(angle)
    turn = np.array([[c, -s], [s, c]])  # rotates this race's points onto the other surface
    start = race.starts[run] @ turn.T
    twin = run_race(other, [opt], steps=race.steps, starts=[start], hparams={opt: _per_run(race.hparams[opt], run)},
                    noise=race.noise, seed=race.seed, schedule=race.schedule, clip=race.clip, device="cpu",
                    dtype=torch_dtype(race))
    mine = path(race, opt, run)
    back = twin.paths[0, 0, : mine.shape[0]] @ turn  # the twin's path turned back onto this surface
    return float(np.linalg.norm(back - mine, axis=-1).max())


def _per_run(hparams: Mapping[str, Any], run: int) -> dict[str, Any]:
    return {k: (v[run] if isinstance(v, list) else v) for k, v in hparams.items()}


def torch_dtype(race: Race):
    import torch

    return torch.float64 if race.paths.dtype == np.float64 else torch.float32


def path_gap(race: Race, opt: str, other: str, run: int = 0) -> float:
    """The largest distance between two runs at the same step."""
    a, b = path(race, opt, run), path(race, other, run)
    return float(np.linalg.norm(a - b, axis=-1).max())


def early_step_over_lr(race: Race, opt: str, window: tuple[float, float] = (0.0, 0.05), run: int = 0) -> float:
    """A run's mean step length in ``window`` (fractions of the race) over its base learning rate: about √2 for a
    per-coordinate rule at full rate in 2-D, much less while a warmup holds the rate down."""
    lengths = step_lengths(race, opt, run)
    a, b = (int(round(f * lengths.size)) for f in window)
    base = float(race.base_lr[_index(race, opt), run])
    return float(lengths[a:max(b, a + 1)].mean() / base) if base > 0 else math.inf


def jitter_ratio(race: Race, opt: str, late: tuple[float, float] = (0.9, 1.0),
                 reference: tuple[float, float] = (0.5, 0.7), run: int = 0) -> float:
    """How much a run still wanders at the end: the RMS spread of its points about their mean over ``late``, over
    the same spread over ``reference`` (both fractions of the race)."""
    points = path(race, opt, run)

    def spread(span: tuple[float, float]) -> float:
        a, b = (int(round(f * (len(points) - 1))) for f in span)
        chunk = points[a:max(b, a + 2)]
        return float(np.sqrt(((chunk - chunk.mean(axis=0)) ** 2).sum(axis=-1).mean()))

    base = spread(reference)
    return spread(late) / base if base > 0 else math.inf


def final_loss_rank(race: Race, opt: str, run: int = 0) -> int:
    """1 for the run with the lowest final loss in the race (diverged runs count as the highest)."""
    losses = np.where(race.diverged_at >= 0, np.inf, race.losses[..., -1]).ravel()
    mine = losses[_index(race, opt) * race.runs + run]
    return int((losses < mine).sum()) + 1


def straightness_rank(race: Race, opt: str, run: int = 0) -> int:
    """1 for the straightest run of the race (path length over start-to-end distance)."""
    values = [straightness(race, o, b) for o in race.optimizers for b in range(race.runs)]
    mine = straightness(race, opt, run)
    return sum(v < mine for v in values) + 1


# --------------------------------------------------------------------------------------------------------------
# The one ranking every table and check uses.


@dataclass(frozen=True)
class Standing:
    """One run's place in a race: what the ranking looked at."""

    optimizer: str
    run: int
    rank: int
    final_loss: float
    settled_at: float  # steps to tolerance, inf if never (bounded surfaces)
    escaped_at: float  # escape step, inf if never (unbounded surfaces; inf elsewhere)
    diverged_at: float  # inf if never


def ranking(race: Race, tolerance: float = TOLERANCE) -> list[Standing]:
    """Every run of the race, best first (see the module docstring for the order)."""
    settled = race.steps_to_tolerance(tolerance) if race.landscape.minima else None
    level = escape_level(race.landscape)
    rows = []
    for i, opt in enumerate(race.optimizers):
        for b in range(race.runs):
            loss = float(race.losses[i, b, -1])
            diverged = float(race.diverged_at[i, b]) if race.diverged_at[i, b] >= 0 else math.inf
            settle = float(settled[i, b]) if settled is not None and settled[i, b] >= 0 else math.inf
            escape = escape_step(race, opt, b, level) if level is not None else math.inf
            if math.isfinite(diverged):
                key = (3, diverged * -1.0, 0.0)  # diverged last; the one that lasted longer ranks higher
            elif level is not None:
                key = (0, escape, loss) if math.isfinite(escape) else (1, 0.0, loss)
            elif math.isfinite(settle):
                key = (0, settle, loss)
            else:
                key = (1, 0.0, loss if math.isfinite(loss) else math.inf)
            rows.append((key, opt, b, loss, settle, escape, diverged))
    rows.sort(key=lambda r: r[0])  # stable: ties keep the race's order
    return [Standing(opt, b, rank, loss, settle, escape, diverged)
            for rank, (_, opt, b, loss, settle, escape, diverged) in enumerate(rows, start=1)]


def rank_of(race: Race, opt: str, run: int = 0) -> int:
    return next(s.rank for s in ranking(race) if s.optimizer == opt and s.run == run)


# --------------------------------------------------------------------------------------------------------------
# Checks and verdicts.


@dataclass(frozen=True)
class Verdict:
    name: str
    text: str
    value: float
    op: str
    threshold: float
    holds: bool | None  # None: the check does not apply to this race (an optimizer it names is not racing)
    unit: str = ""
    fmt: str = ".3g"

    def measured(self) -> str:
        """The measured value as a reader sees it: '30 times', '1.04', 'never'."""
        return _show(self.value, self.fmt, self.unit)

    def expected(self) -> str:
        value = _show(self.threshold, self.fmt, self.unit)
        return value if self.op == "==" else f"{_OPS[self.op][1]} {value}"

    def sentence(self) -> str:
        if self.holds is None:
            return f"{self.text}: not in this race"
        return f"{self.text}: {self.measured()} (claimed {self.expected()})"


def _show(value: float, fmt: str, unit: str) -> str:
    if isinstance(value, bool) or (isinstance(value, float) and value in (0.0, 1.0) and unit == "yes/no"):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and math.isinf(value):
        return "never" if value > 0 else "−∞"
    if isinstance(value, float) and math.isnan(value):
        return "undefined"
    text = format(value, fmt) if not (isinstance(value, int) or float(value).is_integer()) else f"{int(value)}"
    return f"{text} {unit}".strip() if unit and unit != "yes/no" else text


@dataclass(frozen=True)
class Check:
    """One named, checkable property: ``measure(race)`` compared with ``threshold`` by ``op``."""

    name: str  # short, shown as the property's name: "zig-zag", "straight", "ranks first"
    text: str  # what is measured, for a reader: "gradient descent: sign changes of its velocity across the valley"
    measure: Callable[[Race], float]
    op: str
    threshold: float
    optimizers: tuple[str, ...] = ()  # the ids the check needs in the race
    unit: str = ""
    fmt: str = ".3g"
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False)  # how it was built (for display/tests)

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"Unknown comparison {self.op!r}; use one of {', '.join(_OPS)}")

    def applies(self, race: Race) -> bool:
        return all(opt in race.optimizers for opt in self.optimizers)

    def evaluate(self, race: Race) -> Verdict:
        if not self.applies(race):
            return Verdict(self.name, self.text, math.nan, self.op, self.threshold, None, self.unit, self.fmt)
        value = self.measure(race)
        value = float(value) if not isinstance(value, bool) else float(value)
        holds = bool(_OPS[self.op][0](value, self.threshold)) if not math.isnan(value) else False
        return Verdict(self.name, self.text, value, self.op, self.threshold, holds, self.unit, self.fmt)


def evaluate(checks: Iterable[Check], race: Race) -> list[Verdict]:
    return [check.evaluate(race) for check in checks]


def all_hold(verdicts: Iterable[Verdict]) -> bool:
    """True when every check that applies holds (and at least one applies)."""
    applicable = [v for v in verdicts if v.holds is not None]
    return bool(applicable) and all(v.holds for v in applicable)


def _name(opt: str) -> str:
    return OPTIMIZERS[opt].name


def _who(opt: str, run: int | None, label: str | None) -> str:
    if label:
        return label
    return _name(opt) if run is None else f"{_name(opt)} (run {run + 1})"


# Builders: each returns a Check with a reader-facing text. ``who`` overrides the run's name in the text.


def zigzags(opt: str, *, at_least: int, direction: Sequence[float] | str = "y", run: int = 0,
            until: int | None = None, across: str = "across the valley", who: str | None = None) -> Check:
    return Check("zig-zag", f"{_who(opt, run if run else None, who)}: sign changes of its velocity {across}",
                 lambda r: sign_changes(r, opt, direction, run, until), ">=", at_least, (opt,), "times",
                 spec={"kind": "zigzags", "optimizer": opt, "at_least": at_least})


def swings_at_most(opt: str, *, at_most: int, direction: Sequence[float] | str = "y", run: int = 0,
                   until: int | None = None, across: str = "across the valley", who: str | None = None) -> Check:
    return Check("few swings", f"{_who(opt, run if run else None, who)}: sign changes of its velocity {across}",
                 lambda r: sign_changes(r, opt, direction, run, until), "<=", at_most, (opt,), "times",
                 spec={"kind": "swings_at_most", "optimizer": opt, "at_most": at_most})


def fewer_swings(opt: str, than: str, *, ratio: float = 0.5, direction: Sequence[float] | str = "y",
                 across: str = "across the valley") -> Check:
    """``opt`` changes direction at most ``ratio`` times as often as ``than``."""
    def measure(r: Race) -> float:
        other = sign_changes(r, than, direction)
        return sign_changes(r, opt, direction) / other if other else math.inf
    return Check("fewer swings", f"{_name(opt)}'s sign changes {across} as a share of {_name(than)}'s", measure,
                 "<=", ratio, (opt, than), "", ".2f", spec={"kind": "fewer_swings", "optimizer": opt, "than": than})


def straight(opt: str, *, at_most: float, run: int = 0, until: int | None = None, who: str | None = None) -> Check:
    return Check("straight", f"{_who(opt, run if run else None, who)}: path length over start-to-end distance",
                 lambda r: straightness(r, opt, run, until), "<=", at_most, (opt,), "", ".3g",
                 spec={"kind": "straight", "optimizer": opt, "at_most": at_most})


def detours(opt: str, *, at_least: float, run: int = 0, until: int | None = None, who: str | None = None) -> Check:
    return Check("detour", f"{_who(opt, run if run else None, who)}: path length over start-to-end distance",
                 lambda r: straightness(r, opt, run, until), ">=", at_least, (opt,), "", ".3g",
                 spec={"kind": "detours", "optimizer": opt, "at_least": at_least})


def ranks_first(opt: str, run: int = 0, who: str | None = None) -> Check:
    return Check("ranks first", f"{_who(opt, run if run else None, who)}: rank in the results table",
                 lambda r: rank_of(r, opt, run), "==", 1, (opt,), "", "d",
                 spec={"kind": "ranks_first", "optimizer": opt})


def ranks_above(opt: str, other: str) -> Check:
    return Check("ranks above", f"{_name(opt)}'s rank minus {_name(other)}'s (negative: ahead)",
                 lambda r: rank_of(r, opt) - rank_of(r, other), "<", 0, (opt, other), "", "d",
                 spec={"kind": "ranks_above", "optimizer": opt, "other": other})


def settles_by(opt: str, *, step: int, run: int = 0, who: str | None = None) -> Check:
    return Check("settles", f"{_who(opt, run if run else None, who)}: step from which its loss stays within "
                 f"{TOLERANCE:g} of the minimum", lambda r: steps_to_tolerance(r, opt, run), "<=", step, (opt,),
                 "", "d", spec={"kind": "settles_by", "optimizer": opt, "step": step})


def never_settles(opt: str, run: int = 0, who: str | None = None) -> Check:
    return Check("does not settle", f"{_who(opt, run if run else None, who)}: step from which its loss stays "
                 f"within {TOLERANCE:g} of the minimum", lambda r: steps_to_tolerance(r, opt, run), "==", math.inf,
                 (opt,), "", "d", spec={"kind": "never_settles", "optimizer": opt})


def settles_sooner(opt: str, than: str, *, by_at_least: int = 1) -> Check:
    """``opt`` settles within tolerance at least ``by_at_least`` steps before ``than`` (which may never)."""
    def measure(r: Race) -> float:
        return steps_to_tolerance(r, than) - steps_to_tolerance(r, opt)
    return Check("sooner", f"steps {_name(opt)} settles before {_name(than)}", measure, ">=", by_at_least,
                 (opt, than), "steps", "d", spec={"kind": "settles_sooner", "optimizer": opt, "than": than})


def escapes_before(opt: str, *, step: int, level: float | None = None) -> Check:
    return Check("escapes", f"{_name(opt)}: first step with loss below the escape level",
                 lambda r: escape_step(r, opt, 0, level), "<", step, (opt,), "", "d",
                 spec={"kind": "escapes_before", "optimizer": opt, "step": step})


def stays_near_start(opt: str, *, within: float, who: str | None = None) -> Check:
    return Check("stays near the start", f"{_who(opt, None, who)}: distance from its start to its last point",
                 lambda r: distance_to(r, opt, r.starts[0]), "<=", within, (opt,), "", ".3g",
                 spec={"kind": "stays_near_start", "optimizer": opt, "within": within})


def lingers(opt: str, *, until: int, level: float | None = None) -> Check:
    """``opt`` has not escaped by step ``until``."""
    return Check("lingers", f"{_name(opt)}: first step with loss below the escape level",
                 lambda r: escape_step(r, opt, 0, level), ">", until, (opt,), "", "d",
                 spec={"kind": "lingers", "optimizer": opt, "until": until})


def overshoots(opt: str, *, by_at_least: float, direction: Sequence[float] | str = "x",
               target: Sequence[float] = (0.0, 0.0), who: str | None = None) -> Check:
    return Check("overshoots", f"{_who(opt, None, who)}: how far it runs past the minimum",
                 lambda r: overshoot(r, opt, direction, target), ">=", by_at_least, (opt,), "", ".3g",
                 spec={"kind": "overshoots", "optimizer": opt, "by_at_least": by_at_least})


def ends_near_minimum(opt: str, *, within: float, run: int = 0, who: str | None = None) -> Check:
    return Check("reaches the minimum", f"{_who(opt, run if run else None, who)}: distance from its last point to "
                 "the nearest minimum", lambda r: distance_to_minimum(r, opt, run), "<=", within, (opt,), "", ".3g",
                 spec={"kind": "ends_near_minimum", "optimizer": opt, "within": within})


def stops_short(opt: str, *, by_at_least: float, run: int = 0, who: str | None = None) -> Check:
    return Check("stops short", f"{_who(opt, run if run else None, who)}: distance from its last point to the "
                 "nearest minimum", lambda r: distance_to_minimum(r, opt, run), ">=", by_at_least, (opt,), "",
                 ".3g", spec={"kind": "stops_short", "optimizer": opt, "by_at_least": by_at_least})


def final_loss_below(opt: str, *, value: float, run: int = 0, who: str | None = None) -> Check:
    return Check("low final loss", f"{_who(opt, run if run else None, who)}: final loss",
                 lambda r: final_loss(r, opt, run), "<=", value, (opt,), "", ".3g",
                 spec={"kind": "final_loss_below", "optimizer": opt, "value": value})


def final_loss_above(opt: str, *, value: float, run: int = 0, who: str | None = None) -> Check:
    return Check("high final loss", f"{_who(opt, run if run else None, who)}: final loss",
                 lambda r: final_loss(r, opt, run), ">=", value, (opt,), "", ".3g",
                 spec={"kind": "final_loss_above", "optimizer": opt, "value": value})


def lower_final_loss(opt: str, than: str, *, factor: float = 1.0) -> Check:
    """``opt`` ends with a loss at most ``factor`` times ``than``'s."""
    def measure(r: Race) -> float:
        other = final_loss(r, than)
        return final_loss(r, opt) / other if other > 0 else math.inf
    return Check("lower loss", f"{_name(opt)}'s final loss over {_name(than)}'s", measure, "<=", factor,
                 (opt, than), "", ".3g", spec={"kind": "lower_final_loss", "optimizer": opt, "than": than})


def uneven_steps(opt: str, *, at_least: float, until: int | None = None) -> Check:
    return Check("uneven steps", f"{_name(opt)}: longest step over its median step",
                 lambda r: step_spread(r, opt, 0, until), ">=", at_least, (opt,), "", ".3g",
                 spec={"kind": "uneven_steps", "optimizer": opt, "at_least": at_least})


def even_steps(opt: str, *, at_most: float, until: int | None = None) -> Check:
    return Check("even steps", f"{_name(opt)}: longest step over its median step",
                 lambda r: step_spread(r, opt, 0, until), "<=", at_most, (opt,), "", ".3g",
                 spec={"kind": "even_steps", "optimizer": opt, "at_most": at_most})


def sign_steps(opt: str, *, share_at_least: float, until: int | None = None) -> Check:
    return Check("sign steps", f"{_name(opt)}: share of steps that move both coordinates by exactly η",
                 lambda r: sign_step_share(r, opt, 0, until), ">=", share_at_least, (opt,), "", ".0%",
                 spec={"kind": "sign_steps", "optimizer": opt, "share_at_least": share_at_least})


def leaves_region(opt: str, run: int = 0, who: str | None = None) -> Check:
    return Check("leaves the picture", f"{_who(opt, run if run else None, who)}: diverges or leaves the drawn "
                 "region", lambda r: float(left_region(r, opt, run)), "==", 1.0, (opt,), "yes/no",
                 spec={"kind": "leaves_region", "optimizer": opt, "run": run})


def stays_in_region(opt: str, run: int = 0, who: str | None = None) -> Check:
    return Check("stays in the picture", f"{_who(opt, run if run else None, who)}: diverges or leaves the drawn "
                 "region", lambda r: float(left_region(r, opt, run)), "==", 0.0, (opt,), "yes/no",
                 spec={"kind": "stays_in_region", "optimizer": opt, "run": run})


def mostly_across(opt: str, *, share_at_least: float, direction: Sequence[float] | str = "y", run: int = 0,
                  across: str = "across the valley", who: str | None = None) -> Check:
    return Check("mostly across", f"{_who(opt, run if run else None, who)}: share of its movement {across}",
                 lambda r: motion_share(r, opt, direction, run), ">=", share_at_least, (opt,), "", ".0%",
                 spec={"kind": "mostly_across", "optimizer": opt, "share_at_least": share_at_least})


def less_overshoot(opt: str, than: str, *, direction: Sequence[float] | str = "x",
                   target: Sequence[float] = (0.0, 0.0)) -> Check:
    def measure(r: Race) -> float:
        return overshoot(r, opt, direction, target) - overshoot(r, than, direction, target)
    return Check("overshoots less", f"how much farther {_name(opt)} runs past the minimum than {_name(than)}",
                 measure, "<", 0.0, (opt, than), "", ".3g",
                 spec={"kind": "less_overshoot", "optimizer": opt, "than": than})


def closer_to_minimum(opt: str, than: str) -> Check:
    def measure(r: Race) -> float:
        return distance_to_minimum(r, opt) - distance_to_minimum(r, than)
    return Check("ends closer", f"{_name(opt)}'s distance to the minimum minus {_name(than)}'s", measure, "<", 0.0,
                 (opt, than), "", ".3g", spec={"kind": "closer_to_minimum", "optimizer": opt, "than": than})


def shrinking_steps(opt: str, *, share_at_least: float, until: int | None = None) -> Check:
    return Check("shrinking steps", f"{_name(opt)}: share of steps no longer than the one before",
                 lambda r: shrinking_share(r, opt, 0, until), ">=", share_at_least, (opt,), "", ".0%",
                 spec={"kind": "shrinking_steps", "optimizer": opt, "share_at_least": share_at_least})


def small_early_steps(opt: str, *, ratio_at_most: float, early: tuple[float, float] = (0.0, 0.03),
                      middle: tuple[float, float] = (0.3, 0.5)) -> Check:
    return Check("small first steps", f"{_name(opt)}: mean step in the first {early[1]:.0%} of the race over its "
                 "mean step in the middle", lambda r: window_step_ratio(r, opt, early, middle), "<=", ratio_at_most,
                 (opt,), "", ".2f", spec={"kind": "small_early_steps", "optimizer": opt})


def small_late_steps(opt: str, *, ratio_at_most: float, late: tuple[float, float] = (0.9, 1.0),
                     middle: tuple[float, float] = (0.3, 0.5)) -> Check:
    return Check("small last steps", f"{_name(opt)}: mean step in the last {1 - late[0]:.0%} of the race over its "
                 "mean step in the middle", lambda r: window_step_ratio(r, opt, late, middle), "<=", ratio_at_most,
                 (opt,), "", ".2f", spec={"kind": "small_late_steps", "optimizer": opt})


def tracks_norm(opt: str, *, correlation_at_least: float) -> Check:
    return Check("steps scale with ‖θ‖", f"{_name(opt)}: correlation of its step length with its distance from the "
                 "origin", lambda r: norm_tracking(r, opt), ">=", correlation_at_least, (opt,), "", ".2f",
                 spec={"kind": "tracks_norm", "optimizer": opt})


def same_when_rotated(opt: str, *, within: float = 1e-2) -> Check:
    return Check("rotation-blind", f"{_name(opt)}: largest gap between its path and its path on the turned "
                 "ravine, turned back", lambda r: rotation_gap(r, opt), "<=", within, (opt,), "", ".2g",
                 spec={"kind": "same_when_rotated", "optimizer": opt})


def changes_when_rotated(opt: str, *, by_at_least: float = 0.5) -> Check:
    return Check("rotation-sensitive", f"{_name(opt)}: largest gap between its path and its path on the turned "
                 "ravine, turned back", lambda r: rotation_gap(r, opt), ">=", by_at_least, (opt,), "", ".2g",
                 spec={"kind": "changes_when_rotated", "optimizer": opt})


def lowest_final_loss(opt: str) -> Check:
    return Check("lowest loss", f"{_name(opt)}: place by final loss (1 = lowest)", lambda r: final_loss_rank(r, opt),
                 "==", 1, (opt,), "", "d", spec={"kind": "lowest_final_loss", "optimizer": opt})


def ranks_last(opt: str) -> Check:
    return Check("ranks last", f"{_name(opt)}: places from the bottom of the results table (0 = last)",
                 lambda r: r.runs * len(r.optimizers) - rank_of(r, opt), "==", 0, (opt,), "", "d",
                 spec={"kind": "ranks_last", "optimizer": opt})


def paths_close(opt: str, other: str, *, within: float) -> Check:
    return Check("same road", f"largest gap between {_name(opt)}'s and {_name(other)}'s positions at the same step",
                 lambda r: path_gap(r, opt, other), "<=", within, (opt, other), "", ".3g",
                 spec={"kind": "paths_close", "optimizer": opt, "other": other})


def paths_apart(opt: str, other: str, *, by_at_least: float) -> Check:
    return Check("different roads", f"largest gap between {_name(opt)}'s and {_name(other)}'s positions at the same "
                 "step", lambda r: path_gap(r, opt, other), ">=", by_at_least, (opt, other), "", ".3g",
                 spec={"kind": "paths_apart", "optimizer": opt, "other": other})


def nearer_to(opt: str, than: str, *, point: Sequence[float] = (0.0, 0.0), place: str = "the origin") -> Check:
    def measure(r: Race) -> float:
        return distance_to(r, opt, point) - distance_to(r, than, point)
    return Check("nearer " + place, f"{_name(opt)}'s final distance to {place} minus {_name(than)}'s", measure, "<",
                 0.0, (opt, than), "", ".3g", spec={"kind": "nearer_to", "optimizer": opt, "than": than})


def straighter(opt: str, than: str) -> Check:
    def measure(r: Race) -> float:
        return straightness(r, opt) - straightness(r, than)
    return Check("more direct", f"{_name(opt)}'s path length over distance minus {_name(than)}'s", measure, "<", 0.0,
                 (opt, than), "", ".3g", spec={"kind": "straighter", "optimizer": opt, "than": than})


def straightest(opt: str) -> Check:
    return Check("most direct", f"{_name(opt)}: place by path length over distance (1 = most direct)",
                 lambda r: straightness_rank(r, opt), "==", 1, (opt,), "", "d",
                 spec={"kind": "straightest", "optimizer": opt})


def small_first_steps(opt: str, *, ratio_at_most: float, window: tuple[float, float] = (0.0, 0.05)) -> Check:
    return Check("small first steps", f"{_name(opt)}: mean step over the first {window[1]:.0%} of the race, in units "
                 "of its η", lambda r: early_step_over_lr(r, opt, window), "<=", ratio_at_most, (opt,), "", ".2f",
                 spec={"kind": "small_first_steps", "optimizer": opt})


def calms_down(opt: str, *, ratio_at_most: float) -> Check:
    return Check("stops jittering", f"{_name(opt)}: spread of its last tenth of positions over the spread of those "
                 "from 50% to 70% of the race", lambda r: jitter_ratio(r, opt), "<=", ratio_at_most, (opt,), "",
                 ".2f", spec={"kind": "calms_down", "optimizer": opt})


def ends_near(opt: str, *, point: Sequence[float], within: float, place: str | None = None) -> Check:
    where = place or f"({point[0]:g}, {point[1]:g})"
    return Check("ends at " + where, f"{_name(opt)}: distance from its last point to {where}",
                 lambda r: distance_to(r, opt, point), "<=", within, (opt,), "", ".3g",
                 spec={"kind": "ends_near", "optimizer": opt, "point": list(point), "within": within})


def settles_after(opt: str, *, step: int) -> Check:
    return Check("settles late", f"{_name(opt)}: step from which its loss stays within {TOLERANCE:g} of the minimum",
                 lambda r: steps_to_tolerance(r, opt), ">=", step, (opt,), "", "d",
                 spec={"kind": "settles_after", "optimizer": opt, "step": step})


def minima_used(race: Race, within: float = 0.5) -> int:
    """How many different minima of the surface the runs of a race end at (each run within ``within`` of one)."""
    if not race.landscape.minima:
        return 0
    ends = race.paths[:, :, -1].reshape(-1, 2)
    minima = np.asarray(race.landscape.minima, dtype=float)
    gaps = np.linalg.norm(ends[:, None, :] - minima[None, :, :], axis=-1)
    nearest, close = gaps.argmin(-1), gaps.min(-1) <= within
    return int(len(set(nearest[close].tolist())))


def minima_reached(*, at_least: int) -> Check:
    return Check("different minima", "number of different minima the runs end at", minima_used, ">=", at_least, (),
                 "", "d", spec={"kind": "minima_reached", "at_least": at_least})


def high_loss_share(race: Race, value: float) -> float:
    """The share of a race's runs whose final loss is at least ``value`` above the minimum (or diverged)."""
    gap = race.losses[..., -1] - race.landscape.minimum_value
    return float(((gap >= value) | (race.diverged_at >= 0) | ~np.isfinite(gap)).mean())


def mostly_stuck(*, above: float, share_at_least: float) -> Check:
    return Check("mostly stuck", f"share of runs that end with a loss at least {above:g} above the minimum",
                 lambda r: high_loss_share(r, above), ">=", share_at_least, (), "", ".0%",
                 spec={"kind": "mostly_stuck", "above": above, "share_at_least": share_at_least})


def first_step_length(race: Race, opt: str, run: int = 0) -> float:
    lengths = step_lengths(race, opt, run)
    return float(lengths[0]) if lengths.size else 0.0


def still_at_first_step(opt: str) -> Check:
    return Check("first step still", f"{_name(opt)}: length of its first step", lambda r: first_step_length(r, opt),
                 "==", 0.0, (opt,), "", ".3g", spec={"kind": "still_at_first_step", "optimizer": opt})


def settles_near(opt: str, other: str, *, within: int) -> Check:
    """The two runs settle within ``within`` steps of each other (both must settle)."""
    def measure(r: Race) -> float:
        return abs(steps_to_tolerance(r, opt) - steps_to_tolerance(r, other))
    return Check("settles alongside", f"steps between {_name(opt)}'s settling and {_name(other)}'s", measure, "<=",
                 within, (opt, other), "steps", "d", spec={"kind": "settles_near", "optimizer": opt, "other": other})


def growing_share(race: Race, opt: str, until: int, run: int = 0) -> float:
    lengths = step_lengths(race, opt, run, until)
    return float((lengths[1:] > lengths[:-1]).mean()) if lengths.size > 1 else 0.0


def growing_first_steps(opt: str, *, until: int, share_at_least: float) -> Check:
    return Check("growing steps", f"{_name(opt)}: share of its first {until} steps longer than the one before",
                 lambda r: growing_share(r, opt, until), ">=", share_at_least, (opt,), "", ".0%",
                 spec={"kind": "growing_first_steps", "optimizer": opt})


BUILDERS: dict[str, Callable[..., Check]] = {
    "zigzags": zigzags, "swings_at_most": swings_at_most, "fewer_swings": fewer_swings, "straight": straight,
    "detours": detours, "ranks_first": ranks_first, "ranks_above": ranks_above, "settles_by": settles_by,
    "never_settles": never_settles, "settles_sooner": settles_sooner, "escapes_before": escapes_before,
    "lingers": lingers, "stays_near_start": stays_near_start, "overshoots": overshoots,
    "ends_near_minimum": ends_near_minimum, "stops_short": stops_short, "final_loss_below": final_loss_below,
    "final_loss_above": final_loss_above, "lower_final_loss": lower_final_loss, "uneven_steps": uneven_steps,
    "even_steps": even_steps, "sign_steps": sign_steps, "leaves_region": leaves_region,
    "stays_in_region": stays_in_region, "mostly_across": mostly_across, "less_overshoot": less_overshoot,
    "closer_to_minimum": closer_to_minimum, "shrinking_steps": shrinking_steps,
    "small_early_steps": small_early_steps, "small_late_steps": small_late_steps, "tracks_norm": tracks_norm,
    "same_when_rotated": same_when_rotated, "changes_when_rotated": changes_when_rotated,
    "lowest_final_loss": lowest_final_loss, "ranks_last": ranks_last, "paths_close": paths_close,
    "paths_apart": paths_apart, "nearer_to": nearer_to, "straighter": straighter, "straightest": straightest,
    "small_first_steps": small_first_steps, "calms_down": calms_down, "ends_near": ends_near,
    "settles_after": settles_after, "still_at_first_step": still_at_first_step, "settles_near": settles_near,
    "growing_first_steps": growing_first_steps,
}
RACE_BUILDERS: dict[str, Callable[..., Check]] = {"minima_reached": minima_reached, "mostly_stuck": mostly_stuck}


def check_from(spec: Mapping[str, Any]) -> Check:
    """A check from plain data, as content front matter writes it: ``{kind: zigzags, optimizer: sgd,
    at_least: 10}``; the other keys are the builder's keyword arguments. Checks about the whole race
    (``RACE_BUILDERS``) take no optimizer."""
    values = dict(spec)
    kind = values.pop("kind", None)
    if kind in RACE_BUILDERS:
        return RACE_BUILDERS[kind](**values)
    if kind not in BUILDERS:
        raise ValueError(f"Unknown check kind {kind!r}; use one of {', '.join([*BUILDERS, *RACE_BUILDERS])}")
    opt = values.pop("optimizer", None)
    if opt not in OPTIMIZERS:
        raise ValueError(f"Check {kind!r} names an unknown optimizer {opt!r}")
    return BUILDERS[kind](opt, **values)
