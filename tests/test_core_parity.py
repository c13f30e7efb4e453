"""Every torch-backed optimizer id equals its torch.optim class, in float64, on several surfaces."""

import math

import pytest
import torch

import descent_core as dc

STEPS = 60

# (optimizer id, hyperparameter overrides): defaults plus the non-default knobs torch exposes.
CONFIGS = [
    ("gd", {"lr": 0.01}),
    ("gd", {"lr": 0.005, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.01}),
    ("sgd", {"lr": 0.003, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05}),
    ("momentum", {"lr": 0.002}),
    ("momentum", {"lr": 0.001, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01}),
    ("nesterov", {"lr": 0.002}),
    ("nesterov", {"lr": 0.001, "momentum": 0.95, "weight_decay": 0.02}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.2, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.5, "eps": 1e-8}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.7, "centered": True}),
    ("rmsprop", {"lr": 0.005, "centered": True}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-4, "weight_decay": 0.02}),
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("adam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("amsgrad", {"lr": 0.05}),
    ("amsgrad", {"lr": 0.03, "betas": (0.5, 0.9), "weight_decay": 0.01}),
    ("adamw", {"lr": 0.05}),
    ("adamw", {"lr": 0.02, "betas": (0.85, 0.98), "weight_decay": 0.3, "amsgrad": True}),
    ("nadam", {"lr": 0.05}),
    ("nadam", {"lr": 0.02, "betas": (0.8, 0.99), "momentum_decay": 0.01, "weight_decay": 0.05}),
    ("nadam", {"lr": 0.02, "weight_decay": 0.05, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.05}),
    ("radam", {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.05}),
    ("radam", {"lr": 0.02, "weight_decay": 0.05, "decoupled_weight_decay": True}),
    ("muon", {"lr": 0.02}),
    ("muon", {"lr": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "ns_steps": 3}),
    ("muon", {"lr": 0.05, "adjust_lr_fn": "match_rms_adamw"}),
]

TORCH_FIXED = {"gd": {"momentum": 0.0}, "momentum": {}, "nesterov": {}, "amsgrad": {}}
SURFACES = ["ravine", "rosenbrock", "beale", "rotated_ravine"]
# Rosenbrock is about 50x steeper than the ravine near its start: scale step sizes so every run stays finite.
LR_SCALE = {"ravine": 1.0, "rotated_ravine": 1.0, "rosenbrock": 0.05, "beale": 0.5}


def torch_optimizer(opt_id: str, param: torch.Tensor, hparams: dict) -> torch.optim.Optimizer:
    spec = dc.OPTIMIZERS[opt_id]
    kwargs = {k: (tuple(v) if isinstance(v, (tuple, list)) else v) for k, v in hparams.items()}
    if spec.torch_class == "SGD":
        kwargs = {k: v for k, v in kwargs.items() if k in ("lr", "momentum", "dampening", "weight_decay", "nesterov")}
    if opt_id == "amsgrad":
        kwargs["amsgrad"] = True
    return getattr(torch.optim, spec.torch_class)([param], **kwargs)


def run_torch(opt_id, hparams, surface, steps=STEPS):
    start = torch.tensor(surface.start, dtype=torch.float64)
    param = torch.nn.Parameter(start.reshape(1, 2) if opt_id == "muon" else start.clone())
    optimizer = torch_optimizer(opt_id, param, hparams)
    path = [param.detach().reshape(2).clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        param.grad = surface.grad(param.detach().reshape(1, 2)).reshape(param.shape)
        optimizer.step()
        path.append(param.detach().reshape(2).clone())
    return torch.stack(path)


def run_ours(opt_id, hparams, surface, steps=STEPS):
    stepper = dc.make_stepper(opt_id, **hparams)
    theta = torch.tensor([surface.start], dtype=torch.float64)
    state = stepper.init(theta)
    path = [theta[0]]
    for _ in range(steps):
        theta, state = stepper.update(theta, surface.grad(theta), state)
        path.append(theta[0])
    return torch.stack(path)


@pytest.mark.parametrize("surface_id", SURFACES)
@pytest.mark.parametrize("opt_id,overrides", CONFIGS, ids=[f"{o}-{i}" for i, (o, _) in enumerate(CONFIGS)])
def test_matches_torch_optim(opt_id, overrides, surface_id):
    surface = dc.LANDSCAPES[surface_id]
    overrides = {**overrides, "lr": dc.resolve_hparams(opt_id, overrides)["lr"] * LR_SCALE[surface_id]}
    hparams = dc.resolve_hparams(opt_id, overrides)
    ours = run_ours(opt_id, overrides, surface)
    theirs = run_torch(opt_id, hparams, surface)
    assert torch.isfinite(theirs).all(), "pick settings that stay finite on this surface"
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-9)


def test_every_torch_backed_id_is_covered():
    from test_core_parity_frontier import CONFIGS as AFTER_ADAM  # Adafactor is checked there, with the 2024-26 rules

    covered = {opt for opt, _ in CONFIGS} | {opt for opt, _ in AFTER_ADAM if dc.OPTIMIZERS[opt].torch_class}
    torch_backed = {opt for opt, spec in dc.OPTIMIZERS.items() if spec.torch_class}
    assert torch_backed == covered


def test_muon_on_a_point_is_normalised_momentum():
    """A 1x2 'matrix' has one singular value: Newton-Schulz maps u to about 0.68..1.2 * u/||u||."""
    stepper = dc.make_stepper("muon", lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False)
    theta = torch.zeros(1, 2, dtype=torch.float64)
    g = torch.tensor([[3.0, -4.0]], dtype=torch.float64)
    new, _ = stepper.update(theta, g, stepper.init(theta))
    step = -new[0]
    cosine = (step @ g[0]) / (step.norm() * g[0].norm())
    assert cosine == pytest.approx(1.0, abs=1e-2)
    assert 0.6 < step.norm().item() < 1.25


def test_nadam_effective_momentum_is_far_below_beta1():
    """torch's schedule: mu_t = b1 (1 - 0.5 * 0.96^(t * 0.004)) stays near b1/2 for thousands of steps."""
    from descent_core.transforms import nadam_momentum

    assert nadam_momentum(0.9, 1, 4e-3) == pytest.approx(0.9 * (1 - 0.5 * 0.96**0.004))
    assert nadam_momentum(0.9, 1000, 4e-3) < 0.9 * 0.6
    assert math.isclose(nadam_momentum(0.9, 10**6, 4e-3), 0.9, rel_tol=1e-6)
