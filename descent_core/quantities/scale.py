"""The numbers of the Practice part's newer pages: schedules (one cycle, warmup-stable-decay, the plateau rule),
training at scale (optimizer memory, half precision, weight averaging) and sharpness (the edge of stability, SAM).

Memory comes from ``descent_core.memory``, which reads the engine's own state; the rest from the labs' default runs,
each run once and shared by every quantity that quotes it."""

from __future__ import annotations

import functools

import torch

from ..memory import state_bytes_per_parameter, training_bytes_per_parameter
from ..schedules import Schedule
from . import quantity

SQUARE, WIDE = (4096, 4096), (4096, 16384)  # an attention projection; an MLP matrix with a 4x hidden width


@functools.lru_cache(maxsize=None)
def lab_measure(lab_id: str) -> dict[str, float]:
    """Measured and expected numbers of one lab's default run (labs are imported here, not at module load)."""
    from ..labs import LABS

    result = LABS[lab_id].run()
    return {**result.measured, **result.expected}


# --------------------------------------------------------------------------------------------------------------
# Schedules


@quantity("one cycle's last factor with torch's defaults: 1/(25 · 10⁴)")
def onecycle_final_factor() -> float:
    return float(Schedule("onecycle").factors(1000)[-1])


@quantity("one cycle's peak step (0-based) in a run of 1000 steps, pct_start 0.3")
def onecycle_peak_step() -> float:
    return float(Schedule("onecycle").factors(1000).argmax())


@quantity("wsd_vs_cosine: mean final loss with warmup + cosine")
def wsd_lab_cosine() -> float:
    return lab_measure("wsd_vs_cosine")["final_cosine"]


@quantity("wsd_vs_cosine: mean final loss with WSD, linear decay over the last 20%")
def wsd_lab_wsd() -> float:
    return lab_measure("wsd_vs_cosine")["final_wsd"]


@quantity("wsd_vs_cosine: mean final loss at a constant rate")
def wsd_lab_constant() -> float:
    return lab_measure("wsd_vs_cosine")["final_constant"]


@quantity("wsd_vs_cosine: WSD's loss over cosine's when WSD's decay starts")
def wsd_lab_plateau_ratio() -> float:
    return lab_measure("wsd_vs_cosine")["plateau_over_cosine"]


@quantity("plateau_cuts: number of cuts in the default run")
def plateau_lab_cuts() -> float:
    return lab_measure("plateau_cuts")["cuts"]


@quantity("plateau_cuts: the evaluation of the first cut")
def plateau_lab_first_cut() -> float:
    return lab_measure("plateau_cuts")["first_cut"]


@quantity("plateau_cuts: mean loss over the last 50 steps with the plateau rule")
def plateau_lab_final() -> float:
    return lab_measure("plateau_cuts")["final_loss"]


@quantity("plateau_cuts: mean loss over the last 50 steps at a constant rate")
def plateau_lab_final_constant() -> float:
    return lab_measure("plateau_cuts")["final_loss_constant"]


# --------------------------------------------------------------------------------------------------------------
# Optimizer memory (descent_core.memory, float32 state unless named)


def _bytes(opt: str, shape=SQUARE, dtype=torch.float32) -> float:
    return state_bytes_per_parameter(opt, shape, dtype)


@quantity("bytes of state per parameter, SGD, 4096 x 4096, float32")
def mem_sgd() -> float:
    return _bytes("sgd")


@quantity("bytes of state per parameter, SGD with momentum, 4096 x 4096, float32")
def mem_momentum() -> float:
    return _bytes("momentum")


@quantity("bytes of state per parameter, Lion, 4096 x 4096, float32")
def mem_lion() -> float:
    return _bytes("lion")


@quantity("bytes of state per parameter, Muon, 4096 x 4096, float32")
def mem_muon() -> float:
    return _bytes("muon")


@quantity("bytes of state per parameter, Adam, 4096 x 4096, float32")
def mem_adam() -> float:
    return _bytes("adam")


@quantity("bytes of state per parameter, AMSGrad, 4096 x 4096, float32")
def mem_amsgrad() -> float:
    return _bytes("amsgrad")


@quantity("bytes of state per parameter, AdEMAMix, 4096 x 4096, float32")
def mem_ademamix() -> float:
    return _bytes("ademamix")


@quantity("bytes of state per parameter, Prodigy, 4096 x 4096, float32")
def mem_prodigy() -> float:
    return _bytes("prodigy")


@quantity("bytes of state per parameter, Schedule-Free AdamW as the engine keeps it, 4096 x 4096, float32")
def mem_sf_adamw() -> float:
    return _bytes("sf_adamw")


@quantity("bytes of state per parameter, Adafactor, 4096 x 4096, float32")
def mem_adafactor() -> float:
    return _bytes("adafactor")


@quantity("bytes of state per parameter, Shampoo's two statistics, 4096 x 4096, float32")
def mem_shampoo() -> float:
    return _bytes("shampoo")


@quantity("bytes of state per parameter, SOAP, 4096 x 4096, float32")
def mem_soap() -> float:
    return _bytes("soap")


@quantity("bytes of state per parameter, Shampoo, 4096 x 16384, float32")
def mem_shampoo_wide() -> float:
    return _bytes("shampoo", WIDE)


@quantity("bytes of state per parameter, SOAP, 4096 x 16384, float32")
def mem_soap_wide() -> float:
    return _bytes("soap", WIDE)


@quantity("bytes of state per parameter, Adam with bfloat16 state")
def mem_adam_bf16() -> float:
    return _bytes("adam", dtype=torch.bfloat16)


