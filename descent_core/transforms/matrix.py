"""Matrix preconditioners: Shampoo's Kronecker-factored statistics, SOAP's Adam in their eigenbasis, and Muon's
orthogonalised momentum."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, ema, identity, inverse_root, per_run_rms, precise_dtype


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
    price is that the singular values end up scattered around 1 (about 0.7 to 1.2 for values that start within a
    few hundredfold of the largest) instead of converging to it; much smaller ones are not lifted in five steps.
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


class SoapState(NamedTuple):
    m: Tensor  # EMA of g, in the parameter's own basis
    v: Tensor  # EMA of the squared gradient *in the eigenbasis*
    left: Tensor | None  # (B, m, m): EMA of G G^T (a vector with precondition_1d: of g g^T); None: identity
    right: Tensor | None  # (B, n, n): EMA of G^T G (matrices only)
    q_left: Tensor | None  # eigenbasis of ``left``, columns by decreasing eigenvalue
    q_right: Tensor | None


def eigenbasis(matrix: Tensor) -> Tensor:
    """Eigenvectors of batched symmetric matrices, columns ordered by decreasing eigenvalue (SOAP's first basis).
    A run that already diverged gets the identity instead of stopping the others."""
    shifted = matrix + 1e-30 * identity(matrix)
    try:
        _, vectors = torch.linalg.eigh(shifted)
    except torch.linalg.LinAlgError:
        finite = torch.isfinite(matrix).all(dim=-1, keepdim=True).all(dim=-2, keepdim=True)
        _, vectors = torch.linalg.eigh(torch.where(finite, shifted, identity(matrix)))
    return vectors.flip(-1)


def refresh_eigenbasis(statistic: Tensor, basis: Tensor, v: Tensor, axis: int) -> tuple[Tensor, Tensor]:
    """One step of power iteration from the old basis, re-orthogonalised by QR: Q <- qr(S Q P), with P sorting the
    columns by the estimated eigenvalues diag(Q^T S Q), largest first; v's ``axis`` is permuted the same way.
    The QR runs in float32 even for float64 parameters, as pytorch_optimizer's SOAP does."""
    product = statistic @ basis
    order = torch.argsort((basis * product).sum(dim=-2), dim=-1, descending=True)  # (B, n)
    index_shape = [v.shape[0]] + [1] * (v.ndim - 1)
    index_shape[axis] = order.shape[-1]
    v = v.gather(axis, order.reshape(index_shape).expand_as(v))
    power = product.gather(-1, order.unsqueeze(-2).expand_as(product))
    q, _ = torch.linalg.qr(power.to(torch.float32))
    return q.to(product.dtype), v


def scale_by_soap(b1: Scalar, b2: Scalar, shampoo_beta: Scalar | None, eps: Scalar, precondition_frequency: int,
                  precondition_1d: bool, correct_bias: bool, normalize_gradient: bool) -> Transform:
    """SOAP (Vyas et al. 2024) = Adam run in the eigenbasis of Shampoo's preconditioner, as pytorch_optimizer 4.1.0
    steps it.

    Shampoo's statistics L, R (here EMAs with shampoo_beta, b2 by default, instead of sums) have eigenbases
    Q_L, Q_R. SOAP rotates the gradient into them, G' = Q_L^T G Q_R, keeps Adam's second moment v there, and rotates
    the normalised step back: d = Q_L (Q_L^T M Q_R / (sqrt(v) + eps)) Q_R^T, with M the EMA of G in the original
    basis. The bases are refreshed every ``precondition_frequency`` steps by one power iteration and a QR, not by
    an eigendecomposition. The first step only collects statistics (no move); step t then debiases with t - 1:
    d *= sqrt(1 - b2^(t-1)) / (1 - b1^(t-1)) with eps added before that correction (``correct_bias``).

    Layout: a 2-D point is a vector of shape (2,), as the reference sees it. A vector is not rotated unless
    ``precondition_1d`` (the reference's default is False, so SOAP on a point is that delayed Adam); with it, L is
    the 2 x 2 EMA of g g^T, the statistic of Shampoo's full-matrix form. A matrix (B, m, n) uses both sides.
    """
    sb = b2 if shampoo_beta is None else shampoo_beta

    def matrix_scalar(x: Scalar) -> Scalar:  # a per-run (B, 1) or (B, 1, 1) value, shaped for (B, k, k)
        return x.reshape(-1, 1, 1) if isinstance(x, Tensor) else x

    keep = 1.0 - matrix_scalar(sb)

    def init(theta: Tensor) -> SoapState:
        if theta.ndim not in (2, 3):
            raise ValueError(f"soap handles vector or matrix parameters, got shape {tuple(theta.shape[1:])}")
        zeros = torch.zeros_like(theta)
        batch = theta.shape[0]
        square = lambda size: theta.new_zeros(batch, size, size)  # noqa: E731
        if theta.ndim == 3:
            return SoapState(zeros, zeros.clone(), square(theta.shape[1]), square(theta.shape[2]), None, None)
        if precondition_1d:
            return SoapState(zeros, zeros.clone(), square(theta.shape[1]), None, None, None)
        return SoapState(zeros, zeros.clone(), None, None, None, None)

    def statistics(g: Tensor, state: SoapState) -> tuple[Tensor | None, Tensor | None]:
        if state.left is None:
            return None, None
        if g.ndim == 2:
            return torch.lerp(state.left, g.unsqueeze(-1) * g.unsqueeze(-2), keep), None
        return (torch.lerp(state.left, g @ g.transpose(-1, -2), keep),
                torch.lerp(state.right, g.transpose(-1, -2) @ g, keep))

    def rotate(x: Tensor, q_left: Tensor | None, q_right: Tensor | None) -> Tensor:  # into the eigenbasis
        if q_left is None:
            return x
        if x.ndim == 2:
            return (x.unsqueeze(-2) @ q_left).squeeze(-2)
        return q_left.transpose(-1, -2) @ x @ q_right

    def rotate_back(x: Tensor, q_left: Tensor | None, q_right: Tensor | None) -> Tensor:
        if q_left is None:
            return x
        if x.ndim == 2:
            return (q_left @ x.unsqueeze(-1)).squeeze(-1)
        return q_left @ x @ q_right.transpose(-1, -2)

    def update(g: Tensor, state: SoapState, ctx: Context) -> tuple[Tensor, SoapState]:
        left, right = statistics(g, state)
        if ctx.t == 1:  # statistics only, and the first bases from an eigendecomposition
            q_left = None if left is None else eigenbasis(left)
            q_right = None if right is None else eigenbasis(right)
            return torch.zeros_like(g), SoapState(state.m, state.v, left, right, q_left, q_right)
        q_left, q_right = state.q_left, state.q_right
        m = ema(state.m, g, b1)
        v = ema(state.v, rotate(g, q_left, q_right).square(), b2)
        d = rotate_back(rotate(m, q_left, q_right) / (v.sqrt() + eps), q_left, q_right)
        if normalize_gradient:
            d = d / (per_run_rms(d) + eps)
        if correct_bias:
            s = ctx.t - 1
            d = d * ((1.0 - b2**s) ** 0.5 / (1.0 - b1**s))
        if left is not None and (ctx.t - 1) % precondition_frequency == 0:
            q_left, v = refresh_eigenbasis(left, q_left, v, 1)
            if right is not None:
                q_right, v = refresh_eigenbasis(right, q_right, v, 2)
        return d, SoapState(m, v, left, right, q_left, q_right)

    return Transform(init, update)
