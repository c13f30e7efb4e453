"""Adafactor's pieces (Shazeer & Stern 2018, as torch.optim.Adafactor runs them): a second moment stored as its
row and column means, update clipping, and a step size relative to the parameter's own scale.

A vector parameter (a 2-D point is one: torch keeps a full second moment for a tensor of shape (2,)) keeps
v itself; a matrix (B, m, n) keeps a row vector (B, m, 1) and a column vector (B, 1, n), O(m + n) memory
instead of O(mn), and rebuilds v_hat = R C / mean(R).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Empty, Transform, per_run_norm


class FactoredMoments(NamedTuple):
    v: Tensor | None  # vectors: the full EMA of g^2
    row: Tensor | None  # matrices: EMA of the row means of g^2, (B, m, 1)
    col: Tensor | None  # matrices: EMA of the column means of g^2, (B, 1, n)


def machine_eps(eps1: Scalar | None, like: Tensor) -> Scalar:
    """torch's default eps1: the machine epsilon of the parameter's dtype."""
    return torch.finfo(like.dtype).eps if eps1 is None else eps1


def scale_by_factored_rms(beta2_decay: Scalar, eps1: Scalar | None) -> Transform:
    """d = g / sqrt(max(v_hat, eps1^2)), v <- lerp(v, g^2, t^beta2_decay): the averaging weight 1 - b2_t = t^-0.8
    starts at 1 (no bias correction needed) and decays, so v forgets less and less. Matrices store row and column
    means of g^2 and factor v_hat = R C / mean(R)."""

    def init(theta: Tensor) -> FactoredMoments:
        if theta.ndim == 2:
            return FactoredMoments(torch.zeros_like(theta), None, None)
        if theta.ndim == 3:
            return FactoredMoments(None, torch.zeros_like(theta[..., :1]), torch.zeros_like(theta[..., :1, :]))
        raise ValueError(f"adafactor handles vector or matrix parameters, got shape {tuple(theta.shape[1:])}")

    def update(g: Tensor, state: FactoredMoments, ctx: Context) -> tuple[Tensor, FactoredMoments]:
        weight = ctx.t**beta2_decay  # 1 - beta2_t
        eps = machine_eps(eps1, g)
        if state.v is not None:
            v = torch.lerp(state.v, g * g, weight)
            return g * v.clamp(min=eps * eps).rsqrt(), FactoredMoments(v, None, None)
        row = torch.lerp(state.row, torch.linalg.vector_norm(g, dim=-1, keepdim=True).square() / g.shape[-1], weight)
        col = torch.lerp(state.col, torch.linalg.vector_norm(g, dim=-2, keepdim=True).square() / g.shape[-2], weight)
        v_hat = row @ col / row.mean(dim=-2, keepdim=True).clamp(min=eps)
        return g * v_hat.clamp(min=eps * eps).rsqrt(), FactoredMoments(None, row, col)

    return Transform(init, update)


def clip_by_block_rms(d: Scalar) -> Transform:
    """Update clipping: u <- u / max(1, RMS(u) / d), per run, so no step is larger than d in RMS."""

    def update(u: Tensor, state: Empty, ctx: Context) -> tuple[Tensor, Empty]:
        return u / torch.clamp(per_run_norm(u) * (1.0 / (math.sqrt(u[0].numel()) * d)), min=1.0), state

    return Transform(lambda theta: Empty(), update)


def scale_by_relative_step(eps2: Scalar) -> Transform:
    """The signed step with a relative step size: u <- -max(eps2, RMS(theta)) * min(lr, 1/sqrt(t)) * u.
    The learning rate is a cap on the 1/sqrt(t) decay, not a factor, so the chain holds it (``applies_lr``)."""

    def update(u: Tensor, state: Empty, ctx: Context) -> tuple[Tensor, Empty]:
        lr, root_n = ctx.lr, math.sqrt(ctx.theta[0].numel())
        rho = torch.clamp(lr, max=1.0 / math.sqrt(ctx.t)) if isinstance(lr, Tensor) else min(lr, 1.0 / math.sqrt(ctx.t))
        # max(eps2, ||theta|| / sqrt(n)) rho = max(eps2 sqrt(n), ||theta||) rho / sqrt(n)
        alpha = torch.clamp(per_run_norm(ctx.theta), min=eps2 * root_n) * (-rho / root_n)
        return alpha * u, state

    return Transform(lambda theta: Empty(), update, applies_lr=True)
