"""The numbers of the Adam family (sections 08-11): Adam's step bounds and bias corrections, its early steps on
noise, ε's placement, AMSGrad's counterexample, AdamW's decay and torch's NAdam momentum schedule.

Each is read off the engine's own steppers (moments from their state, steps from their updates), a lab's run, or
the engine's schedule functions."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..labs.adam_family import scale_by_adam_without_bias_correction
from ..optimizers import Stepper, make_stepper
from ..transforms.adam import nadam_momentum
from . import quantity
from .basics import F64, constant_gradient_steps, lab_run

B1, B2 = 0.9, 0.999  # torch's default betas

# --------------------------------------------------------------------------------------------------------------
# 08 Adam: how large one coordinate's step can be.

SPIKE_AT = 10_000  # late enough that both bias corrections are 1 to five digits


@functools.lru_cache(maxsize=1)
def adam_extreme_steps() -> np.ndarray:
    """|Δθ| / η at step SPIKE_AT for two gradient histories of one coordinate: zero throughout and then a single
    spike; and the history that maximises |m̂|/√v̂ (by Cauchy-Schwarz: g_i ∝ (β1/β2)^(t−i), gradients growing by
    β2/β1 per step, here over the last 400 steps)."""
    stepper = make_stepper("adam", lr=1.0)
    theta = torch.zeros(2, 1, dtype=F64)
    state = stepper.init(theta)
    for t in range(1, SPIKE_AT + 1):
        spike = 1.0 if t == SPIKE_AT else 0.0
        growing = (B2 / B1) ** (t - SPIKE_AT) if t > SPIKE_AT - 400 else 0.0
        new, state = stepper.update(theta, torch.tensor([[spike], [growing]], dtype=F64), state)
        step, theta = (new - theta).abs()[:, 0].numpy(), new
    return step


@quantity("Adam's step after a single gradient spike on a coordinate whose gradients were zero, in units of η")
def adam_spike_step() -> float:
    return float(adam_extreme_steps()[0])


@quantity("Adam's largest possible step on one coordinate (the worst gradient history), in units of η")
def adam_max_step() -> float:
    return float(adam_extreme_steps()[1])


@quantity("Adam's first step on a constant gradient of 0.01, in units of η")
def adam_first_step() -> float:
    return float(constant_gradient_steps(make_stepper("adam", lr=1.0), [0.01], 1)[0, 0])


CORRECTION_STEPS = 5000


@functools.lru_cache(maxsize=1)
def adam_moments() -> np.ndarray:
    """(m_t, v_t) of the engine's Adam on a constant unit gradient, read from its state after every step t = 1..5000;
    shape (5001, 2), row 0 unused."""
    stepper = make_stepper("adam", lr=1e-3)
    theta = torch.zeros(1, 1, dtype=F64)
    state, out = stepper.init(theta), np.full((CORRECTION_STEPS + 1, 2), np.nan)
    for t in range(1, CORRECTION_STEPS + 1):
        theta, state = stepper.update(theta, torch.ones_like(theta), state)
        out[t] = float(state.slots.m), float(state.slots.v)
    return out


def _first_correction(t: int) -> float:
    return float(1.0 / adam_moments()[t, 0])  # g / m_t = 1/(1 − β1^t)


def _second_correction(t: int) -> float:
    return float(1.0 / adam_moments()[t, 1])  # g² / v_t = 1/(1 − β2^t)


@quantity("the first step at which Adam's second-moment correction g²/v_t falls below 1.01")
def adam_v_correction_within_1pct_at() -> float:
    return float(np.argmax(1.0 / adam_moments()[1:, 1] < 1.01) + 1)


@quantity("Adam's first-moment correction 1/(1−β1^t) at t = 1, read as g/m_t from the state")
def adam_m_correction_1() -> float:
    return _first_correction(1)


@quantity("Adam's first-moment correction at t = 10")
def adam_m_correction_10() -> float:
    return _first_correction(10)


@quantity("Adam's first-moment correction at t = 100")
def adam_m_correction_100() -> float:
    return _first_correction(100)


@quantity("Adam's first-moment correction at t = 1000")
def adam_m_correction_1000() -> float:
    return _first_correction(1000)


@quantity("Adam's first-moment correction at t = 5000")
def adam_m_correction_5000() -> float:
    return _first_correction(5000)


@quantity("Adam's second-moment correction 1/(1−β2^t) at t = 1, read as g²/v_t from the state")
def adam_v_correction_1() -> float:
    return _second_correction(1)


@quantity("Adam's second-moment correction at t = 10")
def adam_v_correction_10() -> float:
    return _second_correction(10)


@quantity("Adam's second-moment correction at t = 100")
def adam_v_correction_100() -> float:
    return _second_correction(100)


@quantity("Adam's second-moment correction at t = 1000")
def adam_v_correction_1000() -> float:
    return _second_correction(1000)


@quantity("Adam's second-moment correction at t = 5000")
def adam_v_correction_5000() -> float:
    return _second_correction(5000)


@quantity("bias_correction: uncorrected Adam's first step on a constant gradient, in units of η")
def adam_raw_first_step() -> float:
    return lab_run("bias_correction")["raw_first"]


@quantity("bias_correction: uncorrected Adam's largest step on a constant gradient, in units of η")
def adam_raw_peak_step() -> float:
    return lab_run("bias_correction")["raw_peak"]


@quantity("bias_correction: the step at which uncorrected Adam's steps peak")
def adam_raw_peak_at() -> float:
    return lab_run("bias_correction")["raw_peak_step"]


@quantity("bias_correction: uncorrected Adam's step 1000, in units of η")
def adam_raw_step_1000() -> float:
    return lab_run("bias_correction")["raw_last"]


@quantity("uncorrected Adam's step 100 on a constant gradient, in units of η")
def adam_raw_step_100() -> float:
    stepper = Stepper.from_transform(scale_by_adam_without_bias_correction(B1, B2, 1e-8), 1.0)
    return float(constant_gradient_steps(stepper, [1.0], 100)[-1, 0])


# Early steps on noise: a coordinate whose gradient is pure noise (mean 0), 1024 such coordinates, seed 0.


@functools.lru_cache(maxsize=1)
def adam_noise_steps() -> np.ndarray:
    """Mean |Δθ_t| / η over 1024 coordinates whose gradients are independent N(0, 1) draws, t = 1..2000."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(2000, 1024, 1, generator=generator, dtype=F64)
    stepper = make_stepper("adam", lr=1.0)
    theta = torch.zeros(1024, 1, dtype=F64)
    state, out = stepper.init(theta), []
    for g in noise:
        new, state = stepper.update(theta, g, state)
        out.append(float((new - theta).abs().mean()))
        theta = new
    return np.array(out)


