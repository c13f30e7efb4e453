"""Races: shapes, divergence freezing, noise, schedules (equal to torch's schedulers), clipping, limits."""

import numpy as np
import pytest
import torch

import descent_core as dc
from descent_core.schedules import Schedule


def test_race_shapes_and_frame():
    race = dc.race("beale", ["sgd", "adam"], steps=30, record_grads=True)
    assert race.optimizers == ("sgd", "adam")
    assert race.paths.shape == (2, 1, 31, 2)
    assert race.losses.shape == (2, 1, 31)
    assert race.grads.shape == (2, 1, 30, 2)
    assert race.lr.shape == (2, 1, 30)
    frame = race.to_frame()
    assert list(frame.columns) == ["optimizer", "run", "step", "x", "y", "loss"]
    assert len(frame) == 2 * 31
    np.testing.assert_allclose(race.paths[:, 0, 0], [dc.LANDSCAPES["beale"].start] * 2)


def test_race_uses_tuned_settings_then_defaults_and_records_them():
    surface = dc.LANDSCAPES["ravine"]
    race = dc.race(surface, ["adam"], steps=3, hparams={"adam": {"lr": 0.123}})
    assert race.hparams["adam"]["lr"] == 0.123
    assert np.allclose(race.lr, 0.123)
    default = dc.race(surface, ["adam"], steps=3)
    expected = surface.tuned.get("adam", {}).get("lr", dc.OPTIMIZERS["adam"].defaults["lr"])
    assert default.hparams["adam"]["lr"] == expected


def test_race_matches_stepping_by_hand():
    surface = dc.LANDSCAPES["rosenbrock"]
    race = dc.race(surface, ["momentum", "adam"], steps=50, dtype=torch.float64,
                   hparams={"momentum": {"lr": 1e-4}, "adam": {"lr": 0.01}})
    for i, (opt, lr) in enumerate([("momentum", 1e-4), ("adam", 0.01)]):
        stepper = dc.make_stepper(opt, lr=lr)
        theta = torch.tensor([surface.start], dtype=torch.float64)
        state = stepper.init(theta)
        for _ in range(50):
            theta, state = stepper.update(theta, surface.grad(theta), state)
        np.testing.assert_allclose(race.paths[i, 0, -1], theta[0].numpy(), rtol=1e-9)


def test_divergent_runs_are_marked_and_frozen():
    # GD on the ravine (lambda_max = 20) diverges for lr > 2/20 = 0.1; lr = 0.5 overflows float32 quickly.
    race = dc.race("ravine", ["gd"], steps=400, hparams={"gd": {"lr": [0.05, 0.5]}})
    assert race.diverged_at[0, 0] == -1
    k = race.diverged_at[0, 1]
    assert 0 < k < 400
    assert np.isfinite(race.paths).all() and np.isfinite(race.losses).all()
    assert (race.paths[0, 1, k:] == race.paths[0, 1, k - 1]).all()
    diverged = race.summary()["diverged at"]
    assert diverged.isna().tolist() == [True, False] and diverged[1] == k


def test_lr_sweep_is_one_call_with_per_run_results():
    lrs = np.linspace(0.01, 0.09, 9)
    race = dc.race("ravine", ["gd"], steps=100, hparams={"gd": {"lr": lrs}})
    assert race.paths.shape == (1, 9, 101, 2)
    final = race.final_loss()[0]
    assert np.all(np.diff(final) < 0)  # bigger steps converge faster below the stability edge


def test_noise_is_seeded_shared_and_spares_gd():
    a = dc.race("ravine", ["gd", "sgd"], steps=50, noise=1.0, seed=7, hparams={"gd": {"lr": 0.05}, "sgd": {"lr": 0.05}})
    b = dc.race("ravine", ["gd", "sgd"], steps=50, noise=1.0, seed=7, hparams={"gd": {"lr": 0.05}, "sgd": {"lr": 0.05}})
    c = dc.race("ravine", ["gd", "sgd"], steps=50, noise=1.0, seed=8, hparams={"gd": {"lr": 0.05}, "sgd": {"lr": 0.05}})
    np.testing.assert_array_equal(a.paths, b.paths)
    assert not np.allclose(a.paths[1], c.paths[1])
    np.testing.assert_array_equal(a.paths[0], c.paths[0])  # full-batch GD sees no mini-batch noise
    exact = dc.race("ravine", ["gd"], steps=50, hparams={"gd": {"lr": 0.05}})
    np.testing.assert_allclose(a.paths[0], exact.paths[0])


