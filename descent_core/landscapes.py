"""Two-dimensional loss surfaces the races run on.

A ``Landscape`` maps points ``xy`` of shape (..., 2) to losses of shape (...). Gradients and Hessian diagonals
come from autograd unless a closed form is given (the built-in surfaces give one: a race calls them every step).
``tuned[opt_id]`` holds the hyperparameters that make that optimizer's trajectory legible on the surface; they
come from ``bench/tune_landscapes.py`` and are shown to users beside every race, so a race is fair and disclosed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple

import torch
from torch import Tensor

from .tuned import TUNED

SurfaceFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Landscape:
    id: str
    name: str
    loss: SurfaceFn
    start: tuple[float, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((x_min, x_max), (y_min, y_max))
    minima: tuple[tuple[float, float], ...] = ()
    tuned: Mapping[str, Mapping[str, float]] | None = None
    gradient: SurfaceFn | None = None  # closed-form gradient, (..., 2) -> (..., 2)
    # loss and gradient from one evaluation, when they share their work (a quadratic's loss is 1/2 x . H x, its
    # gradient H x): (..., 2) -> ((...), (..., 2)), bit for bit what ``loss`` and ``gradient`` return
    value_and_gradient: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None
    hessian_diagonal: SurfaceFn | None = None  # closed-form (d2f/dx2, d2f/dy2), (..., 2) -> (..., 2)
    description: str = ""
    formula: str = ""  # LaTeX
    log_scale: bool = True  # colour the surface by log(loss - min) rather than loss
    minimum_value: float = 0.0

    def __post_init__(self):
        (x0, x1), (y0, y1) = self.bounds
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"Landscape {self.id!r}: bounds must be increasing, got {self.bounds}")
        if not all(math.isfinite(v) for v in self.start):
            raise ValueError(f"Landscape {self.id!r}: start must be finite, got {self.start}")
        if self.tuned is None:
            object.__setattr__(self, "tuned", {})

    def grad(self, xy: Tensor) -> Tensor:
        if self.gradient is not None:
            return self.gradient(xy)
        return self.value_and_grad(xy)[1]  # by autograd

    @property
    def shares_value(self) -> bool:
        """True when the loss comes with the gradient at no extra cost: a shared closed form, or autograd, whose
        forward pass is the loss."""
        return self.value_and_gradient is not None or self.gradient is None

    def value_and_grad(self, xy: Tensor) -> tuple[Tensor, Tensor]:
        """(loss, gradient) at xy, computed together where they share work (``shares_value``)."""
        if self.value_and_gradient is not None:
            return self.value_and_gradient(xy)
        if self.gradient is not None:
            return self.loss(xy), self.gradient(xy)
        with torch.enable_grad():
            point = xy.detach().requires_grad_(True)
            value = self.loss(point)
            (g,) = torch.autograd.grad(value.sum(), point)
        return value.detach(), g

    def hessian_diag(self, xy: Tensor) -> Tensor:
        if self.hessian_diagonal is not None:
            return self.hessian_diagonal(xy)
        with torch.enable_grad():
            point = xy.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.loss(point).sum(), point, create_graph=True)
            columns = [torch.autograd.grad(g[..., i].sum(), point, retain_graph=True)[0][..., i] for i in range(2)]
        return torch.stack(columns, dim=-1).detach()

    def grid(self, resolution: int = 200, dtype=torch.float64) -> tuple[Tensor, Tensor, Tensor]:
        """Loss on a resolution x resolution grid over the bounds: (xs, ys, loss[y, x])."""
        (x0, x1), (y0, y1) = self.bounds
        xs = torch.linspace(x0, x1, resolution, dtype=dtype)
        ys = torch.linspace(y0, y1, resolution, dtype=dtype)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        return xs, ys, self.loss(torch.stack([xx, yy], dim=-1))


# --------------------------------------------------------------------------------------------------------------
# Quadratics: f = 1/2 (l1 u^2 + l2 w^2) in coordinates (u, w) rotated by `angle` from (x, y).


SPELLED_OUT_LIMIT = 2**21  # elements: a quadratic's Hessian diagonal is copied to xy's shape up to this size,
SPELLED_OUT_SHAPES = 4  # for this many shapes at once


class Quadratic(NamedTuple):
    loss: SurfaceFn
    gradient: SurfaceFn
    hessian_diagonal: SurfaceFn
    value_and_gradient: Callable[[Tensor], tuple[Tensor, Tensor]]

    def closed_forms(self) -> dict[str, Callable]:
        """The keyword arguments a ``Landscape`` takes for these closed forms."""
        return {"gradient": self.gradient, "hessian_diagonal": self.hessian_diagonal,
                "value_and_gradient": self.value_and_gradient}


def quadratic(l1: float, l2: float, angle: float = 0.0) -> Quadratic:
    """Loss, gradient, Hessian diagonal, and loss-with-gradient of a quadratic with eigenvalues (l1, l2), rotated
    by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    # Hessian H = R diag(l1, l2) R^T with R = [[c, -s], [s, c]].
    hxx, hxy, hyy = l1 * c * c + l2 * s * s, (l1 - l2) * c * s, l1 * s * s + l2 * c * c
    tables: dict[tuple, Tensor] = {}

    def table(xy: Tensor) -> Tensor:  # made once per dtype and device: races call the gradient every step
        key = (xy.dtype, xy.device)
        if key not in tables:
            values = [[hxx, hxy], [hxy, hyy]] if angle else [hxx, hyy]
            with torch.inference_mode(False):  # a plain tensor even when made inside a race: autograd may use it too
                tables[key] = torch.tensor(values, dtype=xy.dtype, device=xy.device)
        return tables[key]

    spelled_out: dict[tuple, Tensor] = {}

    def diagonal_like(xy: Tensor) -> Tensor:
        """(hxx, hyy) repeated to xy's shape, kept for the last few shapes asked (a race asks for the same two every
        step: its positions, and a block of recent ones): multiplying by a (2,) table broadcasts along a last axis
        of size 2, 4-6x slower on CPU than a same-shaped operand. Past a few million elements the copy would cost
        more memory than the broadcast costs time."""
        if xy.numel() > SPELLED_OUT_LIMIT:
            return table(xy)
        key = (xy.shape, xy.dtype, xy.device)
        if key not in spelled_out:
            if len(spelled_out) >= SPELLED_OUT_SHAPES:
                spelled_out.pop(next(iter(spelled_out)))  # the oldest
            with torch.inference_mode(False):
                spelled_out[key] = table(xy).expand(xy.shape).contiguous()
        return spelled_out[key]

    def gradient(xy: Tensor) -> Tensor:
        # H xy: one matmul, or, for an axis-aligned bowl, one elementwise product (several times faster on a
        # large sweep, where a 2 x 2 matmul is dominated by its set-up).
        return xy @ table(xy) if angle else xy * diagonal_like(xy)

    def value_and_gradient(xy: Tensor) -> tuple[Tensor, Tensor]:
        g = gradient(xy)
        terms = g * xy
        return 0.5 * (terms[..., 0] + terms[..., 1]), g  # the same sum as .sum(-1), 10x slower on a short axis

    def loss(xy: Tensor) -> Tensor:
        return value_and_gradient(xy)[0]

    def hessian_diagonal(xy: Tensor) -> Tensor:
        return torch.tensor([hxx, hyy], dtype=xy.dtype, device=xy.device).expand(xy.shape)

    return Quadratic(loss, gradient, hessian_diagonal, value_and_gradient)