@quantity("Adam's mean step on pure-noise coordinates at t = 1, in units of η")
def adam_noise_step_1() -> float:
    return float(adam_noise_steps()[0])


@quantity("Adam's mean step on pure-noise coordinates at t = 10, in units of η")
def adam_noise_step_10() -> float:
    return float(adam_noise_steps()[9])


@quantity("Adam's mean step on pure-noise coordinates over steps 1001-2000, in units of η")
def adam_noise_step_late() -> float:
    return float(adam_noise_steps()[1000:].mean())


@quantity("epsilon_placement: Adam's step at |g| = 1e-6 with ε = 1e-8 outside the root, in units of η")
def adam_eps_outside_step() -> float:
    return lab_run("epsilon_placement")["step_eps_outside"]


@quantity("epsilon_placement: the same step with ε = 1e-8 inside the root, in units of η")
def adam_eps_inside_step() -> float:
    return lab_run("epsilon_placement")["step_eps_inside"]


# --------------------------------------------------------------------------------------------------------------
# 09 AMSGrad: the counterexample's cycle (β1 = 0, β2 = 0.1, C = 3), read off the engine.


@functools.lru_cache(maxsize=1)
def counterexample_cycle() -> dict[str, np.ndarray]:
    """The last cycle of 3000 steps of the counterexample's gradients (C, −1, −1): v after each of its steps, and
    Adam's and AMSGrad's signed steps in units of η_t (no projection: the gradients do not depend on x)."""
    stepper = {opt: make_stepper(opt, lr=1.0, betas=(0.0, 0.1)) for opt in ("adam", "amsgrad")}
    theta = {opt: torch.zeros(1, 1, dtype=F64) for opt in stepper}
    state = {opt: stepper[opt].init(theta[opt]) for opt in stepper}
    out = {"v": [], "adam": [], "amsgrad": []}
    for t in range(1, 3001):
        g = torch.full((1, 1), 3.0 if t % 3 == 1 else -1.0, dtype=F64)
        for opt in stepper:
            new, state[opt] = stepper[opt].update(theta[opt], g, state[opt])
            if t > 2997:
                out[opt].append(float(new - theta[opt]))
                if opt == "adam":
                    out["v"].append(float(state[opt].slots.v))
            theta[opt] = new
    return {k: np.array(v) for k, v in out.items()}


