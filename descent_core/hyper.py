"""Hyperparameters: validation with torch-style messages, and per-run values.

Every scalar hyperparameter may be a Python number or a 1-D array/tensor with one value per run. A per-run
value is reshaped to ``(B, 1, ..., 1)`` so it broadcasts against a batched parameter ``(B, *shape)``; that is
how a learning-rate sweep over thousands of runs becomes a single call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

Scalar = float | torch.Tensor  # a Python float, or a per-run tensor shaped (B, 1, ..., 1)


@dataclass(frozen=True)
class Rule:
    """A constraint on one scalar hyperparameter, phrased the way the error message will read."""

    text: str
    holds: Callable[[np.ndarray], np.ndarray]  # elementwise, so a million per-run values are checked at once


NONNEGATIVE = Rule(">= 0", lambda x: x >= 0.0)
POSITIVE = Rule("> 0", lambda x: x > 0.0)
UNIT_INTERVAL_OPEN = Rule("in [0, 1)", lambda x: (0.0 <= x) & (x < 1.0))
UNIT_INTERVAL_CLOSED = Rule("in [0, 1]", lambda x: (0.0 <= x) & (x <= 1.0))
ANY_FINITE = Rule("finite", lambda x: np.ones_like(x, dtype=bool))


def as_per_run(name: str, value: Any) -> float | torch.Tensor:
    """Return a float, or a float64 CPU tensor of shape (B,) for an array-like value."""
    if isinstance(value, bool):
        raise ValueError(f"Invalid {name}: expected a number, got a bool")
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    if isinstance(value, torch.Tensor) and value.ndim == 0:
        return float(value.item())
    array = torch.as_tensor(np.asarray(value, dtype=np.float64) if not isinstance(value, torch.Tensor) else value)
    array = array.detach().to("cpu", torch.float64)
    if array.ndim != 1 or array.numel() == 0:
        raise ValueError(f"Invalid {name}: expected a number or a 1-D array of per-run values, got shape {tuple(array.shape)}")
    return array


def check(name: str, value: float | torch.Tensor, rule: Rule, where: str) -> None:
    """Raise ``ValueError`` naming the parameter when any of its values breaks ``rule``."""
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    broken = ~np.isfinite(values)
    broken[~broken] = ~rule.holds(values[~broken])
    if broken.any():
        x = float(values[np.argmax(broken)])
        raise ValueError(f"Invalid {name} for {where}: {x} (must be {rule.text})")


def batch_size_of(values: Sequence[float | torch.Tensor]) -> int | None:
    """The common length of the per-run values, or None when every value is a scalar."""
    lengths = {len(v) for v in values if isinstance(v, torch.Tensor)}
    if len(lengths) > 1:
        raise ValueError(f"Per-run hyperparameter arrays disagree in length: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def bind(value: float | torch.Tensor, theta: torch.Tensor) -> Scalar:
    """Shape a per-run value to broadcast against ``theta`` of shape (B, *param_shape)."""
    if isinstance(value, float):
        return value
    if value.shape[0] != theta.shape[0]:
        raise ValueError(
            f"A per-run hyperparameter has {value.shape[0]} values but the batch has {theta.shape[0]} runs"
        )
    return value.to(theta.device, theta.dtype).reshape((-1,) + (1,) * (theta.ndim - 1))