@pytest.mark.parametrize("schedule,make_torch", [
    (Schedule("constant"), lambda opt, n: torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)),
    (Schedule("warmup", warmup_steps=10, start_factor=0.1),
     lambda opt, n: torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10)),
    (Schedule("cosine", min_factor=0.05),
     lambda opt, n: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n, eta_min=0.05 * 0.2)),
    (Schedule("step", step_size=7, gamma=0.5), lambda opt, n: torch.optim.lr_scheduler.StepLR(opt, 7, gamma=0.5)),
    (Schedule("warmup_cosine", warmup_steps=8, start_factor=0.01, min_factor=0.1),
     lambda opt, n: torch.optim.lr_scheduler.SequentialLR(opt, [
         torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=8),
         torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n - 8, eta_min=0.1 * 0.2)], milestones=[8])),
])
def test_schedules_equal_torch_schedulers(schedule, make_torch):
    steps, base_lr = 40, 0.2
    param = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([param], lr=base_lr)
    scheduler = make_torch(opt, steps)
    expected = []
    for _ in range(steps):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(base_lr * schedule.factors(steps), expected, rtol=1e-9, atol=1e-12)
    race = dc.race("ravine", ["sgd"], steps=steps, schedule=schedule, hparams={"sgd": {"lr": base_lr}})
    np.testing.assert_allclose(race.lr[0, 0], expected, rtol=1e-9, atol=1e-12)


def test_scheduled_race_equals_torch_with_scheduler():
    surface = dc.LANDSCAPES["ravine"]
    schedule = Schedule("warmup_cosine", warmup_steps=5, start_factor=0.1, min_factor=0.0)
    steps = 30
    param = torch.nn.Parameter(torch.tensor(surface.start, dtype=torch.float64))
    opt = torch.optim.AdamW([param], lr=0.5, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps - 5)], milestones=[5])
    for _ in range(steps):
        param.grad = surface.grad(param.detach()[None])[0]
        opt.step()
        scheduler.step()
    race = dc.race(surface, ["adamw"], steps=steps, schedule=schedule, dtype=torch.float64,
                   hparams={"adamw": {"lr": 0.5, "weight_decay": 0.1}})
    np.testing.assert_allclose(race.paths[0, 0, -1], param.detach().numpy(), rtol=1e-7)


def test_clipping_matches_clip_grad_norm():
    g = torch.tensor([[30.0, 40.0], [0.3, 0.4]], dtype=torch.float64)
    clipped = dc.clip_by_global_norm(g, 5.0)
    for row, got in zip(g, clipped):
        p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        p.grad = row.clone()
        torch.nn.utils.clip_grad_norm_([p], 5.0)
        torch.testing.assert_close(got, p.grad)
    race = dc.race("ravine", ["gd"], steps=5, clip=1.0, hparams={"gd": {"lr": 0.1}}, record_grads=True)
    assert np.linalg.norm(race.grads[0, 0], axis=-1).max() <= 1.0 + 1e-5


def test_record_state_exposes_internal_buffers():
    race = dc.race("beale", ["adam", "adagrad"], steps=12, record_state=True)
    assert set(race.states["adam"]) == {"m", "v"}
    assert race.states["adam"]["m"].shape == (1, 12, 2)
    g0 = race.grads[0, 0, 0]
    np.testing.assert_allclose(race.states["adam"]["m"][0, 0], 0.1 * g0, rtol=1e-5)
    np.testing.assert_allclose(race.states["adagrad"]["sum_sq"][0, 0], race.grads[1, 0, 0] ** 2, rtol=1e-5)
    eff = race.effective_step()
    assert eff.shape == (2, 1, 12, 2)


@pytest.mark.parametrize("kwargs,message", [
    ({"landscape": "moon"}, "Unknown landscape 'moon'; valid ids: ravine"),
    ({"optimizers": ["adam", "bogus"]}, "Unknown optimizer 'bogus'"),
    ({"optimizers": []}, "at least one optimizer"),
    ({"optimizers": ["adam", "adam"]}, "repeat"),
    ({"steps": 0}, "Invalid steps"),
    ({"steps": 10**6}, "Invalid steps"),
    ({"starts": [[np.nan, 1.0]]}, "starts must be finite"),
    ({"starts": [[1.0, 2.0, 3.0]]}, "starts must have shape (B, 2)"),
    ({"noise": -1.0}, "Invalid noise"),
    ({"clip": 0.0}, "Invalid clip"),
    ({"hparams": {"adam": {"lr": [0.1, 0.2]}}, "starts": [[0, 0], [1, 1], [2, 2]]}, "disagree on the number of runs"),
    ({"hparams": {"adam": {"lr": np.full(200_000, 0.1)}}, "steps": 200}, "Request too big"),
    ({"hparams": {"nadam": {"lr": 0.1}}}, None),
])
def test_bad_race_requests_fail_before_work(kwargs, message):
    args = {"landscape": "ravine", "optimizers": ["adam"], "steps": 10, **kwargs}
    landscape, optimizers = args.pop("landscape"), args.pop("optimizers")
    if message is None:
        dc.race(landscape, optimizers, **args)  # overrides for an optimizer not in the race are ignored
        return
    with pytest.raises(ValueError) as error:
        dc.race(landscape, optimizers, **args)
    assert message in str(error.value)