@quantity("counterexample: v right after the gradient 3")
def amsgrad_cycle_v_big() -> float:
    return float(counterexample_cycle()["v"][0])


@quantity("counterexample: v after the first −1")
def amsgrad_cycle_v_second() -> float:
    return float(counterexample_cycle()["v"][1])


@quantity("counterexample: v after the second −1")
def amsgrad_cycle_v_third() -> float:
    return float(counterexample_cycle()["v"][2])


@quantity("counterexample: √v right after the gradient 3")
def amsgrad_cycle_root_big() -> float:
    return math.sqrt(counterexample_cycle()["v"][0])


@quantity("counterexample: Adam's move down on the gradient 3, in units of η_t")
def amsgrad_cycle_adam_down() -> float:
    return -float(counterexample_cycle()["adam"][0])


@quantity("counterexample: Adam's move up on the first −1, in units of η_t")
def amsgrad_cycle_adam_up_first() -> float:
    return float(counterexample_cycle()["adam"][1])


@quantity("counterexample: Adam's move up on the second −1, in units of η_t")
def amsgrad_cycle_adam_up_second() -> float:
    return float(counterexample_cycle()["adam"][2])


@quantity("counterexample: Adam's net move per cycle (positive: toward +1), in units of η_t")
def amsgrad_cycle_adam_net() -> float:
    return float(counterexample_cycle()["adam"].sum())


@quantity("counterexample: AMSGrad's move up on each −1, in units of η_t")
def amsgrad_cycle_amsgrad_up() -> float:
    return float(counterexample_cycle()["amsgrad"][1])


@quantity("counterexample: AMSGrad's net move per cycle (negative: toward −1), in units of η_t")
def amsgrad_cycle_amsgrad_net() -> float:
    return float(counterexample_cycle()["amsgrad"].sum())


@quantity("amsgrad_counterexample: Adam's x after 30,000 steps with β2 = 0.1")
def amsgrad_lab_adam_final() -> float:
    return lab_run("amsgrad_counterexample")["adam_final_small_b2"]


@quantity("amsgrad_counterexample: AMSGrad's x after 30,000 steps with β2 = 0.1")
def amsgrad_lab_amsgrad_final() -> float:
    return lab_run("amsgrad_counterexample")["amsgrad_final_small_b2"]


@quantity("amsgrad_counterexample: Adam's x after 30,000 steps with the default β2 = 0.999")
def amsgrad_lab_adam_default_final() -> float:
    return lab_run("amsgrad_counterexample")["adam_final_default"]


@functools.lru_cache(maxsize=1)
def synthetic_finals() -> dict[str, float]:
    """Reddi et al.'s synthetic problem (f_t = 1010x once every 101 steps, −10x otherwise) on [−1, 1]: x after
    10,000 steps of the engine's Adam and AMSGrad at a constant η = 0.01, β = (0.9, 0.99), projected every step."""
    out = {}
    for opt in ("adam", "amsgrad"):
        stepper = make_stepper(opt, lr=1e-2, betas=(0.9, 0.99))
        x = torch.zeros(1, 1, dtype=F64)
        state = stepper.init(x)
        big, small = torch.full_like(x, 1010.0), torch.full_like(x, -10.0)
        for t in range(1, 10_001):
            x, state = stepper.update(x, big if t % 101 == 1 else small, state)
            x = x.clamp(-1.0, 1.0)
        out[opt] = float(x)
    return out


@quantity("synthetic problem: Adam's x after 10,000 steps")
def amsgrad_synthetic_adam() -> float:
    return synthetic_finals()["adam"]


@quantity("synthetic problem: AMSGrad's x after 10,000 steps")
def amsgrad_synthetic_amsgrad() -> float:
    return synthetic_finals()["amsgrad"]


# --------------------------------------------------------------------------------------------------------------
# 10 AdamW: decay with no data gradient at all (the section's code sample), and the leak.


