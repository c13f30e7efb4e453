"""Optimizer memory at scale: how many numbers of state each optimizer keeps for one parameter tensor, and what
that costs in bytes per parameter.

The counts are read off the engine itself, not written down: each optimizer is initialised and stepped once on a
small probe tensor, every dimension of each state buffer is matched to the probe's dimensions, and the buffers are
then sized for the shape asked about. So a 4096 x 4096 matrix costs nothing to measure, and a rule whose state
changes changes the numbers here with it. A second probe of other sizes must predict the same shapes, or the
function refuses (a buffer whose size is not a product of the parameter's dimensions would be miscounted).

    state_bytes_per_parameter("adam", (4096, 4096), torch.float32)       # 8.0: m and v, four bytes each
    state_bytes_per_parameter("adafactor", (4096, 4096), torch.float32)  # 0.00195: a row and a column
    training_bytes_per_parameter("adam")                                 # 16.0: bf16 weights and gradients,
                                                                         # fp32 master weights, m and v

What is counted: every tensor in the optimizer's state after one update (SOAP's eigenbases appear then), diagnostics
left out, in ``dtype`` as torch keeps state (``zeros_like(param)``); per-tensor scalars such as Prodigy's d count
as one number each. Python numbers (step counters, schedule-free's weight sum) are per tensor and free. Where the
engine keeps more than a production implementation would, ``MEMORY_NOTES`` says so.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor

from .optimizers import OPTIMIZERS, get_spec, make_stepper

PROBES = {1: ((7,), (11,)), 2: ((5, 3), (7, 11))}  # distinct primes: each buffer dimension names one parameter dim

# Where the engine's state differs from what a careful production implementation keeps.
MEMORY_NOTES: dict[str, str] = {
    "shampoo": "The engine recomputes the inverse fourth roots each step and keeps only the two statistics; "
               "production Shampoo also caches the two roots (as many numbers again) and usually a grafting "
               "optimizer's state. The engine holds the statistics in float64 for stability.",
    "soap": "The two statistics and the two eigenbases: 2(m² + n²) numbers per m x n matrix beside Adam's m and v.",
    "sf_adamw": "The engine keeps the average x beside z and v; the reference (schedulefree) recovers x from y and "
                "z and so keeps two buffers, like Adam.",
    "sf_sgd": "The engine keeps the average x beside z; the reference keeps only z.",
    "prodigy": "Its d estimates are per parameter group in the reference and per tensor here: a few numbers either "
               "way.",
    "adafactor": "With torch's defaults (no momentum, beta1=None); a matrix keeps a row and a column of the "
                 "squared-gradient means, a vector a full v.",
}


def state_buffers(opt_id: str, shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """The buffers ``opt_id`` keeps for one parameter of ``shape`` (1-D or 2-D), by name, with their shapes."""
    shape = _checked_shape(shape)
    small, other = PROBES[len(shape)]
    found = _probe(opt_id, small)
    predicted = {name: _resize(dims, small, other) for name, dims in found.items()}
    if predicted != _probe(opt_id, other):
        raise RuntimeError(f"{opt_id}: the state's shapes do not follow the parameter's dimensions; "
                           f"probe {small}: {found}, probe {other}: {_probe(opt_id, other)}")
    return {name: _resize(dims, small, shape) for name, dims in found.items()}


def state_elements(opt_id: str, shape: Sequence[int]) -> int:
    """How many numbers of state ``opt_id`` keeps for one parameter of ``shape``."""
    return sum(math.prod(dims) for dims in state_buffers(opt_id, shape).values())


def state_bytes_per_parameter(opt_id: str, shape: Sequence[int] = (4096, 4096),
                              dtype: torch.dtype = torch.float32) -> float:
    """Bytes of optimizer state per parameter for a tensor of ``shape`` whose state is held in ``dtype``
    (torch.optim keeps state in the parameter's dtype): Adam 8.0 in float32, 4.0 in bfloat16."""
    shape = _checked_shape(shape)
    return state_elements(opt_id, shape) * _itemsize(dtype) / math.prod(shape)


def training_bytes_per_parameter(opt_id: str, shape: Sequence[int] = (4096, 4096),
                                 weights: torch.dtype = torch.bfloat16, grads: torch.dtype = torch.bfloat16,
                                 master: torch.dtype | None = torch.float32,
                                 states: torch.dtype = torch.float32) -> float:
    """Bytes per parameter of everything training keeps besides activations: the weights, their gradients, an
    optional master copy of the weights (mixed precision keeps one in float32) and the optimizer's state. The
    defaults are bf16 mixed precision, which is 16 bytes per parameter for Adam."""
    master_bytes = 0 if master is None else _itemsize(master)
    return _itemsize(weights) + _itemsize(grads) + master_bytes + state_bytes_per_parameter(opt_id, shape, states)


def memory_table(shape: Sequence[int] = (4096, 4096), dtype: torch.dtype = torch.float32) -> list[dict[str, Any]]:
    """One row per optimizer: its id, the buffers it keeps, and bytes of state per parameter."""
    rows = []
    for opt_id in OPTIMIZERS:
        buffers = state_buffers(opt_id, shape)
        rows.append({"optimizer": opt_id, "buffers": ", ".join(f"{k} {'x'.join(map(str, v))}"
                                                               for k, v in buffers.items()),
                     "elements": state_elements(opt_id, shape),
                     "bytes_per_parameter": state_bytes_per_parameter(opt_id, shape, dtype),
                     "note": MEMORY_NOTES.get(opt_id, "")})
    return rows


def counted_state(opt_id: str, theta: Tensor, steps: int = 1, seed: int = 0) -> dict[str, tuple[int, ...]]:
    """The state tensors ``make_stepper(opt_id)`` really holds for ``theta`` (B, *shape) after ``steps`` updates
    with seeded random gradients, by name, with their shapes (the batch axis dropped); diagnostics left out."""
    stepper = make_stepper(opt_id)
    state = stepper.init(theta)
    generator = torch.Generator().manual_seed(seed)
    spec = get_spec(opt_id)
    for _ in range(steps):
        grad = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        curvature = grad * grad if spec.needs_curvature else None
        theta, state = stepper.update(theta, grad, state, curvature=curvature)
    return dict(_tensors(state.slots))


def _probe(opt_id: str, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return counted_state(opt_id, torch.zeros(1, *shape, dtype=torch.float64) + 0.5)


def _tensors(state: Any, prefix: str = "") -> list[tuple[str, tuple[int, ...]]]:
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        if getattr(state, "diagnostic", False):
            return []
        found = []
        for name in state._fields:
            value = getattr(state, name)
            if isinstance(value, Tensor) and value.ndim >= 1:
                found.append((prefix + name, tuple(value.shape[1:])))
            elif isinstance(value, tuple):
                found += _tensors(value, prefix + name + ".")
        return found
    if isinstance(state, tuple):
        return [item for part in state for item in _tensors(part, prefix)]
    return []


def _resize(dims: tuple[int, ...], probe: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...]:
    size = dict(zip(probe, target)) | {1: 1}
    if any(d not in size for d in dims):
        raise RuntimeError(f"a state buffer of shape {dims} does not follow the probe {probe}")
    return tuple(size[d] for d in dims)


def _checked_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) not in PROBES or any(d < 1 for d in shape):
        raise ValueError(f"Invalid parameter shape {shape}: a vector (n,) or a matrix (m, n) of positive sizes")
    return shape


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()
