"""Labs of the guide's Adam family: bias correction, where ε goes, AMSGrad's counterexample, L2 against decoupled
weight decay; and the two Adam variants torch does not offer, built from the engine's named pieces."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .. import transforms as tf
from ..optimizers import Stepper, make_stepper
from .base import F64, LabResult, Param, Plot, RefLine, close, fmt, lab, log_indices, lr_param, step_lengths

# --------------------------------------------------------------------------------------------------------------
# Two Adam variants that torch does not offer, built from the same named pieces as ``scale_by_adam``; a lab steps
# them with ``Stepper.from_transform``.


def scale_by_adam_without_bias_correction(b1: float, b2: float, eps: float) -> tf.Transform:
    """Adam with the two debias lines removed: d = m / (sqrt(v) + eps), both moments started at zero."""

    def update(g: Tensor, state: tf.Moments, ctx: tf.Context):
        m, v = tf.ema(state.m, g, b1), tf.ema(state.v, g * g, b2)
        return m / (v.sqrt() + eps), tf.Moments(m, v, None)

    return tf.Transform(tf.zero_moments, update)


def scale_by_adam_eps_inside_root(b1: float, b2: float, eps: float) -> tf.Transform:
    """Adam with ε moved under the square root: d = m_hat / sqrt(v_hat + eps) (torch uses sqrt(v_hat) + eps)."""

    def update(g: Tensor, state: tf.Moments, ctx: tf.Context):
        m, v = tf.ema(state.m, g, b1), tf.ema(state.v, g * g, b2)
        m_hat, v_hat = tf.debias(m, b1, ctx.t), tf.debias(v, b2, ctx.t)
        return m_hat / (v_hat + eps).sqrt(), tf.Moments(m, v, None)

    return tf.Transform(tf.zero_moments, update)


# --------------------------------------------------------------------------------------------------------------
# Adam: its first steps, and ε's placement.


@lab(title="Adam with and without bias correction", section="adam",
     claim="Without bias correction Adam's zero-initialised averages make its early steps several times η, peaking "
           "after a dozen steps; with the correction every step on a constant gradient is η.",
     params=(Param("b1", "β1", 0.0, 0.99, 0.9, step=0.01),
             Param("b2", "β2", 0.9, 0.9999, 0.999, step=0.0001),
             Param("g", "gradient g", 1e-4, 1e3, 1.0, log=True),
             Param("steps", "steps", 10, 3000, 1000, integer=True, step=10)))
def bias_correction(b1: float, b2: float, g: float, steps: int) -> LabResult:
    """Adam with and without bias correction on a constant gradient: step length / η, step by step."""
    lr, eps = 1e-3, 1e-8
    theta = torch.zeros(1, 1, dtype=F64)
    constant = lambda t, th: torch.full_like(th, g)  # noqa: E731
    corrected = step_lengths(make_stepper("adam", lr=lr, betas=(b1, b2), eps=eps), theta, constant, steps)[:, 0, 0] / lr
    uncorrected = Stepper.from_transform(scale_by_adam_without_bias_correction(b1, b2, eps), lr,
                                         name="adam without bias correction")
    raw = step_lengths(uncorrected, theta, constant, steps)[:, 0, 0] / lr
    t = np.arange(1, steps + 1)
    want_raw = (1 - b1**t) * g / (np.sqrt(1 - b2**t) * g + eps)
    want_corrected = np.full(steps, g / (g + eps))
    err_raw = float(np.max(np.abs(raw / want_raw - 1)))
    err_corrected = float(np.max(np.abs(corrected / want_corrected - 1)))
    passed = err_raw < 1e-6 and err_corrected < 1e-6
    peak = int(np.argmax(raw))
    verdict = (f"Without bias correction the first step is {fmt(raw[0])}·η, the steps peak at {fmt(raw[peak])}·η "
               f"(step {peak + 1}) and are still {fmt(raw[-1])}·η at step {steps}; with it every step is "
               f"{fmt(corrected[0])}·η. "
               + ("Both follow η(1−β1^t)/√(1−β2^t) and η to within 1e-6." if passed else
                  f"The measured steps deviate from the formula by up to {fmt(max(err_raw, err_corrected))}."))
    keep = log_indices(steps)
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step / η": raw[keep], "run": "without bias correction",
                                     "kind": "measured"}),
                       pd.DataFrame({"step": t[keep], "step / η": corrected[keep], "run": "with bias correction (torch)",
                                     "kind": "measured"}),
                       pd.DataFrame({"step": t[keep], "step / η": want_raw[keep], "run": "η(1−β1^t)/√(1−β2^t)",
                                     "kind": "theory"})], ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"raw_first": float(raw[0]), "raw_peak": float(raw[peak]), "raw_peak_step": float(peak + 1),
                  "raw_last": float(raw[-1]), "corrected_first": float(corrected[0]),
                  "worst_error": max(err_raw, err_corrected)},
        expected={"raw_first_theory": (1 - b1) / math.sqrt(1 - b2), "corrected_theory": g / (g + eps)},
        labels={"raw_first": "uncorrected step 1 / η", "raw_peak": "uncorrected peak / η",
                "raw_peak_step": "uncorrected peak at step", "raw_last": f"uncorrected step {steps} / η",
                "corrected_first": "corrected step 1 / η", "worst_error": "largest relative error vs formula",
                "raw_first_theory": "(1−β1)/√(1−β2)", "corrected_theory": "corrected: |g|/(|g|+ε)"},
        verdict=verdict, frames={"steps": frame},
        plots=(Plot("steps", "step", "step / η", "run", "Adam's step length on a constant gradient", x_log=True,
                    dash="kind"),),
        settings={"gradient": f"constant g = {g:g}", "η": lr, "ε": eps,
                  "without correction": "scale_by_adam_without_bias_correction: m/(√v + ε), built from transforms.ema"},
    )


@lab(title="Where ε goes", section="adam",
     claim="When gradients are tiny, ε inside the square root acts like √ε outside it: the inside placement cuts "
           "the step orders of magnitude earlier than torch's √v̂ + ε.",
     params=(Param("eps", "ε", 1e-12, 1e-2, 1e-8, log=True),
             Param("g", "your gradient scale |g|", 1e-10, 1.0, 1e-6, log=True)))
def epsilon_placement(eps: float, g: float) -> LabResult:
    """Adam's step / η against the gradient scale, ε outside the root (torch) and inside it, every scale in a batch."""
    lr, steps, b1, b2 = 1e-3, 20, 0.9, 0.999
    scales = np.unique(np.append(np.geomspace(1e-10, 1e2, 49), g))
    theta = torch.zeros(len(scales), 1, dtype=F64)
    grads = torch.tensor(scales, dtype=F64)[:, None]
    constant = lambda t, th: grads  # noqa: E731
    outside = step_lengths(make_stepper("adam", lr=lr, betas=(b1, b2), eps=eps), theta, constant, steps)[-1, :, 0] / lr
    inside_root = Stepper.from_transform(scale_by_adam_eps_inside_root(b1, b2, eps), lr, name="adam, ε inside the root")
    inside = step_lengths(inside_root, theta, constant, steps)[-1, :, 0] / lr
    want_out, want_in = scales / (scales + eps), scales / np.sqrt(scales**2 + eps)
    err = float(max(np.max(np.abs(outside / want_out - 1)), np.max(np.abs(inside / want_in - 1))))
    passed = err < 1e-6
    i = int(np.flatnonzero(scales == g)[0])
    verdict = (f"With |g| = {fmt(g)} and ε = {fmt(eps)} the step is {fmt(outside[i])}·η with ε outside the root and "
               f"{fmt(inside[i])}·η with ε inside it ({fmt(outside[i] / inside[i])} times smaller). Outside, the step "
               f"halves at |g| = ε = {fmt(eps)}; inside, already at |g| = √(ε/3) = {fmt(math.sqrt(eps / 3))}. "
               + ("Every scale matches the two formulas within 1e-6." if passed else
                  f"The runs deviate from the formulas by up to {fmt(err)}."))
    frame = pd.concat([pd.DataFrame({"|g|": scales, "step / η": outside, "placement": "√v̂ + ε (torch)"}),
                       pd.DataFrame({"|g|": scales, "step / η": inside, "placement": "√(v̂ + ε)"})],
                      ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"step_eps_outside": float(outside[i]), "step_eps_inside": float(inside[i]), "worst_error": err},
        expected={"step_eps_outside_theory": float(want_out[i]), "step_eps_inside_theory": float(want_in[i])},
        labels={"step_eps_outside": "step / η, ε outside", "step_eps_inside": "step / η, ε inside",
                "worst_error": "largest relative error vs formula",
                "step_eps_outside_theory": "|g|/(|g|+ε)", "step_eps_inside_theory": "|g|/√(g²+ε)"},
        verdict=verdict, frames={"steps": frame},
        plots=(Plot("steps", "|g|", "step / η", "placement", "Step length against gradient scale", "gradient scale |g|",
                    x_log=True, y_log=True, refs=(RefLine("x", eps, "ε"), RefLine("x", math.sqrt(eps), "√ε"),
                                                  RefLine("x", g, "your |g|"))),),
        settings={"gradient": f"constant, {len(scales)} scales from 1e-10 to 100 in one batch", "steps": steps,
                  "β": (b1, b2), "η": lr,
                  "ε inside": "scale_by_adam_eps_inside_root, built from transforms.ema/debias"},
    )


