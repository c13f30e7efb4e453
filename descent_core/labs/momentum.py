"""Labs of the guide's Momentum part: heavy ball's effective learning rate, and Nesterov's O(1/t²) against GD's
O(1/t) on Nesterov's own hard function."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..optimizers import make_stepper
from .base import F64, LabResult, Param, Plot, RefLine, close, fmt, lab, log_indices, lr_param, step_lengths


@lab(title="Momentum multiplies the learning rate", section="momentum",
     claim="On a steady slope the heavy-ball step settles at η/(1−μ) times the gradient, on a slope that flips sign "
           "at η/(1+μ): momentum amplifies persistent directions and damps oscillating ones.",
     params=(Param("mu", "momentum μ", 0.0, 0.99, 0.9, step=0.01),
             lr_param(low=1e-4, high=0.1, default=0.01),
             Param("steps", "steps", 10, 5000, 500, integer=True, step=10)))
def momentum_effective_lr(mu: float, lr: float, steps: int) -> LabResult:
    """Heavy ball on a constant slope and on a slope whose sign flips every step, next to plain SGD."""
    g = 1.0
    stepper = make_stepper("momentum", lr=lr, momentum=[0.0, mu, mu])
    sign = torch.tensor([[1.0], [1.0], [-1.0]], dtype=F64)  # run 2's gradient alternates
    lengths = step_lengths(stepper, torch.zeros(3, 1, dtype=F64),
                           lambda t, theta: g * sign ** (t + 1) * torch.ones_like(theta), steps)[:, :, 0]
    multiplier = lengths / (lr * g)  # (steps, 3): |Δθ_t| / (lr g)
    steady_const, steady_alt = float(multiplier[-1, 1]), float(multiplier[-1, 2])
    want_const, want_alt = 1.0 / (1.0 - mu), 1.0 / (1.0 + mu)
    passed = close(steady_const, want_const, rel=0.01) and close(steady_alt, want_alt, rel=0.01)
    filled = 1.0 - mu**steps
    verdict = (f"After {steps} steps the momentum step on a constant slope is {fmt(steady_const)} × η·g "
               f"(1/(1−μ) = {fmt(want_const)}), and on a slope that flips sign every step {fmt(steady_alt)} × η·g "
               f"(1/(1+μ) = {fmt(want_alt)}): the steady direction is amplified {fmt(steady_const / steady_alt)} times "
               "more than the bouncing one. "
               + ("Both match within 1%." if passed else
                  f"Not within 1%: the buffer is still filling (1 − μ^t = {fmt(filled)}); give it more steps."))
    t = np.arange(1, steps + 1)
    keep = log_indices(steps)
    runs = ("plain SGD (μ = 0)", f"momentum μ = {mu:g}, constant slope", f"momentum μ = {mu:g}, alternating slope")
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step / (η·g)": multiplier[keep, i], "run": run})
                       for i, run in enumerate(runs)], ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"constant_multiplier": steady_const, "alternating_multiplier": steady_alt,
                  "sgd_multiplier": float(multiplier[-1, 0])},
        expected={"constant_theory": want_const, "alternating_theory": want_alt, "sgd_theory": 1.0},
        labels={"constant_multiplier": "constant-slope multiplier",
                "alternating_multiplier": "alternating-slope multiplier",
                "sgd_multiplier": "plain SGD multiplier",
                "constant_theory": "1/(1−μ)", "alternating_theory": "1/(1+μ)", "sgd_theory": "plain SGD"},
        verdict=verdict, frames={"multiplier": frame},
        plots=(Plot("multiplier", "step", "step / (η·g)", "run", "Step length in units of η·g", x_log=True, y_log=True,
                    refs=(RefLine("y", want_const, "1/(1−μ)"), RefLine("y", want_alt, "1/(1+μ)"))),),
        settings={"gradient": "g = 1 on every step (run 3: +1, −1, +1, ...)", "optimizer": "torch-style SGD momentum, "
                  "b ← μb + g, θ ← θ − ηb, one batch of three runs", "tolerance": "1% relative"},
    )


def nesterov_worst_case(dim: int, L: float):
    """Nesterov's hard convex quadratic f = (L/8)(x₁² + Σ(xᵢ − xᵢ₊₁)² + x_d²) − (L/4)x₁: loss, gradient,
    minimiser and f*.

    Its Hessian is (L/4)·tridiag(−1, 2, −1), whose largest eigenvalue is below L, so f is L-smooth."""

    def grad(x: Tensor) -> Tensor:
        padded = torch.nn.functional.pad(x, (1, 1))
        g = (L / 4) * (2 * x - padded[:, :-2] - padded[:, 2:])
        g[:, 0] -= L / 4
        return g

    def loss(x: Tensor) -> Tensor:
        padded = torch.nn.functional.pad(x, (1, 1))
        return (L / 8) * (padded.diff(dim=1) ** 2).sum(1) - (L / 4) * x[:, 0]

    x_star = 1.0 - torch.arange(1, dim + 1, dtype=F64) / (dim + 1)
    f_star = -(L / 8) * float(x_star[0])
    return loss, grad, x_star, f_star


def nesterov_accelerated(x0: Tensor, grad, L: float, steps: int) -> list[Tensor]:
    """The accelerated iterates, batched over rows:
    y_k = x_k + ((k−1)/(k+2))(x_k − x_{k−1}), x_{k+1} = y_k − ∇f(y_k)/L, with x_{−1} = x_0."""
    previous, x, trail = x0, x0, [x0]
    for k in range(steps):
        y = x + ((k - 1) / (k + 2)) * (x - previous)
        previous, x = x, y - grad(y) / L
        trail.append(x)
    return trail


@lab(title="Nesterov's O(1/t²) against GD's O(1/t)", section="nesterov",
     claim="On Nesterov's hard convex quadratic, (t+1)²(f − f*) stays below 2L‖x0 − x*‖² for the accelerated "
           "method, while GD at 1/L only keeps t(f − f*) below L‖x0 − x*‖²/2.",
     params=(Param("L", "smoothness L", 0.1, 100.0, 1.0, log=True),
             Param("dim", "dimension d", 10, 1000, 200, integer=True, step=10),
             Param("steps", "steps", 10, 2000, 400, integer=True, step=10),
             Param("starts", "starts in the batch", 1, 16, 4, integer=True)))
def nesterov_rate(L: float, dim: int, steps: int, starts: int) -> LabResult:
    """Nesterov's accelerated schedule against GD at 1/L on Nesterov's hard quadratic, several starts in a batch."""
    loss, grad, x_star, f_star = nesterov_worst_case(dim, L)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.cat([torch.zeros(1, dim, dtype=F64), torch.randn(starts - 1, dim, generator=generator, dtype=F64)])
    radius2 = ((x0 - x_star) ** 2).sum(1).numpy()  # ‖x0 − x*‖² per run
    nesterov_gap = torch.stack([loss(x) for x in nesterov_accelerated(x0, grad, L, steps)]).numpy() - f_star
    gd = make_stepper("gd", lr=1.0 / L)
    x, state, gd_trail = x0, gd.init(x0), [loss(x0)]
    for _ in range(steps):
        x, state = gd.update(x, grad(x), state)
        gd_trail.append(loss(x))
    gd_gap = torch.stack(gd_trail).numpy() - f_star  # (steps + 1, runs)

    t = np.arange(steps + 1)[:, None]
    nesterov_scaled = (t + 1) ** 2 * nesterov_gap / (2 * L * radius2)  # ≤ 1 is the O(1/t²) bound
    gd_scaled = t[1:] * gd_gap[1:] / (L * radius2 / 2)  # ≤ 1 is the O(1/t) bound
    worst_nesterov, worst_gd = float(nesterov_scaled.max()), float(gd_scaled.max())
    passed = worst_nesterov <= 1 + 1e-9 and worst_gd <= 1 + 1e-9
    verdict = (f"Over {steps} steps and {starts} starts, (t+1)²·(f − f*) for Nesterov peaks at {fmt(worst_nesterov)} "
               f"of its bound 2L‖x0 − x*‖², and t·(f − f*) for GD at {fmt(worst_gd)} of L‖x0 − x*‖²/2. "
               + ("Both bounds hold. " if passed else "A bound was broken. ")
               + f"At the last step Nesterov's gap is {fmt(nesterov_gap[-1, 0])} against GD's {fmt(gd_gap[-1, 0])} "
                 "(start 0).")
    keep = log_indices(steps + 1)
    keep = keep[keep > 0]
    run0 = lambda a: a[keep, 0]  # noqa: E731
    tt = keep.astype(float)
    frames = {
        "t2": pd.concat([pd.DataFrame({"t": tt, "(t+1)²·(f − f*)": (tt + 1) ** 2 * run0(gap), "method": name})
                         for name, gap in (("Nesterov", nesterov_gap), ("GD at 1/L", gd_gap))], ignore_index=True),
        "t1": pd.concat([pd.DataFrame({"t": tt, "t·(f − f*)": tt * run0(gd_gap), "method": "GD at 1/L"}),
                         pd.DataFrame({"t": tt, "t·(f − f*)": tt * run0(nesterov_gap), "method": "Nesterov"})],
                        ignore_index=True),
    }
    colors = (("Nesterov", "nesterov"), ("GD at 1/L", "gd"))
    return LabResult(
        passed=passed,
        measured={"nesterov_bound_ratio": worst_nesterov, "gd_bound_ratio": worst_gd,
                  "nesterov_final_gap": float(nesterov_gap[-1, 0]), "gd_final_gap": float(gd_gap[-1, 0])},
        expected={"bound_ratio_max": 1.0, "nesterov_bound": float(2 * L * radius2[0]),
                  "gd_bound": float(L * radius2[0] / 2)},
        labels={"nesterov_bound_ratio": "max (t+1)²·gap / (2L‖x0−x*‖²), Nesterov",
                "gd_bound_ratio": "max t·gap / (L‖x0−x*‖²/2), GD",
                "nesterov_final_gap": "final gap, Nesterov (start 0)", "gd_final_gap": "final gap, GD (start 0)",
                "bound_ratio_max": "bound ratio at most", "nesterov_bound": "2L‖x0−x*‖² (start 0)",
                "gd_bound": "L‖x0−x*‖²/2 (start 0)"},
        verdict=verdict, frames=frames,
        plots=(Plot("t2", "t", "(t+1)²·(f − f*)", "method", "(t+1)²·(f − f*): bounded for Nesterov",
                    x_log=True, y_log=True,
                    refs=(RefLine("y", float(2 * L * radius2[0]), "2L‖x0 − x*‖²"),), colors=colors),
               Plot("t1", "t", "t·(f − f*)", "method", "t·(f − f*): bounded for GD", x_log=True, y_log=True,
                    refs=(RefLine("y", float(L * radius2[0] / 2), "L‖x0 − x*‖²/2"),), colors=colors)),
        settings={"function": f"Nesterov's hard quadratic in {dim} dimensions, L = {L:g}",
                  "starts": f"x0 = 0 and {starts - 1} seeded Gaussian starts (charts show x0 = 0)",
                  "Nesterov": "y_k = x_k + ((k−1)/(k+2))(x_k − x_{k−1}), x_{k+1} = y_k − ∇f(y_k)/L",
                  "GD": "descent_core's gd stepper at lr = 1/L"},
    )