@functools.lru_cache(maxsize=1)
def flat_loss_weights() -> dict[str, np.ndarray]:
    """The weights (2, 0.02) after 100 steps of zero data gradient, η = 0.01, λ = 0.1: Adam + L2 and AdamW."""
    out = {}
    for opt in ("adam", "adamw"):
        stepper = make_stepper(opt, lr=0.01, weight_decay=0.1)
        theta = torch.tensor([[2.0], [0.02]], dtype=F64)
        state = stepper.init(theta)
        for _ in range(100):
            theta, state = stepper.update(theta, torch.zeros_like(theta), state)
        out[opt] = theta[:, 0].numpy()
    return out


@quantity("Adam + L2 on a flat loss: the weight that started at 2, after 100 steps of η = 0.01")
def adam_l2_flat_big() -> float:
    return float(flat_loss_weights()["adam"][0])


@quantity("AdamW on a flat loss: the factor both weights are multiplied by over 100 steps, (1 − ηλ)^100")
def adamw_flat_factor() -> float:
    return float(flat_loss_weights()["adamw"][0] / 2.0)


@functools.lru_cache(maxsize=1)
def leak_factor() -> float:
    """AdamW's factor per step on a weight with no gradient at η = 3e-4, λ = 0.1."""
    stepper = make_stepper("adamw", lr=3e-4, weight_decay=0.1)
    theta = torch.ones(1, 1, dtype=F64)
    new, _ = stepper.update(theta, torch.zeros_like(theta), stepper.init(theta))
    return float(new)


@quantity("AdamW's leak per step at η = 3e-4, λ = 0.1: 1 − the factor")
def adamw_leak_per_step() -> float:
    return 1.0 - leak_factor()


@quantity("steps for AdamW's leak to halve an unused weight at η = 3e-4, λ = 0.1", tolerance=50.0)
def adamw_leak_half_life() -> float:
    return math.log(2.0) / -math.log(leak_factor())


@quantity("AdamW's factor per step at lr 1e-3, weight_decay 0.1")
def adamw_shrink_factor() -> float:
    stepper = make_stepper("adamw", lr=1e-3, weight_decay=0.1)
    theta = torch.ones(1, 1, dtype=F64)
    new, _ = stepper.update(theta, torch.zeros_like(theta), stepper.init(theta))
    return float(new)


@quantity("l2_vs_decoupled: fraction of the busy weight Adam + L2 removes per step")
def l2_lab_busy() -> float:
    return lab_run("l2_vs_decoupled")["adam_l2_busy_decay"]


@quantity("l2_vs_decoupled: fraction of the quiet weight Adam + L2 removes per step")
def l2_lab_quiet() -> float:
    return lab_run("l2_vs_decoupled")["adam_l2_quiet_decay"]


@quantity("l2_vs_decoupled: fraction of either weight AdamW removes per step")
def l2_lab_adamw() -> float:
    return lab_run("l2_vs_decoupled")["adamw_busy_decay"]


# --------------------------------------------------------------------------------------------------------------
# 11 NAdam: torch's momentum schedule μ_t, from the engine's own schedule function at the registry's defaults.


def _mu(t: int) -> float:
    from ..optimizers import OPTIMIZERS

    defaults = OPTIMIZERS["nadam"].defaults
    return float(nadam_momentum(defaults["betas"][0], t, defaults["momentum_decay"]))


@quantity("torch NAdam's μ_t at t = 1")
def nadam_mu_1() -> float:
    return _mu(1)


@quantity("torch NAdam's μ_t at t = 1000")
def nadam_mu_1000() -> float:
    return _mu(1000)


@quantity("torch NAdam's μ_t at t = 5000")
def nadam_mu_5000() -> float:
    return _mu(5000)


@quantity("torch NAdam's μ_t at t = 10,000")
def nadam_mu_10000() -> float:
    return _mu(10_000)


@quantity("torch NAdam's μ_t at t = 25,000")
def nadam_mu_25000() -> float:
    return _mu(25_000)


@quantity("torch NAdam's μ_t at t = 50,000")
def nadam_mu_50000() -> float:
    return _mu(50_000)


@quantity("weight of the fresh gradient in torch NAdam's first step, 1 − μ_1")
def nadam_fresh_weight_1() -> float:
    return 1.0 - _mu(1)