def test_start_with_non_finite_loss_is_rejected():
    surface = dc.Landscape("log", "log", lambda xy: torch.log(xy[..., 0]), (-1.0, 0.0), ((-2, 2), (-2, 2)))
    with pytest.raises(ValueError, match="not finite at the start"):
        dc.race(surface, ["gd"], steps=5)


def test_custom_landscape_uses_autograd():
    surface = dc.Landscape("bowl", "bowl", lambda xy: (xy**2).sum(-1) * 1.5, (1.0, -2.0), ((-3, 3), (-3, 3)))
    g = surface.grad(torch.tensor([[1.0, -2.0]]))
    torch.testing.assert_close(g, torch.tensor([[3.0, -6.0]]))
    h = surface.hessian_diag(torch.tensor([[1.0, -2.0]]))
    torch.testing.assert_close(h, torch.tensor([[3.0, 3.0]]))
    race = dc.race(surface, ["sophia", "adam"], steps=20)
    assert race.losses[:, 0, -1].max() < race.losses[:, 0, 0].min()


@pytest.mark.parametrize("surface_id", list(dc.LANDSCAPES))
def test_closed_forms_equal_autograd(surface_id):
    surface = dc.LANDSCAPES[surface_id]
    generic = dc.Landscape("x", "x", surface.loss, surface.start, surface.bounds)
    points = torch.tensor([[0.3, -0.7], [1.2, 0.4], [-1.5, 1.1]], dtype=torch.float64)
    torch.testing.assert_close(surface.grad(points), generic.grad(points))
    torch.testing.assert_close(surface.hessian_diag(points), generic.hessian_diag(points))


def test_every_landscape_listed():
    assert {"ravine", "saddle", "beale", "rosenbrock", "rotated_ravine", "himmelblau", "rastrigin"} <= set(dc.LANDSCAPES)
    for surface in dc.LANDSCAPES.values():
        for point in surface.minima:
            assert surface.grad(torch.tensor([point], dtype=torch.float64)).abs().max() < 1e-4


def test_default_device_is_cpu_here():
    assert dc.default_device().type in ("cpu", "cuda", "mps")


@pytest.mark.parametrize("opt", ["shampoo", "muon", "lamb", "sophia"])
def test_a_run_that_turns_nan_is_frozen_and_spares_its_batch(opt):
    # log(x) + y^2 slopes down towards x = 0 and is undefined beyond: a run that overshoots past it turns NaN.
    surface = dc.Landscape("edge", "edge", lambda xy: torch.log(xy[..., 0]) + xy[..., 1] ** 2, (2.0, 1.0),
                           ((-1.0, 3.0), (-2.0, 2.0)))
    race = dc.race(surface, [opt], steps=60, hparams={opt: {"lr": [0.01, 50.0]}})
    assert race.diverged_at[0, 0] == -1
    assert race.diverged_at[0, 1] > 0
    assert np.isfinite(race.paths).all() and np.isfinite(race.losses).all()
    assert race.losses[0, 0, -1] < race.losses[0, 0, 0]


def test_steps_to_tolerance_means_settled_so_it_agrees_with_the_final_loss():
    race = dc.race("ravine", ["gd", "lion"], steps=150, hparams={"lion": {"lr": 0.1}})
    reached = race.steps_to_tolerance(1e-3)
    touched = (race.losses <= 1e-3).any(-1)
    assert touched[1, 0] and race.final_loss()[1, 0] > 1e-3, "the case: Lion touches the tolerance, then leaves"
    assert reached[1, 0] == -1
    k = reached[0, 0]
    assert k > 0 and (race.losses[0, 0, k:] <= 1e-3).all() and race.losses[0, 0, k - 1] > 1e-3
