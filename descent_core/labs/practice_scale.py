"""Labs of the guide's Practice part, continued: warmup-stable-decay and one cycle against cosine, the plateau rule
that cuts the rate when the loss stalls (schedules); clipping under loss scaling, half precision's vanishing numbers,
and weight averaging (training at scale)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..landscapes import get_landscape
from ..race import race
from ..schedules import Plateau, Schedule, plateau_race
from .base import F64, DEVICE, Choice, LabResult, Param, Plot, RefLine, close, fmt, lab, lr_param, quadratic_landscape

# A long, gently sloped valley with a steep cross-section: the slow direction needs large steps to be travelled,
# the steep one needs small steps for its noise to settle (the "river valley" of Wen et al. 2024).
RIVER = (0.1, 10.0)
RIVER_START = (-10.0, 1.0)


def schedule_set(steps: int, decay_fraction: float) -> dict[str, Schedule]:
    warm = max(1, steps // 20)
    return {"constant": Schedule(),
            "warmup + cosine": Schedule("warmup_cosine", warmup_steps=warm, start_factor=0.01),
            "WSD, linear decay": Schedule("wsd", warmup_steps=warm, start_factor=0.01, decay_fraction=decay_fraction),
            "WSD, 1 − √ decay": Schedule("wsd", warmup_steps=warm, start_factor=0.01, decay_fraction=decay_fraction,
                                         decay_shape="sqrt"),
            "one cycle": Schedule("onecycle")}


@lab(title="Warmup-stable-decay against cosine", section="schedules",
     claim="On a long noisy valley, holding the peak rate and decaying only over the last fifth ends at or below "
           "cosine's final loss, though WSD's loss stays high until its decay begins.",
     params=(lr_param("lr", "peak learning rate η", 0.01, 0.19, 0.1),
             Param("noise", "gradient noise σ", 0.5, 10.0, 3.0, step=0.5),
             Param("decay_fraction", "WSD decay fraction", 0.02, 0.6, 0.2, step=0.02),
             Param("seed", "noise seed", 0, 99, 0, integer=True)))
def wsd_vs_cosine(lr: float, noise: float, decay_fraction: float, seed: int) -> LabResult:
    """SGD on f = ½(0.1x² + 10y²) from (−10, 1), 300 steps, 256 noisy runs per schedule; mean loss per step."""
    steps, runs = 300, 256
    surface = quadratic_landscape(*RIVER, start=RIVER_START)
    schedules = schedule_set(steps, decay_fraction)
    curves = {}
    for name, schedule in schedules.items():
        result = race(surface, ["sgd"], steps=steps, starts=np.tile(RIVER_START, (runs, 1)), noise=noise, seed=seed,
                      schedule=schedule, hparams={"sgd": {"lr": lr}}, dtype=F64, device=DEVICE)
        curves[name] = result.losses[0].mean(axis=0)
    final = {name: float(curve[-1]) for name, curve in curves.items()}
    wsd, cos = "WSD, linear decay", "warmup + cosine"
    decay_start = steps - schedules[wsd].decay_steps(steps)
    plateau_ratio = float(curves[wsd][decay_start] / curves[cos][decay_start])
    final_ratio = final[wsd] / final[cos]
    passed = final_ratio <= 1.05 and plateau_ratio > 1.0 and final[wsd] < final["constant"]
    verdict = (f"Mean final loss over {runs} runs: cosine {fmt(final[cos])}, WSD {fmt(final[wsd])} (ratio "
               f"{fmt(final_ratio)}), WSD with the 1 − √ decay {fmt(final['WSD, 1 − √ decay'])}, one cycle "
               f"{fmt(final['one cycle'])}, constant {fmt(final['constant'])}. When WSD's decay begins (step "
               f"{decay_start}) its loss is {fmt(plateau_ratio)} times cosine's. "
               + ("WSD catches up during its short decay." if passed else
                  "WSD did not end within 5% of cosine here: a decay this short leaves the noise unsettled."))
    t = np.arange(steps + 1)
    frames = {"loss": pd.concat([pd.DataFrame({"step": t, "mean loss": c, "schedule": n}) for n, c in curves.items()],
                                ignore_index=True),
              "rate": pd.concat([pd.DataFrame({"step": t[:-1], "η_t / η": s.factors(steps), "schedule": n})
                                 for n, s in schedules.items()], ignore_index=True)}
    return LabResult(
        passed=passed,
        measured={"final_cosine": final[cos], "final_wsd": final[wsd], "final_wsd_sqrt": final["WSD, 1 − √ decay"],
                  "final_onecycle": final["one cycle"], "final_constant": final["constant"],
                  "wsd_over_cosine": final_ratio, "plateau_over_cosine": plateau_ratio},
        expected={"wsd_over_cosine_max": 1.05, "plateau_over_cosine_min": 1.0},
        labels={"final_cosine": "final loss, warmup + cosine", "final_wsd": "final loss, WSD (linear)",
                "final_wsd_sqrt": "final loss, WSD (1 − √)", "final_onecycle": "final loss, one cycle",
                "final_constant": "final loss, constant η", "wsd_over_cosine": "WSD / cosine at the end",
                "plateau_over_cosine": f"WSD / cosine at step {decay_start}",
                "wsd_over_cosine_max": "WSD / cosine at the end, at most",
                "plateau_over_cosine_min": "WSD / cosine before its decay, above"},
        verdict=verdict, frames=frames,
        plots=(Plot("loss", "step", "mean loss", "schedule", f"Mean loss over {runs} noisy runs", y_log=True,
                    refs=(RefLine("x", decay_start, "WSD decay starts"),)),
               Plot("rate", "step", "η_t / η", "schedule", "The schedules")),
        settings={"surface": "f = ½(0.1x² + 10y²), start (−10, 1): a long valley with steep walls",
                  "optimizer": f"SGD, η = {lr:g}", "steps": steps, "runs": f"{runs} per schedule, noise σ = {noise:g}",
                  "warmup": f"linear over {steps // 20} steps (cosine and WSD)",
                  "one cycle": "torch's defaults: pct_start 0.3, div_factor 25, final_div_factor 10⁴"},
    )


@lab(title="ReduceLROnPlateau: cut the rate when the loss stalls", section="schedules",
     claim="The rate is cut exactly patience + 1 evaluations after the last improvement, the same cuts torch's "
           "ReduceLROnPlateau makes on these losses, and the run ends well below a constant rate's noise floor.",
     params=(lr_param("lr", "starting learning rate η", 0.005, 0.09, 0.05),
             Param("patience", "patience (evaluations)", 0, 30, 5, integer=True),
             Param("factor", "cut factor", 0.05, 0.9, 0.5, step=0.05),
             Param("noise", "gradient noise σ", 0.0, 10.0, 2.0, step=0.5),
             Param("seed", "noise seed", 0, 99, 1, integer=True)))
def plateau_cuts(lr: float, patience: int, factor: float, noise: float, seed: int) -> LabResult:
    """SGD on the noisy ravine for 800 steps; the noise-free loss is handed to the rule every 10 steps."""
    steps, every = 800, 10
    rule = Plateau(patience=patience, factor=factor)
    run = plateau_race("ravine", "sgd", steps=steps, lr=lr, rule=rule, every=every, noise=noise, seed=seed)
    flat = plateau_race("ravine", "sgd", steps=steps, lr=lr, rule=Plateau(patience=10**9), every=every, noise=noise,
                        seed=seed)
    # When did each cut come? patience + 1 evaluations after the later of the last improvement and the last cut.
    improved, best = [], math.inf
    for epoch, metric in enumerate(run.metrics, start=1):
        if rule.improves(metric, best):
            improved.append(epoch)
            best = metric
    gaps, last_cut = [], 0
    for cut in run.cut_epochs:
        since = max([e for e in improved if e <= cut] + [last_cut])
        gaps.append(int(cut - since))
        last_cut = cut
    with torch.inference_mode(False):
        param = torch.nn.Parameter(torch.zeros(1, dtype=F64))
        opt = torch.optim.SGD([param], lr=lr)
        reference = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=patience, factor=factor)
        torch_rates = []
        for metric in run.metrics:
            reference.step(float(metric))
            torch_rates.append(opt.param_groups[0]["lr"])
    ours = run.lrs[every * np.arange(1, len(run.metrics))]  # the rate each evaluation leaves for the next update
    torch_gap = float(np.max(np.abs(np.asarray(torch_rates[:-1]) - ours))) if len(ours) else 0.0
    tail = slice(-50, None)
    final, final_flat = float(run.losses[tail].mean()), float(flat.losses[tail].mean())
    gaps_ok = all(g == patience + 1 for g in gaps)
    passed = len(gaps) >= 1 and gaps_ok and torch_gap == 0.0 and final < final_flat / 2
    verdict = (f"The rate was cut {len(gaps)} times, at evaluations {', '.join(map(str, run.cut_epochs[:8]))}"
               f"{' …' if len(gaps) > 8 else ''}; "
               + (f"each cut came {patience + 1} evaluations after the last improvement or cut. " if gaps_ok and gaps
                  else f"the gaps were {gaps[:8]}. ")
               + f"torch's ReduceLROnPlateau fed the same losses sets the same rates (largest gap {fmt(torch_gap)}). "
               f"Mean loss over the last 50 steps: {fmt(final)} against {fmt(final_flat)} at a constant η; the last "
               f"rate is {fmt(run.lrs[-1])}. "
               + ("The plateau rule settles the noise." if passed else
                  "No cut happened or the run did not settle below the constant rate: lower the patience or add noise."))
    t = np.arange(steps + 1)
    frames = {"loss": pd.concat([pd.DataFrame({"step": t, "loss": run.losses, "run": "ReduceLROnPlateau"}),
                                 pd.DataFrame({"step": t, "loss": flat.losses, "run": "constant η"})],
                                ignore_index=True),
              "rate": pd.DataFrame({"step": t[:-1], "learning rate": run.lrs, "run": "ReduceLROnPlateau"})}
    return LabResult(
        passed=passed,
        measured={"cuts": float(len(gaps)), "first_cut": float(run.cut_epochs[0]) if len(gaps) else math.inf,
                  "torch_gap": torch_gap, "final_loss": final, "final_loss_constant": final_flat,
                  "last_rate": float(run.lrs[-1])},
        expected={"cut_gap": float(patience + 1)},
        labels={"cuts": "cuts", "first_cut": "first cut (evaluation)", "torch_gap": "largest gap to torch's rates",
                "final_loss": "loss, last 50 steps, plateau rule", "final_loss_constant": "loss, last 50 steps, constant η",
                "last_rate": "last learning rate", "cut_gap": "evaluations from the last improvement to a cut"},
        verdict=verdict, frames=frames,
        plots=(Plot("loss", "step", "loss", "run", "Noise-free loss of each iterate", y_log=True,
                    refs=tuple(RefLine("x", int(c) * every, "cut") for c in run.cut_epochs[:12])),
               Plot("rate", "step", "learning rate", "run", "The rate the rule sets", y_log=True)),
        settings={"surface": "ravine f = ½(x² + 20y²), start (−9, 2.2)", "optimizer": f"SGD, starting η = {lr:g}",
                  "evaluation": f"every {every} steps, the noise-free loss (a stand-in for a validation loss)",
                  "rule": f"mode min, factor {factor:g}, patience {patience}, threshold 1e-4 (rel), no cooldown",
                  "noise": f"σ = {noise:g}, seed {seed}, the same draws for both runs"},
    )


# --------------------------------------------------------------------------------------------------------------
# Training at scale: loss scaling and clipping, half precision, weight averaging.


@lab(title="Unscale before you clip", section="scale",
     claim="Clipping gradients that are still multiplied by the loss scale S caps the true norm at c/S instead of c, "
           "so every clipped step is S times too short and the logged norm S times too large.",
     params=(Param("scale_log2", "loss scale S = 2^k, k", 0, 24, 16, integer=True),
             Param("max_norm", "clipping threshold c", 0.01, 10.0, 1.0, log=True),
             Param("steps", "training steps", 10, 200, 100, integer=True, step=10)))
def unscale_before_clipping(scale_log2: int, max_norm: float, steps: int) -> LabResult:
    """A linear regression trained by SGD under torch.amp.GradScaler, clipping after unscale_ and before it."""
    scale = 2.0 ** scale_log2
    lr = 0.1
    records = {}
    with torch.inference_mode(False), torch.enable_grad():
        generator = torch.Generator().manual_seed(0)
        X = torch.randn(128, 8, generator=generator)
        y = X @ torch.linspace(-3.0, 3.0, 8)[:, None] + 0.1 * torch.randn(128, 1, generator=generator)
        for order in ("unscale, then clip", "clip, then unscale"):
            model = torch.nn.Linear(8, 1)
            with torch.no_grad():
                model.weight.zero_()
                model.bias.zero_()
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            scaler = torch.amp.GradScaler("cpu", init_scale=scale, growth_interval=10**6)
            rec = records.setdefault(order, {"loss": [], "logged": [], "applied": [], "true": []})
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.mse_loss(model(X), y)
                scaler.scale(loss).backward()
                true = float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()) / scale
                if order == "unscale, then clip":
                    scaler.unscale_(opt)
                logged = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
                before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
                scaler.step(opt)
                scaler.update()
                after = torch.cat([p.detach().flatten() for p in model.parameters()])
                rec["loss"].append(float(loss.detach()))
                rec["logged"].append(logged)
                rec["applied"].append(float((after - before).norm()) / lr)
                rec["true"].append(true)
    right, wrong = records["unscale, then clip"], records["clip, then unscale"]
    g0 = right["true"][0]
    want_right, want_wrong = min(g0, max_norm), min(scale * g0, max_norm) / scale
    ratio = right["applied"][0] / wrong["applied"][0]
    passed = (close(right["applied"][0], want_right, rel=1e-4) and close(wrong["applied"][0], want_wrong, rel=1e-4)
              and close(wrong["logged"][0], scale * g0, rel=1e-4) and ratio > 2.0)
    verdict = (f"The true gradient norm at the start is {fmt(g0)}. Unscaled first, clipping at c = {max_norm:g} gives "
               f"a step of {fmt(right['applied'][0])}·η; clipped while scaled by S = 2^{scale_log2}, the step is "
               f"{fmt(wrong['applied'][0])}·η, {fmt(ratio)} times shorter, and clip_grad_norm_ reports "
               f"{fmt(wrong['logged'][0])}. After {steps} steps the loss is {fmt(right['loss'][-1])} against "
               f"{fmt(wrong['loss'][-1])}. "
               + ("Unscale before clipping." if passed else
                  "Clipping did not bite here (the threshold is above the scaled norm, or S = 1): raise S or lower c."))
    t = np.arange(1, steps + 1)
    frames = {"loss": pd.concat([pd.DataFrame({"step": t, "loss": r["loss"], "order": o}) for o, r in records.items()],
                                ignore_index=True),
              "norms": pd.concat([pd.DataFrame({"step": t, "norm": r[k], "order": o, "what": k})
                                  for o, r in records.items() for k in ("logged", "applied")], ignore_index=True)}
    return LabResult(
        passed=passed,
        measured={"true_norm": g0, "applied_right": right["applied"][0], "applied_wrong": wrong["applied"][0],
                  "logged_wrong": wrong["logged"][0], "step_ratio": ratio, "loss_right": right["loss"][-1],
                  "loss_wrong": wrong["loss"][-1]},
        expected={"applied_right_theory": want_right, "applied_wrong_theory": want_wrong,
                  "step_ratio_theory": want_right / want_wrong},
        labels={"true_norm": "true gradient norm (step 1)", "applied_right": "applied step / η, unscale then clip",
                "applied_wrong": "applied step / η, clip then unscale", "logged_wrong": "norm logged, clip then unscale",
                "step_ratio": "right step / wrong step", "loss_right": f"loss after {steps} steps, unscale then clip",
                "loss_wrong": f"loss after {steps} steps, clip then unscale",
                "applied_right_theory": "min(‖g‖, c)", "applied_wrong_theory": "min(S‖g‖, c) / S",
                "step_ratio_theory": "predicted ratio"},
        verdict=verdict, frames=frames,
        plots=(Plot("loss", "step", "loss", "order", "Training loss", y_log=True),
               Plot("norms", "step", "norm", "order", "Norm logged by clip_grad_norm_ and the step applied (/η)",
                    y_log=True, refs=(RefLine("y", max_norm, "c"),))),
        settings={"model": "torch.nn.Linear(8, 1), zero start, 128 examples, mean squared error",
                  "optimizer": f"torch.optim.SGD, η = {lr:g}",
                  "scaler": f"torch.amp.GradScaler('cpu', init_scale=2^{scale_log2}), no growth",
                  "arithmetic": "float32: the scale alone is at fault here, not rounding"},
    )


def first_adam_step(grads: torch.Tensor, dtype: torch.dtype, eps: float, lr: float = 1e-3) -> torch.Tensor:
    """The change torch.optim.Adam makes on its first step to weights of 1 whose gradients are ``grads``, with the
    weights, gradients and state in ``dtype``."""
    with torch.inference_mode(False):
        param = torch.nn.Parameter(torch.ones(grads.shape, dtype=dtype))
        opt = torch.optim.Adam([param], lr=lr, eps=eps)
        param.grad = grads.to(dtype)
        opt.step()
        return param.detach().double() - 1.0


@lab(title="Half precision: where small numbers go", section="scale",
     claim="In float16 Adam's ε = 1e-8 rounds to zero and so does (1 − β₂)g² for every |g| below about 0.0055, so "
           "the first step divides by zero; bfloat16 keeps ε but rounds away updates below a few tenths of a "
           "percent of a weight.",
     params=(Param("eps_log10", "ε = 10^k, k", -12.0, -2.0, -8.0, step=0.5),
             Param("grad_log10", "gradient size 10^k, k", -6.0, -1.0, -4.0, step=0.5),
             Param("update_log10", "update size 10^k (bfloat16 weight of 1), k", -5.0, -1.0, -3.0, step=0.5)))
def half_precision(eps_log10: float, grad_log10: float, update_log10: float) -> LabResult:
    """torch's own float16 and bfloat16 arithmetic: Adam's first step, the rounding of ε, and repeated updates."""
    eps, g, du = 10.0**eps_log10, 10.0**grad_log10, 10.0**update_log10
    fp16, bf16 = torch.float16, torch.bfloat16
    eps_fp16 = float(torch.tensor(eps, dtype=fp16))
    step16 = float(first_adam_step(torch.tensor([g]), fp16, eps)[0])
    step32 = float(first_adam_step(torch.tensor([g]), torch.float32, eps)[0])
    grid = torch.logspace(-5, -1, 801, dtype=torch.float64)
    finite = torch.isfinite(first_adam_step(grid, fp16, 1e-8))
    threshold = float(grid[int(torch.argmax(finite.int()))])
    threshold_theory = math.sqrt(2.0**-25 / (1 - 0.999))  # (1 − β₂)g² below half the smallest subnormal rounds to 0
    weights = {"bfloat16": torch.ones(1, dtype=bf16), "float32": torch.ones(1, dtype=torch.float32)}
    trace = {name: [] for name in weights}
    for _ in range(100):
        for name in weights:
            weights[name] = weights[name] - du
            trace[name].append(float(weights[name]))
    lost = trace["bfloat16"][-1] == 1.0
    predicted_blowup = eps_fp16 == 0.0 and g < threshold_theory
    passed = (eps_fp16 == 0.0 and not math.isfinite(step16) and math.isfinite(step32)
              and close(threshold, threshold_theory, rel=0.05) and lost)
    verdict = (f"ε = {eps:.3g} is {eps_fp16:.3g} in float16 (the smallest positive float16 is 2⁻²⁴ ≈ 5.96e-8). Adam's "
               f"first step on a gradient of {g:.3g}: {step16:.4g} in float16, {step32:.4g} in float32. With "
               f"ε = 1e-8 the float16 step is finite only for |g| ≥ {fmt(threshold)} (predicted {fmt(threshold_theory)}). "
               f"A bfloat16 weight of 1 after 100 updates of −{du:.3g}: {trace['bfloat16'][-1]:.6g} (float32: "
               f"{trace['float32'][-1]:.6g}). "
               + ("Keep ε and master weights out of half precision." if passed else
                  "Not every trap fired with these settings: " + ("ε survives in float16. " if eps_fp16 else "")
                  + ("the update is large enough for bfloat16." if not lost else "")))
    steps = np.arange(1, 101)
    frames = {"weights": pd.concat([pd.DataFrame({"update": steps, "weight": trace[n], "dtype": n}) for n in trace],
                                   ignore_index=True),
              "first_step": pd.DataFrame({"|g|": grid.numpy(), "finite step": finite.double().numpy(),
                                          "dtype": "float16, ε = 1e-8"})}
    return LabResult(
        passed=passed,
        measured={"eps_in_fp16": eps_fp16, "adam_step_fp16": step16, "adam_step_fp32": step32,
                  "finite_from_grad": threshold, "bf16_after_updates": trace["bfloat16"][-1],
                  "fp32_after_updates": trace["float32"][-1]},
        expected={"fp16_smallest": 2.0**-24, "finite_from_grad_theory": threshold_theory,
                  "blowup_predicted": float(predicted_blowup), "bf16_half_spacing": 2.0**-8},
        labels={"eps_in_fp16": "ε in float16", "adam_step_fp16": "Adam's first step, float16",
                "adam_step_fp32": "Adam's first step, float32", "finite_from_grad": "float16 step finite from |g| =",
                "bf16_after_updates": "bfloat16 weight after 100 updates",
                "fp32_after_updates": "float32 weight after 100 updates",
                "fp16_smallest": "smallest float16, 2⁻²⁴", "finite_from_grad_theory": "√(2⁻²⁵ / (1 − β₂))",
                "blowup_predicted": "float16 blow-up predicted (1 = yes)",
                "bf16_half_spacing": "bfloat16: half the spacing above 1, 2⁻⁸"},
        verdict=verdict, frames=frames,
        plots=(Plot("weights", "update", "weight", "dtype", "A weight of 1 after repeated small updates"),
               Plot("first_step", "|g|", "finite step", "dtype", "Is Adam's first float16 step finite?", x_log=True,
                    refs=(RefLine("x", threshold_theory, "√(2⁻²⁵/(1−β₂))"),))),
        settings={"optimizer": "torch.optim.Adam, lr 1e-3, betas (0.9, 0.999), weights 1, state in the weights' dtype",
                  "grid": "801 gradient sizes from 1e-5 to 0.1 for the threshold"},
    )


# Weight averaging -------------------------------------------------------------------------------------------------

def ema_average(path: np.ndarray, decay: float) -> np.ndarray:
    """AveragedModel with get_ema_multi_avg_fn(decay): the first point copied, then ema ← decay·ema + (1 − decay)·θ.
    ``path`` is (points, ...); returns the average after each point."""
    out = np.empty_like(path)
    out[0] = path[0]
    for k in range(1, len(path)):
        out[k] = decay * out[k - 1] + (1.0 - decay) * path[k]
    return out


def uniform_average(path: np.ndarray) -> np.ndarray:
    """AveragedModel's default: the running mean, avg ← avg + (θ − avg)/(n + 1). Returns it after each point."""
    counts = np.arange(1, len(path) + 1).reshape(-1, *([1] * (path.ndim - 1)))
    return np.cumsum(path, axis=0) / counts


