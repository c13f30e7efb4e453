"""The numbers of the Frontier section (12): RAdam's un-normalised start and its rectifier, read off the engine's
RAdam on a constant gradient, and Muon's step on a point and its Newton-Schulz spread, read off the engine's
bfloat16 iteration."""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..optimizers import OPTIMIZERS, make_stepper
from ..transforms.matrix import newton_schulz
from . import quantity
from .basics import F64, constant_gradient_steps

# --------------------------------------------------------------------------------------------------------------
# RAdam: with a constant gradient g, m̂ = g and √v̂ = |g|, so a rectified step is exactly η ω_t and an
# un-normalised one is η |g|.


@functools.lru_cache(maxsize=1)
def radam_steps() -> np.ndarray:
    """|Δθ_t| / η for t = 1..5000 on a constant gradient of 100 (column 0) and of 1 (column 1)."""
    return constant_gradient_steps(make_stepper("radam", lr=1.0), [100.0, 1.0], 5000)


@quantity("how many of RAdam's first steps are un-normalised (step = η·|g| on a gradient of 100)")
def radam_unnormalised_steps() -> float:
    steps = radam_steps()[:, 0]
    return float(np.argmax(steps < 50.0))  # the first normalised step has size η ω_t, far below η·100


@quantity("RAdam's first step on a constant gradient of 100, in units of η (un-normalised: η·|g|)")
def radam_first_step_big() -> float:
    return float(radam_steps()[0, 0])


@quantity("RAdam's rectifier ω_t at t = 6, the first rectified step (step / η on a constant gradient)")
def radam_omega_6() -> float:
    return float(radam_steps()[5, 1])


@quantity("RAdam's rectifier at t = 100")
def radam_omega_100() -> float:
    return float(radam_steps()[99, 1])


@quantity("RAdam's rectifier at t = 1000")
def radam_omega_1000() -> float:
    return float(radam_steps()[999, 1])


@quantity("RAdam's rectifier at t = 5000")
def radam_omega_5000() -> float:
    return float(radam_steps()[4999, 1])


# --------------------------------------------------------------------------------------------------------------
# Muon on a 2-D point (a 1 x 2 matrix): one step from a zero buffer, for 2000 gradient directions and scales.


@functools.lru_cache(maxsize=1)
def muon_point_steps() -> np.ndarray:
    """|Δθ| / η of Muon's first step (no decay) on 2000 seeded gradients spanning six decades of size."""
    generator = torch.Generator().manual_seed(0)
    g = torch.randn(2000, 2, generator=generator, dtype=F64) * torch.logspace(-3, 3, 2000, dtype=F64)[:, None]
    stepper = make_stepper("muon", lr=1.0, weight_decay=0.0)
    theta = torch.zeros_like(g)
    new, _ = stepper.update(theta, g, stepper.init(theta))
    return (new - theta).norm(dim=1).numpy()


@quantity("Muon's shortest step on a point over 2000 gradient directions, in units of η")
def muon_point_step_min() -> float:
    return float(muon_point_steps().min())


@quantity("Muon's longest step on a point over 2000 gradient directions, in units of η")
def muon_point_step_max() -> float:
    return float(muon_point_steps().max())


@quantity("Muon's median step on a point over the same 2000 directions, in units of η")
def muon_point_step_median() -> float:
    return float(np.median(muon_point_steps()))


@functools.lru_cache(maxsize=2)
def newton_schulz_spectrum(rows: int, cols: int) -> np.ndarray:
    """Singular values after the engine's five bfloat16 Newton-Schulz steps on a seeded rows x cols Gaussian matrix
    (normalised first, as Muon does, so the largest starts below 1)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, rows, cols, generator=generator, dtype=F64)
    defaults = OPTIMIZERS["muon"].defaults
    y = newton_schulz(x, tuple(defaults["ns_coefficients"]), defaults["ns_steps"], defaults["eps"])
    return torch.linalg.svdvals(y[0].to(F64)).numpy()


@quantity("smallest singular value after Newton-Schulz on a random 256 x 64 matrix")
def muon_tall_sv_min() -> float:
    return float(newton_schulz_spectrum(256, 64).min())


@quantity("largest singular value after Newton-Schulz on a random 256 x 64 matrix")
def muon_tall_sv_max() -> float:
    return float(newton_schulz_spectrum(256, 64).max())


@quantity("smallest singular value after Newton-Schulz on a random 64 x 64 matrix (its smallest start near 0)")
def muon_square_sv_min() -> float:
    return float(newton_schulz_spectrum(64, 64).min())