# --------------------------------------------------------------------------------------------------------------
# AMSGrad: Reddi, Kale and Kumar's counterexample.


def counterexample_gradients(C: float, steps: int) -> np.ndarray:
    """Reddi, Kale & Kumar's online problem on [−1, 1]: ∇f_t = C if t mod 3 == 1 else −1 (t = 1, 2, ...)."""
    t = np.arange(1, steps + 1)
    return np.where(t % 3 == 1, C, -1.0)


def adam_on_the_interval(grads: np.ndarray, lr: float, b1: float, b2: float, eps: float, amsgrad: bool) -> np.ndarray:
    """x_t for Adam or AMSGrad with step lr/√t and projection onto [−1, 1] after every step, from x_0 = 0.

    The same update as ``transforms.scale_by_adam`` (torch's AMSGrad: the max of the uncorrected v, divided by the
    current correction), written on plain floats: the gradients here do not depend on x, and a Python float loop
    runs 30,000 steps about ten times faster than a tensor one. ``engine_gap`` checks it against the engine.
    """
    x, m, v, v_max = 0.0, 0.0, 0.0, 0.0
    out = np.empty(len(grads) + 1)
    out[0] = x
    for t, g in enumerate(grads, start=1):
        m += (1 - b1) * (g - m)  # the lerp form of transforms.ema
        v += (1 - b2) * (g * g - v)
        v_max = max(v_max, v)
        denom = math.sqrt((v_max if amsgrad else v) / (1 - b2**t)) + eps
        x = min(1.0, max(-1.0, x - lr / math.sqrt(t) * (m / (1 - b1**t)) / denom))
        out[t] = x
    return out


