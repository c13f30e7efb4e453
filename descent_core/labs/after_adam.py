"""Labs of the After Adam part: ADOPT on Adam's counterexample, Schedule-Free against a tuned cosine decay, and
Prodigy's estimate of the distance to the solution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..optimizers import find_slot, make_stepper
from ..race import race
from ..schedules import Schedule
from .adam_family import adam_on_the_interval, counterexample_gradients
from .base import F64, LabResult, Param, Plot, RefLine, close, fmt, lab, log_indices, quadratic_landscape

# --------------------------------------------------------------------------------------------------------------
# Schedule-Free against a tuned cosine decay.

SF_GRID = np.geomspace(1e-3, 3.0, 15)


@lab(title="Schedule-Free against a tuned cosine decay", section="after-adam",
     claim="On a noisy ravine, Schedule-Free AdamW at a constant rate ends within a factor of 2 of AdamW with a "
           "cosine decay, each with its best rate from the same grid, and below AdamW at its best constant rate.",
     params=(Param("noise", "gradient noise σ", 0.5, 5.0, 2.0, step=0.5),
             Param("steps", "steps", 100, 1000, 300, integer=True, step=50),
             Param("replicas", "noise seeds per setting", 4, 32, 24, integer=True, step=4),
             Param("seed", "noise seed", 0, 99, 0, integer=True)))
def schedule_free_vs_cosine(noise: float, steps: int, replicas: int, seed: int) -> LabResult:
    """Three methods, each swept over the same learning-rate grid with ``replicas`` noise draws per rate, in one
    race per method; each method's score is its best mean final loss (Schedule-Free's at its averaged point x)."""
    lrs = np.repeat(SF_GRID, replicas)  # each run gets its own noise draws: replicas of one rate are independent
    methods = {"AdamW, constant rate": ("adamw", None), "AdamW, cosine decay": ("adamw", Schedule("cosine")),
               "Schedule-Free AdamW": ("sf_adamw", None)}
    means, best = {}, {}
    for name, (opt, schedule) in methods.items():
        result = race("ravine", [opt], steps=steps, hparams={opt: {"lr": lrs, "weight_decay": 0.0}}, noise=noise,
                      seed=seed, schedule=schedule, record="final", dtype=F64, device="cpu")
        final = np.where(result.diverged_at[0] >= 0, np.inf, result.final_loss()[0])
        means[name] = final.reshape(len(SF_GRID), replicas).mean(axis=1)
        k = int(np.argmin(means[name]))
        best[name] = (float(means[name][k]), float(SF_GRID[k]))
    sf, cosine, constant = (best[n][0] for n in ("Schedule-Free AdamW", "AdamW, cosine decay", "AdamW, constant rate"))
    ratio = sf / cosine
    passed = ratio <= 2.0 and sf < constant
    verdict = (f"Best mean final loss over {replicas} noise seeds: Schedule-Free AdamW {fmt(sf)} (at η = "
               f"{fmt(best['Schedule-Free AdamW'][1])}), AdamW with cosine decay {fmt(cosine)} (η = "
               f"{fmt(best['AdamW, cosine decay'][1])}), AdamW at a constant rate {fmt(constant)} (η = "
               f"{fmt(best['AdamW, constant rate'][1])}): Schedule-Free is at {fmt(ratio)} times the cosine run. "
               + ("It matches a tuned decay without knowing the horizon." if passed else
                  "Here it does not come within a factor of 2 of the decay, or not below the constant rate."))
    frame = pd.concat([pd.DataFrame({"learning rate η": SF_GRID, "mean final loss": np.where(np.isfinite(m), m, np.nan),
                                     "method": name}) for name, m in means.items()], ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"sf_loss": sf, "cosine_loss": cosine, "constant_loss": constant, "sf_over_cosine": ratio},
        expected={"ratio_at_most": 2.0},
        labels={"sf_loss": "Schedule-Free AdamW, best mean final loss", "cosine_loss": "AdamW + cosine, best mean final loss",
                "constant_loss": "AdamW constant, best mean final loss", "sf_over_cosine": "Schedule-Free / cosine",
                "ratio_at_most": "success: Schedule-Free / cosine at most"},
        verdict=verdict, frames={"sweep": frame},
        plots=(Plot("sweep", "learning rate η", "mean final loss", "method", "Final loss over the same grid",
                    x_log=True, y_log=True, mark="line_point",
                    colors=(("AdamW, constant rate", "adam"), ("AdamW, cosine decay", "adamw"),
                            ("Schedule-Free AdamW", "sf_adamw"))),),
        settings={"surface": "ravine f = ½(x² + 20y²), start (−9, 2.2)", "grid": "15 rates from 1e-3 to 3",
                  "score": "mean over seeds of the final loss (Schedule-Free: at x), diverged runs excluded",
                  "weight decay": 0.0, "cosine": "CosineAnnealingLR over the whole race, to 0",
                  "Schedule-Free": "schedulefree's defaults: β = 0.9, no warmup"},
    )


# --------------------------------------------------------------------------------------------------------------
# ADOPT on Reddi, Kale and Kumar's problem.

ADOPT_BETA2S = (0.1, 0.5, 0.9, 0.999)


def adopt_on_the_interval(grads: np.ndarray, lr: float, b1: float, b2: float, eps: float) -> np.ndarray:
    """x_t for ADOPT with step lr/√t and projection onto [−1, 1] after every step, from x_0 = 0.

    The update of ``transforms.scale_by_adopt`` written on plain floats (the gradients do not depend on x, and a
    float loop runs the 30,000 steps about ten times faster than a tensor one); ``adopt_engine_gap`` checks it
    against the engine's stepper: the first step only sets v = g², then n = clip(g/max(√v_{t−1}, ε), t^¼),
    m = EMA_β1(n), x ← x − lr_t m, and only then v = EMA_β2(v, g²)."""
    x, m, v = 0.0, 0.0, 0.0
    out = np.empty(len(grads) + 1)
    out[0] = x
    for t, g in enumerate(grads, start=1):
        if t == 1:
            v = g * g
        else:
            cap = t**0.25
            n = min(cap, max(-cap, g / max(math.sqrt(v), eps)))
            m += (1 - b1) * (n - m)
            x = min(1.0, max(-1.0, x - lr / math.sqrt(t) * m))
            v += (1 - b2) * (g * g - v)
        out[t] = x
    return out


def adopt_engine_gap(grads: np.ndarray, betas: list[tuple[float, float]], lr: float, eps: float) -> float:
    """Largest |x_fast − x_engine| over the given gradients, the engine being dc's ADOPT stepper with per-run
    betas, lr_scale = 1/√t and a clamp after every update."""
    stepper = make_stepper("adopt", lr=lr, eps=eps, betas=([b for b, _ in betas], [b for _, b in betas]))
    x = torch.zeros(len(betas), 1, dtype=F64)
    state, trail = stepper.init(x), [x]
    for t in range(1, len(grads) + 1):
        x, state = stepper.update(x, torch.full_like(x, grads[t - 1]), state, lr_scale=1.0 / math.sqrt(t))
        x = x.clamp(-1.0, 1.0)
        trail.append(x)
    engine = torch.stack(trail)[:, :, 0].numpy()
    return max(float(np.max(np.abs(adopt_on_the_interval(grads, lr, b1, b2, eps) - engine[:, j])))
               for j, (b1, b2) in enumerate(betas))


@lab(title="ADOPT converges where Adam does not", section="after-adam",
     claim="On Reddi, Kale and Kumar's problem with β1 = 0 and a short-memory β2, Adam is driven to the worst point "
           "+1 while ADOPT, which divides by the previous second moment, reaches the optimum −1 for every β2 tried.",
     params=(Param("C", "rare gradient C", 2.0, 10.0, 3.0, step=0.1),
             Param("b2", "β2 (β1 = 0)", 0.01, 0.999, 0.1, step=0.001,
                   help="The paper's setting for Adam's failure is 1/(1 + C²) = 0.1 for C = 3."),
             Param("steps", "steps", 300, 30000, 30000, integer=True, step=300)))
def adopt_counterexample(C: float, b2: float, steps: int) -> LabResult:
    """Adam and ADOPT with β1 = 0 on the online problem, at the chosen β2 and at a few others."""
    lr, adam_eps, adopt_eps = 0.1, 1e-8, 1e-6  # each optimizer's own default ε
    grads = counterexample_gradients(C, steps)
    adam = adam_on_the_interval(grads, lr, 0.0, b2, adam_eps, amsgrad=False)
    adopt = adopt_on_the_interval(grads, lr, 0.0, b2, adopt_eps)
    sweep = {b: (adam_on_the_interval(grads, lr, 0.0, b, adam_eps, False)[-1],
                 adopt_on_the_interval(grads, lr, 0.0, b, adopt_eps)[-1]) for b in ADOPT_BETA2S}
    gap = adopt_engine_gap(grads[:300], [(0.0, b2), (0.9, 0.9999)], lr, adopt_eps)
    adopt_worst = max(end for _, end in sweep.values())
    passed = adam[-1] >= 0.99 and adopt[-1] <= -0.9 and adopt_worst <= -0.9 and gap < 1e-9
    verdict = (f"After {steps:,} steps with β1 = 0 and β2 = {fmt(b2)}, Adam sits at x = {fmt(adam[-1])} and ADOPT at "
               f"x = {fmt(adopt[-1])} (the optimum is −1, the worst point +1). Across β2 = "
               + ", ".join(f"{b:g}" for b in ADOPT_BETA2S)
               + f", ADOPT's worst end point is {fmt(adopt_worst)}. "
               + ("Adam is driven to the wrong end; ADOPT is not, whatever β2." if passed else
                  ("Adam did not fail here (its failure needs a short-memory β2 and C > 2). " if adam[-1] < 0.99 else "")
                  + ("ADOPT did not reach the optimum here. " if adopt_worst > -0.9 or adopt[-1] > -0.9 else ""))
               + f" The fast loop agrees with the engine's ADOPT stepper to {fmt(gap)} over the first 300 steps.")
    keep = log_indices(steps + 1)
    keep = keep[keep > 0]
    frame = pd.concat([pd.DataFrame({"step": keep, "x": trace[keep], "optimizer": name})
                       for name, trace in (("Adam", adam), ("ADOPT", adopt))], ignore_index=True)
    ends = pd.DataFrame([{"β2": f"{b:g}", "final x": end, "optimizer": name} for b, (adam_end, adopt_end) in
                         sweep.items() for name, end in (("Adam", adam_end), ("ADOPT", adopt_end))])
    colors = (("Adam", "adam"), ("ADOPT", "adopt"))
    return LabResult(
        passed=passed,
        measured={"adam_final": float(adam[-1]), "adopt_final": float(adopt[-1]), "adopt_worst_final": adopt_worst,
                  "engine_gap": gap},
        expected={"optimum": -1.0, "worst_point": 1.0},
        labels={"adam_final": "Adam final x", "adopt_final": "ADOPT final x",
                "adopt_worst_final": "ADOPT's worst final x over β2 = " + ", ".join(f"{b:g}" for b in ADOPT_BETA2S),
                "engine_gap": "engine agreement (max |Δx|)", "optimum": "optimum x*", "worst_point": "worst point"},
        verdict=verdict, frames={"trace": frame, "ends": ends},
        plots=(Plot("trace", "step", "x", "optimizer", "x_t on [−1, 1]", x_log=True,
                    refs=(RefLine("y", -1.0, "optimum"),), colors=colors),
               Plot("ends", "β2", "final x", "optimizer", "Where each ends, per β2", mark="point",
                    refs=(RefLine("y", -1.0, "optimum"),), colors=colors)),
        settings={"problem": f"f_t(x) = {C:g}·x if t mod 3 == 1 else −x, x ∈ [−1, 1], x_0 = 0", "β1": 0.0,
                  "step size": "0.1/√t", "projection": "clamp to [−1, 1] after every step",
                  "ε": f"Adam {adam_eps:g}, ADOPT {adopt_eps:g} (each one's default)", "ADOPT's clip": "t^(1/4)",
                  "success means": "Adam ≥ 0.99, ADOPT ≤ −0.9 at every β2, fast loop = engine within 1e-9"},
    )


# --------------------------------------------------------------------------------------------------------------
# Prodigy's estimate of the distance to the solution.

PRODIGY_DISTANCES = (0.01, 0.1, 1.0, 10.0, 100.0)


@lab(title="Prodigy finds the distance to the solution", section="after-adam",
     claim="Started with an estimate of 10⁻⁶, Prodigy's d grows to within a small factor of the true distance "
           "‖θ0 − θ*‖ for starts from 0.01 to 100 away alike, without ever exceeding it, and every run converges.",
     params=(Param("lam_max", "steep curvature λmax", 1.0, 1000.0, 20.0, log=True),
             Param("d0", "initial estimate d0", 1e-8, 1e-2, 1e-6, log=True),
             Param("steps", "steps", 100, 3000, 1000, integer=True, step=100)))
def prodigy_distance(lam_max: float, d0: float, steps: int) -> LabResult:
    """Prodigy at its defaults (η = 1) from five starts at known distances on f = ½(x² + λmax y²), one batch."""
    distances = np.array(PRODIGY_DISTANCES)
    direction = np.array([1.0, 1.0]) / math.sqrt(2.0)
    theta = torch.tensor(distances[:, None] * direction, dtype=F64)
    surface = quadratic_landscape(1.0, lam_max)
    stepper = make_stepper("prodigy", d0=d0)
    state, estimates = stepper.init(theta), []
    for _ in range(steps):
        theta, state = stepper.update(theta, surface.grad(theta), state)
        estimates.append(find_slot(state.slots, "d").reshape(-1).numpy().copy())
    ratio = np.array(estimates) / distances  # (steps, starts): d_t / D
    final_distance = np.linalg.norm(theta.numpy(), axis=1) / distances
    low, high, peak = float(ratio[-1].min()), float(ratio[-1].max()), float(ratio.max())
    passed = low >= 0.1 and peak <= 1.0 and bool((final_distance < 1e-3).all())
    verdict = (f"After {steps} steps d/‖θ0 − θ*‖ is between {fmt(low)} and {fmt(high)} for starts at distances "
               + ", ".join(f"{d:g}" for d in PRODIGY_DISTANCES)
               + f"; its largest value on the way was {fmt(peak)}, and the runs ended at "
                 f"{fmt(float(final_distance.max()))} of their starting distance or closer. "
               + ("The estimate finds the scale of the distance, from below, whatever that scale."
                  if passed else "The estimate did not settle within a factor 10 below the true distance here, "
                                 "or a run did not converge."))
    t = np.arange(1, steps + 1)
    keep = log_indices(steps)
    frame = pd.concat([pd.DataFrame({"step": t[keep], "d / ‖θ0 − θ*‖": ratio[keep, j],
                                     "start": f"‖θ0 − θ*‖ = {d:g}"}) for j, d in enumerate(PRODIGY_DISTANCES)],
                      ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"ratio_low": low, "ratio_high": high, "ratio_peak": peak,
                  "worst_final_distance": float(final_distance.max())},
        expected={"ratio_floor": 0.1, "ratio_ceiling": 1.0},
        labels={"ratio_low": "smallest final d / distance", "ratio_high": "largest final d / distance",
                "ratio_peak": "largest d / distance on the way",
                "worst_final_distance": "largest final distance / starting distance",
                "ratio_floor": "success: final d / distance at least", "ratio_ceiling": "success: d / distance at most"},
        verdict=verdict, frames={"estimate": frame},
        plots=(Plot("estimate", "step", "d / ‖θ0 − θ*‖", "start", "Prodigy's estimate against the true distance",
                    x_log=True, y_log=True, refs=(RefLine("y", 1.0, "the true distance"),)),),
        settings={"surface": f"f = ½(x² + {lam_max:g}·y²), minimum at the origin",
                  "starts": "along the diagonal at distances " + ", ".join(f"{d:g}" for d in PRODIGY_DISTANCES),
                  "Prodigy": "prodigyopt's defaults: η = 1, β = (0.9, 0.999), β3 = √β2, no weight decay",
                  "success means": "every final d within [0.1, 1] of its distance, never above it, every run "
                                   "within 0.1% of the minimum"},
    )
