"""What a view returns: its frames (what is drawn), its checks (its claim, evaluated on those frames), its settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Check:
    """One property of a view's claim. ``claim`` says it in words (it holds for every setting the theory covers);
    ``measured`` says what this run found, with its numbers; ``value`` and ``limit`` are the number compared and its
    bound (``value <= limit`` unless the check says otherwise), kept for tests and tables."""

    id: str
    claim: str
    holds: bool
    measured: str
    value: float = math.nan
    limit: float = math.nan


@dataclass(kw_only=True)
class ViewResult:
    frames: dict[str, pd.DataFrame]
    checks: tuple[Check, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # what ran, disclosed under the figure
    facts: dict[str, Any] = field(default_factory=dict)  # numbers the drawing needs (optima, grid spacing, ...)
    runtime_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.holds for c in self.checks)

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(f"no check {check_id!r}; have {[c.id for c in self.checks]}")


def fmt(value: float, digits: int = 4) -> str:
    if not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "nan")
    return f"{value:.{digits}g}"


# Below this an error has underflowed for all practical purposes, above that it has overflowed: a decay rate is
# measured only on the stretch of steps in between.
LOG_FLOOR, LOG_CEILING = math.log(1e-250), math.log(1e250)


def decay_rate(log_size: np.ndarray) -> np.ndarray:
    """Contraction per step of a size recorded at steps 0..T (axis 0, as its natural log), measured over the second
    half of the stretch that stays between ``LOG_FLOOR`` and ``LOG_CEILING``: from [begin, end] it compares the
    largest size in the windows of w = (end − begin)/2 steps that end at ``begin`` and at ``end``. For a geometric
    sequence that is its ratio exactly; for a component that rings (complex roots), the window maxima follow its
    envelope instead of wherever in its swing the two end points fall. A size that underflows at once has rate 0;
    one that overflows at once, rate inf."""
    log_size = np.asarray(log_size, dtype=np.float64)
    shape = log_size.shape[1:]
    flat = log_size.reshape(log_size.shape[0], -1)
    valid = np.isfinite(flat) & (flat > LOG_FLOOR) & (flat < LOG_CEILING)
    leaves = ~valid
    end = np.maximum(np.where(leaves.any(0), leaves.argmax(0), flat.shape[0]) - 1, 0)  # last step still valid
    rate = np.empty(flat.shape[1])
    for stop in np.unique(end):  # nearly every run shares its end (the last step): a few slices do the work
        columns = end == stop
        begin = stop // 2
        width = (stop - begin) // 2
        if stop - begin < 1:  # left the valid range within a step or two: by underflow (fast) or overflow
            after = flat[min(stop + 1, flat.shape[0] - 1), columns]
            rate[columns] = np.where(np.nan_to_num(after, nan=np.inf) > 0, np.inf, 0.0)
            continue
        late = flat[stop - width:stop + 1, columns].max(0)
        early = flat[begin - width:begin + 1, columns].max(0)
        with np.errstate(over="ignore", invalid="ignore"):
            rate[columns] = np.exp((late - early) / (stop - begin))
    return rate.reshape(shape)