def engine_gap(C: float, betas: list[tuple[float, float]], steps: int, lr: float = 0.1) -> float:
    """Largest |x_fast − x_engine| over ``steps`` steps, the engine being dc's Adam/AMSGrad steppers stepped with
    per-run betas, lr_scale = 1/√t and a clamp after every update."""
    grads = counterexample_gradients(C, steps)
    b1s, b2s = [b[0] for b in betas], [b[1] for b in betas]
    gap = 0.0
    for opt in ("adam", "amsgrad"):
        stepper = make_stepper(opt, lr=lr, betas=(b1s, b2s))
        x = torch.zeros(len(betas), 1, dtype=F64)
        state, trail = stepper.init(x), [x]
        for t in range(1, steps + 1):
            x, state = stepper.update(x, torch.full_like(x, grads[t - 1]), state, lr_scale=1.0 / math.sqrt(t))
            x = x.clamp(-1.0, 1.0)
            trail.append(x)
        engine = torch.stack(trail)[:, :, 0].numpy()
        for j, (b1, b2) in enumerate(betas):
            fast = adam_on_the_interval(grads, lr, b1, b2, 1e-8, opt == "amsgrad")
            gap = max(gap, float(np.max(np.abs(fast - engine[:, j]))))
    return gap


@lab(title="Adam's counterexample, and AMSGrad's fix", section="amsgrad",
     claim="On Reddi, Kale and Kumar's problem Adam with a short-memory β2 is driven to the worst point +1 while "
           "AMSGrad, which never lets its second moment shrink, heads for the optimum −1.",
     params=(Param("C", "rare gradient C", 2.0, 10.0, 3.0, step=0.1),
             Param("b2", "β2 (β1 = 0)", 0.01, 0.999, 0.1, step=0.001,
                   help="The paper's setting is 1/(1 + C²) = 0.1 for C = 3."),
             Param("steps", "steps", 300, 30000, 30000, integer=True, step=300)))
