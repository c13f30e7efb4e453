"""The schedules an interview in 2026 expects, checked against torch.optim.lr_scheduler in float64: one cycle
(OneCycleLR), warmup-stable-decay (torch composes it with SequentialLR, or LambdaLR for the 1 - sqrt decay), step
decay (StepLR, MultiStepLR's single milestone), and ReduceLROnPlateau fed the same metrics."""

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as torch_sched

import descent_core as dc
from descent_core.schedules import Plateau, Schedule, plateau_race

F64 = torch.float64


def torch_rates(make, steps: int, base_lr: float = 0.2) -> list[float]:
    """The lr a torch scheduler leaves in param_groups before each of ``steps`` updates."""
    param = torch.nn.Parameter(torch.zeros(2, dtype=F64))
    opt = torch.optim.SGD([param], lr=base_lr, momentum=0.9)
    scheduler = make(opt, steps)
    rates = []
    for _ in range(steps):
        rates.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        scheduler.step()
    return rates


def wsd_torch(warm: int, decay: int, start: float, end: float):
    def make(opt, n):
        parts = [torch_sched.LinearLR(opt, start_factor=start, total_iters=warm)] if warm else []
        parts += [torch_sched.ConstantLR(opt, factor=1.0, total_iters=0),
                  torch_sched.LinearLR(opt, start_factor=1.0, end_factor=end, total_iters=decay)]
        milestones = ([warm] if warm else []) + [n - decay]
        return torch_sched.SequentialLR(opt, parts, milestones=milestones)
    return make


def one_minus_sqrt_torch(decay: int, end: float):
    def make(opt, n):
        first = n - decay
        return torch_sched.LambdaLR(opt, lambda k: 1.0 if k < first else
                                    end + (1.0 - end) * (1.0 - math.sqrt((k - first) / decay)))
    return make


@pytest.mark.parametrize("schedule,steps,make_torch", [
    (Schedule("onecycle"), 100, lambda opt, n: torch_sched.OneCycleLR(opt, max_lr=0.2, total_steps=n)),
    (Schedule("onecycle"), 37, lambda opt, n: torch_sched.OneCycleLR(opt, max_lr=0.2, total_steps=n)),
    (Schedule("onecycle", pct_start=0.1, div_factor=10.0, final_div_factor=100.0), 60,
     lambda opt, n: torch_sched.OneCycleLR(opt, max_lr=0.2, total_steps=n, pct_start=0.1, div_factor=10.0,
                                           final_div_factor=100.0, cycle_momentum=False)),
    (Schedule("wsd", warmup_steps=10, start_factor=0.01, decay_fraction=0.2), 100, wsd_torch(10, 20, 0.01, 0.0)),
    (Schedule("wsd", warmup_steps=0, decay_fraction=0.3, min_factor=0.1), 50, wsd_torch(0, 15, 1.0, 0.1)),
    (Schedule("wsd", warmup_steps=3, start_factor=0.5, decay_fraction=1 / 7, min_factor=0.05), 41,
     wsd_torch(3, 6, 0.5, 0.05)),
    (Schedule("wsd", decay_fraction=0.25, decay_shape="sqrt"), 80, one_minus_sqrt_torch(20, 0.0)),
    (Schedule("wsd", decay_fraction=0.5, decay_shape="sqrt", min_factor=0.1), 30, one_minus_sqrt_torch(15, 0.1)),
    (Schedule("step", step_size=30, gamma=0.1), 100, lambda opt, n: torch_sched.StepLR(opt, 30, gamma=0.1)),
    (Schedule("step", step_size=25, gamma=0.5), 60,
     lambda opt, n: torch_sched.MultiStepLR(opt, milestones=[25, 50], gamma=0.5)),
])
def test_new_schedules_equal_torch(schedule, steps, make_torch):
    expected = torch_rates(make_torch, steps)
    np.testing.assert_allclose(0.2 * schedule.factors(steps), expected, rtol=1e-12, atol=1e-15)
    race = dc.race("ravine", ["sgd"], steps=steps, schedule=schedule, hparams={"sgd": {"lr": 0.2}}, dtype=F64)
    np.testing.assert_allclose(race.lr[0, 0], expected, rtol=1e-12, atol=1e-15)


def test_onecycle_ends_and_peak():
    f = Schedule("onecycle").factors(1000)
    assert f[0] == pytest.approx(1 / 25) and f.max() == pytest.approx(1.0)
    assert int(np.argmax(f)) == 299  # the top is at pct_start * steps - 1
    assert f[-1] == pytest.approx(1 / 25 / 1e4)


def test_wsd_holds_the_peak_then_decays_over_its_last_fraction():
    schedule = Schedule("wsd", warmup_steps=10, decay_fraction=0.2)
    f = schedule.factors(100)
    assert schedule.decay_steps(100) == 20
    np.testing.assert_array_equal(f[10:80], 1.0)
    assert np.all(np.diff(f[80:]) < 0) and f[-1] == pytest.approx(1 / 20)