def stationary_losses(lr: float, noise: float, lambdas, decay: float, window: int) -> tuple[float, float, float]:
    """Expected loss of SGD's iterate on ½Σλᵢθᵢ² with N(0, σ²) gradient noise at stationarity, of its EMA, and of
    its mean over ``window`` consecutive iterates. Each coordinate is an AR(1) with r = 1 − ηλ and variance
    V = ησ²/(λ(2 − ηλ)); an EMA keeps V(1 − β)(1 + βr)/((1 + β)(1 − βr)), a mean of W keeps
    V/W²·(W + 2Σₖ(W − k)rᵏ)."""
    last = ema = mean = 0.0
    k = np.arange(1, window)
    for lam in lambdas:
        r = 1.0 - lr * lam
        var = lr * noise**2 / (lam * (2.0 - lr * lam))
        last += 0.5 * lam * var
        ema += 0.5 * lam * var * (1 - decay) * (1 + decay * r) / ((1 + decay) * (1 - decay * r))
        mean += 0.5 * lam * var * (window + 2.0 * np.sum((window - k) * r**k)) / window**2
    return last, ema, float(mean)


@lab(title="Weight averaging: EMA and SWA", section="scale",
     claim="With a constant rate and noisy gradients, an exponential moving average of the weights and a plain "
           "average of the second half of the run both land far below the last iterate, as the AR(1) formulas predict.",
     params=(lr_param("lr", "learning rate η", 0.005, 0.09, 0.05),
             Param("noise", "gradient noise σ", 0.5, 10.0, 2.0, step=0.5),
             Choice("decay", "EMA decay β", ("0.9", "0.99", "0.999"), "0.99"),
             Param("seed", "noise seed", 0, 99, 0, integer=True)))
