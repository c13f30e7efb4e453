"""The quadratic bowl f = ½(λ1 x² + λ2 y²) seen two ways: a map of the convergence rate over (η, μ), and the error
split into its eigen-direction components.

The bowl is axis-aligned, so its eigenbasis is the coordinate basis and the component of the error e_t = θ_t along
eigen-direction i is simply coordinate i. In torch's form heavy ball gives each component the recurrence
e_{t+1} = (1 + μ − ηλ_i) e_t − μ e_{t−1} (after e_1 = (1 − ηλ_i) e_0), whose characteristic polynomial
z² − (1 + μ − ηλ_i) z + μ has roots of magnitude √μ when they are complex. GD is the case μ = 0: z = 1 − ηλ_i.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from .. import theory
from ..landscapes import Landscape, quadratic
from ..optimizers import make_stepper
from ..race import race
from .base import Check, ViewResult, decay_rate, fmt

F64 = torch.float64
START = (1.0, 1.0)  # equal components along both eigen-directions
RATE_MAP_STEPS = 1000
MU_MAX = 0.99
CAP = 1e30  # a component that grew past this is drawn at it (float32 payloads end at 3e38)
# Tolerances of the claims, each set by how the rate is measured (a window of finitely many steps), not by taste:
HB_OPTIMUM_TOLERANCE = 3e-3  # at the optimum the roots coincide and e_t ~ t r^t: the windows read r·3^(1/500)
GD_OPTIMUM_TOLERANCE = 1e-6  # real roots, one per direction: the window reads the rate exactly
THEORY_TOLERANCE = 1e-2  # complex roots make |e| ring under its envelope; a finite window averages that out only so far


CURVE_NAMES = ("divergence edge ηλmax = 2 + 2μ", "λmin critically damped: ηλmin = (1 − √μ)²",
               "λmax critically damped: ηλmax = (1 ± √μ)²")


def bowl(l1: float, l2: float) -> Landscape:
    """The bowl ½(λ1 x² + λ2 y²) as a landscape a race can run on (closed-form gradient), started at (1, 1)."""
    surface = quadratic(l1, l2)
    return Landscape("view_bowl", f"Bowl λ = ({l1:g}, {l2:g})", surface.loss, START, ((-1.5, 1.5), (-1.5, 1.5)),
                     ((0.0, 0.0),), **surface.closed_forms(), formula=rf"f=\tfrac12({l1:g}x^2+{l2:g}y^2)",
                     description="An axis-aligned quadratic: its eigen-directions are the coordinate axes.")


def heavy_ball_root(lr, mu, lam) -> np.ndarray:
    """The larger root magnitude of z² − (1 + μ − ηλ) z + μ: heavy ball's contraction per step along a direction of
    curvature λ (elementwise; μ = 0 gives GD's |1 − ηλ|)."""
    lr, mu, lam = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lr, mu, lam)))
    a = 1.0 + mu - lr * lam
    disc = a * a - 4.0 * mu
    return np.where(disc >= 0, (np.abs(a) + np.sqrt(np.maximum(disc, 0.0))) / 2.0, np.sqrt(np.maximum(mu, 0.0)))


def component_log_sizes(paths: np.ndarray) -> np.ndarray:
    """log of the size of each component's state (e_t, e_{t−1}), which a two-step recurrence carries: shaped like
    ``paths`` (steps + 1, ...). Unlike |e_t| it does not dip to zero when a ringing component changes sign."""
    previous = np.concatenate([paths[:1], paths[:-1]])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return 0.5 * np.log(paths**2 + previous**2)


# --------------------------------------------------------------------------------------------------------------
# The rate map.


