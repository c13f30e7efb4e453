"""Optimizer memory: the counts descent_core.memory reads off a probe equal the state the steppers really create,
the closed forms the guide states, and the state torch.optim keeps where torch has the optimizer."""

import math

import pytest
import torch

import descent_core as dc
from descent_core.memory import (MEMORY_NOTES, counted_state, memory_table, state_buffers, state_bytes_per_parameter,
                                 state_elements, training_bytes_per_parameter)

SHAPES = [(6, 4), (4, 6), (5, 5), (1, 7), (9,), (2,)]


@pytest.mark.parametrize("opt_id", list(dc.OPTIMIZERS))
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_counts_equal_the_state_the_stepper_creates(opt_id, shape):
    theta = torch.randn(1, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    real = counted_state(opt_id, theta, steps=2)
    assert state_buffers(opt_id, shape) == real
    assert state_elements(opt_id, shape) == sum(math.prod(s) for s in real.values())
    # init already holds every buffer but SOAP's eigenbases, which its first update computes
    initial = counted_state(opt_id, theta, steps=0)
    assert set(real) - set(initial) <= {"q_left", "q_right"}


def closed_form(opt_id: str, m: int, n: int) -> int:
    mn = m * n
    return {"gd": 0, "sgd": 0, "momentum": mn, "nesterov": mn, "adagrad": mn, "rmsprop": mn, "adadelta": 2 * mn,
            "adam": 2 * mn, "amsgrad": 3 * mn, "adamw": 2 * mn, "nadam": 2 * mn, "radam": 2 * mn, "lion": mn,
            "lamb": 2 * mn, "lars": mn, "muon": mn, "shampoo": m * m + n * n, "sophia": 2 * mn, "adafactor": m + n,
            "sf_adamw": 3 * mn, "sf_sgd": 2 * mn, "soap": 2 * mn + 2 * (m * m + n * n), "adopt": 2 * mn,
            "ademamix": 3 * mn, "cautious_adamw": 2 * mn, "prodigy": 4 * mn + 3}[opt_id]


@pytest.mark.parametrize("opt_id", list(dc.OPTIMIZERS))
@pytest.mark.parametrize("shape", [(4096, 4096), (4096, 16384), (50_000, 1024)])
def test_counts_follow_the_closed_forms_at_scale(opt_id, shape):
    assert state_elements(opt_id, shape) == closed_form(opt_id, *shape)


def test_bytes_per_parameter_for_a_4096_square_matrix():
    fp32 = {opt: state_bytes_per_parameter(opt) for opt in dc.OPTIMIZERS}
    assert fp32["sgd"] == 0 and fp32["momentum"] == 4 and fp32["adam"] == 8 and fp32["amsgrad"] == 12
    assert fp32["adafactor"] == pytest.approx(8192 * 4 / 4096**2) and fp32["soap"] == 24
    assert fp32["prodigy"] == pytest.approx(16 + 12 / 4096**2)
    assert state_bytes_per_parameter("adam", dtype=torch.bfloat16) == 4
    assert state_bytes_per_parameter("adam", dtype=torch.int8) == 2  # 8-bit Adam, its block scales aside
    assert training_bytes_per_parameter("adam") == 16  # 2 + 2 + 4 + 8
    fp32_only = dict(weights=torch.float32, grads=torch.float32, master=None)
    assert training_bytes_per_parameter("sgd", **fp32_only) == 8
    assert training_bytes_per_parameter("adam", **fp32_only) == 16  # mixed precision saves no parameter memory
    rows = memory_table()
    assert [r["optimizer"] for r in rows] == list(dc.OPTIMIZERS)
    assert all(r["note"] == MEMORY_NOTES.get(r["optimizer"], "") for r in rows)


def test_vectors_keep_full_statistics():
    assert state_buffers("adafactor", (4096,)) == {"v": (4096,)}
    assert state_buffers("shampoo", (4096,)) == {"left": (4096, 4096)}  # full-matrix AdaGrad on a vector
    assert state_bytes_per_parameter("shampoo", (4096,)) == 4096 * 4


def test_bad_shapes_are_refused():
    for shape in [(), (2, 3, 4), (0, 3)]:
        with pytest.raises(ValueError):
            state_elements("adam", shape)


TORCH_CLASSES = {"momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                 "adagrad": lambda p: torch.optim.Adagrad(p), "rmsprop": lambda p: torch.optim.RMSprop(p),
                 "adadelta": lambda p: torch.optim.Adadelta(p), "adam": lambda p: torch.optim.Adam(p),
                 "amsgrad": lambda p: torch.optim.Adam(p, amsgrad=True), "adamw": lambda p: torch.optim.AdamW(p),
                 "nadam": lambda p: torch.optim.NAdam(p), "radam": lambda p: torch.optim.RAdam(p),
                 "adafactor": lambda p: torch.optim.Adafactor(p)}
if hasattr(torch.optim, "Muon"):
    TORCH_CLASSES["muon"] = lambda p: torch.optim.Muon(p)


@pytest.mark.parametrize("opt_id", list(TORCH_CLASSES))
def test_counts_equal_torch_optim_state(opt_id):
    shape = (12, 5)
    param = torch.nn.Parameter(torch.randn(*shape, dtype=torch.float64))
    opt = TORCH_CLASSES[opt_id]([param])
    param.grad = torch.randn(*shape, dtype=torch.float64)
    opt.step()
    # torch's per-tensor counters (step, NAdam's mu_product) are 0-dim: not per-parameter state
    kept = sum(v.numel() for v in opt.state[param].values() if isinstance(v, torch.Tensor) and v.ndim > 0)
    assert state_elements(opt_id, shape) == kept


def test_the_family_table_prices_every_optimizers_state():
    from descent_ui.family import MEMORY_SHAPE, family_frame

    frame = family_frame().set_index("optimizer")
    for opt, spec in dc.OPTIMIZERS.items():
        expected = state_bytes_per_parameter(opt, MEMORY_SHAPE)
        assert float(frame.loc[spec.name, "state bytes / weight"]) == pytest.approx(expected, rel=5e-3), opt
    assert frame.loc[dc.OPTIMIZERS["adam"].name, "state bytes / weight"] == "8"
    assert frame.loc[dc.OPTIMIZERS["momentum"].name, "state bytes / weight"] == "4"
    assert float(frame.loc[dc.OPTIMIZERS["adafactor"].name, "state bytes / weight"]) < 0.01
