"""What every piece is made of, and the arithmetic helpers the update rules are written in.

A ``Transform`` is a pair of pure functions, in the manner of optax:

    init(theta) -> state
    update(u, state, ctx) -> (u, state)

``u`` starts as the gradient and flows through a ``chain`` of transforms. Most chains end with a *direction* d,
and the stepper applies theta <- theta - lr * d. A chain that contains ``scale_by_learning_rate`` has already
turned u into the signed step itself (LARS keeps its velocity in units of theta); ``Transform.applies_lr`` says
so, and the stepper then adds u as it is. Every tensor is batched: ``theta`` has shape ``(B, *param_shape)`` and
holds B independent runs, so norms and matrices are always taken per run (``per_run_norm``), never across the batch.

The small arithmetic helpers (``ema``, ``trace``, ``debias``) are named after the lines of the LaTeX they
implement, so an optimizer's update reads like its algorithm box.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar


class Context(NamedTuple):
    """What a transform may read besides the running update: the step count, the parameters, the raw gradient."""

    t: int  # 1-based step number
    theta: Tensor  # parameters before this step, (B, *param_shape)
    lr: Scalar  # learning rate in force at this step (after any schedule)
    curvature: Callable[[], Tensor] | Tensor | None  # Hessian diagonal, or a function computing it (Sophia)
    grad: Tensor | None = None  # the gradient the stepper was handed, before any piece changed it (Cautious)


class Transform(NamedTuple):
    init: Callable[[Tensor], Any]
    update: Callable[[Tensor, Any, Context], tuple[Tensor, Any]]
    applies_lr: bool = False  # True when the output already is the signed step (the chain scaled by -lr itself)


class Empty(NamedTuple):
    pass


def chain(*transforms: Transform) -> Transform:
    """Apply transforms in order; the state is the tuple of their states. Identities are dropped (they would only
    cost a call per step)."""
    transforms = tuple(tr for tr in transforms if tr is not IDENTITY)
    if len(transforms) == 1:
        return transforms[0]
    if not transforms:
        return IDENTITY

    def init(theta: Tensor) -> tuple:
        return tuple(tr.init(theta) for tr in transforms)

    def update(u: Tensor, state: tuple, ctx: Context) -> tuple[Tensor, tuple]:
        new_state = []
        for tr, s in zip(transforms, state):
            u, s = tr.update(u, s, ctx)
            new_state.append(s)
        return u, tuple(new_state)

    return Transform(init, update, any(tr.applies_lr for tr in transforms))


def stateless(fn: Callable[[Tensor, Context], Tensor]) -> Transform:
    return Transform(lambda theta: Empty(), lambda u, state, ctx: (fn(u, ctx), state))


IDENTITY = stateless(lambda u, ctx: u)


def when(condition: bool, transform: Transform) -> Transform:
    """``transform`` if ``condition`` holds, else the identity piece (which ``chain`` drops)."""
    return transform if condition else IDENTITY


def is_zero(value: Scalar) -> bool:
    """True for a hyperparameter that is exactly zero for every run (a number, or a 0-dim constant)."""
    if isinstance(value, Tensor):
        return value.ndim == 0 and value.item() == 0.0
    return value == 0.0


# --------------------------------------------------------------------------------------------------------------
# Arithmetic helpers: one line of an update rule each.


def ema(average: Tensor, x: Tensor, decay: Scalar) -> Tensor:
    """Exponential moving average: decay * average + (1 - decay) * x."""
    return torch.lerp(average, x, 1.0 - decay)


def trace(buffer: Tensor, x: Tensor, decay: Scalar, dampening: Scalar = 0.0) -> Tensor:
    """Heavy-ball accumulator: decay * buffer + (1 - dampening) * x (torch's SGD momentum form)."""
    if isinstance(decay, float) and isinstance(dampening, float) and dampening == 0.0:
        return torch.add(x, buffer, alpha=decay)  # the same sum as one fused op
    return decay * buffer + (1.0 - dampening) * x


def plus_scaled(x: Tensor, y: Tensor, scale: Scalar) -> Tensor:
    """x + scale * y (one fused op when scale is a plain number)."""
    return torch.add(x, y, alpha=scale) if isinstance(scale, float) else x + scale * y


def debias(moment: Tensor, decay: Scalar, t: int) -> Tensor:
    """Bias correction of a zero-initialised moving average: moment / (1 - decay**t)."""
    correction = 1.0 - decay**t
    if isinstance(correction, float):  # the same division by a cached 0-dim tensor: half the cost of a number
        correction = constant(correction, moment)
    return moment / correction


_PARAM_DIMS = {n: tuple(range(1, n)) for n in range(2, 9)}  # every axis but the batch axis


def per_run_norm(x: Tensor) -> Tensor:
    """Euclidean norm of each run's whole parameter, shaped to broadcast: (B, 1, ..., 1)."""
    return torch.linalg.vector_norm(x, dim=_PARAM_DIMS[x.ndim], keepdim=True)


def safe_ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, and 1 wherever either is zero (the convention for trust ratios)."""
    zero, one = constant(0.0, numerator), constant(1.0, numerator)
    return torch.where((numerator > zero) & (denominator > zero), numerator / denominator, one)


@functools.lru_cache(maxsize=8192)  # per-step constants (bias corrections) included
def _constant(value: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.tensor(value, dtype=dtype, device=device)


def constant(value: float, like: Tensor) -> Tensor:
    """A cached 0-dim tensor: comparing or selecting against it costs half what a Python number does, since
    torch wraps a number into a fresh tensor on every call (races make tens of thousands of these calls)."""
    return _constant(value, like.dtype, like.device)


@functools.lru_cache(maxsize=64)
def _identity(size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.eye(size, dtype=dtype, device=device)


def identity(like: Tensor) -> Tensor:
    """A cached identity matrix matching the last two axes of ``like``."""
    return _identity(like.shape[-1], like.dtype, like.device)


def precise_dtype(device: torch.device) -> torch.dtype:
    """float64 wherever the device has it (Apple's mps does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


def inverse_root(matrix: Tensor, power: float) -> Tensor:
    """matrix^(-1/power) of batched symmetric positive-definite matrices, via an eigendecomposition.

    A run that already diverged hands in NaN. The CPU solver returns NaN for it and leaves the other runs alone;
    a solver that refuses instead gets the identity in place of the broken matrices and is asked again.
    """
    try:
        eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    except torch.linalg.LinAlgError:
        finite = torch.isfinite(matrix).all(dim=-1, keepdim=True).all(dim=-2, keepdim=True)
        eigenvalues, eigenvectors = torch.linalg.eigh(torch.where(finite, matrix, identity(matrix)))
    scaled = eigenvectors * eigenvalues.clamp(min=1e-30).pow(-1.0 / power).unsqueeze(-2)
    return scaled @ eigenvectors.transpose(-1, -2)


# --------------------------------------------------------------------------------------------------------------
# Pieces that add a term or scale by the learning rate.


def add_weights(weight_decay: Scalar) -> Transform:
    """u <- u + wd * theta. Where it sits in a chain decides what it means (the two names below)."""
    if is_zero(weight_decay):
        return IDENTITY
    return stateless(lambda u, ctx: u + weight_decay * ctx.theta)


def add_l2_penalty(weight_decay: Scalar) -> Transform:
    """g <- g + wd * theta before preconditioning: weight decay as an L2 penalty on the loss (torch's
    ``weight_decay`` in SGD/Adam), so adaptive methods rescale it along with the gradient."""
    return add_weights(weight_decay)


def add_decayed_weights(weight_decay: Scalar) -> Transform:
    """d <- d + wd * theta after preconditioning: decoupled weight decay, theta <- theta (1 - lr wd) - lr d."""
    return add_weights(weight_decay)


def scale_by_learning_rate() -> Transform:
    """The signed step: u <- -lr * u. A chain containing it hands the stepper a finished step (``applies_lr``)."""
    return Transform(lambda theta: Empty(), lambda u, state, ctx: (-ctx.lr * u, state), applies_lr=True)


def decay_weights(weight_decay: Scalar, *, scale_by_lr: bool = True, after_step: bool = False,
                  first_step: int = 1) -> Transform:
    """Decoupled weight decay for a chain that already holds the signed step (``applies_lr``):
    u <- u - c * theta, with c = lr * wd, or c = wd alone (``scale_by_lr=False``: pytorch_optimizer's
    ``fixed_decay``). ``after_step`` decays the parameters the step produced, theta + u, as SOAP does
    (theta <- (theta + u)(1 - lr wd)); ``first_step`` is the first step that decays."""
    if is_zero(weight_decay):
        return IDENTITY
    if isinstance(weight_decay, Tensor) and weight_decay.ndim == 0:
        weight_decay = weight_decay.item()  # a number: the rate below is then plain arithmetic and one fused op

    def update(u: Tensor, state: Empty, ctx: Context) -> tuple[Tensor, Empty]:
        if ctx.t < first_step:
            return u, state
        rate = ctx.lr * weight_decay if scale_by_lr else weight_decay
        return plus_scaled(u, ctx.theta + u if after_step else ctx.theta, -rate), state

    return Transform(lambda theta: Empty(), update, applies_lr=True)


def per_run_sum(x: Tensor) -> Tensor:
    """Sum over each run's whole parameter, shaped to broadcast: (B, 1, ..., 1)."""
    return x.sum(dim=_PARAM_DIMS[x.ndim], keepdim=True)


def per_run_rms(x: Tensor) -> Tensor:
    """Root mean square of each run's whole parameter, ||x|| / sqrt(numel), shaped (B, 1, ..., 1)."""
    return per_run_norm(x) / math.sqrt(x[0].numel())


def scale_by_decay_schedule(lr_decay: Scalar) -> Transform:
    """AdaGrad's built-in decay: d <- d / (1 + (t - 1) * lr_decay)."""
    if is_zero(lr_decay):
        return IDENTITY
    return stateless(lambda u, ctx: u / (1.0 + (ctx.t - 1) * lr_decay))
