"""The numbers of the Adaptive-rates part (sections 05-07): AdaGrad's shrinking steps, RMSprop's oversized start
and AdaDelta's slow one, each measured by stepping the engine's rule on a constant gradient or on the worked
example."""

from __future__ import annotations

import functools

import numpy as np

from ..optimizers import make_stepper
from ..race import race
from . import quantity
from .basics import F64, constant_gradient_steps
from .foundations import worked_example

# --------------------------------------------------------------------------------------------------------------
# 05 AdaGrad: a gradient of 0.001 and one of 50, held constant, at the code sample's η = 0.1.

ADAGRAD_LR = 0.1


@functools.lru_cache(maxsize=1)
def adagrad_steps() -> np.ndarray:
    """|Δθ_t| / η for t = 1..10,000 on the gradients 0.001 and 50; shape (10000, 2)."""
    return constant_gradient_steps(make_stepper("adagrad", lr=ADAGRAD_LR), [0.001, 50.0], 10_000) / ADAGRAD_LR


@quantity("the ratio of AdaGrad's first steps on the gradients 50 and 0.001")
def adagrad_first_step_ratio() -> float:
    first = adagrad_steps()[0]
    return float(first[1] / first[0])


@quantity("AdaGrad's step 2 on a constant gradient, in units of η")
def adagrad_step_2() -> float:
    return float(adagrad_steps()[1, 1])


@quantity("AdaGrad's step 3 on a constant gradient, in units of η")
def adagrad_step_3() -> float:
    return float(adagrad_steps()[2, 1])


@quantity("AdaGrad's step 4 on a constant gradient, in units of η")
def adagrad_step_4() -> float:
    return float(adagrad_steps()[3, 1])


@quantity("AdaGrad's step 100 on a constant gradient, in units of η")
def adagrad_step_100() -> float:
    return float(adagrad_steps()[99, 1])


@quantity("AdaGrad's step 10,000 on a constant gradient, in units of η")
def adagrad_step_10000() -> float:
    return float(adagrad_steps()[9999, 1])


@quantity("steps AdaGrad needs to travel 10 on a constant gradient at η = 0.1")
def adagrad_steps_to_ten() -> float:
    travelled = np.cumsum(adagrad_steps()[:, 1] * ADAGRAD_LR)
    return float(np.argmax(travelled >= 10.0) + 1)


# --------------------------------------------------------------------------------------------------------------
# 06 RMSprop: its steps on a constant gradient, with no bias correction.


@functools.lru_cache(maxsize=1)
def rmsprop_steps() -> np.ndarray:
    """|Δθ_t| / η for t = 1..300 on a constant gradient; column 0 at torch's α = 0.99, column 1 at α = 0.9."""
    stepper = make_stepper("rmsprop", lr=1.0, alpha=[0.99, 0.9])
    return constant_gradient_steps(stepper, [1.0, 1.0], 300)


@quantity("RMSprop's step 1 on a constant gradient, α = 0.99, in units of η")
def rmsprop_step_1() -> float:
    return float(rmsprop_steps()[0, 0])


@quantity("RMSprop's step 2 on a constant gradient, α = 0.99, in units of η")
def rmsprop_step_2() -> float:
    return float(rmsprop_steps()[1, 0])


@quantity("RMSprop's step 10 on a constant gradient, α = 0.99, in units of η")
def rmsprop_step_10() -> float:
    return float(rmsprop_steps()[9, 0])


@quantity("RMSprop's step 100 on a constant gradient, α = 0.99, in units of η")
def rmsprop_step_100() -> float:
    return float(rmsprop_steps()[99, 0])


@quantity("RMSprop's step 300 on a constant gradient, α = 0.99, in units of η")
def rmsprop_step_300() -> float:
    return float(rmsprop_steps()[299, 0])


@quantity("RMSprop's step 1 on a constant gradient with α = 0.9, in units of η")
def rmsprop_step_1_alpha09() -> float:
    return float(rmsprop_steps()[0, 1])


# --------------------------------------------------------------------------------------------------------------
# 07 AdaDelta with torch's defaults (lr 1, ρ 0.9, ε 1e-6): gradients 1 and 0.01, held constant.


@functools.lru_cache(maxsize=1)
def adadelta_steps() -> np.ndarray:
    """|Δθ_t| for t = 1..10,000; column 0 for the gradient 1, column 1 for 0.01."""
    return constant_gradient_steps(make_stepper("adadelta"), [1.0, 0.01], 10_000)


@quantity("AdaDelta's step 1 on a constant gradient of 1")
def adadelta_step_1() -> float:
    return float(adadelta_steps()[0, 0])


@quantity("AdaDelta's step 10 on a constant gradient of 1")
def adadelta_step_10() -> float:
    return float(adadelta_steps()[9, 0])


@quantity("AdaDelta's step 100 on a constant gradient of 1")
def adadelta_step_100() -> float:
    return float(adadelta_steps()[99, 0])


@quantity("AdaDelta's step 1000 on a constant gradient of 1")
def adadelta_step_1000() -> float:
    return float(adadelta_steps()[999, 0])


@quantity("AdaDelta's step 10,000 on a constant gradient of 1")
def adadelta_step_10000() -> float:
    return float(adadelta_steps()[9999, 0])


@quantity("AdaDelta's step 1 on a constant gradient of 0.01")
def adadelta_small_step_1() -> float:
    return float(adadelta_steps()[0, 1])


@quantity("AdaDelta's step 10,000 on a constant gradient of 0.01")
def adadelta_small_step_10000() -> float:
    return float(adadelta_steps()[9999, 1])


@functools.lru_cache(maxsize=1)
def ravine_after_100() -> np.ndarray:
    """Where AdaDelta (defaults; lr 10; ε 1e-4) and RMSprop (η = 0.01) stand after 100 steps on the worked example
    from (1, 1): rows in that order."""
    result = race(worked_example(), ["adadelta", "rmsprop"], steps=100, dtype=F64, device="cpu",
                  hparams={"adadelta": {"lr": [1.0, 10.0, 1.0], "eps": [1e-6, 1e-6, 1e-4]}, "rmsprop": {"lr": 0.01}})
    return np.concatenate([result.paths[0, :, -1], result.paths[1, :, -1]])


@quantity("AdaDelta's x after 100 steps on the worked example from (1, 1), torch's defaults")
def adadelta_ravine_x() -> float:
    return float(ravine_after_100()[0, 0])


@quantity("AdaDelta's x after 100 steps on the worked example from (1, 1), lr = 10")
def adadelta_ravine_x_lr10() -> float:
    return float(ravine_after_100()[1, 0])


@quantity("AdaDelta's x after 100 steps on the worked example from (1, 1), ε = 1e-4")
def adadelta_ravine_x_eps4() -> float:
    return float(ravine_after_100()[2, 0])


@quantity("RMSprop's x after 100 steps on the worked example from (1, 1), η = 0.01")
def rmsprop_ravine_x() -> float:
    return float(ravine_after_100()[3, 0])
