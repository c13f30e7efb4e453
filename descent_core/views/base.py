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
    """Contraction per step of a size recorded at steps 0..T (axis 0, as its natural log): the geometric mean over
    the second half of the stretch that stays between ``LOG_FLOOR`` and ``LOG_CEILING``. A size that underflows at
    once has rate 0; one that overflows at once, rate inf."""
    valid = np.isfinite(log_size) & (log_size > LOG_FLOOR) & (log_size < LOG_CEILING)
    leaves = ~valid
    end = np.where(leaves.any(0), leaves.argmax(0), log_size.shape[0]) - 1  # last step of the valid stretch
    end = np.maximum(end, 0)
    begin = end // 2
    last = np.take_along_axis(log_size, end[None], 0)[0]
    first = np.take_along_axis(log_size, begin[None], 0)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        rate = np.exp((last - first) / np.maximum(end - begin, 1))
    too_short = end - begin < 1
    if too_short.any():  # left the valid range within a step or two: by underflow (fast) or overflow (divergent)
        after = np.take_along_axis(log_size, np.minimum(end + 1, log_size.shape[0] - 1)[None], 0)[0]
        rate = np.where(too_short, np.where(np.nan_to_num(after, nan=np.inf) > 0, np.inf, 0.0), rate)
    return rate
