"""Matrix preconditioners: Shampoo's Kronecker-factored statistics and Muon's orthogonalised momentum."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, ema, inverse_root, precise_dtype


class ShampooState(NamedTuple):
    left: Tensor  # (B, m, m): eps I + sum G G^T  (for a vector: the full-matrix sum of g g^T)
    right: Tensor | None  # (B, n, n): eps I + sum G^T G  (matrices only)


def scale_by_shampoo(eps: Scalar) -> Transform:
    """Shampoo. A vector parameter: full-matrix AdaGrad, d = (eps I + sum g g^T)^(-1/2) g.
    A matrix parameter G: L += G G^T, R += G^T G, d = L^(-1/4) G R^(-1/4).

    The statistics are kept in float64 even for float32 parameters: after a few large gradients the sums are
    nearly rank one, and float32 rounds their small eigenvalue (eps) away, so its inverse root would explode.
    """

    def eps_in_precise_dtype(theta: Tensor):
        return eps.reshape(-1, 1, 1).to(precise_dtype(theta.device)) if isinstance(eps, Tensor) else eps

    def identity_stack(theta: Tensor, size: int) -> Tensor:
        eye = torch.eye(size, dtype=precise_dtype(theta.device), device=theta.device)
        return (eps_in_precise_dtype(theta) * eye).expand(theta.shape[0], size, size).clone()

    def init(theta: Tensor) -> ShampooState:
        if theta.ndim not in (2, 3):
            raise ValueError(f"shampoo handles vector or matrix parameters, got shape {tuple(theta.shape[1:])}")
        if theta.ndim == 2:
            return ShampooState(identity_stack(theta, theta.shape[1]), None)
        return ShampooState(identity_stack(theta, theta.shape[1]), identity_stack(theta, theta.shape[2]))

    def update(g: Tensor, state: ShampooState, ctx: Context) -> tuple[Tensor, ShampooState]:
        G = g.to(state.left.dtype)
        if g.ndim == 2:
            left = torch.baddbmm(state.left, G.unsqueeze(-1), G.unsqueeze(-2))  # + g g^T
            d = (inverse_root(left, 2.0) @ G.unsqueeze(-1)).squeeze(-1)
            return d.to(g.dtype), ShampooState(left, None)
        left = state.left + G @ G.transpose(-1, -2)
        right = state.right + G.transpose(-1, -2) @ G
        return (inverse_root(left, 4.0) @ G @ inverse_root(right, 4.0)).to(g.dtype), ShampooState(left, right)

    return Transform(init, update)


class MuonBuffer(NamedTuple):
    b: Tensor


def newton_schulz(x: Tensor, coefficients: tuple[float, float, float], steps: int, eps: float) -> Tensor:
    """Approximately orthogonalise each matrix of a batch (B, rows, cols): U S V^T -> U S' V^T, S' near 1.

    The quintic X <- a X + (b A + c A^2) X with A = X X^T, run in bfloat16 like torch.optim.Muon. Its
    coefficients (3.4445, -4.7750, 2.0315) maximise the slope at zero, so small singular values grow fast; the
    price is that the singular values end up scattered around 1 (about 0.7 to 1.2) instead of converging to it.
    """
    a, b, c = coefficients
    tall = x.shape[-2] > x.shape[-1]
    y = x.bfloat16()
    if tall:
        y = y.transpose(-1, -2)
    y = y / torch.linalg.vector_norm(y, dim=(-2, -1), keepdim=True).clamp(min=eps)
    for _ in range(steps):
        gram = y @ y.transpose(-1, -2)
        polynomial = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        y = torch.baddbmm(y, polynomial, y, beta=a)
    return y.transpose(-1, -2) if tall else y


def muon_shape_scale(rows: int, cols: int, adjust_lr_fn: str | None) -> float:
    """torch.optim.Muon's learning-rate adjustment for a rows x cols update."""
    if adjust_lr_fn in (None, "original"):
        return math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return 1.0


def scale_by_muon(momentum: Scalar, nesterov: bool, ns_coefficients: tuple[float, float, float], ns_steps: int,
                  eps: float, adjust_lr_fn: str | None) -> Transform:
    """Muon = momentum whose update matrix is orthogonalised by Newton-Schulz, then scaled by its shape.

    A 1-D parameter of length n is treated as a 1 x n matrix; on a 2-D point the step is then about
    0.68 * lr * u / ||u||: normalised Nesterov momentum.
    """

    def update(g: Tensor, state: MuonBuffer, ctx: Context) -> tuple[Tensor, MuonBuffer]:
        b = ema(state.b, g, momentum)
        u = torch.lerp(g, b, momentum) if nesterov else b  # g + mu (b - g): the Nesterov look-ahead
        as_matrix = u if u.ndim == 3 else u.unsqueeze(-2)
        orthogonal = newton_schulz(as_matrix, ns_coefficients, ns_steps, eps)
        d = orthogonal.reshape(u.shape).to(u.dtype)
        scale = muon_shape_scale(*as_matrix.shape[-2:], adjust_lr_fn)
        return (d if scale == 1.0 else d * scale), MuonBuffer(b)

    return Transform(lambda theta: MuonBuffer(torch.zeros_like(theta)), update)
