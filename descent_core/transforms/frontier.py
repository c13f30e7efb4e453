"""Frontier pieces on the diagonal: Lion's sign, LAMB's and LARS's per-layer trust ratios, Sophia's clipped
Newton step."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, ema, is_zero, per_run_norm, safe_ratio


class LionState(NamedTuple):
    m: Tensor


def scale_by_lion(b1: Scalar, b2: Scalar) -> Transform:
    """Lion: d = sign(b1 m + (1 - b1) g), then m <- b2 m + (1 - b2) g. Every coordinate moves by exactly lr."""

    def update(g: Tensor, state: LionState, ctx: Context) -> tuple[Tensor, LionState]:
        direction = torch.sign(ema(state.m, g, b1))
        return direction, LionState(ema(state.m, g, b2))

    return Transform(lambda theta: LionState(torch.zeros_like(theta)), update)


class TrustRatio(NamedTuple):
    """The trust ratio of the last step, per run: kept so it can be inspected, not memory the rule needs."""

    trust_ratio: Tensor
    diagnostic = True  # recorded with the state, but not counted as optimizer state


def _no_ratio_yet(theta: Tensor) -> TrustRatio:
    return TrustRatio(torch.ones_like(per_run_norm(theta)))


def scale_by_trust_ratio() -> Transform:
    """LAMB's layer-wise rescaling: d <- d * ||theta|| / ||d|| (1 when either norm is 0), per run."""

    def update(u: Tensor, state: TrustRatio, ctx: Context) -> tuple[Tensor, TrustRatio]:
        ratio = safe_ratio(per_run_norm(ctx.theta), per_run_norm(u))
        return u * ratio, TrustRatio(ratio)

    return Transform(_no_ratio_yet, update)


def scale_by_lars_trust(trust_coefficient: Scalar, weight_decay: Scalar) -> Transform:
    """LARS: d = eta * ratio * (g + wd w) with ratio = ||w|| / (||g|| + wd ||w||), norms per run (1 when a norm is 0)."""
    decays = not is_zero(weight_decay)

    def update(g: Tensor, state: TrustRatio, ctx: Context) -> tuple[Tensor, TrustRatio]:
        w_norm, g_norm = per_run_norm(ctx.theta), per_run_norm(g)
        if decays:
            ratio = safe_ratio(w_norm, g_norm + weight_decay * w_norm)
            return trust_coefficient * ratio * (g + weight_decay * ctx.theta), TrustRatio(ratio)
        ratio = safe_ratio(w_norm, g_norm)  # the same with wd = 0, two ops fewer
        return trust_coefficient * ratio * g, TrustRatio(ratio)

    return Transform(_no_ratio_yet, update)


class SophiaState(NamedTuple):
    m: Tensor
    h: Tensor


def scale_by_sophia(b1: Scalar, b2: Scalar, rho: Scalar, eps: Scalar, update_period: int) -> Transform:
    """Sophia: m <- EMA_b1(g); every k steps h <- EMA_b2(h_hat); d = clip(m / max(rho h, eps), 1).

    h starts at zero, so until the first curvature refresh (step k) every step is lr * sign(m). ``h_hat`` is the
    Hessian diagonal passed in ``ctx.curvature`` (Sophia-H with the exact diagonal on analytic surfaces); without
    one it falls back to the Gauss-Newton-style estimate g * g.
    """

    def update(g: Tensor, state: SophiaState, ctx: Context) -> tuple[Tensor, SophiaState]:
        m = ema(state.m, g, b1)
        h = state.h
        if ctx.t % update_period == 0:
            h = ema(h, curvature_estimate(ctx, g), b2)
        d = torch.clamp(m / torch.clamp(rho * h, min=eps), -1.0, 1.0)
        return d, SophiaState(m, h)

    return Transform(lambda theta: SophiaState(torch.zeros_like(theta), torch.zeros_like(theta)), update)


def curvature_estimate(ctx: Context, g: Tensor) -> Tensor:
    """The caller's Hessian diagonal (computed lazily: only refresh steps pay for it), else g * g."""
    if ctx.curvature is None:
        return g * g
    return ctx.curvature() if callable(ctx.curvature) else ctx.curvature
