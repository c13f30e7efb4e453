"""The eight rules after Adam equal their reference implementations in float64, on several surfaces, with default
and non-default settings; batched runs with per-run settings equal separate reference runs; matrix parameters too.

References (test dependencies only, pinned in requirements-dev.txt): torch.optim.Adafactor; schedulefree 1.4.1
(AdamWScheduleFree, SGDScheduleFree); pytorch_optimizer 4.1.0 (SOAP, ADOPT, AdEMAMix, and AdamP(cautious=True) for
Cautious AdamW: 4.1.0 re-exports torch's AdamW, which has no cautious flag, and AdamP on a vector, or with delta=0,
never projects, which leaves cautious AdamW with decoupled decay); prodigyopt 1.1.2 (Prodigy).
"""

import inspect
import pathlib

import pytest
import torch

import descent_core as dc
from descent_core.transforms import PowerOfStep

prodigyopt = pytest.importorskip("prodigyopt")
pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
schedulefree = pytest.importorskip("schedulefree")

STEPS = 60
NEW_IDS = ("adafactor", "sf_adamw", "sf_sgd", "soap", "adopt", "ademamix", "cautious_adamw", "prodigy")

# (optimizer id, hyperparameter overrides): the defaults, then non-default knobs of each reference.
CONFIGS = [
    ("adafactor", {"lr": 0.05}),
    ("adafactor", {"lr": 0.3, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 2.0, "weight_decay": 0.05}),
    ("sf_adamw", {"lr": 0.05}),
    ("sf_adamw", {"lr": 0.03, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05, "warmup_steps": 10,
                  "r": 0.5, "weight_lr_power": 1.0}),
    ("sf_sgd", {"lr": 0.01}),
    ("sf_sgd", {"lr": 0.005, "momentum": 0.7, "weight_decay": 0.05, "warmup_steps": 7, "r": 1.0,
                "weight_lr_power": 0.0}),
    ("soap", {"lr": 0.05}),
    ("soap", {"lr": 0.05, "precondition_1d": True}),
    ("soap", {"lr": 0.03, "betas": (0.9, 0.99), "shampoo_beta": 0.8, "weight_decay": 0.0, "precondition_frequency": 3,
              "precondition_1d": True, "eps": 1e-6}),
    ("soap", {"lr": 0.02, "precondition_1d": True, "correct_bias": False, "normalize_gradient": True}),
    ("adopt", {"lr": 0.05}),
    ("adopt", {"lr": 0.03, "betas": (0.8, 0.99), "clip_lambda": None, "weight_decay": 0.05, "eps": 1e-4}),
    ("adopt", {"lr": 0.03, "clip_lambda": PowerOfStep(0.5), "weight_decay": 0.1, "weight_decouple": True}),
    ("adopt", {"lr": 0.03, "weight_decay": 0.01, "weight_decouple": True, "fixed_decay": True}),
    ("ademamix", {"lr": 0.02}),
    ("ademamix", {"lr": 0.02, "betas": (0.8, 0.99, 0.999), "alpha": 2.0, "t_alpha_beta3": 30.0, "eps": 1e-6,
                  "weight_decay": 0.05}),
    ("ademamix", {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": True, "t_alpha_beta3": 100.0}),
    ("ademamix", {"lr": 0.02, "weight_decay": 0.01, "weight_decouple": True, "fixed_decay": True}),
    ("cautious_adamw", {"lr": 0.05}),
    ("cautious_adamw", {"lr": 0.02, "betas": (0.85, 0.98), "eps": 1e-6, "weight_decay": 0.3}),
    ("prodigy", {"lr": 1.0}),
    ("prodigy", {"lr": 0.5, "betas": (0.8, 0.99), "beta3": 0.9, "eps": 1e-6, "weight_decay": 0.05, "d0": 1e-4,
                 "d_coef": 0.5, "growth_rate": 1.05}),
    ("prodigy", {"lr": 1.0, "weight_decay": 0.05, "decouple": False, "use_bias_correction": True,
                 "safeguard_warmup": True}),
    ("prodigy", {"lr": 1.0, "slice_p": 2, "betas": (0.0, 0.999)}),
]

SURFACES = ["ravine", "rosenbrock", "beale", "rotated_ravine"]
LR_SCALE = {"ravine": 1.0, "rotated_ravine": 1.0, "rosenbrock": 0.05, "beale": 0.5}
# Prodigy's lr multiplies a learned step, and Adafactor's only caps a relative one: neither is scaled per surface.
UNSCALED = {"prodigy", "adafactor"}


def reference_optimizer(opt_id: str, param: torch.Tensor, hparams: dict) -> torch.optim.Optimizer:
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in hparams.items()}
    if opt_id == "adafactor":
        return torch.optim.Adafactor([param], **kwargs)
    if opt_id in ("sf_adamw", "sf_sgd"):
        kwargs["warmup_steps"] = int(kwargs["warmup_steps"])
        cls = schedulefree.AdamWScheduleFree if opt_id == "sf_adamw" else schedulefree.SGDScheduleFree
        optimizer = cls([param], **kwargs)
        optimizer.train()
        return optimizer
    if opt_id == "soap":
        return pytorch_optimizer.SOAP([param], **kwargs)
    if opt_id == "adopt":
        return pytorch_optimizer.ADOPT([param], **kwargs)
    if opt_id == "ademamix":
        return pytorch_optimizer.AdEMAMix([param], **kwargs)
    if opt_id == "cautious_adamw":
        return pytorch_optimizer.AdamP([param], **kwargs, cautious=True, weight_decouple=True, fixed_decay=False,
                                       nesterov=False, delta=0.0)
    if opt_id == "prodigy":
        return prodigyopt.Prodigy([param], **kwargs)
    raise KeyError(opt_id)


def averaged_point(opt_id: str, optimizer, param: torch.Tensor) -> torch.Tensor:
    """x, the point a schedule-free reader evaluates, read off the reference's state without touching the
    parameter (its eval() would swap x in and train() swap y back, rounding both): x = (y - (1 - b) z) / b."""
    group = optimizer.param_groups[0]
    beta = group["betas"][0] if opt_id == "sf_adamw" else group["momentum"]
    z = optimizer.state[param]["z"]
    return (param.detach() - (1 - beta) * z) / beta


def run_reference(opt_id, hparams, start, grad_fn, steps=STEPS):
    """Positions (steps + 1, *shape); for schedule-free ids also the averaged points x."""
    param = torch.nn.Parameter(start.clone())
    optimizer = reference_optimizer(opt_id, param, hparams)
    path, averaged = [param.detach().clone()], [param.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        param.grad = grad_fn(param.detach()[None])[0]
        optimizer.step()
        path.append(param.detach().clone())
        if opt_id in ("sf_adamw", "sf_sgd"):
            averaged.append(averaged_point(opt_id, optimizer, param))
    return torch.stack(path), (torch.stack(averaged) if len(averaged) > 1 else None)


def run_ours(opt_id, hparams, starts, grad_fn, steps=STEPS):
    """Positions and evaluation points, (steps + 1, B, *shape) each, and the final state."""
    stepper = dc.make_stepper(opt_id, **hparams)
    theta = starts.clone()
    state = stepper.init(theta)
    path, evaluated = [theta], [stepper.evaluation_point(theta, state)]
    for _ in range(steps):
        theta, state = stepper.update(theta, grad_fn(theta), state)
        path.append(theta)
        evaluated.append(stepper.evaluation_point(theta, state))
    return torch.stack(path), torch.stack(evaluated), state


def reference_hparams(opt_id: str, overrides: dict) -> dict:
    """Every setting spelled out for the reference (the resolved defaults are its defaults)."""
    resolved = dc.resolve_hparams(opt_id, overrides)
    return {k: (tuple(float(x) if x is not None else None for x in v) if isinstance(v, tuple) else v)
            for k, v in resolved.items()}


def scaled(opt_id, overrides, surface_id):
    if opt_id in UNSCALED:
        return dict(overrides)
    return {**overrides, "lr": dc.resolve_hparams(opt_id, overrides)["lr"] * LR_SCALE[surface_id]}


@pytest.mark.parametrize("surface_id", SURFACES)
@pytest.mark.parametrize("opt_id,overrides", CONFIGS, ids=[f"{o}-{i}" for i, (o, _) in enumerate(CONFIGS)])
def test_matches_reference(opt_id, overrides, surface_id):
    surface = dc.LANDSCAPES[surface_id]
    overrides = scaled(opt_id, overrides, surface_id)
    start = torch.tensor(surface.start, dtype=torch.float64)
    theirs, their_x = run_reference(opt_id, reference_hparams(opt_id, overrides), start, surface.grad)
    ours, our_eval, _ = run_ours(opt_id, overrides, start[None], surface.grad)
    assert torch.isfinite(theirs).all(), "pick settings that stay finite on this surface"
    torch.testing.assert_close(ours[:, 0], theirs, rtol=1e-6, atol=1e-9)
    if their_x is not None:
        torch.testing.assert_close(our_eval[:, 0], their_x, rtol=1e-6, atol=1e-9)
    else:
        torch.testing.assert_close(our_eval, ours, rtol=0, atol=0)


# Per-run settings: three runs in one batched stepper against three separate reference runs.
PER_RUN = {
    "adafactor": {"lr": [0.01, 0.05, 0.2], "d": [1.0, 1.5, 3.0], "eps": (None, [1e-3, 1e-2, 0.1])},
    "sf_adamw": {"lr": [0.01, 0.03, 0.1], "betas": ([0.9, 0.8, 0.5], 0.999), "r": [0.0, 0.5, 1.0]},
    "sf_sgd": {"lr": [0.001, 0.003, 0.01], "momentum": [0.9, 0.5, 0.7], "weight_lr_power": [2.0, 1.0, 0.0]},
    "soap": {"lr": [0.01, 0.03, 0.05], "betas": ([0.95, 0.9, 0.8], [0.95, 0.99, 0.9]), "shampoo_beta": [0.9, 0.5, 0.99],
             "precondition_1d": True, "precondition_frequency": 4},
    "adopt": {"lr": [0.01, 0.03, 0.05], "betas": ([0.9, 0.5, 0.8], [0.9999, 0.99, 0.9])},
    "ademamix": {"lr": [0.01, 0.02, 0.03], "alpha": [5.0, 1.0, 0.0], "t_alpha_beta3": [10.0, 50.0, 100.0]},
    "cautious_adamw": {"lr": [0.01, 0.03, 0.05], "weight_decay": [0.0, 0.01, 0.2]},
    "prodigy": {"lr": [0.3, 1.0, 2.0], "d0": [1e-6, 1e-4, 1e-3], "d_coef": [1.0, 0.5, 2.0]},
}


def run_setting(values: dict, b: int) -> dict:
    pick = lambda v: v[b] if isinstance(v, list) else v  # noqa: E731
    return {k: (tuple(pick(x) for x in v) if isinstance(v, tuple) else pick(v)) for k, v in values.items()}


def test_per_run_settings_cover_every_new_id():
    assert set(PER_RUN) == set(NEW_IDS) == {o for o, _ in CONFIGS}
    assert all(dc.OPTIMIZERS[o].family == "After Adam" for o in NEW_IDS)


@pytest.mark.parametrize("surface_id", ["rotated_ravine", "beale"])
@pytest.mark.parametrize("opt_id", NEW_IDS)
def test_batched_per_run_settings_equal_separate_reference_runs(opt_id, surface_id):
    surface = dc.LANDSCAPES[surface_id]
    starts = torch.tensor([surface.start, [surface.start[0] * 0.5, surface.start[1] + 0.5],
                           [surface.start[0] + 0.3, surface.start[1] * 0.8]], dtype=torch.float64)
    ours, our_eval, _ = run_ours(opt_id, PER_RUN[opt_id], starts, surface.grad, steps=40)
    for b in range(3):
        setting = run_setting(PER_RUN[opt_id], b)
        theirs, their_x = run_reference(opt_id, reference_hparams(opt_id, setting), starts[b], surface.grad, steps=40)
        assert torch.isfinite(theirs).all()
        torch.testing.assert_close(ours[:, b], theirs, rtol=1e-6, atol=1e-9)
        if their_x is not None:
            torch.testing.assert_close(our_eval[:, b], their_x, rtol=1e-6, atol=1e-9)


# Matrix parameters (the network race's weight matrices): G = P (W - T) Q couples rows and columns.
MATRIX_SETTINGS = {
    "adafactor": {"lr": 0.05},  # factored: row and column statistics
    "sf_adamw": {"lr": 0.05},
    "sf_sgd": {"lr": 0.02},
    "soap": {"lr": 0.05, "precondition_frequency": 4},  # both sides rotated, refreshed by QR
    "adopt": {"lr": 0.05},
    "ademamix": {"lr": 0.02},
    "cautious_adamw": {"lr": 0.05},
    "prodigy": {"lr": 1.0},
}


def matrix_problem(shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    m, n = shape
    a = torch.randn(m, m, generator=generator, dtype=torch.float64)
    b = torch.randn(n, n, generator=generator, dtype=torch.float64)
    P, Q = a @ a.T / m + 0.5 * torch.eye(m, dtype=torch.float64), b @ b.T / n + 0.5 * torch.eye(n, dtype=torch.float64)
    target = torch.randn(m, n, generator=generator, dtype=torch.float64)
    starts = torch.randn(2, m, n, generator=generator, dtype=torch.float64)
    return (lambda W: P @ (W - target) @ Q), starts


@pytest.mark.parametrize("shape", [(3, 4), (4, 1)])
@pytest.mark.parametrize("opt_id", NEW_IDS)
def test_matrix_parameters_match_reference(opt_id, shape):
    grad_fn, starts = matrix_problem(shape)
    lrs = [MATRIX_SETTINGS[opt_id]["lr"], MATRIX_SETTINGS[opt_id]["lr"] * 0.5]
    ours, _, _ = run_ours(opt_id, {**MATRIX_SETTINGS[opt_id], "lr": lrs}, starts, grad_fn, steps=30)
    for b in range(2):
        setting = reference_hparams(opt_id, {**MATRIX_SETTINGS[opt_id], "lr": lrs[b]})
        theirs, _ = run_reference(opt_id, setting, starts[b], grad_fn, steps=30)
        torch.testing.assert_close(ours[:, b], theirs, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------------------------------------------
# What the state holds.


def test_prodigy_distance_estimate_is_a_state_slot_matching_the_reference():
    surface = dc.LANDSCAPES["ravine"]
    start = torch.tensor(surface.start, dtype=torch.float64)
    param = torch.nn.Parameter(start.clone())
    reference = prodigyopt.Prodigy([param], lr=1.0)
    stepper = dc.make_stepper("prodigy")
    theta = start[None].clone()
    state = stepper.init(theta)
    assert "d" in dc.OPTIMIZERS["prodigy"].state_slots
    for _ in range(30):
        param.grad = surface.grad(param.detach()[None])[0]
        reference.step()
        theta, state = stepper.update(theta, surface.grad(theta), state)
        assert state.slots.d.item() == pytest.approx(reference.param_groups[0]["d"], rel=1e-9)
    assert state.slots.d.item() > 1e3 * 1e-6  # it grew from d0 towards the distance to the minimum


def test_schedule_free_declares_its_evaluation_point():
    assert dc.OPTIMIZERS["sf_adamw"].evaluation_slot == "x" and dc.OPTIMIZERS["sf_sgd"].evaluation_slot == "x"
    assert all(spec.evaluation_slot is None for opt, spec in dc.OPTIMIZERS.items() if not opt.startswith("sf_"))
    stepper = dc.make_stepper("sf_sgd", lr=0.01)
    theta = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    state = stepper.init(theta)
    assert torch.equal(stepper.evaluation_point(theta, state), theta)  # x_1 = z_1 = y_1 = theta_0
    theta, state = stepper.update(theta, torch.ones_like(theta), state)
    theta, state = stepper.update(theta, torch.ones_like(theta), state)
    x = stepper.evaluation_point(theta, state)
    assert x.shape == theta.shape and not torch.equal(x, theta)
    assert {"z", "x"} <= set(dc.OPTIMIZERS["sf_sgd"].state_slots)
    adam = dc.make_stepper("adam")
    assert adam.evaluation_point(theta, adam.init(theta)) is theta


def test_cautious_mask_fits_any_momentum_method():
    """Heavy ball plus the mask: a coordinate whose momentum points against the new gradient does not move, and
    the others are rescaled by n / (kept + 1)."""
    from descent_core import transforms as tf

    stepper = dc.Stepper.from_transform(tf.chain(tf.heavy_ball(0.9), tf.cautious_mask()), lr=1.0)
    theta = torch.zeros(1, 2, dtype=torch.float64)
    state = stepper.init(theta)
    theta, state = stepper.update(theta, torch.tensor([[1.0, 1.0]], dtype=torch.float64), state)
    before = theta.clone()
    theta, state = stepper.update(theta, torch.tensor([[1.0, -0.5]], dtype=torch.float64), state)
    # b = 0.9 * (1, 1) + (1, -0.5) = (1.9, 0.4): x agrees with g, y does not; scale 2 / (1 + 1) = 1
    torch.testing.assert_close(theta - before, torch.tensor([[-1.9, 0.0]], dtype=torch.float64))


# --------------------------------------------------------------------------------------------------------------
# Names, and where the references may appear.

# Reference arguments not taken, each with its reason.
NOT_TAKEN = {
    "soap": {"max_precondition_dim": "every dimension here is at most 32, far below its 10000",
             "merge_dims": "in 4.1.0 it reshapes a parameter with fewer than 10000 entries to [1] and fails",
             "data_format": "only changes 4-D (convolution) parameters"},
    "cautious_adamw": {"weight_decouple": "fixed True: decoupled decay is what makes it AdamW",
                       "fixed_decay": "AdamW's decay is scaled by lr", "delta": "AdamP's projection, not AdamW's",
                       "wd_ratio": "AdamP's projection", "nesterov": "AdamP's variant, not AdamW's"},
    "prodigy": {"fsdp_in_use": "sharded data-parallel training only"},
}
REFERENCE_CLASSES = {
    "adafactor": torch.optim.Adafactor, "sf_adamw": schedulefree.AdamWScheduleFree,
    "sf_sgd": schedulefree.SGDScheduleFree, "soap": pytorch_optimizer.SOAP, "adopt": pytorch_optimizer.ADOPT,
    "ademamix": pytorch_optimizer.AdEMAMix, "cautious_adamw": pytorch_optimizer.AdamP,
    "prodigy": prodigyopt.Prodigy,
}
IMPLEMENTATION_FLAGS = {"self", "params", "foreach", "maximize", "kwargs"}


@pytest.mark.parametrize("opt_id", NEW_IDS)
def test_reference_names_and_defaults_are_taken(opt_id):
    spec = dc.OPTIMIZERS[opt_id]
    parameters = inspect.signature(REFERENCE_CLASSES[opt_id].__init__).parameters
    names = set(parameters) - IMPLEMENTATION_FLAGS - set(NOT_TAKEN.get(opt_id, {}))
    assert names <= set(spec.defaults), f"{opt_id} lacks {names - set(spec.defaults)}"
    different = {"cautious_adamw": {"weight_decay"}}  # AdamW's 1e-2, not AdamP's 0 (AdamP is only the stand-in)
    for name in names - different.get(opt_id, set()):
        default = parameters[name].default
        ours = spec.defaults[name]
        if name == "clip_lambda":
            assert [ours(t) for t in (1, 16, 81)] == [default(t) for t in (1, 16, 81)]
        else:
            assert ours == default or (isinstance(default, int) and float(default) == ours), (opt_id, name)
    assert spec.defaults["weight_decay"] == (1e-2 if opt_id == "cautious_adamw" else spec.defaults["weight_decay"])


def test_engine_and_app_never_import_the_reference_packages():
    root = pathlib.Path(__file__).resolve().parents[1]
    for folder in ("descent_core", "descent_ui", "pages"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text()
            for package in ("schedulefree", "pytorch_optimizer", "prodigyopt"):
                assert f"import {package}" not in text and f"from {package}" not in text, (path, package)


@pytest.mark.parametrize("call,message", [
    (lambda: dc.make_stepper("sf_sgd", momentum=0.0), "Invalid momentum for sf_sgd: 0.0 (must be in (0, 1))"),
    (lambda: dc.make_stepper("adafactor", beta2_decay=0.5), "Invalid beta2_decay"),
    (lambda: dc.make_stepper("adafactor", d=0.5), "Invalid d for adafactor"),
    (lambda: dc.make_stepper("adafactor", eps=(None, -1.0)), "Invalid eps at index 1 for adafactor"),
    (lambda: dc.make_stepper("ademamix", betas=(0.9, 0.999)), "Invalid betas for ademamix: expected 3 values"),
    (lambda: dc.make_stepper("prodigy", lr=0.0), "Invalid lr for prodigy"),
    (lambda: dc.make_stepper("prodigy", growth_rate=float("nan")), "Invalid growth_rate"),
    (lambda: dc.make_stepper("soap", precondition_frequency=0), "Invalid precondition_frequency"),
    (lambda: dc.make_stepper("adopt", clip_lambda=3.0), "Invalid clip_lambda"),
])
def test_bad_settings_raise_clear_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_infinite_growth_rate_is_the_default_and_may_be_per_run():
    assert dc.OPTIMIZERS["prodigy"].defaults["growth_rate"] == float("inf")
    dc.make_stepper("prodigy", growth_rate=[float("inf"), 1.02])


@pytest.mark.parametrize("opt_id", NEW_IDS)
def test_a_schedule_scales_the_learning_rate_the_reference_sees(opt_id):
    """A schedule's ``lr_scale`` is the reference's group['lr'] changed before each step: for schedule-free it
    enters lr_t, hence the running lr_max and the averaging weights; for Adafactor the cap min(lr, 1/sqrt(t));
    for Prodigy dlr = d lr."""
    surface = dc.LANDSCAPES["rotated_ravine"]
    factors = [min(1.0, (k + 1) / 10) * (0.5 + 0.5 * abs(((k % 17) - 8) / 8)) for k in range(40)]
    setting = {**MATRIX_SETTINGS[opt_id], "lr": MATRIX_SETTINGS[opt_id]["lr"]}
    start = torch.tensor(surface.start, dtype=torch.float64)
    param = torch.nn.Parameter(start.clone())
    reference = reference_optimizer(opt_id, param, reference_hparams(opt_id, setting))
    stepper = dc.make_stepper(opt_id, **setting)
    theta = start[None].clone()
    state = stepper.init(theta)
    for factor in factors:
        for group in reference.param_groups:
            group["lr"] = setting["lr"] * factor
        param.grad = surface.grad(param.detach()[None])[0]
        reference.step()
        theta, state = stepper.update(theta, surface.grad(theta), state, lr_scale=factor)
        torch.testing.assert_close(theta[0], param.detach(), rtol=1e-6, atol=1e-9)
