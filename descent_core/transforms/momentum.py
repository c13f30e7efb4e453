"""Momentum: the two accumulators the literature uses, torch's heavy ball and the plain velocity trace."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Empty, Transform, constant, plus_scaled, trace


class Buffer(NamedTuple):
    b: Tensor


def heavy_ball(momentum: Scalar, dampening: Scalar = 0.0, nesterov: bool = False) -> Transform:
    """torch SGD momentum: b_1 = g, b_t = mu b + (1 - dampening) g; step along b, or g + mu b with Nesterov."""

    def update(g: Tensor, state: Buffer, ctx: Context) -> tuple[Tensor, Buffer]:
        b = g if ctx.t == 1 else trace(state.b, g, momentum, dampening)
        return (plus_scaled(g, b, momentum) if nesterov else b), Buffer(b)  # Nesterov: g + mu b

    return Transform(lambda theta: Buffer(torch.zeros_like(theta)), update)


def momentum_trace(momentum: Scalar) -> Transform:
    """v <- mu v + u, started at zero (LARS and RMSprop keep their velocity this way)."""

    def update(u: Tensor, state: Buffer, ctx: Context) -> tuple[Tensor, Buffer]:
        b = trace(state.b, u, momentum)
        return b, Buffer(b)

    return Transform(lambda theta: Buffer(torch.zeros_like(theta)), update)


def cautious_mask() -> Transform:
    """Cautious (Liang et al. 2024): keep only the coordinates where the update agrees in sign with the gradient,
    and rescale so the step keeps its size: phi = 1[u * g > 0], u <- u * phi * n / (sum(phi) + 1), with n the
    number of coordinates of the run's parameter (per run, like every norm here). Any momentum method can take it:
    g is the raw gradient in ``ctx.grad``, whatever pieces came before."""

    def update(u: Tensor, state: Empty, ctx: Context) -> tuple[Tensor, Empty]:
        agrees = u * ctx.grad > constant(0.0, u)
        kept = agrees.sum(dim=tuple(range(1, u.ndim)), keepdim=True, dtype=u.dtype)
        return u * agrees * (agrees[0].numel() / (kept + 1.0)), state

    return Transform(lambda theta: Empty(), update)
