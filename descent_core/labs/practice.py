"""Labs of the guide's Practice part: warmup against Adam's large first steps, and clipping with the linear
scaling rule for batch size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..landscapes import quadratic
from ..optimizers import make_stepper
from ..race import clip_by_global_norm, race
from ..schedules import Schedule
from .base import F64, DEVICE, LabResult, Param, Plot, RefLine, close, fmt, lab, lr_param

WARMUP_START = (1.0, 0.5)


@lab(title="Adam's first steps with and without warmup", section="schedules",
     claim="On a noisy problem Adam's earliest steps are its largest, each a noisy sample normalised by itself; a "
           "linear warmup keeps them short until the averages have settled.",
     params=(lr_param("lr", "peak learning rate η", 0.01, 2.0, 0.5),
             Param("noise", "gradient noise σ", 0.5, 20.0, 3.0, step=0.5),
             Param("warmup_steps", "warmup steps", 5, 200, 50, integer=True, step=5),
             Param("seed", "noise seed", 0, 99, 0, integer=True)))
def warmup(lr: float, noise: float, warmup_steps: int, seed: int) -> LabResult:
    """Adam on the noisy ravine from near its minimum, with a constant rate and with a linear warmup."""
    steps, early = 300, 10
    schedules = {"no warmup": Schedule(), "linear warmup": Schedule("warmup", warmup_steps=warmup_steps,
                                                                      start_factor=0.01)}
    lengths, losses = {}, {}
    for name, schedule in schedules.items():
        result = race("ravine", ["adam"], steps=steps, starts=[WARMUP_START], hparams={"adam": {"lr": lr}},
                      noise=noise, seed=seed, schedule=schedule, dtype=F64, device=DEVICE)
        lengths[name] = np.linalg.norm(np.diff(result.paths[0, 0], axis=0), axis=-1) / lr
        losses[name] = result.losses[0, 0]
    late = slice(steps // 2, steps)
    ratio = {name: float(lengths[name][:early].mean() / lengths[name][late].mean()) for name in schedules}
    first = {name: float(lengths[name][0]) for name in schedules}
    want_first = {"no warmup": math.sqrt(2), "linear warmup": 0.01 * math.sqrt(2)}
    first_ok = all(close(first[n], want_first[n], rel=1e-6) for n in schedules)
    passed = first_ok and ratio["no warmup"] >= 1.5 and ratio["linear warmup"] <= 1.0
    verdict = (f"Without warmup Adam's first {early} steps average {fmt(ratio['no warmup'])} times its late steps "
               f"(the very first one is {fmt(first['no warmup'])}·η, one noisy sample normalised by itself); with a "
               f"{warmup_steps}-step warmup they average {fmt(ratio['linear warmup'])} times the late steps. "
               + ("Warmup removes the large, poorly informed early steps." if passed else
                  "Warmup did not keep the early steps below the late ones here: lengthen it or add noise."))
    t = np.arange(1, steps + 1)
    frames = {
        "steps": pd.concat([pd.DataFrame({"step": t, "step length / η": lengths[n], "schedule": n})
                            for n in schedules], ignore_index=True),
        "loss": pd.concat([pd.DataFrame({"step": np.arange(steps + 1), "loss": losses[n], "schedule": n})
                           for n in schedules], ignore_index=True),
    }
    return LabResult(
        passed=passed,
        measured={"ratio_no_warmup": ratio["no warmup"], "ratio_warmup": ratio["linear warmup"],
                  "first_no_warmup": first["no warmup"], "first_warmup": first["linear warmup"]},
        expected={"first_no_warmup_theory": want_first["no warmup"], "first_warmup_theory": want_first["linear warmup"],
                  "ratio_no_warmup_min": 1.5, "ratio_warmup_max": 1.0},
        labels={"ratio_no_warmup": "early/late step ratio, no warmup", "ratio_warmup": "early/late step ratio, warmup",
                "first_no_warmup": "first step / η, no warmup", "first_warmup": "first step / η, warmup",
                "first_no_warmup_theory": "first step / η, no warmup (√2: η per coordinate)",
                "first_warmup_theory": "first step / η, warmup (0.01·√2)",
                "ratio_no_warmup_min": "no warmup: early/late at least",
                "ratio_warmup_max": "warmup: early/late at most"},
        verdict=verdict, frames=frames,
        plots=(Plot("steps", "step", "step length / η", "schedule", "Adam's step length (in units of the peak η)",
                    y_log=True, refs=(RefLine("x", warmup_steps, "end of warmup"),)),
               Plot("loss", "step", "loss", "schedule", "Loss", y_log=True)),
        settings={"surface": f"ravine f = ½(x² + 20y²), start {WARMUP_START} (near the minimum)", "steps": steps,
                  "gradient noise": f"σ = {noise:g}, seed {seed}, the same draws for both runs",
                  "warmup": f"LinearLR from 0.01·η to η over {warmup_steps} steps", "early": f"first {early} steps",
                  "late": f"steps {steps // 2} to {steps}"},
    )


@lab(title="Clipping and the linear scaling rule", section="schedules",
     claim="Scaling the batch by k and the learning rate by k lands where the small batch does after the same "
           "number of examples, while clipping turns every oversized step into one of length η·c.",
     params=(lr_param(low=1e-3, high=0.05, default=0.01),
             Param("batch", "small batch size B", 1, 64, 4, integer=True),
             Param("k", "batch multiplier k", 2, 16, 4, integer=True),
             Param("sigma", "per-example gradient noise σ", 0.0, 20.0, 8.0, step=0.5),
             Param("clip", "clipping threshold c", 0.1, 50.0, 5.0, log=True),
             Param("big_steps", "large-batch steps", 10, 200, 60, integer=True, step=10),
             Param("seed", "noise seed", 0, 99, 0, integer=True)))
def clipping_scaling(lr: float, batch: int, k: int, sigma: float, clip: float, big_steps: int, seed: int) -> LabResult:
    """SGD on a noisy ravine where a batch of size B has gradient noise σ/√B. Four configurations, R seeds each, in
    one batch: small batch at η; k-times batch at kη (linear scaling); k-times batch at η; small batch at η with
    clipping. Compared after the same number of examples."""
    seeds = 32
    bowl = quadratic(1.0, 20.0)
    loss_fn, grad_fn = bowl.loss, bowl.gradient
    configs = [("batch B, η", lr, batch, math.inf), (f"batch {k}B, {k}η", k * lr, k * batch, math.inf),
               (f"batch {k}B, η", lr, k * batch, math.inf), (f"batch B, η, clip {clip:g}", lr, batch, clip)]
    per_run = lambda values: torch.tensor(np.repeat(values, seeds), dtype=F64)[:, None]  # noqa: E731
    noise_std = per_run([sigma / math.sqrt(b) for _, _, b, _ in configs])
    clips = per_run([c for *_, c in configs])
    stepper = make_stepper("sgd", lr=np.repeat([c[1] for c in configs], seeds))
    theta = torch.tensor([[-9.0, 2.2]], dtype=F64).repeat(len(configs) * seeds, 1)
    state, generator = stepper.init(theta), torch.Generator().manual_seed(seed)
    losses, raw_norms, lengths = [loss_fn(theta)], [], []
    for _ in range(k * big_steps):
        g = grad_fn(theta) + noise_std * torch.randn(theta.shape, generator=generator, dtype=F64)
        raw_norms.append(g.norm(dim=1))
        new, state = stepper.update(theta, clip_by_global_norm(g, clips), state)
        lengths.append((new - theta).norm(dim=1))
        theta = new
        losses.append(loss_fn(theta))
    shape = (-1, len(configs), seeds)
    L = torch.stack(losses).reshape(shape).numpy()
    norms, steps_ = torch.stack(raw_norms).reshape(shape).numpy(), torch.stack(lengths).reshape(shape).numpy()

    with np.errstate(over="ignore", invalid="ignore"):
        mean_loss = np.nanmean(np.where(np.isfinite(L), L, np.inf), axis=2)  # (steps + 1, configs)
    small, scaled, unscaled = mean_loss[k * big_steps, 0], mean_loss[big_steps, 1], mean_loss[big_steps, 2]
    clipped = norms[:, 3] > clip
    clip_error = float(np.max(np.abs(steps_[:, 3][clipped] / (lr * clip) - 1))) if clipped.any() else 0.0
    free_error = float(np.max(np.abs(steps_[:, 3][~clipped] / (lr * norms[:, 3][~clipped]) - 1))) \
        if (~clipped).any() else 0.0
    scaled_ratio = float(scaled / small)
    unscaled_ratio = float(unscaled / scaled)
    clip_ok = clip_error < 1e-5 and free_error < 1e-9
    scale_ok = 0.5 <= scaled_ratio <= 2.0 and unscaled_ratio >= 2.0
    passed = clip_ok and scale_ok
    verdict = (f"After the same {k * big_steps * batch:,} examples, batch {k}B at {k}η reaches a mean loss of "
               f"{fmt(scaled)} against {fmt(small)} for batch B at η (ratio {fmt(scaled_ratio)}); batch {k}B at an "
               f"unscaled η is stuck at {fmt(unscaled)}. "
               + (f"Clipping at c = {clip:g} fired on {clipped.mean():.0%} of steps, and every clipped step had length "
                  f"η·c to within {fmt(clip_error)}. " if clipped.any() else
                  f"Clipping at c = {clip:g} never fired: lower c to see it. ")
               + ("The linear scaling rule holds here and clipping makes SGD take fixed-length steps."
                  if passed else
                  ("The scaled run is not within a factor 2 of the small-batch run" if not 0.5 <= scaled_ratio <= 2
                   else "Scaling the batch without scaling η did not fall clearly behind")
                  + (f" (kη = {fmt(k * lr)} against the stability edge 2/λmax = 0.1)." if k * lr >= 0.1 else ".")))
    examples = lambda n: np.arange(n + 1) * batch  # noqa: E731
    rows = [pd.DataFrame({"examples seen": examples(k * big_steps), "mean loss": mean_loss[:, 0], "run": configs[0][0]}),
            pd.DataFrame({"examples seen": np.arange(big_steps + 1) * k * batch,
                          "mean loss": mean_loss[: big_steps + 1, 1], "run": configs[1][0]}),
            pd.DataFrame({"examples seen": np.arange(big_steps + 1) * k * batch,
                          "mean loss": mean_loss[: big_steps + 1, 2], "run": configs[2][0]}),
            pd.DataFrame({"examples seen": examples(k * big_steps), "mean loss": mean_loss[:, 3], "run": configs[3][0]})]
    t = np.arange(1, k * big_steps + 1)
    step_rows = [pd.DataFrame({"step": t, "step length": steps_[:, i, 0], "run": configs[i][0]}) for i in (0, 3)]
    return LabResult(
        passed=passed,
        measured={"loss_small": float(small), "loss_scaled": float(scaled), "loss_unscaled": float(unscaled),
                  "scaled_over_small": scaled_ratio, "unscaled_over_scaled": unscaled_ratio,
                  "clipped_fraction": float(clipped.mean()), "clip_error": clip_error},
        expected={"scaled_over_small_max": 2.0, "unscaled_over_scaled_min": 2.0, "clipped_length": lr * clip},
        labels={"loss_small": "loss, batch B at η", "loss_scaled": f"loss, batch {k}B at {k}η",
                "loss_unscaled": f"loss, batch {k}B at η", "scaled_over_small": "scaled / small",
                "unscaled_over_scaled": "unscaled / scaled", "clipped_fraction": "fraction of steps clipped",
                "clip_error": "clipped steps: max |length/(η·c) − 1|",
                "scaled_over_small_max": "scaled / small within",
                "unscaled_over_scaled_min": "unscaled / scaled at least",
                "clipped_length": "clipped step length η·c"},
        verdict=verdict,
        frames={"loss": pd.concat(rows, ignore_index=True), "steps": pd.concat(step_rows, ignore_index=True)},
        plots=(Plot("loss", "examples seen", "mean loss", "run", f"Mean loss over {seeds} seeds",
                    y_log=True),
               Plot("steps", "step", "step length", "run", "Step length, clipped or not (seed 0)", y_log=True,
                    refs=(RefLine("y", lr * clip, "η·c"),))),
        settings={"surface": "ravine f = ½(x² + 20y²), start (−9, 2.2)",
                  "gradient noise": f"σ/√batch with σ = {sigma:g}",
                  "seeds": seeds, "steps": f"{k * big_steps} small-batch steps, {big_steps} large-batch steps",
                  "clipping": "torch.nn.utils.clip_grad_norm_'s formula (ε = 1e-6)"},
    )