def amsgrad_counterexample(C: float, b2: float, steps: int) -> LabResult:
    """Adam and AMSGrad on Reddi et al.'s problem with β1 = 0 and the chosen β2, and with torch's default betas."""
    lr, eps = 0.1, 1e-8
    grads = counterexample_gradients(C, steps)
    configs = {"small β2": (0.0, b2), "default betas": (0.9, 0.999)}
    traces = {(opt, cfg): adam_on_the_interval(grads, lr, b1_, b2_, eps, opt == "AMSGrad")
              for opt in ("Adam", "AMSGrad") for cfg, (b1_, b2_) in configs.items()}
    gap = engine_gap(C, list(configs.values()), min(steps, 300))
    adam_end, ams_end = traces[("Adam", "small β2")][-1], traces[("AMSGrad", "small β2")][-1]
    default_adam_end = traces[("Adam", "default betas")][-1]
    passed = adam_end >= 0.99 and ams_end <= -0.9 and gap < 1e-9
    verdict = (f"After {steps:,} steps with β1 = 0 and β2 = {fmt(b2)}, Adam sits at x = {fmt(adam_end)} (the worst "
               f"point is +1) and AMSGrad at x = {fmt(ams_end)} (the optimum is −1); with the default betas Adam ends "
               f"at {fmt(default_adam_end)}. "
               + ("Adam is driven to the wrong end, AMSGrad is not." if passed else
                  "The split did not happen here: Adam's failure needs a short-memory β2 and C > 2.")
               + f" The fast loop agrees with the engine's steppers to {fmt(gap)} over the first "
                 f"{min(steps, 300)} steps.")
    keep = log_indices(steps + 1)
    frame = pd.concat([pd.DataFrame({"step": keep, "x": traces[key][keep], "run": f"{key[0]}, {key[1]}"})
                       for key in traces], ignore_index=True)
    frame = frame[frame["step"] > 0]
    return LabResult(
        passed=passed,
        measured={"adam_final_small_b2": float(adam_end), "amsgrad_final_small_b2": float(ams_end),
                  "adam_final_default": float(default_adam_end),
                  "amsgrad_final_default": float(traces[("AMSGrad", "default betas")][-1]), "engine_gap": gap},
        expected={"optimum": -1.0, "worst_point": 1.0, "mean_slope": (C - 2) / 3},
        labels={"adam_final_small_b2": "Adam final x (small β2)",
                "amsgrad_final_small_b2": "AMSGrad final x (small β2)",
                "adam_final_default": "Adam final x (default betas)",
                "amsgrad_final_default": "AMSGrad final x (default betas)",
                "engine_gap": "engine agreement (max |Δx|)",
                "optimum": "optimum x*", "worst_point": "worst point", "mean_slope": "mean slope (C−2)/3"},
        verdict=verdict, frames={"trace": frame},
        plots=(Plot("trace", "step", "x", "run", "x_t on [−1, 1]", x_log=True,
                    refs=(RefLine("y", -1.0, "optimum"),)),),
        settings={"problem": f"f_t(x) = {C:g}·x if t mod 3 == 1 else −x, x ∈ [−1, 1], x_0 = 0",
                  "step size": "0.1/√t", "projection": "clamp to [−1, 1] after every step", "ε": eps,
                  "AMSGrad": "torch's form: running max of the uncorrected v, divided by the current bias correction",
                  "success means": "Adam ≥ 0.99, AMSGrad ≤ −0.9, fast loop = engine within 1e-9"},
    )


# --------------------------------------------------------------------------------------------------------------
# AdamW: decoupled weight decay against an L2 penalty.

METHOD_IDS = {"Adam + L2": "adam_l2", "AdamW": "adamw"}  # quantity-id prefix of each method


@lab(title="L2 penalty against decoupled weight decay", section="adamw",
     claim="With Adam + L2 the decay is divided by √v̂, so weights with large gradients barely decay; AdamW shrinks "
           "every weight by the same factor (1 − ηλ) per step.",
     params=(lr_param(low=1e-4, high=0.05, default=1e-3),
             Param("wd", "weight decay λ", 1e-3, 1.0, 0.1, log=True),
             Param("g_busy", "busy weight's gradient size", 1e-2, 100.0, 10.0, log=True),
             Param("g_quiet", "quiet weight's gradient size", 1e-4, 1.0, 0.01, log=True),
             Param("steps", "steps", 10, 2000, 200, integer=True, step=10)))
