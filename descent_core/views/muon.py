"""Muon's orthogonalisation, looked at through the singular values of one small matrix.

Newton–Schulz never computes an SVD, yet it acts on singular values one by one: for X = U S Vᵀ, the step
X ← aX + b(XXᵀ)X + c(XXᵀ)²X equals U p(S) Vᵀ with the scalar quintic p(s) = a s + b s³ + c s⁵. After the first
division by ‖X‖_F every singular value lies in (0, 1], so five steps send s to p⁵(s), and the engine's
``newton_schulz`` (bfloat16, as torch.optim.Muon runs it) should agree with that map up to rounding. The exact
polar factor U Vᵀ, which the quintic approximates, has every singular value equal to 1.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from ..optimizers import OPTIMIZERS
from ..transforms.matrix import newton_schulz
from .base import Check, ViewResult, fmt

NS_COEFFICIENTS: tuple[float, float, float] = tuple(OPTIMIZERS["muon"].defaults["ns_coefficients"])  # (3.4445, −4.7750, 2.0315)
NS_EPS = 1e-7  # torch.optim.Muon's eps for the first normalisation
BAND = (0.68, 1.21)  # where p⁵ sends every s in [REACH, 1] (computed: 0.6800 to 1.2024)
REACH = 0.002  # the smallest normalised singular value five steps lift into the band (the exact threshold is 0.0015)
MAP_TOLERANCE = 0.1  # bfloat16 keeps 8 bits: ‖O − U p⁵(S) Vᵀ‖ / ‖U p⁵(S) Vᵀ‖ measured 0.02 to 0.07 on test matrices
SHAPES = ((1, 2), (4, 4), (8, 4), (4, 8), (16, 8), (32, 16))


def quintic(s, coefficients: tuple[float, float, float] = NS_COEFFICIENTS):
    a, b, c = coefficients
    return a * s + b * s**3 + c * s**5


def iterate_quintic(s: np.ndarray, steps: int) -> np.ndarray:
    """p applied 1..steps times: (steps, len(s))."""
    out, value = [], np.asarray(s, dtype=np.float64)
    for _ in range(steps):
        value = quintic(value)
        out.append(value)
    return np.stack(out)


def sample_matrix(rows: int, cols: int, spread: float, seed: int) -> torch.Tensor:
    """A seeded rows × cols matrix U S Vᵀ (random orthonormal U, V) whose singular values fall geometrically from 1
    to 1/spread (a 1 × n matrix has the single value 1): gradients of weight matrices are dominated by a few
    directions, and the spread sets how weak the weakest is."""
    generator = torch.Generator().manual_seed(int(seed))
    k = min(rows, cols)
    u, _ = torch.linalg.qr(torch.randn(rows, k, generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(cols, k, generator=generator, dtype=torch.float64))
    values = torch.tensor(np.geomspace(1.0, 1.0 / spread, k) if k > 1 else [1.0], dtype=torch.float64)
    return u @ torch.diag(values) @ v.T


def muon_spectrum(rows: int = 8, cols: int = 4, spread: float = 100.0, seed: int = 0, steps: int = 5) -> ViewResult:
    """Singular values of a test matrix G (normalised by ‖G‖_F, as Newton–Schulz's first step does), of the engine's
    ``newton_schulz(G)`` in bfloat16, of the polar factor U Vᵀ from an SVD, and the scalar map p¹..p^steps."""
    if (rows, cols) not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {(rows, cols)}")
    began = time.perf_counter()
    g = sample_matrix(rows, cols, spread, seed)
    orthogonalised = newton_schulz(g.float()[None], NS_COEFFICIENTS, steps, NS_EPS)[0].double()
    u, s, vh = torch.linalg.svd(g, full_matrices=False)
    polar = u @ vh
    runtime = time.perf_counter() - began

    normalised = (s / torch.linalg.vector_norm(g)).numpy()
    after = torch.linalg.svdvals(orthogonalised).numpy()
    polar_values = torch.linalg.svdvals(polar).numpy()
    predicted = iterate_quintic(normalised, steps)[-1]
    mapped = u @ torch.diag(torch.from_numpy(predicted)) @ vh  # U p(S) Vᵀ: what exact arithmetic would give
    map_error = float(torch.linalg.norm(orthogonalised - mapped) / torch.linalg.norm(mapped))

    index = np.arange(1, len(s) + 1)
    singular = pd.concat([
        pd.DataFrame({"i": index, "series": "G / ‖G‖_F (input)", "value": normalised}),
        pd.DataFrame({"i": index, "series": f"Newton–Schulz, {steps} steps (bf16)", "value": np.sort(after)[::-1]}),
        pd.DataFrame({"i": index, "series": "polar factor U Vᵀ (SVD)", "value": polar_values}),
    ], ignore_index=True)
    s_grid = np.geomspace(1e-4, 1.0, 240)
    curves = iterate_quintic(s_grid, steps)
    map_frame = pd.concat([pd.DataFrame({"s": s_grid, "k": k + 1, "value": curves[k]}) for k in range(steps)],
                          ignore_index=True)
    points = pd.DataFrame({"s": normalised, "value": np.sort(after)[::-1], "predicted": predicted})
    for frame in (singular, map_frame, points):
        for column in frame.select_dtypes("float64"):
            frame[column] = frame[column].astype(np.float32)

    checks = _checks(normalised, after, polar_values, map_error, s_grid, curves[-1], steps)
    return ViewResult(
        frames={"singular": singular, "map": map_frame, "points": points}, checks=checks,
        settings={"matrix": f"{rows}×{cols}, U S Vᵀ with singular values from 1 to 1/{spread:g} (seed {seed})"
                  if min(rows, cols) > 1 else f"{rows}×{cols}: one singular value (the races' 2-D point)",
                  "Newton–Schulz": f"descent_core.transforms.matrix.newton_schulz, {steps} steps, coefficients "
                  f"{NS_COEFFICIENTS}, bfloat16, eps {NS_EPS:g}", "polar factor": "U Vᵀ from torch.linalg.svd, float64"},
        facts={"p5_of_1": float(iterate_quintic(np.array([1.0]), 5)[-1, 0]), "slope_at_zero": NS_COEFFICIENTS[0],
               "gain_at_zero": NS_COEFFICIENTS[0] ** steps, "map_error": map_error, "fixed_point": _fixed_point()},
        runtime_s=runtime)


def _fixed_point() -> tuple[float, float]:
    """p's fixed point inside (0, 1] and p's slope there: |slope| > 1, so the iteration cannot settle on it."""
    a, b, c = NS_COEFFICIENTS
    roots = np.roots([c, 0.0, b, 0.0, a - 1.0])  # p(s)/s = 1
    s = float(min(r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real <= 1))
    return s, float(a + 3 * b * s**2 + 5 * c * s**4)


def _checks(normalised, after, polar_values, map_error, s_grid, last_curve, steps) -> tuple[Check, ...]:
    low, high = BAND
    inside = bool(((after >= low) & (after <= high)).all())
    polar_gap = float(np.abs(polar_values - 1.0).max())
    reach = s_grid >= REACH
    curve_low, curve_high = float(last_curve[reach].min()), float(last_curve[reach].max())
    weakest = float(normalised.min())
    return (
        Check("band", f"After Newton–Schulz every singular value lies in [{low:g}, {high:g}].", inside,
              f"after {steps} steps: {fmt(float(after.min()), 3)} to {fmt(float(after.max()), 3)}; the weakest input "
              f"value was {fmt(weakest, 3)}" + ("" if weakest >= REACH or inside else
                                                f", below {REACH:g}: too weak to be lifted in {steps} steps"),
              float(max(low - after.min(), after.max() - high, 0.0)), 0.0),
        Check("polar", "The exact polar factor U Vᵀ has every singular value equal to 1.", polar_gap <= 1e-12,
              f"largest |σ − 1| of U Vᵀ: {fmt(polar_gap, 2)}; Newton–Schulz's is {fmt(float(np.abs(after - 1).max()), 3)}",
              polar_gap, 1e-12),
        Check("scalar_map", "Newton–Schulz acts on each singular value alone, through the scalar map: its result is "
              f"U p^{steps}(S/‖G‖) Vᵀ, up to bfloat16 rounding (relative error ≤ {MAP_TOLERANCE:g}).",
              map_error <= MAP_TOLERANCE, f"‖O − U p^{steps}(S) Vᵀ‖ / ‖U p^{steps}(S) Vᵀ‖ = {fmt(map_error, 3)}"
              + ("" if map_error <= MAP_TOLERANCE or weakest >= 1e-3 else
                 f"; bfloat16's 8 bits cannot resolve a singular value {fmt(weakest, 2)} times the norm"),
              map_error, MAP_TOLERANCE),
        Check("map_band", f"Iterated {steps} times, p sends every s in [{REACH:g}, 1] into [{low:g}, {high:g}]: "
              "small values grow fast, and nothing settles at 1.",
              curve_low >= low and curve_high <= high,
              f"p^{steps} over the drawn s ≥ {REACH:g}: {fmt(curve_low, 4)} to {fmt(curve_high, 4)}; p^{steps}(1) = "
              f"{fmt(float(last_curve[-1]), 4)}", float(max(low - curve_low, curve_high - high, 0.0)), 0.0),
    )
