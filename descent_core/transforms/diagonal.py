"""Per-coordinate step sizes: AdaGrad's sum, RMSProp's leaky average, AdaDelta's ratio of averages."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, ema


class SumOfSquares(NamedTuple):
    sum_sq: Tensor


def scale_by_sum_of_squares(eps: Scalar, initial_accumulator_value: Scalar = 0.0) -> Transform:
    """AdaGrad: s <- s + g^2; d = g / (sqrt(s) + eps)."""

    def init(theta: Tensor) -> SumOfSquares:
        return SumOfSquares(torch.zeros_like(theta) + initial_accumulator_value)

    def update(g: Tensor, state: SumOfSquares, ctx: Context) -> tuple[Tensor, SumOfSquares]:
        s = state.sum_sq + g * g
        return g / (s.sqrt() + eps), SumOfSquares(s)

    return Transform(init, update)


class RmsState(NamedTuple):
    v: Tensor
    g_avg: Tensor | None


def scale_by_rms(alpha: Scalar, eps: Scalar, centered: bool = False) -> Transform:
    """RMSProp: v <- EMA_alpha(g^2); d = g / (sqrt(v) + eps), or sqrt(v - gbar^2) when centered."""

    def init(theta: Tensor) -> RmsState:
        return RmsState(torch.zeros_like(theta), torch.zeros_like(theta) if centered else None)

    def update(g: Tensor, state: RmsState, ctx: Context) -> tuple[Tensor, RmsState]:
        v = ema(state.v, g * g, alpha)
        if centered:
            g_avg = ema(state.g_avg, g, alpha)
            return g / ((v - g_avg * g_avg).sqrt() + eps), RmsState(v, g_avg)
        return g / (v.sqrt() + eps), RmsState(v, None)

    return Transform(init, update)


class DeltaState(NamedTuple):
    v: Tensor  # EMA of g^2
    u: Tensor  # EMA of squared updates


def scale_by_delta_ratio(rho: Scalar, eps: Scalar) -> Transform:
    """AdaDelta: d = sqrt(u + eps) / sqrt(v + eps) * g, with u the running average of past d^2 (units match theta)."""

    def init(theta: Tensor) -> DeltaState:
        return DeltaState(torch.zeros_like(theta), torch.zeros_like(theta))

    def update(g: Tensor, state: DeltaState, ctx: Context) -> tuple[Tensor, DeltaState]:
        v = ema(state.v, g * g, rho)
        d = (state.u + eps).sqrt() / (v + eps).sqrt() * g
        u = ema(state.u, d * d, rho)
        return d, DeltaState(v, u)

    return Transform(init, update)