def _saddle(xy: Tensor) -> Tensor:
    return xy[..., 0] ** 2 - xy[..., 1] ** 2


def _saddle_grad(xy: Tensor) -> Tensor:
    return torch.stack([2 * xy[..., 0], -2 * xy[..., 1]], dim=-1)


def _saddle_hess(xy: Tensor) -> Tensor:
    return torch.tensor([2.0, -2.0], dtype=xy.dtype, device=xy.device).expand(xy.shape)


_BEALE_C = (1.5, 2.25, 2.625)
_BEALE_N = (1.0, 2.0, 3.0)
_BEALE_TABLES: dict[tuple, tuple[Tensor, ...]] = {}


def _beale_constants(like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """c_n, n, n - 1 and max(n - 2, 0) as tensors, made once per dtype and device (races call this every step)."""
    key = (like.dtype, like.device)
    if key not in _BEALE_TABLES:
        with torch.inference_mode(False):  # plain tensors even when first made inside a race (autograd uses them too)
            c, n = like.new_tensor(_BEALE_C), like.new_tensor(_BEALE_N)
            _BEALE_TABLES[key] = (c, n, n - 1, torch.clamp(n - 2, min=0))
    return _BEALE_TABLES[key]


def _beale_terms(xy: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """x, y, y^n and the residuals r_n = c_n - x + x y^n for n = 1, 2, 3, stacked on a last axis of size 3."""
    c, n, _, _ = _beale_constants(xy)
    x, y = xy[..., :1], xy[..., 1:]
    y_pow = y**n
    return x, y, y_pow, c - x + x * y_pow


def _beale(xy: Tensor) -> Tensor:
    return (_beale_terms(xy)[3] ** 2).sum(-1)


def _beale_grad(xy: Tensor) -> Tensor:
    # df/dx = sum 2 r_n (y^n - 1);  df/dy = sum 2 r_n n x y^(n-1)
    x, y, y_pow, residual = _beale_terms(xy)
    _, n, n_minus_1, _ = _beale_constants(xy)
    dr_dy = n * x * y**n_minus_1
    return 2 * torch.cat([(residual * (y_pow - 1)).sum(-1, keepdim=True),
                          (residual * dr_dy).sum(-1, keepdim=True)], dim=-1)


def _beale_hess(xy: Tensor) -> Tensor:
    # d2f/dx2 = sum 2 (y^n - 1)^2;  d2f/dy2 = sum 2 [(n x y^(n-1))^2 + r_n n (n-1) x y^(n-2)]
    x, y, y_pow, residual = _beale_terms(xy)
    _, n, n_minus_1, n_minus_2 = _beale_constants(xy)
    dr_dy = n * x * y**n_minus_1
    d2r_dy2 = n * n_minus_1 * x * y**n_minus_2  # the n = 1 term is zero anyway
    return 2 * torch.cat([((y_pow - 1) ** 2).sum(-1, keepdim=True),
                          (dr_dy**2 + residual * d2r_dy2).sum(-1, keepdim=True)], dim=-1)


def _rosenbrock(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return torch.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], dim=-1)


def _rosenbrock_hess(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return torch.stack([2 - 400 * (y - 3 * x * x), torch.full_like(y, 200.0)], dim=-1)


def _himmelblau(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_grad(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    a, b = x * x + y - 11, x + y * y - 7
    return torch.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], dim=-1)


def _himmelblau_hess(xy: Tensor) -> Tensor:
    x, y = xy[..., 0], xy[..., 1]
    return torch.stack([12 * x * x + 4 * y - 42, 12 * y * y + 4 * x - 26], dim=-1)


def _rastrigin(xy: Tensor) -> Tensor:
    return 20 + (xy * xy - 10 * torch.cos(2 * math.pi * xy)).sum(-1)


def _rastrigin_grad(xy: Tensor) -> Tensor:
    return 2 * xy + 20 * math.pi * torch.sin(2 * math.pi * xy)


def _rastrigin_hess(xy: Tensor) -> Tensor:
    return 2 + 40 * math.pi**2 * torch.cos(2 * math.pi * xy)


RAVINE_EIGENVALUES = (1.0, 20.0)
RAVINE_START = (-9.0, 2.2)


def rotate(point: tuple[float, float], angle: float) -> tuple[float, float]:
    """The point turned by ``angle`` about the origin, as ``quadratic(..., angle)`` turns the surface: the rotated
    ravine starts where the ravine's start lands, so the two races differ only by the rotation."""
    c, s = math.cos(angle), math.sin(angle)
    x, y = point
    return (round(c * x - s * y, 12), round(s * x + c * y, 12))


def _build() -> dict[str, Landscape]:
    ravine = quadratic(*RAVINE_EIGENVALUES)
    rotated = quadratic(*RAVINE_EIGENVALUES, angle=math.pi / 4)
    surfaces = [
        Landscape("ravine", "Ravine (ill-conditioned quadratic)", ravine.loss, RAVINE_START, ((-10.0, 10.0), (-5.0, 5.0)),
                  ((0.0, 0.0),), **ravine.closed_forms(),
                  description="A bowl 20 times steeper across than along: condition number 20.",
                  formula=r"f(x,y)=\tfrac12\left(x^2+20\,y^2\right)"),
        Landscape("rotated_ravine", "Rotated ravine (45 degrees)", rotated.loss, rotate(RAVINE_START, math.pi / 4),
                  ((-10.0, 10.0), (-8.0, 8.0)),
                  ((0.0, 0.0),), **rotated.closed_forms(),
                  description="The same ravine turned by 45 degrees: its steep axis is no longer a coordinate axis, "
                              "so per-coordinate methods lose their advantage.",
                  formula=r"f=\tfrac12\left(u^2+20\,w^2\right),\ u=\tfrac{x+y}{\sqrt2},\ w=\tfrac{y-x}{\sqrt2}"),
        Landscape("saddle", "Saddle", _saddle, (1.5, 1e-3), ((-2.0, 2.0), (-2.0, 2.0)), (),
                  gradient=_saddle_grad, hessian_diagonal=_saddle_hess, log_scale=False,
                  description="Up along x, down along y: the start sits almost exactly on the ridge line y = 0, "
                              "where the gradient barely points towards the way out.",
                  formula=r"f(x,y)=x^2-y^2"),
        Landscape("beale", "Beale", _beale, (0.7, 1.4), ((-1.0, 4.5), (-1.5, 2.0)), ((3.0, 0.5),),
                  gradient=_beale_grad, hessian_diagonal=_beale_hess,
                  description="A flat plateau and a long curved canyon leading to the minimum at (3, 0.5).",
                  formula=r"f=(1.5-x+xy)^2+(2.25-x+xy^2)^2+(2.625-x+xy^3)^2"),
        Landscape("rosenbrock", "Rosenbrock", _rosenbrock, (-1.5, 2.0), ((-2.0, 2.0), (-1.0, 3.0)), ((1.0, 1.0),),
                  gradient=_rosenbrock_grad, hessian_diagonal=_rosenbrock_hess,
                  description="A narrow parabolic valley: finding it is easy, following it to (1, 1) is not.",
                  formula=r"f=(1-x)^2+100\,(y-x^2)^2"),
        Landscape("himmelblau", "Himmelblau", _himmelblau, (-0.3, -0.9), ((-5.0, 5.0), (-5.0, 5.0)),
                  ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
                  gradient=_himmelblau_grad, hessian_diagonal=_himmelblau_hess,
                  description="Four equal minima; the start sits near the central local maximum, so the optimizers "
                              "can choose different basins.",
                  formula=r"f=(x^2+y-11)^2+(x+y^2-7)^2"),
        Landscape("rastrigin", "Rastrigin", _rastrigin, (3.2, -2.6), ((-5.12, 5.12), (-5.12, 5.12)), ((0.0, 0.0),),
                  gradient=_rastrigin_grad, hessian_diagonal=_rastrigin_hess, log_scale=False,
                  description="An egg-crate of local minima on a bowl; the global minimum is at the origin.",
                  formula=r"f=20+\sum_{i}\left(x_i^2-10\cos 2\pi x_i\right)"),
    ]
    return {s.id: _with_tuning(s) for s in surfaces}


def _with_tuning(surface: Landscape) -> Landscape:
    return dataclasses.replace(surface, tuned=TUNED.get(surface.id, {}))


LANDSCAPES: dict[str, Landscape] = _build()


def get_landscape(landscape: str | Landscape) -> Landscape:
    if isinstance(landscape, Landscape):
        return landscape
    if landscape not in LANDSCAPES:
        raise ValueError(f"Unknown landscape {landscape!r}; valid ids: {', '.join(LANDSCAPES)}")
    return LANDSCAPES[landscape]