def rate_grid(l_max: float, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres: η from 4.4/(grid·λmax) to 4.4/λmax (past the widest stable step, 3.98/λmax at μ = 0.99), and μ
    from 0 (plain GD) to 0.99."""
    lrs = np.arange(1, grid + 1) * (4.4 / l_max / grid)
    mus = np.linspace(0.0, MU_MAX, grid)
    return lrs, mus


def sweep_rates(l1: float, l2: float, lr: np.ndarray, mu: np.ndarray, steps: int) -> np.ndarray:
    """Heavy ball (torch's SGD with momentum, the registry's stepper) run with per-run (η, μ) from (1, 1) on the bowl,
    all runs in one batch: the measured contraction per step of each eigen-direction, (runs, 2)."""
    stepper = make_stepper("momentum", lr=lr, momentum=mu)
    curvature = torch.tensor([l1, l2], dtype=F64)
    theta = torch.tensor(START, dtype=F64).expand(len(lr), 2).clone()
    state = stepper.init(theta)
    log_sizes = torch.empty(steps + 1, len(lr), 2, dtype=torch.float32)  # float32 logs: 29 MB for 3,600 runs
    log_sizes[0] = theta.abs().log()
    with torch.inference_mode():
        for k in range(steps):
            previous = theta
            theta, state = stepper.update(theta, curvature * theta, state)
            log_sizes[k + 1] = (0.5 * (theta.square() + previous.square()).log()).float()
    return decay_rate(log_sizes.numpy().astype(np.float64))


def rate_map(l_min: float = 1.0, l_max: float = 100.0, grid: int = 60, steps: int = RATE_MAP_STEPS) -> ViewResult:
    """Convergence rate of heavy ball over a grid of (η, μ) on ½(λmin x² + λmax y²): grid² runs, plus GD's and heavy
    ball's optima, in one batched sweep of ``steps`` steps."""
    if not 0 < l_min < l_max:
        raise ValueError(f"need 0 < λmin < λmax, got ({l_min}, {l_max})")
    began = time.perf_counter()
    lrs, mus = rate_grid(l_max, grid)
    cell_lr, cell_mu = (a.ravel() for a in np.meshgrid(lrs, mus))
    gd_lr, gd_rate = theory.gd_best_step(l_min, l_max), theory.gd_rate(l_max / l_min)
    hb_lr, hb_mu, hb_rate = theory.heavy_ball_optimum(l_min, l_max)
    lr = np.concatenate([cell_lr, [gd_lr, hb_lr]])
    mu = np.concatenate([cell_mu, [0.0, hb_mu]])
    rates = sweep_rates(l_min, l_max, lr, mu, steps).max(axis=1)  # a run is as slow as its slowest direction
    predicted = np.maximum(heavy_ball_root(lr, mu, l_min), heavy_ball_root(lr, mu, l_max))
    runtime = time.perf_counter() - began

    cells, gd_measured, hb_measured = rates[:-2], float(rates[-2]), float(rates[-1])
    with np.errstate(divide="ignore"):
        steps_per_10 = np.where(cells < 1, np.log(10.0) / -np.log(np.maximum(cells, 1e-300)), np.nan)
    edge = cell_lr * l_max - (2.0 + 2.0 * cell_mu)  # > 0: outside heavy ball's stable region
    frame = pd.DataFrame({
        "lr": cell_lr.astype(np.float32), "mu": cell_mu.astype(np.float32),
        "rate": cells.astype(np.float32), "theory": predicted[:-2].astype(np.float32),
        "steps_per_10": np.maximum(steps_per_10, 1.0).astype(np.float32), "diverged": cells >= 1,
    })
    optima = pd.DataFrame({
        "name": ["GD's optimum", "heavy ball's optimum"], "lr": [gd_lr, hb_lr], "mu": [0.0, hb_mu],
        "rate": [gd_measured, hb_measured], "theory": [gd_rate, hb_rate],
    })
    checks = _rate_map_checks(frame, edge, gd_measured, gd_rate, hb_measured, hb_rate, hb_lr, hb_mu, lrs, mus)
    return ViewResult(
        frames={"cells": frame, "optima": optima, "curves": _curves(l_min, l_max, lrs[-1])},
        checks=checks,
        settings={"surface": f"f = ½({l_min:g}x² + {l_max:g}y²), start (1, 1)", "optimizer": "heavy ball (torch SGD "
                  "with momentum; μ = 0 is GD)", "runs": f"{grid}×{grid} grid + 2 optima = {len(lr):,} in one batch",
                  "steps": f"{steps:,}", "rate": "per eigen-direction, the decay of (e_t, e_{t−1}) over the second "
                  "half of the steps (before any underflow); a run's rate is its slowest direction's",
                  "dtype": "float64"},
        facts={"d_lr": float(lrs[1] - lrs[0]), "d_mu": float(mus[1] - mus[0]), "lr_max": float(lrs[-1]),
               "gd": (gd_lr, 0.0, gd_rate), "hb": (hb_lr, hb_mu, hb_rate), "runs": len(lr), "steps": steps},
        runtime_s=runtime,
    )


def _rate_map_checks(frame, edge, gd_measured, gd_rate, hb_measured, hb_rate, hb_lr, hb_mu, lrs, mus):
    rate, theory_rate = frame["rate"].to_numpy(np.float64), frame["theory"].to_numpy(np.float64)
    outside, inside = edge > 1e-9, edge < -1e-9
    grew, shrank = int((rate[outside] > 1).sum()), int((rate[inside] < 1).sum())
    converging = theory_rate < 1 - 1e-9
    worst = float(np.abs(rate - theory_rate)[converging].max()) if converging.any() else 0.0
    best = int(np.argmin(rate))
    hb_gap, gd_gap = abs(hb_measured - hb_rate), abs(gd_measured - gd_rate)
    return (
        Check("hb_optimum", "At heavy ball's optimum (η*, μ*) the error shrinks by (√κ−1)/(√κ+1) per step "
              f"(within {HB_OPTIMUM_TOLERANCE:g}).", hb_gap <= HB_OPTIMUM_TOLERANCE,
              f"measured {fmt(hb_measured)} at (η*, μ*) = ({fmt(hb_lr)}, {fmt(hb_mu)}); theory {fmt(hb_rate)}",
              hb_gap, HB_OPTIMUM_TOLERANCE),
        Check("gd_optimum", "At GD's optimum (η = 2/(λmin+λmax), μ = 0) it shrinks by (κ−1)/(κ+1) per step.",
              gd_gap <= GD_OPTIMUM_TOLERANCE, f"measured {fmt(gd_measured, 7)}; theory {fmt(gd_rate, 7)}",
              gd_gap, GD_OPTIMUM_TOLERANCE),
        Check("edge", "Every cell with ηλmax > 2 + 2μ diverged, and every cell with ηλmax < 2 + 2μ converged.",
              grew == int(outside.sum()) and shrank == int(inside.sum()),
              f"{grew} of {int(outside.sum())} cells beyond the edge grew; {shrank} of {int(inside.sum())} inside it "
              "shrank", float(outside.sum() - grew + inside.sum() - shrank), 0.0),
        Check("no_faster", "No cell of the grid converges faster than heavy ball's optimum (within "
              f"{HB_OPTIMUM_TOLERANCE:g}).", float(rate[best]) >= hb_rate - HB_OPTIMUM_TOLERANCE,
              f"fastest cell {fmt(float(rate[best]))} at (η, μ) = ({fmt(float(frame['lr'][best]))}, "
              f"{fmt(float(frame['mu'][best]))}), one grid step is ({fmt(lrs[1] - lrs[0])}, {fmt(mus[1] - mus[0])})",
              hb_rate - float(rate[best]), HB_OPTIMUM_TOLERANCE),
        Check("theory", "Every converging cell's rate is the larger root magnitude of z² − (1+μ−ηλᵢ)z + μ over both "
              f"directions, √μ wherever both ring (within {THEORY_TOLERANCE:g}).", worst <= THEORY_TOLERANCE,
              f"largest |measured − theory| over {int(converging.sum())} converging cells: {fmt(worst, 2)}",
              worst, THEORY_TOLERANCE),
    )


def _curves(l_min: float, l_max: float, lr_max: float) -> pd.DataFrame:
    """The theory drawn on the map, as (η, μ) polylines: the divergence edge ηλmax = 2 + 2μ, and where each direction
    is critically damped (its roots meet: ηλᵢ = (1 ± √μ)²). Between λᵢ's two branches that direction rings, with
    roots of magnitude √μ; λmin's lower branch and λmax's upper one cross at heavy ball's optimum."""
    mu = np.linspace(0.0, MU_MAX, 100)
    edge, low, high = CURVE_NAMES
    rows = [
        (edge, "edge", (2.0 + 2.0 * mu) / l_max),
        (low, "λmin lower", (1.0 - np.sqrt(mu)) ** 2 / l_min),
        (high, "λmax upper", (1.0 + np.sqrt(mu)) ** 2 / l_max),
        (high, "λmax lower", (1.0 - np.sqrt(mu)) ** 2 / l_max),
    ]
    frames = [pd.DataFrame({"curve": name, "branch": branch, "lr": lr, "mu": mu, "order": np.arange(len(mu))})
              for name, branch, lr in rows]
    out = pd.concat(frames, ignore_index=True)
    stable = out["lr"] * l_max <= 2.0 + 2.0 * out["mu"] + 1e-9  # theory beyond the edge has nothing left to explain
    return out[(out["lr"] <= lr_max * 1.0001) & stable].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# The eigenbasis view.


def eigenbasis(l1: float = 1.0, l2: float = 50.0, lr: float = 0.03, mu: float = 0.6, steps: int = 200) -> ViewResult:
    """GD (η) and heavy ball (η, μ) from (1, 1) on ½(λ1 x² + λ2 y²), in one race: each error component over steps,
    with its theory factor."""
    began = time.perf_counter()
    surface = bowl(l1, l2)
    result = race(surface, ["gd", "momentum"], steps=steps, hparams={"gd": {"lr": lr}, "momentum": {"lr": lr, "momentum": mu}},
                  dtype=F64, device="cpu")
    runtime = time.perf_counter() - began
    paths = result.paths[:, 0]  # (2 methods, steps + 1, 2 directions): the components, since the axes are the eigenbasis
    lams = np.array([l1, l2])
    factors = {"gradient descent": 1.0 - lr * lams, "heavy ball": heavy_ball_root(lr, mu, lams)}
    measured = {name: decay_rate(component_log_sizes(paths[i])) for i, name in enumerate(factors)}
    whole = {name: float(decay_rate(0.5 * np.log(np.sum(paths[i] ** 2 + np.concatenate([paths[i][:1], paths[i][:-1]]) ** 2,
                                                      axis=-1)))) for i, name in enumerate(factors)}
    t = np.arange(steps + 1)
    rows = []
    for i, name in enumerate(factors):
        for d, lam in enumerate(lams):
            size = np.abs(paths[i, :, d])
            rho = abs(float(factors[name][d]))
            if name == "gradient descent":
                envelope = abs(START[d]) * rho ** t  # GD's component is exactly e_0 (1 − ηλ)^t
            else:  # heavy ball's is a combination of two roots: draw the larger one's slope, touching the data from above
                half = (t >= steps // 2) & (size > 0)
                if rho > 0 and half.any():
                    with np.errstate(divide="ignore"):
                        offset = np.max(np.log(size[half]) - t[half] * math.log(rho))  # in logs: rho^t underflows
                    envelope = np.exp(np.clip(offset + t * math.log(rho), -700.0, 700.0))
                else:
                    envelope = np.zeros_like(size)
            rows.append(pd.DataFrame({"step": t.astype(np.int16), "method": name, "direction": f"λ{d + 1} = {lam:g}",
                                      "size": np.minimum(size, CAP).astype(np.float32),
                                      "theory": np.minimum(envelope, CAP).astype(np.float32)}))
    frame = pd.concat(rows, ignore_index=True)
    frame["method"] = pd.Categorical(frame["method"], categories=list(factors))
    table = pd.DataFrame([
        {"method": name, "direction": f"λ{d + 1} = {lam:g}",
         "theory factor": float(factors[name][d]),
         "roots": "real" if name == "gradient descent" else _root_kind(lr, mu, lam),
         "measured rate": float(measured[name][d])}
        for name in factors for d, lam in enumerate(lams)])
    checks = _eigenbasis_checks(paths, lams, lr, mu, factors, measured, whole)
    return ViewResult(
        frames={"components": frame, "factors": table}, checks=checks,
        settings={"surface": f"f = ½({l1:g}x² + {l2:g}y²), start (1, 1)", "gradient descent": f"η = {lr:g}",
                  "heavy ball": f"η = {lr:g}, μ = {mu:g} (torch SGD with momentum)", "steps": str(steps),
                  "dtype": "float64"},
        facts={"factors": {k: v.tolist() for k, v in factors.items()}, "whole": whole}, runtime_s=runtime)


def _root_kind(lr: float, mu: float, lam: float) -> str:
    a = 1.0 + mu - lr * lam
    disc = a * a - 4.0 * mu
    return "complex: rings, |z| = √μ" if disc < 0 else ("double" if disc == 0 else "real")


def _eigenbasis_checks(paths, lams, lr, mu, factors, measured, whole) -> tuple[Check, ...]:
    gd = paths[0]
    usable = (np.abs(gd[:-1]) > 1e-250) & np.isfinite(gd[1:]) & (np.abs(gd[:-1]) < 1e250)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.abs(gd[1:] / gd[:-1] - (1.0 - lr * lams))
    gd_worst = float(np.max(np.where(usable, deviation, 0.0)))
    hb_gap = np.abs(measured["heavy ball"] - factors["heavy ball"])
    hb_worst = float(hb_gap.max())
    predicted_growth = [abs(float(f)) > 1 + 1e-9 for name in factors for f in factors[name]]
    decided = [abs(abs(float(f)) - 1) > 1e-9 for name in factors for f in factors[name]]
    seen_growth = [float(r) > 1 for name in factors for r in measured[name]]
    agree = sum(p == s for p, s, d in zip(predicted_growth, seen_growth, decided) if d)
    slowest = {name: float(np.max(np.abs(factors[name]))) for name in factors}
    whole_gap = max(abs(whole[name] - slowest[name]) for name in factors)
    hb_text = ", ".join(f"λ{d + 1}: {fmt(float(measured['heavy ball'][d]))} vs {fmt(float(factors['heavy ball'][d]))}"
                        for d in range(len(lams)))
    return (
        Check("gd_factor", "GD multiplies the component along λᵢ by exactly 1 − ηλᵢ every step (so the one along λmax "
              "decays by |1 − ηλmax|).", gd_worst <= 1e-9,
              f"largest |e(t+1)/e(t) − (1 − ηλᵢ)|: {fmt(gd_worst, 2)}; factors "
              + ", ".join(fmt(float(f)) for f in factors["gradient descent"]), gd_worst, 1e-9),
        Check("hb_roots", "Heavy ball's component along λᵢ decays by the larger root magnitude of "
              f"z² − (1+μ−ηλᵢ)z + μ: √μ when the roots are complex (within {THEORY_TOLERANCE:g}).",
              hb_worst <= THEORY_TOLERANCE, f"measured vs theory, {hb_text}", hb_worst, THEORY_TOLERANCE),
        Check("growth", "A component grows exactly when theory says: GD's when ηλᵢ > 2, heavy ball's when "
              "ηλᵢ > 2 + 2μ.", agree == sum(decided),
              f"{agree} of {sum(decided)} components behave as predicted", float(sum(decided) - agree), 0.0),
        Check("slowest", "Each method's whole error ‖e‖ decays at its slowest component's rate "
              f"(within {THEORY_TOLERANCE:g}).", whole_gap <= THEORY_TOLERANCE,
              ", ".join(f"{name}: ‖e‖ {fmt(whole[name])} vs slowest {fmt(slowest[name])}" for name in factors),
              whole_gap, THEORY_TOLERANCE),
    )