def l2_vs_decoupled(lr: float, wd: float, g_busy: float, g_quiet: float, steps: int) -> LabResult:
    """Two weights, one with large gradients and one with small, under Adam + L2 and AdamW.

    The loss gradient flips sign every step (no net pull), so only the decay moves the weights on average. Each
    method runs twice in one batch, with and without decay, on the same gradients: the difference is the decay's
    effect, free of the zig-zag the flipping gradient adds.
    """
    amplitude = torch.tensor([[g_busy, g_quiet]], dtype=F64)
    flip = lambda t, theta: amplitude * (-1.0) ** t  # noqa: E731
    paths = {}
    for name, opt in (("Adam + L2", "adam"), ("AdamW", "adamw")):
        stepper = make_stepper(opt, lr=lr, weight_decay=[0.0, wd])
        theta = torch.ones(2, 2, dtype=F64)  # run 0 without decay, run 1 with it; columns: busy, quiet weight
        state, trail = stepper.init(theta), [theta]
        for t in range(1, steps + 1):
            theta, state = stepper.update(theta, flip(t, theta), state)
            trail.append(theta)
        paths[name] = torch.stack(trail).numpy()  # (steps + 1, 2 runs, 2 weights)

    def per_step_decay(path: np.ndarray, w: int) -> float:
        shrink = max(1.0 + (path[-1, 1, w] - path[-1, 0, w]) / path[0, 1, w], 1e-12)
        return 1.0 - shrink ** (1.0 / steps)

    decay = {(name, w): float(per_step_decay(paths[name], j)) for name in paths for j, w in enumerate(("busy", "quiet"))}
    want = lr * wd
    adamw_ok = all(close(decay[("AdamW", w)], want, rel=0.02) for w in ("busy", "quiet"))
    l2_ok = decay[("Adam + L2", "busy")] < decay[("Adam + L2", "quiet")]
    passed = adamw_ok and l2_ok
    verdict = (f"Per step, AdamW removes {fmt(decay[('AdamW', 'busy')])} of the busy weight and "
               f"{fmt(decay[('AdamW', 'quiet')])} of the quiet one (η·λ = {fmt(want)}); Adam + L2 removes "
               f"{fmt(decay[('Adam + L2', 'busy')])} of the busy weight and {fmt(decay[('Adam + L2', 'quiet')])} of "
               "the quiet one. "
               + ("Decoupled decay ignores the gradients; L2 decay is divided by √v̂, so the busy weight keeps more."
                  if passed else
                  ("AdamW is off η·λ by more than 2%. " if not adamw_ok else "")
                  + ("Adam + L2 did not decay the busy weight less: give it larger gradients than the quiet one."
                     if not l2_ok else "")))
    t = np.arange(steps + 1)
    rows = [pd.DataFrame({"step": t, "weight": paths[name][:, 1, j], "weight and method": f"{w} weight, {name}"})
            for name in paths for j, w in enumerate(("busy", "quiet"))]
    rows.append(pd.DataFrame({"step": t, "weight": (1 - want) ** t, "weight and method": "(1 − ηλ)^t"}))
    bars = pd.DataFrame([{"weight": f"{w} (|g| = {fmt(g_busy if w == 'busy' else g_quiet)})", "method": name,
                          "decay per step": decay[(name, w)]} for (name, w) in decay])
    return LabResult(
        passed=passed,
        measured={f"{METHOD_IDS[name]}_{w}_decay": value for (name, w), value in decay.items()},
        expected={"adamw_decay_theory": want},
        labels={**{f"{METHOD_IDS[name]}_{w}_decay": f"{name}, {w} weight" for name, w in decay},
                "adamw_decay_theory": "AdamW: η·λ"},
        verdict=verdict, frames={"weights": pd.concat(rows, ignore_index=True), "decay": bars},
        plots=(Plot("weights", "step", "weight", "weight and method", "Weights under decay (with-decay runs)"),
               Plot("decay", "weight", "decay per step", "method", "Fraction removed by decay per step", mark="point",
                    y_log=True,
                    refs=(RefLine("y", want, "η·λ"),), colors=(("Adam + L2", "adam"), ("AdamW", "adamw")))),
        settings={"gradients": f"±{fmt(g_busy)} (busy) and ±{fmt(g_quiet)} (quiet), sign flipping every step",
                  "start": "both weights at 1",
                  "decay measured": "1 − (1 + (w_T(λ) − w_T(0))/w_0)^(1/T), twin runs with and without decay on the "
                                    "same gradients",
                  "betas": (0.9, 0.999), "tolerance": "AdamW within 2% of ηλ"},
    )
