"""Learning-rate schedules as per-step factors on the base learning rate, mirroring torch.optim.lr_scheduler.

``Schedule.factors(steps)[k]`` multiplies lr during update k + 1 (0-based k), exactly as the lr a torch
scheduler leaves in ``optimizer.param_groups`` before that update:

- ``constant``: 1.
- ``warmup``: LinearLR(start_factor, total_iters=warmup_steps): linear ramp from start_factor to 1.
- ``cosine``: CosineAnnealingLR(T_max=steps, eta_min=min_factor * lr): min + (1 - min)(1 + cos(pi k / T)) / 2.
- ``warmup_cosine``: SequentialLR([LinearLR, CosineAnnealingLR(T_max=steps - warmup_steps)], [warmup_steps]).
- ``step``: StepLR(step_size, gamma): gamma ** (k // step_size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .limits import MAX_STEPS

KINDS = ("constant", "warmup", "cosine", "warmup_cosine", "step")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    warmup_steps: int = 0
    start_factor: float = 0.01
    min_factor: float = 0.0
    step_size: int = 100
    gamma: float = 0.5

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown schedule {self.kind!r}; valid: {', '.join(KINDS)}")
        if self.kind in ("warmup", "warmup_cosine") and self.warmup_steps < 1:
            raise ValueError(f"Invalid warmup_steps: {self.warmup_steps} (must be >= 1 for {self.kind})")
        if not 0.0 < self.start_factor <= 1.0:
            raise ValueError(f"Invalid start_factor: {self.start_factor} (must be in (0, 1])")
        if not 0.0 <= self.min_factor <= 1.0:
            raise ValueError(f"Invalid min_factor: {self.min_factor} (must be in [0, 1])")
        if self.step_size < 1:
            raise ValueError(f"Invalid step_size: {self.step_size} (must be >= 1)")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"Invalid gamma: {self.gamma} (must be in (0, 1])")

    def factors(self, steps: int) -> np.ndarray:
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"Invalid steps: {steps} (must be in [1, {MAX_STEPS}])")
        k = np.arange(steps, dtype=np.float64)
        if self.kind == "constant":
            return np.ones(steps)
        if self.kind == "warmup":
            return linear_warmup(k, self.start_factor, self.warmup_steps)
        if self.kind == "cosine":
            return cosine(k, steps, self.min_factor)
        if self.kind == "step":
            return self.gamma ** np.floor(k / self.step_size)
        warm = self.warmup_steps
        after = cosine(k - warm, max(steps - warm, 1), self.min_factor)
        return np.where(k < warm, linear_warmup(k, self.start_factor, warm), after)

    def describe(self) -> str:
        if self.kind == "constant":
            return "constant"
        if self.kind == "warmup":
            return f"linear warmup over {self.warmup_steps} steps from {self.start_factor:g}x"
        if self.kind == "cosine":
            return f"cosine decay to {self.min_factor:g}x"
        if self.kind == "step":
            return f"x{self.gamma:g} every {self.step_size} steps"
        return f"warmup {self.warmup_steps} steps, then cosine to {self.min_factor:g}x"


def linear_warmup(k: np.ndarray, start_factor: float, warmup_steps: int) -> np.ndarray:
    return start_factor + (1.0 - start_factor) * np.minimum(k, warmup_steps) / warmup_steps


def cosine(k: np.ndarray, period: int, min_factor: float) -> np.ndarray:
    return min_factor + (1.0 - min_factor) * (1.0 + np.cos(math.pi * k / period)) / 2.0


def offered(kind: str, steps: int) -> Schedule:
    """The schedule the app's figures and races offer under ``kind`` for a race of ``steps``: warmup over the first
    sixth, or halving every quarter."""
    if kind in ("warmup", "warmup_cosine"):
        return Schedule(kind, warmup_steps=max(1, steps // 6), start_factor=0.01)
    if kind == "step":
        return Schedule("step", step_size=max(1, steps // 4), gamma=0.5)
    return Schedule(kind)
