"""Labs of the guide's Foundations: gradient descent's stability edge and linear rates, SGD's forgotten
``zero_grad()`` and its escape from a saddle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from .. import theory
from ..optimizers import OPTIMIZERS, make_stepper
from ..race import race
from .base import (F64, DEVICE, Choice, LabResult, Param, Plot, RefLine, fmt, lab, log_indices, lr_param,
                   quadratic_landscape)

# --------------------------------------------------------------------------------------------------------------
# Gradient descent: where it blows up, and how fast it converges below that.

STABILITY_DEFAULT_SET = ("gd", "momentum", "nesterov", "rmsprop", "adam")


@lab(title="Where gradient descent blows up", section="gd",
     claim="Sweeping the learning rate on a quadratic shows gradient descent's final loss jump from tiny to huge "
           "exactly where η crosses 2/λmax; each optimizer's sweep is one batched run.",
     params=(Param("lam_max", "largest curvature λmax", 2.0, 1000.0, 100.0, log=True),
             Param("edge_factor", "predicted edge c, in η = c/λmax", 0.25, 8.0, 2.0, step=0.05,
                   help="The badge checks that GD's measured edge lands on your prediction."),
             Choice("optimizers", "optimizers", tuple(OPTIMIZERS), STABILITY_DEFAULT_SET, multi=True,
                    help="GD always runs: the verdict is about its edge."),
             Param("grid_points", "learning rates in the sweep", 11, 241, 81, integer=True, step=10),
             Param("steps", "steps per run", 20, 2000, 200, integer=True, step=10)))
def stability_map(lam_max: float, edge_factor: float, optimizers: tuple[str, ...], grid_points: int,
                  steps: int) -> LabResult:
    """Final loss after ``steps`` updates over a log grid of learning rates: one batched race, one sweep each."""
    ids = tuple(dict.fromkeys(("gd",) + optimizers))  # GD always runs: the verdict is about its edge
    grid = np.geomspace(1e-4, 10.0, grid_points)
    surface = quadratic_landscape(1.0, lam_max)
    hparams = {opt: {"lr": grid, **({"weight_decay": 0.0} if "weight_decay" in OPTIMIZERS[opt].defaults else {})}
               for opt in ids}
    result = race(surface, list(ids), steps=steps, hparams=hparams, dtype=F64, device=DEVICE)
    start_loss = result.losses[0, 0, 0]
    final, middle = result.losses[..., -1], result.losses[..., steps // 2]
    stable = (result.diverged_at < 0) & (final < start_loss) & (final <= middle)
    edges = {opt: _edge(grid, stable[i]) for i, opt in enumerate(ids)}

    predicted, edge = edge_factor / lam_max, theory.gd_edge(lam_max)
    gd_edge, gd_next = edges["gd"]
    passed = gd_edge <= predicted * (1 + 1e-9) and predicted < gd_next
    measured = {"gd_edge": gd_edge, "gd_next_unstable": gd_next, "grid_ratio": float(grid[1] / grid[0])}
    expected = {"predicted_edge": predicted, "two_over_lam_max": edge}
    labels = {"gd_edge": "GD largest stable lr", "gd_next_unstable": "GD smallest unstable lr",
              "grid_ratio": "grid ratio", "predicted_edge": "predicted edge c/λmax", "two_over_lam_max": "2/λmax"}
    refs = [RefLine("x", edge, "2/λmax")]
    if "momentum" in ids:  # heavy ball's own edge, (2 + 2μ)/λmax, is a fact about that id's rule
        mu = OPTIMIZERS["momentum"].defaults["momentum"]
        measured["momentum_edge"] = edges["momentum"][0]
        expected["momentum_edge_theory"] = theory.heavy_ball_edge(lam_max, mu)
        labels |= {"momentum_edge": "momentum largest stable lr",
                   "momentum_edge_theory": "momentum edge (2+2μ)/λmax"}
        refs.append(RefLine("x", theory.heavy_ball_edge(lam_max, mu), "(2+2μ)/λmax"))
    if not math.isclose(predicted, edge):
        refs.append(RefLine("x", predicted, f"your c/λmax (c = {edge_factor:g})"))

    rows = []
    for i, opt in enumerate(ids):
        relative = np.clip(final[i] / start_loss, 1e-30, 1e12)
        rows.append(pd.DataFrame({"optimizer": OPTIMIZERS[opt].name, "lr": grid, "final loss / start loss": relative,
                                  "stable": stable[i]}))
    if math.isinf(gd_next):
        verdict = (f"Every learning rate up to {fmt(gd_edge)} stayed stable, so GD's edge is beyond the grid; the "
                   f"predicted edge is c/λmax = {fmt(predicted)}.")
    else:
        verdict = (f"GD's largest stable learning rate on the grid is {fmt(gd_edge)} and the next grid point, "
                   f"{fmt(gd_next)}, diverges; the predicted edge c/λmax = {fmt(predicted)} "
                   + ("falls between them, within one grid step." if passed else "does not fall between them."))
    return LabResult(
        passed=passed, measured=measured, expected=expected, labels=labels, verdict=verdict,
        frames={"final_loss": pd.concat(rows, ignore_index=True)},
        plots=(Plot("final_loss", "lr", "final loss / start loss", "optimizer", "Final loss over a learning-rate sweep",
                    "learning rate η", x_log=True, y_log=True, mark="line_point", refs=tuple(refs),
                    colors=tuple((OPTIMIZERS[o].name, o) for o in ids)),),
        settings={"surface": "f = ½(x² + λmax·y²), start (1, 1)",
                  "learning-rate grid": f"{grid_points} points, 1e-4 to 10", "steps": steps,
                  "stable means": "finite, below the start loss and not rising over the second half",
                  "weight decay": "0 for every optimizer", "other hyperparameters": "each optimizer's defaults"},
    )


def _edge(grid: np.ndarray, stable: np.ndarray) -> tuple[float, float]:
    """(largest lr below the first unstable one, that first unstable lr); inf when the whole grid is stable."""
    unstable = np.flatnonzero(~stable)
    if unstable.size == 0:
        return float(grid[-1]), math.inf
    first = unstable[0]
    return (float(grid[first - 1]) if first > 0 else 0.0), float(grid[first])


CONVERGENCE_KAPPAS = (2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
METHOD_IDS = {"GD": "gd", "heavy ball": "heavy_ball"}  # quantity-id prefix of each method


@lab(title="Linear rates: GD against heavy ball", section="gd",
     claim="At its best step size GD shrinks the error by (κ−1)/(κ+1) per step, while heavy ball at its best (η, μ) "
           "reaches (√κ−1)/(√κ+1): the measured rates sit on both curves for every κ.",
     params=(Param("kappa", "condition number κ to highlight", 2.0, 10000.0, 100.0, log=True),
             Param("steps", "steps", 200, 4000, 2000, integer=True, step=100)))
def convergence_rates(kappa: float, steps: int) -> LabResult:
    """GD at 2/(l1+l2) and heavy ball at its optimal (lr, mu) on f = ½(x² + κy²), every κ in one batch."""
    kappas = np.array(sorted(set(CONVERGENCE_KAPPAS) | {kappa}))
    root = np.sqrt(kappas)
    eig = torch.tensor(np.stack([np.ones_like(kappas), kappas], axis=1), dtype=F64)  # per-run Hessian diagonal
    runs = {
        "GD": make_stepper("gd", lr=2.0 / (1.0 + kappas)),
        "heavy ball": make_stepper("momentum", lr=(2.0 / (1.0 + root)) ** 2, momentum=((root - 1) / (root + 1)) ** 2),
    }
    theory_rate = {"GD": theory.gd_rate(kappas), "heavy ball": (root - 1) / (root + 1)}  # each at its best setting
    errors, rates = {}, {}
    for name, stepper in runs.items():
        theta = torch.ones(len(kappas), 2, dtype=F64)
        state, norms = stepper.init(theta), [theta.norm(dim=1)]
        for _ in range(steps):
            theta, state = stepper.update(theta, eig * theta, state)
            norms.append(theta.norm(dim=1))
        errors[name] = torch.stack(norms, 1).numpy()  # (runs, steps + 1)
        rates[name] = np.array([_contraction(e) for e in errors[name]])

    tolerance = {"GD": 1e-6, "heavy ball": 5e-3}
    within = {name: np.abs(rates[name] - theory_rate[name]) <= tolerance[name] for name in runs}
    passed = all(w.all() for w in within.values())
    chosen = int(np.flatnonzero(kappas == kappa)[0])
    measured = {f"{METHOD_IDS[name]}_rate": float(rates[name][chosen]) for name in runs}
    measured |= {f"{METHOD_IDS[name]}_worst_error": float(np.abs(rates[name] - theory_rate[name]).max())
                 for name in runs}
    expected = {"gd_rate_theory": float(theory_rate["GD"][chosen]),
                "heavy_ball_rate_theory": float(theory_rate["heavy ball"][chosen]),
                "gd_tolerance": tolerance["GD"], "heavy_ball_tolerance": tolerance["heavy ball"]}
    labels = {f"{METHOD_IDS[name]}_rate": f"{name} rate at κ = {kappa:g}" for name in runs}
    labels |= {f"{METHOD_IDS[name]}_worst_error": f"largest |measured − theory|, {name}" for name in runs}
    labels |= {"gd_rate_theory": f"GD rate (κ−1)/(κ+1) at κ = {kappa:g}",
               "heavy_ball_rate_theory": f"heavy-ball rate (√κ−1)/(√κ+1) at κ = {kappa:g}",
               "gd_tolerance": "tolerance GD", "heavy_ball_tolerance": "tolerance heavy ball"}

    dense = np.geomspace(kappas.min(), kappas.max(), 120)
    rate_rows = [pd.DataFrame({"κ": kappas, "rate per step": rates[n], "method": n, "kind": "measured"}) for n in runs]
    rate_rows += [pd.DataFrame({"κ": dense, "rate per step": f(dense), "method": n, "kind": "theory"})
                  for n, f in (("GD", theory.gd_rate),
                               ("heavy ball", lambda k: (np.sqrt(k) - 1) / (np.sqrt(k) + 1)))]
    keep = log_indices(steps + 1)
    error_rows = [pd.DataFrame({"step": keep, "distance to the minimum": errors[n][chosen][keep], "method": n})
                  for n in runs]  # exact zeros (float underflow) drop out of the log-scale chart
    misses = [f"{n} at κ = {k:g}" for n in runs for k, ok in zip(kappas, within[n]) if not ok]
    verdict = (f"At κ = {kappa:g} GD contracts the error by {fmt(rates['GD'][chosen])} per step "
               f"(theory {fmt(theory_rate['GD'][chosen])}) and heavy ball by {fmt(rates['heavy ball'][chosen])} "
               f"(theory {fmt(theory_rate['heavy ball'][chosen])}); "
               + ("every κ in the sweep matches within tolerance." if passed else f"mismatch: {', '.join(misses)}."))
    return LabResult(
        passed=passed, measured=measured, expected=expected, labels=labels, verdict=verdict,
        frames={"rates": pd.concat(rate_rows, ignore_index=True), "errors": pd.concat(error_rows, ignore_index=True)},
        plots=(Plot("rates", "κ", "rate per step", "method", "Contraction per step",
                    "condition number κ", x_log=True, mark="line_point", dash="kind",
                    colors=(("GD", "gd"), ("heavy ball", "momentum"))),
               Plot("errors", "step", "distance to the minimum", "method", f"Distance to the minimum at κ = {kappa:g}",
                    y_log=True, colors=(("GD", "gd"), ("heavy ball", "momentum")))),
        settings={"surface": "f = ½(x² + κ·y²), start (1, 1)", "κ in one batch": ", ".join(f"{k:g}" for k in kappas),
                  "GD": "lr = 2/(1+κ)", "heavy ball": "lr = (2/(1+√κ))², μ = ((√κ−1)/(√κ+1))²",
                  "measured rate": "(‖e_end‖/‖e_mid‖)^(1/(end−mid)), end = last step with ‖e‖ > 1e-150",
                  "why a tolerance for heavy ball": "its optimum is a double root: the error is (a + b·t)·r^t, so a "
                                                    "finite window reads slightly above r"},
    )


def _contraction(error: np.ndarray, floor: float = 1e-150) -> float:
    """Geometric-mean contraction per step over the second half of the stretch where the error is above ``floor``."""
    above = np.flatnonzero(error > floor)
    end = int(above[-1]) if above.size else 0
    begin = end // 2
    if end - begin < 1:
        return float("nan")
    return float((error[end] / error[begin]) ** (1.0 / (end - begin)))


# --------------------------------------------------------------------------------------------------------------
# SGD: what a forgotten zero_grad() does, and how noise and adaptivity leave a saddle.


@lab(title="Forgetting optimizer.zero_grad()", section="sgd",
     claim="loss.backward() adds into p.grad, so without zero_grad() the step at iteration t is η times the sum of "
           "every gradient so far: momentum with μ = 1.",
     params=(lr_param(low=1e-3, high=0.5, default=0.05),
             Param("steps", "iterations", 5, 200, 40, integer=True, step=5)))
def zero_grad(lr: float, steps: int) -> LabResult:
    """The same torch.nn.Linear trained with torch.optim.SGD twice: with optimizer.zero_grad() and without."""
    records: dict[str, dict[str, list[float]]] = {}
    worst = 0.0
    with torch.inference_mode(False), torch.enable_grad():  # a real training loop needs autograd
        generator = torch.Generator().manual_seed(0)
        X = torch.randn(64, 3, generator=generator, dtype=F64)
        y = X @ torch.tensor([[2.0], [-1.0], [0.5]], dtype=F64) + 0.3
        with torch.random.fork_rng(devices=[]):  # seeded initial weights without touching the global generator
            torch.manual_seed(0)
            first = torch.nn.Linear(3, 1, dtype=F64)
            second = torch.nn.Linear(3, 1, dtype=F64)
        second.load_state_dict(first.state_dict())
        models = {"with zero_grad()": first, "without zero_grad()": second}
        for name, model in models.items():
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            params = list(model.parameters())
            total = [torch.zeros_like(p) for p in params]  # running sum of the fresh gradients
            rec = records.setdefault(name, {"loss": [], "step": [], "fresh": [], "grad buffer": []})
            for _ in range(steps):
                if name == "with zero_grad()":
                    opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(X), y)
                fresh = torch.autograd.grad(loss, params, retain_graph=True)  # this iteration's gradient alone
                loss.backward()  # adds into p.grad
                before = [p.detach().clone() for p in params]
                opt.step()
                step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, params)])
                total = [s + f for s, f in zip(total, fresh)]
                used = fresh if name == "with zero_grad()" else total
                predicted = lr * torch.cat([u.flatten() for u in used])
                # Relative error, floored at 1e-9 of the weights' size: a step below that is lost to rounding.
                scale = max(float(predicted.norm()), 1e-9 * float(torch.cat([p.detach().flatten() for p in params]).norm()))
                worst = max(worst, float((step - predicted).norm()) / scale)
                rec["loss"].append(float(loss.detach()))
                rec["step"].append(float(step.norm()))
                rec["fresh"].append(float(torch.cat([f.flatten() for f in fresh]).norm()))
                rec["grad buffer"].append(float(torch.cat([p.grad.flatten() for p in params]).norm()))
    passed = worst < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = {n: np.array(r["step"]) / (lr * np.array(r["fresh"])) for n, r in records.items()}
    verdict = (f"With zero_grad() every step is η times this iteration's gradient; without it, step t is η times the "
               f"sum of every gradient so far (checked at all {steps} iterations; largest relative mismatch "
               f"{fmt(worst)}). By the "
               f"last iteration the missing zero_grad() makes the step {fmt(ratio['without zero_grad()'][-1])} times "
               f"the fresh gradient's, and the loss is {fmt(records['without zero_grad()']['loss'][-1])} instead of "
               f"{fmt(records['with zero_grad()']['loss'][-1])}. "
               + ("p.grad accumulates exactly as described." if passed else "The accumulation rule did not hold."))
    t = np.arange(1, steps + 1)
    frames = {
        "loss": pd.concat([pd.DataFrame({"iteration": t, "loss": r["loss"], "loop": n}) for n, r in records.items()],
                          ignore_index=True),
        "buffer": pd.concat([pd.DataFrame({"iteration": t, "norm": r["grad buffer"], "loop": n, "quantity": "‖p.grad‖"})
                             for n, r in records.items()]
                            + [pd.DataFrame({"iteration": t, "norm": records[n]["fresh"], "loop": n,
                                             "quantity": "‖fresh gradient‖"}) for n in records],
                            ignore_index=True).assign(series=lambda d: d["quantity"] + ", " + d["loop"]),
        "multiplier": pd.concat([pd.DataFrame({"iteration": t, "step / (η·‖fresh gradient‖)": ratio[n], "loop": n})
                                 for n in records], ignore_index=True),
    }
    return LabResult(
        passed=passed,
        measured={"worst_mismatch": worst, "loss_with_zero_grad": records["with zero_grad()"]["loss"][-1],
                  "loss_without_zero_grad": records["without zero_grad()"]["loss"][-1],
                  "last_multiplier_without": float(ratio["without zero_grad()"][-1])},
        expected={"mismatch_bound": 1e-6, "multiplier_with": 1.0},
        labels={"worst_mismatch": "largest relative mismatch vs rule",
                "loss_with_zero_grad": "final loss with zero_grad()",
                "loss_without_zero_grad": "final loss without zero_grad()",
                "last_multiplier_without": "last step / (η·fresh), without",
                "mismatch_bound": "mismatch below", "multiplier_with": "step / (η·fresh), with zero_grad()"},
        verdict=verdict, frames=frames,
        plots=(Plot("loss", "iteration", "loss", "loop", "Training loss", y_log=True),
               Plot("buffer", "iteration", "norm", "series", "What p.grad holds", y_log=True),
               Plot("multiplier", "iteration", "step / (η·‖fresh gradient‖)", "loop", "Effective step multiplier",
                    y_log=True)),
        settings={"model": "torch.nn.Linear(3, 1), float64, the same initial weights for both loops",
                  "data": "64 seeded samples, y = 2x₁ − x₂ + 0.5x₃ + 0.3", "loss": "mean squared error",
                  "optimizer": "torch.optim.SGD (no momentum)",
                  "fresh gradient": "torch.autograd.grad of this iteration's loss, taken before backward()"},
    )


SADDLE_OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")


@lab(title="Escaping the saddle of x² − y²", section="sgd",
     claim="From just off the ridge of x² − y², plain SGD needs ln(1/|y0|)/ln(1+2η) steps to leave; momentum builds "
           "speed and RMSProp and Adam normalise the tiny gradient, so they leave sooner.",
     params=(Param("y0", "start offset y0", 0.0, 0.1, 0.001, step=0.0005),
             lr_param(low=1e-3, high=0.1, default=0.01),
             Param("noise", "gradient noise σ", 0.0, 1.0, 0.0, step=0.05),
             Param("steps", "steps", 100, 5000, 1500, integer=True, step=100)))
def saddle_escape(y0: float, lr: float, noise: float, steps: int) -> LabResult:
    """Escape time (first step with |y| > 1) from (1.5, y0) on f = x² − y²."""
    result = race("saddle", list(SADDLE_OPTIMIZERS), steps=steps, starts=[(1.5, y0)], dtype=F64, noise=noise, seed=0,
                  hparams={opt: {"lr": lr} for opt in SADDLE_OPTIMIZERS}, device=DEVICE)
    out = np.abs(result.paths[:, 0, :, 1]) > 1.0
    escape = {opt: (float(out[i].argmax()) if out[i].any() else math.inf) for i, opt in enumerate(SADDLE_OPTIMIZERS)}
    # Without noise, y_t = y0 (1 + 2η)^t for SGD: it leaves at the first t with |y0| (1 + 2η)^t > 1.
    predicted = math.floor(math.log(1 / y0) / math.log(1 + 2 * lr)) + 1 if y0 > 0 else math.inf
    predicted = predicted if predicted <= steps else math.inf
    sgd_ok = noise > 0 or escape["sgd"] == predicted
    faster = [opt for opt in ("momentum", "rmsprop", "adam") if escape[opt] <= escape["sgd"]]
    passed = sgd_ok and len(faster) == 3 and (noise == 0 or escape["sgd"] < math.inf)
    names = {opt: OPTIMIZERS[opt].name for opt in SADDLE_OPTIMIZERS}
    timing = ", ".join(f"{names[o]} {fmt(escape[o])}" for o in SADDLE_OPTIMIZERS)
    if noise == 0 and y0 == 0:
        story = ("Exactly on the ridge with exact gradients the y-gradient is zero forever, so no method ever leaves; "
                 "add a hair of offset or of noise.")
    else:
        story = ((f"SGD's prediction ln(1/|y0|)/ln(1+2η) gives {fmt(predicted)}. " if noise == 0 else
                  f"With gradient noise σ = {noise:g} SGD needs no offset to leave. ")
                 + ("Momentum, RMSProp and Adam all leave no later than SGD"
                    if len(faster) == 3 else "Not every one of momentum, RMSProp and Adam left before SGD")
                 + ("; AdaGrad is the slow exception: y's own sum of squares grows with y's growing gradients, so its "
                    "y-step keeps shrinking as it leaves."
                    if escape["adagrad"] > escape["sgd"] else "."))
    verdict = f"Steps to |y| > 1: {timing}. {story}"
    keep = np.arange(0, steps + 1, max(1, steps // 400))
    frame = pd.concat([pd.DataFrame({"step": keep, "|y|": np.abs(result.paths[i, 0, keep, 1]), "optimizer": names[o]})
                       for i, o in enumerate(SADDLE_OPTIMIZERS)], ignore_index=True)
    frame = frame[frame["|y|"] <= 3.0]  # after the escape |y| grows without bound: the chart stops there
    bars = pd.DataFrame({"optimizer": [names[o] for o in SADDLE_OPTIMIZERS],
                         "escape step": [escape[o] if escape[o] < math.inf else np.nan for o in SADDLE_OPTIMIZERS]})
    return LabResult(
        passed=passed,
        measured={f"{o}_escape": escape[o] for o in SADDLE_OPTIMIZERS},  # ids from optimizer ids, labels from names
        expected={"sgd_escape_predicted": predicted},
        labels={**{f"{o}_escape": f"{names[o]} escape step" for o in SADDLE_OPTIMIZERS},
                "sgd_escape_predicted": "SGD escape step (noise-free prediction)"},
        verdict=verdict, frames={"y": frame, "escape": bars},
        plots=(Plot("y", "step", "|y|", "optimizer", "Distance from the ridge line y = 0", y_log=True,
                    refs=(RefLine("y", 1.0, "escaped"),), colors=tuple((names[o], o) for o in SADDLE_OPTIMIZERS)),
               Plot("escape", "optimizer", "escape step", "optimizer", "Steps until |y| > 1", mark="bar",
                    colors=tuple((names[o], o) for o in SADDLE_OPTIMIZERS))),
        settings={"surface": "saddle f = x² − y²", "start": f"(1.5, {y0:g})", "η": f"{lr:g} for every optimizer",
                  "other hyperparameters": "defaults (momentum μ = 0.9, RMSProp α = 0.99, Adam β = (0.9, 0.999))",
                  "gradient noise": f"σ = {noise:g}, seed 0"},
    )