def weight_averaging(lr: float, noise: float, decay: str, seed: int) -> LabResult:
    """SGD on the noisy ravine from near its minimum, 600 steps, 1000 runs; EMA and SWA (from step 300) of the
    iterates, with AveragedModel's update rules."""
    steps, runs, beta = 600, 1000, float(decay)
    surface = get_landscape("ravine")
    result = race(surface, ["sgd"], steps=steps, starts=np.zeros((runs, 2)), noise=noise, seed=seed,
                  hparams={"sgd": {"lr": lr}}, dtype=F64, device=DEVICE)
    path = np.moveaxis(result.paths[0], 1, 0)  # (steps + 1, runs, 2)
    start = steps // 2
    ema, swa = ema_average(path[start:], beta), uniform_average(path[start:])
    loss = lambda points: surface.loss(torch.as_tensor(points, dtype=F64)).numpy().mean(axis=-1)  # noqa: E731
    curves = {"last iterate": loss(path[start:]), f"EMA (β = {decay})": loss(ema), "SWA (mean since step 300)": loss(swa)}
    last, ema_final, swa_final = (float(c[-1]) for c in curves.values())
    want_last, want_ema, want_swa = stationary_losses(lr, noise, (1.0, 20.0), beta, steps - start + 1)
    passed = (close(last, want_last, rel=0.15) and close(ema_final, want_ema, rel=0.2)
              and close(swa_final, want_swa, rel=0.2) and ema_final < last and swa_final < last)
    verdict = (f"Mean loss over {runs} runs at step {steps}: the last iterate {fmt(last)} (predicted {fmt(want_last)}), "
               f"the EMA with β = {decay} {fmt(ema_final)} (predicted {fmt(want_ema)}), the mean of the last "
               f"{steps - start + 1} iterates {fmt(swa_final)} (predicted {fmt(want_swa)}): {fmt(last / swa_final)} "
               f"times below the last iterate. "
               + ("Averaging removes most of the noise the constant rate leaves." if passed else
                  "The measurements stray from the AR(1) prediction: with β = 0.999 the EMA still remembers the "
                  "start of its window."))
    t = np.arange(start, steps + 1)
    frames = {"loss": pd.concat([pd.DataFrame({"step": t, "mean loss": c, "point": n}) for n, c in curves.items()],
                                ignore_index=True),
              "points": pd.concat([pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "point": n})
                                   for n, p in (("last iterate", path[-1, :200]), ("SWA", swa[-1, :200]))],
                                  ignore_index=True)}
    return LabResult(
        passed=passed,
        measured={"loss_last": last, "loss_ema": ema_final, "loss_swa": swa_final, "swa_gain": last / swa_final},
        expected={"loss_last_theory": want_last, "loss_ema_theory": want_ema, "loss_swa_theory": want_swa},
        labels={"loss_last": "last iterate", "loss_ema": f"EMA, β = {decay}", "loss_swa": "SWA, mean of the second half",
                "swa_gain": "last / SWA", "loss_last_theory": "last iterate, AR(1) prediction",
                "loss_ema_theory": "EMA, AR(1) prediction", "loss_swa_theory": "SWA, AR(1) prediction"},
        verdict=verdict, frames=frames,
        plots=(Plot("loss", "step", "mean loss", "point", f"Mean loss over {runs} runs", y_log=True),
               Plot("points", "x", "y", "point", "Where 200 runs end: the last iterate against the average",
                    mark="point")),
        settings={"surface": "ravine f = ½(x² + 20y²), start at the minimum (the noise floor is the subject)",
                  "optimizer": f"SGD, constant η = {lr:g}", "noise": f"σ = {noise:g}, seed {seed}",
                  "averaging": "torch.optim.swa_utils.AveragedModel's rules, from step 300"},
    )