@quantity("bytes of state per parameter, Adam with one-byte state (8-bit Adam, block scales aside)")
def mem_adam_8bit() -> float:
    return _bytes("adam", dtype=torch.uint8)


@quantity("bytes per parameter for bf16 mixed-precision Adam: weights, gradients, fp32 master, m and v")
def train_bytes_adam_mixed() -> float:
    return training_bytes_per_parameter("adam")


@quantity("bytes per parameter for Adam entirely in float32")
def train_bytes_adam_fp32() -> float:
    return training_bytes_per_parameter("adam", weights=torch.float32, grads=torch.float32, master=None)


@quantity("gigabytes (10⁹ bytes) for a 7-billion-parameter model trained with mixed-precision Adam, activations aside")
def train_gb_7b_adam() -> float:
    return training_bytes_per_parameter("adam") * 7e9 / 1e9


@quantity("gigabytes for a 7-billion-parameter model with mixed-precision SGD with momentum")
def train_gb_7b_momentum() -> float:
    return training_bytes_per_parameter("momentum") * 7e9 / 1e9


# --------------------------------------------------------------------------------------------------------------
# Half precision and loss scaling


@quantity("the smallest positive float16 (a subnormal), 2⁻²⁴")
def fp16_smallest() -> float:
    return float(torch.tensor(2.0**-24, dtype=torch.float16))


@quantity("the largest float16")
def fp16_max() -> float:
    return float(torch.finfo(torch.float16).max)


@quantity("Adam's default eps, 1e-8, stored in float16")
def fp16_eps() -> float:
    return lab_measure("half_precision")["eps_in_fp16"]


@quantity("smallest |g| for which float16 Adam's first step (eps 1e-8) is finite")
def fp16_adam_threshold() -> float:
    return lab_measure("half_precision")["finite_from_grad"]


@quantity("a bfloat16 weight of 1 after 100 updates of -0.001")
def bf16_after_updates() -> float:
    return lab_measure("half_precision")["bf16_after_updates"]


@quantity("a float32 weight of 1 after 100 updates of -0.001")
def fp32_after_updates() -> float:
    return lab_measure("half_precision")["fp32_after_updates"]


@quantity("bfloat16: half the spacing of the numbers just above 1, 2⁻⁸")
def bf16_half_spacing() -> float:
    return float(torch.finfo(torch.bfloat16).eps) / 2


@quantity("unscale_before_clipping: the true gradient norm at the first step")
def clip_lab_true_norm() -> float:
    return lab_measure("unscale_before_clipping")["true_norm"]


@quantity("unscale_before_clipping: the norm clip_grad_norm_ reports when the gradients are still scaled")
def clip_lab_logged_wrong() -> float:
    return lab_measure("unscale_before_clipping")["logged_wrong"]


@quantity("unscale_before_clipping: right step over wrong step (the loss scale 2^16)")
def clip_lab_step_ratio() -> float:
    return lab_measure("unscale_before_clipping")["step_ratio"]


@quantity("unscale_before_clipping: loss after 100 steps, unscale then clip")
def clip_lab_loss_right() -> float:
    return lab_measure("unscale_before_clipping")["loss_right"]


@quantity("unscale_before_clipping: loss after 100 steps, clip then unscale")
def clip_lab_loss_wrong() -> float:
    return lab_measure("unscale_before_clipping")["loss_wrong"]


# --------------------------------------------------------------------------------------------------------------
# Weight averaging


@quantity("weight_averaging: mean loss of the last iterate")
def avg_lab_last() -> float:
    return lab_measure("weight_averaging")["loss_last"]


@quantity("weight_averaging: mean loss of the EMA, beta 0.99")
def avg_lab_ema() -> float:
    return lab_measure("weight_averaging")["loss_ema"]


@quantity("weight_averaging: mean loss of SWA, the mean of the second half")
def avg_lab_swa() -> float:
    return lab_measure("weight_averaging")["loss_swa"]


@quantity("weight_averaging: the last iterate's loss over SWA's", tolerance=0.5)
def avg_lab_gain() -> float:
    return lab_measure("weight_averaging")["swa_gain"]


# --------------------------------------------------------------------------------------------------------------
# Sharpness


@quantity("edge_of_stability: sharpness at the start")
def eos_lab_start() -> float:
    return lab_measure("edge_of_stability")["sharpness_start"]


@quantity("edge_of_stability: mean sharpness over the second half at lr 0.2")
def eos_lab_hover_a() -> float:
    return lab_measure("edge_of_stability")["hover_a"]


@quantity("edge_of_stability: mean sharpness over the second half at lr 0.3")
def eos_lab_hover_b() -> float:
    return lab_measure("edge_of_stability")["hover_b"]


@quantity("edge_of_stability: peak sharpness at lr 0.2")
def eos_lab_peak_a() -> float:
    return lab_measure("edge_of_stability")["peak_a"]


@quantity("Adam's stability threshold factor (2 + 2 beta1)/(1 - beta1) at beta1 = 0.9: the threshold is that / lr")
def adam_eos_factor() -> float:
    beta1 = 0.9
    return (2 + 2 * beta1) / (1 - beta1)


@quantity("sam_flat_minimum: share of GD-sharp starts where SAM ends in the flat minimum")
def sam_lab_share() -> float:
    return lab_measure("sam_flat_minimum")["sam_flat_share"]


@quantity("sam_flat_minimum: SAM's two-step cycle amplitude in the sharp bowl at the defaults")
def sam_lab_amplitude() -> float:
    return lab_measure("sam_flat_minimum")["sam_cycle_amplitude"]


@quantity("sam_flat_minimum: radius of the sharp basin toward the flat minimum")
def sam_lab_basin() -> float:
    return lab_measure("sam_flat_minimum")["sharp_basin_radius"]