def test_scheduled_wsd_race_equals_torch_adamw():
    surface = dc.LANDSCAPES["ravine"]
    steps, schedule = 40, Schedule("wsd", warmup_steps=5, start_factor=0.1, decay_fraction=0.25)
    param = torch.nn.Parameter(torch.tensor(surface.start, dtype=F64))
    opt = torch.optim.AdamW([param], lr=0.5, weight_decay=0.1)
    scheduler = wsd_torch(5, 10, 0.1, 0.0)(opt, steps)
    for _ in range(steps):
        param.grad = surface.grad(param.detach()[None])[0]
        opt.step()
        scheduler.step()
    race = dc.race(surface, ["adamw"], steps=steps, schedule=schedule, dtype=F64,
                   hparams={"adamw": {"lr": 0.5, "weight_decay": 0.1}})
    np.testing.assert_allclose(race.paths[0, 0, -1], param.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("kwargs", [
    {}, {"onecycle_pct": 0.0}, {"decay_fraction": 0.0}, {"decay_shape": "cosine"}, {"div_factor": 0.5},
])
def test_bad_settings_are_refused(kwargs):
    if not kwargs:
        with pytest.raises(ValueError, match="empty phase"):
            Schedule("onecycle").factors(3)  # 0.3 * 3 - 1 < 0: torch divides by zero here
        with pytest.raises(ValueError, match="do not fit"):
            Schedule("wsd", warmup_steps=90, decay_fraction=0.2).factors(100)
        return
    kwargs = {("pct_start" if k == "onecycle_pct" else k): v for k, v in kwargs.items()}
    with pytest.raises(ValueError):
        Schedule("wsd", **kwargs)


# --------------------------------------------------------------------------------------------------------------
# ReduceLROnPlateau


def torch_plateau_rates(lr: float, metrics, **kwargs) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1, dtype=F64))
    opt = torch.optim.SGD([param], lr=lr)
    scheduler = torch_sched.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for metric in metrics:
        scheduler.step(metric)
        out.append(float(opt.param_groups[0]["lr"]))
    return out


@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 3, "factor": 0.5},
    {"patience": 0, "factor": 0.3, "cooldown": 2},
    {"patience": 2, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 1e-3},
    {"mode": "max", "patience": 4, "threshold": 0.01},
    {"patience": 1, "factor": 0.9, "eps": 0.05},
])
@pytest.mark.parametrize("seed", [0, 1])
def test_plateau_rule_equals_torch_on_the_same_metrics(kwargs, seed):
    rng = np.random.default_rng(seed)
    # A loss that falls, then stalls and wanders: the case the rule is for.
    metrics = np.concatenate([np.geomspace(1.0, 0.1, 30), 0.1 + 0.02 * rng.standard_normal(170)])
    ours = Plateau(**kwargs).rates(0.1, metrics)
    np.testing.assert_allclose(ours, torch_plateau_rates(0.1, metrics, **kwargs), rtol=0, atol=0)


def test_plateau_cuts_after_patience_bad_metrics():
    rule = Plateau(patience=4, factor=0.5)
    rates = rule.rates(1.0, [1.0, 0.9, 0.8] + [0.8] * 12)
    # the best is 0.8, the third metric; the five after it do not improve, and the fifth (patience + 1) cuts
    assert list(rates[:7]) == [1.0] * 7 and rates[7] == 0.5
    assert rates[11] == 0.5 and rates[12] == 0.25  # the count restarts: five more bad metrics, another cut


def test_plateau_race_equals_torch_sgd_with_reduce_lr_on_plateau():
    surface = dc.LANDSCAPES["ravine"]
    steps, every, lr, noise, seed = 300, 10, 0.05, 2.0, 3
    rule = dict(patience=2, factor=0.5, threshold=1e-3)
    run = plateau_race(surface, "momentum", steps=steps, lr=lr, rule=Plateau(**rule), every=every, noise=noise,
                       seed=seed, hparams={"momentum": 0.9})
    draws = torch.randn(steps, 1, 2, generator=torch.Generator().manual_seed(seed), dtype=F64) * noise
    param = torch.nn.Parameter(torch.tensor(surface.start, dtype=F64))
    opt = torch.optim.SGD([param], lr=lr, momentum=0.9)
    scheduler = torch_sched.ReduceLROnPlateau(opt, **rule)
    lrs = []
    for k in range(steps):
        param.grad = surface.grad(param.detach()[None])[0] + draws[k, 0]
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if (k + 1) % every == 0:
            scheduler.step(float(surface.loss(param.detach()[None])))
    np.testing.assert_allclose(run.lrs, lrs, rtol=1e-15)
    np.testing.assert_allclose(run.path[-1], param.detach().numpy(), rtol=1e-9)
    assert len(run.cut_epochs) >= 1 and len(run.metrics) == steps // every
